"""How the textcat defaults are chosen: one config scored on several TweetEval tasks
without their test splits, one thread.

    python scripts/select_textcat.py CONFIG OUT.json [--tasks emotion offensive emoji stance]
        [--cv emotion stance] [--folds 5] [--dev-fraction 0.1] [--seed 0]
        [--corpus corpus/tweeteval] [--set training.max_epochs=10 ...] [--models best last]

Each training is what a user runs: ``spacy train`` on a training set with a dev set for
``model-best``, then ``model-best`` predicts held-out docs it never saw:
- tasks in ``--cv`` (small train splits, small val splits: emotion, stance): k-fold
  cross-validation on the train split; each fold's training part gives up a random
  ``--dev-fraction`` of its docs as the dev set, and model-best predicts the held-out fold;
- other tasks (large val splits: offensive, emoji): the train split minus a random
  ``--dev-fraction`` as the dev set; model-best predicts the val split.
A task with sub-targets (stance) trains one model per target and pools their predictions.
The official metric of each task is computed on the pooled held-out predictions
(``spacy_rnn.data.official_score``); reported with the predicted and true class counts
and the mean over the tasks (the number the defaults are chosen on). ``--set`` takes
config overrides (``section.key=value``, values parsed as JSON where they can be);
``--models best last`` scores ``model-last`` (the fixed budget) beside ``model-best`` (the
dev peak) from the same trainings.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/torch are imported

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List, Tuple  # noqa: E402

import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.cli.train import train  # noqa: E402
from spacy.tokens import Doc, DocBin  # noqa: E402

from spacy_rnn.data import converted_task_parts, official_score  # noqa: E402

torch.set_num_threads(1)


def parse_overrides(items: List[str]) -> Dict[str, object]:
    overrides = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def gold(doc: Doc) -> str:
    return max(doc.cats, key=doc.cats.get)


def split_dev(docs: List[Doc], fraction: float, rng: random.Random) -> Tuple[List[Doc], List[Doc]]:
    """A random ``fraction`` of each label's docs as the dev set, the rest for training."""
    by_label: Dict[str, List[Doc]] = {}
    for doc in docs:
        by_label.setdefault(gold(doc), []).append(doc)
    train_docs, dev_docs = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        n_dev = max(1, round(fraction * len(group))) if len(group) > 1 else 0
        dev_docs.extend(group[:n_dev])
        train_docs.extend(group[n_dev:])
    rng.shuffle(train_docs)
    return train_docs, dev_docs


def train_and_predict(
    config: Path, overrides: dict, train_docs, dev_docs, held_out, workdir: Path, models: List[str]
) -> Dict[str, List[str]]:
    """Train once; each of ``models`` ("best": ``model-best``, "last": ``model-last``)
    predicts the held-out docs."""
    workdir.mkdir(parents=True, exist_ok=True)
    DocBin(docs=train_docs).to_disk(workdir / "train.spacy")
    DocBin(docs=dev_docs).to_disk(workdir / "dev.spacy")
    paths = {"paths.train": str(workdir / "train.spacy"), "paths.dev": str(workdir / "dev.spacy")}
    train(config, workdir / "out", overrides={**overrides, **paths})
    preds = {}
    for model in models:
        nlp = spacy.load(workdir / "out" / f"model-{model}")
        preds[model] = [gold(doc) for doc in nlp.pipe((doc.text for doc in held_out), batch_size=1000)]
    return preds


def score_task(task: str, parts: Dict[str, Path], args, overrides: dict, tmp: Path) -> dict:
    """``parts``: target name -> its corpus folder (one entry for a task without targets)."""
    vocab = spacy.blank("en").vocab
    golds, labels = [], None
    preds: Dict[str, List[str]] = {model: [] for model in args.models}
    start = time.perf_counter()
    for target, folder in parts.items():
        rng = random.Random(args.seed)
        docs = list(DocBin().from_disk(folder / "train.spacy").get_docs(vocab))
        labels = labels or sorted(docs[0].cats)
        if task in args.cv:
            rng.shuffle(docs)
            folds = [docs[i :: args.folds] for i in range(args.folds)]
            runs = [([d for j, f in enumerate(folds) if j != k for d in f], held) for k, held in enumerate(folds)]
        else:
            runs = [(docs, list(DocBin().from_disk(folder / "dev.spacy").get_docs(vocab)))]
        for k, (pool, held_out) in enumerate(runs):
            train_docs, dev_docs = split_dev(pool, args.dev_fraction, rng)
            workdir = tmp / task / target / f"run{k}"
            run_preds = train_and_predict(args.config, overrides, train_docs, dev_docs, held_out, workdir, args.models)
            for model in args.models:
                preds[model].extend(run_preds[model])
            golds.extend(gold(doc) for doc in held_out)
            print(f"{task} {target} run {k}: {len(golds)} predicted", flush=True)
    first = args.models[0]
    result = {
        "score": round(100 * official_score(task, golds, preds[first], labels), 2),
        "n": len(golds),
        "gold_counts": dict(sorted(Counter(golds).items())),
        "pred_counts": dict(sorted(Counter(preds[first]).items())),
        "seconds": round(time.perf_counter() - start, 1),
    }
    for model in args.models[1:]:
        result[f"score_{model}"] = round(100 * official_score(task, golds, preds[model], labels), 2)
        result[f"pred_counts_{model}"] = dict(sorted(Counter(preds[model]).items()))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tasks", nargs="+", default=["emotion", "offensive", "emoji", "stance"])
    parser.add_argument("--cv", nargs="*", default=["emotion", "stance"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--dev-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, default=Path("corpus/tweeteval"))
    parser.add_argument("--set", nargs="*", default=[], dest="overrides")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=["best", "last"],
        default=["best"],
        help="checkpoints scored from each training; the first gives 'score' and 'mean'",
    )
    args = parser.parse_args()
    overrides = parse_overrides(args.overrides)
    result = {
        "config": str(args.config),
        "overrides": overrides,
        "folds": args.folds,
        "dev_fraction": args.dev_fraction,
        "seed": args.seed,
        "tasks": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            result["tasks"][task] = score_task(
                task, converted_task_parts(args.corpus, task), args, overrides, Path(tmp)
            )
            print(task, json.dumps(result["tasks"][task]), flush=True)
    result["mean"] = round(sum(t["score"] for t in result["tasks"].values()) / len(result["tasks"]), 2)
    for model in args.models[1:]:
        scores = [t[f"score_{model}"] for t in result["tasks"].values()]
        result[f"mean_{model}"] = round(sum(scores) / len(scores), 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({task: t["score"] for task, t in result["tasks"].items()} | {"mean": result["mean"]}))


if __name__ == "__main__":
    main()
