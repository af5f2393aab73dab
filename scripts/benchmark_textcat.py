"""Benchmark trained text-classification pipelines side by side, one thread.

    python scripts/benchmark_textcat.py OUT.json --tasks emotion offensive \
        --models NAME=TRAINING_PREFIX ... [--corpus corpus/tweeteval]

For each task and model, the pipeline is ``TRAINING_PREFIX-<task>/model-best`` and the
test set ``<corpus>/<task>/test.spacy``. Reported:
- ``macro_f1``: macro-averaged F1 over the labels on test (``cats_macro_f``; TweetEval's
  official metric for emotion, offensive and emoji), in %;
- ``infer_wps``: words/s of ``nlp.pipe`` over the test texts in batches of 1,000 (best
  of 2 passes, 1 thread);
- ``train_s`` / ``train_rss_mb``: wall time and peak memory of ``spacy train``, as
  recorded by scripts/timed.py in ``TRAINING_PREFIX-<task>/train_time.json``;
- ``size_mb``: the pipeline's size on disk.
The table is printed last and written to OUT.json.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/torch are imported

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402
from spacy.training import Example  # noqa: E402

torch.set_num_threads(1)


def dir_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def benchmark(model_dir: Path, test: Path) -> dict:
    nlp = spacy.load(model_dir)
    refs = list(DocBin().from_disk(test).get_docs(nlp.vocab))
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in refs]
    scores = nlp.evaluate(examples)
    texts = [doc.text for doc in refs]
    words = sum(len(doc) for doc in refs)
    best = 0.0
    for _ in range(2):
        start = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=1000):
            pass
        best = max(best, words / (time.perf_counter() - start))
    row = {
        "macro_f1": round(100 * scores["cats_macro_f"], 2),
        "infer_wps": round(best),
        "size_mb": round(dir_size_mb(model_dir), 1),
    }
    timing = model_dir.parent / "train_time.json"
    if timing.exists():
        record = json.loads(timing.read_text())
        row["train_s"] = record["seconds"]
        row["train_rss_mb"] = record["peak_rss_mb"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tasks", nargs="+", required=True)
    parser.add_argument("--models", nargs="+", required=True, help="NAME=TRAINING_PREFIX")
    parser.add_argument("--corpus", type=Path, default=Path("corpus/tweeteval"))
    args = parser.parse_args()
    results = {}
    for task in args.tasks:
        for spec in args.models:
            name, prefix = spec.split("=", 1)
            model_dir = Path(f"{prefix}-{task}") / "model-best"
            results.setdefault(task, {})[name] = benchmark(model_dir, args.corpus / task / "test.spacy")
            print(task, name, results[task][name], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    cols = ["macro_f1", "infer_wps", "train_s", "train_rss_mb", "size_mb"]
    print("\n| task | model | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for task, rows in results.items():
        for name, row in rows.items():
            print(f"| {task} | {name} | " + " | ".join(str(row.get(c, "-")) for c in cols) + " |")


if __name__ == "__main__":
    main()
