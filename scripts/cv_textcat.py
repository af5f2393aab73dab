"""K-fold cross-validation of a textcat config on a training split, one thread.

    python scripts/cv_textcat.py CONFIG TRAIN.spacy OUT.json [--folds 5] [--seed 0]
        [--set training.max_steps=1500 ...]

Used to choose settings without the test split and without leaning on a small val
split alone (TweetEval emotion's val has 374 tweets, 28 of them "optimism", so seeds
alone move its macro-F1 by 3 points). The training docs are shuffled (``--seed``) and
cut into ``--folds`` parts; for each part, ``spacy train`` runs on the others with that
part as its dev set, and ``model-last`` (no selection on the held-out part) predicts
it. Reported: the macro-F1 of the pooled out-of-fold predictions (``cats_macro_f``,
spaCy's scorer), and each fold's. ``--set`` takes config overrides (``section.key=value``,
values parsed as JSON where they can be).
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/torch are imported

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.cli.train import train  # noqa: E402
from spacy.scorer import Scorer  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402
from spacy.training import Example  # noqa: E402

torch.set_num_threads(1)


def parse_overrides(items):
    overrides = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("train", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], dest="overrides")
    args = parser.parse_args()
    overrides = parse_overrides(args.overrides)

    vocab = spacy.blank("en").vocab
    docs = list(DocBin().from_disk(args.train).get_docs(vocab))
    random.Random(args.seed).shuffle(docs)
    parts = [docs[i :: args.folds] for i in range(args.folds)]
    pooled, per_fold, labels = [], [], sorted(docs[0].cats)
    with tempfile.TemporaryDirectory() as tmp:
        for k, held_out in enumerate(parts):
            fold = Path(tmp) / f"fold{k}"
            fold.mkdir()
            rest = [doc for j, part in enumerate(parts) if j != k for doc in part]
            DocBin(docs=rest, store_user_data=True).to_disk(fold / "train.spacy")
            DocBin(docs=held_out, store_user_data=True).to_disk(fold / "dev.spacy")
            fold_overrides = {
                **overrides,
                "paths.train": str(fold / "train.spacy"),
                "paths.dev": str(fold / "dev.spacy"),
            }
            train(args.config, fold / "out", overrides=fold_overrides)
            nlp = spacy.load(fold / "out" / "model-last")
            examples = [
                Example(pred, gold)
                for pred, gold in zip(
                    nlp.pipe(doc.text for doc in held_out), held_out
                )
            ]
            scores = Scorer.score_cats(
                examples, "cats", labels=labels, multi_label=False
            )
            per_fold.append(round(100 * scores["cats_macro_f"], 2))
            pooled.extend(examples)
            print(f"fold {k}: macro-F1 {per_fold[-1]}", flush=True)
    scores = Scorer.score_cats(pooled, "cats", labels=labels, multi_label=False)
    result = {
        "config": str(args.config),
        "overrides": overrides,
        "folds": args.folds,
        "seed": args.seed,
        "macro_f1": round(100 * scores["cats_macro_f"], 2),
        "per_fold": per_fold,
        "n_predicted": len(pooled),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
