"""The small corpora that scripts/gpu_check.sh trains on, made on a CPU machine (the GPU
machine has no data and no network); they travel with the checkout in ``.gpu/``:

    python scripts/gpu_data.py .gpu [--data ../shared/data] [--corpus corpus]

- ``tagger-{train,dev}.spacy``: the first 3,000 / 1,000 sentences of UD English EWT
  (train / dev), UPOS and XPOS, one Doc a sentence;
- ``textcat-{train,dev}.spacy``: TweetEval emotion, all of train and val
  (``corpus/tweeteval/emotion``, made by ``spacy project run preprocess-textcat``);
- ``lm-{train,dev}.spacy``: the first 4,000 / 500 lines of the EWT LM benchmark
  (``corpus/ewt-lm``, made by ``spacy project run preprocess-lm``).
"""

import argparse
import os
from itertools import islice
from pathlib import Path

import spacy
from spacy.tokens import DocBin
from spacy.training.converters import conllu_to_docs


def take(path: Path, n: int, vocab) -> DocBin:
    return DocBin(docs=islice(DocBin().from_disk(path).get_docs(vocab), n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("SPACY_RNN_DATA", "../shared/data")))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    vocab = spacy.blank("en").vocab
    ewt = args.data / "ud-english-ewt"
    for split, n in (("train", 3000), ("dev", 1000)):
        text = (ewt / f"en_ewt-ud-{split}.conllu").read_text(encoding="utf8")
        docs = islice(conllu_to_docs(text, n_sents=1, no_print=True), n)
        DocBin(docs=docs).to_disk(args.out / f"tagger-{split}.spacy")
    emotion = args.corpus / "tweeteval" / "emotion"
    take(emotion / "train.spacy", 10**9, vocab).to_disk(args.out / "textcat-train.spacy")
    take(emotion / "dev.spacy", 10**9, vocab).to_disk(args.out / "textcat-dev.spacy")
    take(args.corpus / "ewt-lm" / "train.spacy", 4000, vocab).to_disk(args.out / "lm-train.spacy")
    take(args.corpus / "ewt-lm" / "valid.spacy", 500, vocab).to_disk(args.out / "lm-dev.spacy")
    for path in sorted(args.out.glob("*.spacy")):
        print(f"{path}: {len(DocBin().from_disk(path))} docs, {path.stat().st_size / 2**20:.2f} MB")


if __name__ == "__main__":
    main()
