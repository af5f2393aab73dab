"""Benchmark trained tagging pipelines side by side on one machine, one thread.

    python scripts/benchmark_tagger.py TEST.spacy TRAIN.spacy OUT.json NAME=MODEL_DIR ...

For each pipeline:
- accuracy on TEST with gold tokenization (UPOS ``pos_acc``, XPOS ``tag_acc``, whichever
  the pipeline predicts), and the same on the TEST tokens whose lowercase form never
  occurs in TRAIN (``pos_acc_oov``, ``tag_acc_oov``; 7.5 % of EWT test: where unlabelled
  text has to give unseen words their meaning);
- inference words/s: ``nlp.pipe`` over the TEST sentences in batches of 1,000 docs
  (best of 2 passes);
- training words/s: a separate process loads the pipeline and TRAIN, then runs
  ``nlp.update`` on 1,000-word batches (``spacy.batch_by_words.v1``) for ``--train-words``
  words (peak training memory is measured on the full ``spacy train`` runs instead, with
  ``/usr/bin/time -v``; see the README);
- model size on disk.
The table is printed last and written to OUT.json.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/torch are imported

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.scorer import Scorer  # noqa: E402
from spacy.tokens import Doc, DocBin  # noqa: E402
from spacy.training import Example  # noqa: E402
from spacy.util import registry  # noqa: E402

torch.set_num_threads(1)


def load_examples(nlp, path: Path):
    refs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    return [
        Example(Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]), d) for d in refs
    ]


def train_forms(nlp, path: Path) -> set[str]:
    """The lowercase word forms (``Token.lower_``) of a .spacy corpus."""
    return {t.lower_ for doc in DocBin().from_disk(path).get_docs(nlp.vocab) for t in doc}


def oov_accuracy(predicted: list[Doc], examples: list[Example], known: set[str], attr: str) -> tuple[float, int]:
    """Accuracy of ``attr`` ("pos" or "tag") over the reference tokens whose lowercase form
    is not in ``known``, with the predicted docs on the same (gold) tokens; and how many
    there are."""
    pairs = [
        (getattr(p, attr + "_"), getattr(r, attr + "_"))
        for doc, eg in zip(predicted, examples, strict=True)
        for p, r in zip(doc, eg.reference, strict=True)
        if r.lower_ not in known
    ]
    return sum(p == r for p, r in pairs) / max(len(pairs), 1), len(pairs)


def inference_speed(nlp, examples, batch_size: int = 1000) -> float:
    words = sum(len(eg.reference) for eg in examples)
    best = 0.0
    for _ in range(2):
        docs = [Doc(nlp.vocab, words=[t.text for t in eg.reference]) for eg in examples]
        start = time.perf_counter()
        for _ in nlp.pipe(docs, batch_size=batch_size):
            pass
        best = max(best, words / (time.perf_counter() - start))
    return best


def train_probe(model: str, train: str, n_words: int) -> None:
    """Child process: train the loaded pipeline for n_words; print words/s."""
    nlp = spacy.load(model)
    examples = load_examples(nlp, Path(train))
    optimizer = nlp.resume_training()
    batcher = registry.batchers.get("spacy.batch_by_words.v1")(size=1000, tolerance=0.2, discard_oversize=False)
    seen = 0
    start = time.perf_counter()
    for batch in batcher(examples):
        nlp.update(batch, sgd=optimizer, drop=0.1)
        seen += sum(len(eg.reference) for eg in batch)
        if seen >= n_words:
            break
    print(json.dumps({"train_words_per_s": seen / (time.perf_counter() - start)}))


def dir_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024**2


def benchmark(name: str, model: str, test: Path, train: Path, known: set[str], n_words: int) -> dict:
    """One pipeline's row; ``known``: TRAIN's lowercase forms (``train_forms``)."""
    nlp = spacy.load(model)
    examples = load_examples(nlp, test)
    predicted = list(nlp.pipe(eg.predicted.copy() for eg in examples))
    # what nlp.evaluate computes, from the one prediction pass the OOV scores use too
    scores = Scorer(nlp).score([Example(doc, eg.reference) for doc, eg in zip(predicted, examples, strict=True)])
    row = {"model": name, "path": model, "pipeline": nlp.pipe_names}
    for attr in ("pos", "tag"):
        if scores.get(f"{attr}_acc") is not None:
            row[f"{attr}_acc"] = round(100 * scores[f"{attr}_acc"], 2)
            acc, n_oov = oov_accuracy(predicted, examples, known, attr)
            row[f"{attr}_acc_oov"] = round(100 * acc, 2)
            row["oov_tokens"] = n_oov
    row["infer_words_per_s"] = round(inference_speed(nlp, examples))
    probe = subprocess.run(
        [sys.executable, __file__, "--probe", model, str(train), str(n_words)],
        capture_output=True,
        text=True,
        check=True,
    )
    row.update({k: round(v) for k, v in json.loads(probe.stdout.strip().splitlines()[-1]).items()})
    row["model_mb"] = round(dir_size_mb(Path(model)), 1)
    return row


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        train_probe(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("test", type=Path)
    parser.add_argument("train", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("models", nargs="+", help="NAME=MODEL_DIR")
    parser.add_argument("--train-words", type=int, default=30_000)
    args = parser.parse_args()
    rows = []
    known = train_forms(spacy.blank("en"), args.train)
    for spec in args.models:
        name, _, path = spec.partition("=")
        if not path or not Path(path).is_dir():
            parser.error(f"expected NAME=MODEL_DIR with an existing directory, got {spec!r}")
        rows.append(benchmark(name, path, args.test, args.train, known, args.train_words))
        print(json.dumps(rows[-1]), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2))
    cols = ["model", "pos_acc", "pos_acc_oov", "tag_acc", "tag_acc_oov"]
    cols += ["infer_words_per_s", "train_words_per_s", "model_mb"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "–")) for c in cols) + " |")


if __name__ == "__main__":
    main()
