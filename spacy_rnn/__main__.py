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
    lines = commands.add_parser(
        "convert-lines",
        help="pre-tokenized text (one sentence per line, tokens split on spaces) -> .spacy, one doc per line",
    )
    lines.add_argument("input", help="text file")
    lines.add_argument("output", help=".spacy file to write")
    lines.add_argument("--lang", default="en")
    gen = commands.add_parser("generate", help="continue a prompt with a pipeline's rnn_lm")
    gen.add_argument("model", help="pipeline directory or package name")
    gen.add_argument("prompt", nargs="?", default="", help="text to continue (default: none)")
    gen.add_argument("--max-tokens", type=int, default=40)
    gen.add_argument("--temperature", type=float, default=1.0)
    gen.add_argument("--top-k", type=int, default=None)
    gen.add_argument("--top-p", type=float, default=1.0)
    gen.add_argument("--greedy", action="store_true", help="take the most likely token each step")
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--samples", type=int, default=1, help="how many continuations (seeds seed, seed+1, ...)")
    gen.add_argument("--no-stop-at-eos", action="store_true", help="go on past the end of the sentence")
    gen.add_argument("--component", default="rnn_lm", help="name of the language model in the pipeline")
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
    elif args.command == "convert-lines":
        from pathlib import Path

        from .data import token_lines_docbin

        try:
            docbin = token_lines_docbin(args.input, lang=args.lang)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        docbin.to_disk(args.output)
        print(f"wrote {args.output} ({len(docbin)} docs)")
    elif args.command == "generate":
        import spacy

        nlp = spacy.load(args.model)
        try:
            lm = nlp.get_pipe(args.component)
            for i in range(args.samples):
                seed = None if args.seed is None else args.seed + i
                print(
                    lm.generate(
                        args.prompt,
                        max_tokens=args.max_tokens,
                        temperature=args.temperature,
                        top_k=args.top_k,
                        top_p=args.top_p,
                        greedy=args.greedy,
                        seed=seed,
                        stop_at_eos=not args.no_stop_at_eos,
                    )
                )
        except (KeyError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
