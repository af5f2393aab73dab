"""The TweetEval text-classification benchmark: train each system on each task's train
split (model-best by its val split), score it on test with the task's official metric,
one thread, same machine, same run.

    python scripts/benchmark_textcat.py OUT.json [--tasks emotion offensive emoji stance]
        [--systems rnn=configs/textcat.cfg dan=configs/textcat_dan.cfg
                   bow=configs/baselines/textcat_bow.cfg ensemble=configs/baselines/textcat_ensemble.cfg@rnn]
        [--corpus corpus/tweeteval] [--training training/textcat-benchmark] [--force]

``NAME=CONFIG@OTHER`` gives the system the wall-clock budget that system OTHER took on the
same task (target): its ``spacy train`` is interrupted after that many seconds and its
model-best at that point is scored. A task with sub-targets (stance) trains one model per
target and pools their test predictions. Trainings whose model-best exists are reused
(``--force`` retrains). For each task and system:
- ``score``: the official metric on test, in % (``spacy_rnn.data.official_score``);
- ``pred_counts`` / ``gold_counts``: predicted and true labels on test;
- ``infer_wps``: words/s of ``nlp.pipe`` over the test texts in batches of 1,000 (best of
  2 passes; for stance, all targets' pipelines one after the other);
- ``train_s`` / ``train_rss_mb``: wall time and peak memory of ``spacy train`` (summed /
  maximum over stance's targets); ``size_mb``: the pipeline's size on disk (summed).
The mean over the tasks is reported per system. The table is printed last.
``SPACY_RNN_BENCHMARK_OVERRIDES`` adds ``spacy train`` options to every training (the
tests use it for a few steps only).
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/torch are imported

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List, Optional  # noqa: E402

import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402

from spacy_rnn.data import converted_task_parts, official_score  # noqa: E402

torch.set_num_threads(1)


def dir_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def run_training(config: Path, folder: Path, out: Path, budget: Optional[float]) -> dict:
    """``spacy train`` through scripts/timed.py (1 thread; interrupted after ``budget``
    seconds when given)."""
    cmd = [sys.executable, str(Path(__file__).parent / "timed.py"), str(out / "train_time.json"), "--threads", "1"]
    if budget:
        cmd += ["--budget", str(budget)]
    cmd += [
        "--",
        sys.executable,
        "-m",
        "spacy",
        "train",
        str(config),
        "--output",
        str(out),
        "--paths.train",
        str(folder / "train.spacy"),
        "--paths.dev",
        str(folder / "dev.spacy"),
    ]
    cmd += os.environ.get("SPACY_RNN_BENCHMARK_OVERRIDES", "").split()  # e.g. for a smoke test
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.log", "w") as log:
        status = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    if status != 0 or not (out / "model-best").exists():
        raise SystemExit(f"training failed (exit {status}), see {out / 'train.log'}")
    return json.loads((out / "train_time.json").read_text())


def predict(model_dir: Path, test: Path):
    nlp = spacy.load(model_dir)
    docs = list(DocBin().from_disk(test).get_docs(nlp.vocab))
    texts = [doc.text for doc in docs]
    golds = [max(doc.cats, key=doc.cats.get) for doc in docs]
    words = sum(len(doc) for doc in docs)
    best_s, preds = None, []
    for _ in range(2):
        start = time.perf_counter()
        preds = [max(doc.cats, key=doc.cats.get) for doc in nlp.pipe(texts, batch_size=1000)]
        elapsed = time.perf_counter() - start
        best_s = elapsed if best_s is None else min(best_s, elapsed)
    labels = sorted(docs[0].cats)
    return golds, preds, labels, words, best_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tasks", nargs="+", default=["emotion", "offensive", "emoji", "stance"])
    parser.add_argument(
        "--systems",
        nargs="+",
        default=[
            "rnn=configs/textcat.cfg",
            "dan=configs/textcat_dan.cfg",
            "bow=configs/baselines/textcat_bow.cfg",
            "ensemble=configs/baselines/textcat_ensemble.cfg@rnn",
        ],
    )
    parser.add_argument("--corpus", type=Path, default=Path("corpus/tweeteval"))
    parser.add_argument("--training", type=Path, default=Path("training/textcat-benchmark"))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    systems = []
    for spec in args.systems:
        name, _, rest = spec.partition("=")
        config, _, budget_of = rest.partition("@")
        systems.append((name, Path(config), budget_of or None))
    results: Dict[str, Dict[str, dict]] = {}
    for task in args.tasks:
        parts = converted_task_parts(args.corpus, task)
        for name, config, budget_of in systems:
            golds: List[str] = []
            preds: List[str] = []
            row = {"train_s": 0.0, "train_rss_mb": 0.0, "size_mb": 0.0, "budget_of": budget_of, "interrupted": False}
            words, seconds, labels = 0, 0.0, None
            for target, folder in parts.items():
                out = args.training / name / task / (target if target != task else "")
                if args.force or not (out / "model-best").exists():
                    budget = None
                    if budget_of:
                        other = (
                            args.training / budget_of / task / (target if target != task else "") / "train_time.json"
                        )
                        budget = json.loads(other.read_text())["seconds"]
                    print(
                        f"training {name} on {task}/{target}" + (f" (budget {budget:.0f} s)" if budget else ""),
                        flush=True,
                    )
                    record = run_training(config, folder, out, budget)
                else:
                    record = json.loads((out / "train_time.json").read_text())
                row["train_s"] += record["seconds"]
                row["train_rss_mb"] = max(row["train_rss_mb"], record["peak_rss_mb"])
                row["interrupted"] = row["interrupted"] or record.get("interrupted", False)
                g, p, labels, w, s = predict(out / "model-best", folder / "test.spacy")
                golds += g
                preds += p
                words += w
                seconds += s
                row["size_mb"] += dir_size_mb(out / "model-best")
            row.update(
                score=round(100 * official_score(task, golds, preds, labels), 2),
                infer_wps=round(words / seconds),
                gold_counts=dict(sorted(Counter(golds).items())),
                pred_counts=dict(sorted(Counter(preds).items())),
                train_s=round(row["train_s"], 1),
                size_mb=round(row["size_mb"], 1),
            )
            results.setdefault(task, {})[name] = row
            print(task, name, json.dumps(row), flush=True)
    names = [name for name, _, _ in systems]
    means = {name: round(sum(results[t][name]["score"] for t in args.tasks) / len(args.tasks), 2) for name in names}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"tasks": results, "mean": means}, indent=2) + "\n")
    cols = ["score", "infer_wps", "train_s", "train_rss_mb", "size_mb"]
    print("\n| task | system | " + " | ".join(cols) + " | predicted / true |")
    print("|---|---|" + "---|" * (len(cols) + 1))
    for task, rows in results.items():
        for name, row in rows.items():
            dist = ", ".join(f"{k} {row['pred_counts'].get(k, 0)}/{v}" for k, v in row["gold_counts"].items())
            print(f"| {task} | {name} | " + " | ".join(str(row.get(c, "-")) for c in cols) + f" | {dist} |")
    print("| mean | " + " | ".join(f"{n} {m}" for n, m in means.items()) + " |")


if __name__ == "__main__":
    main()
