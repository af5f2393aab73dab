"""Command-line helpers: ``python -m spacy_rnn COMMAND ...`` (``--help`` lists them)."""
import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spacy_rnn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser(
        "convert-tweeteval",
        help="TweetEval task folder -> train/dev/test .spacy files with doc.cats",
    )
    convert.add_argument("task_dir", help="folder with mapping.txt and {train,val,test}_{text,labels}.txt")
    convert.add_argument("output_dir", help="where train.spacy, dev.spacy and test.spacy are written")
    convert.add_argument("--lang", default="en", help="language of the tokenizer (default: en)")
    args = parser.parse_args(argv)
    if args.command == "convert-tweeteval":
        from .data import convert_tweeteval

        try:
            paths = convert_tweeteval(args.task_dir, args.output_dir, lang=args.lang)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        for path in paths:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
