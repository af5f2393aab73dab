"""Fewer labels: each system trained on 10 %, 25 %, 50 % and 100 % of a task's train split
and scored on its test split, one thread, model-best by the full dev/val split.

A TweetEval task (the default): the first ``round(fraction × n)`` train docs, trained and
scored (official metric) by scripts/benchmark_textcat.py.

    python scripts/label_curve.py OUT.json [--task emotion] [--fractions 0.1 0.25 0.5 1]
        [--systems rnn=configs/textcat.cfg pretrained=configs/textcat_pretrained.cfg]
        [--options pretrained="--paths.lm training/pretrain-textcat/model-best"]
        [--corpus corpus/tweeteval] [--training training/label-curve] [--force]

``--options NAME="..."`` adds ``spacy train`` options to one system's trainings (the LM of
a pretrained config). A fraction's training set is the first ``round(fraction × n)`` docs of
the train split (``--corpora.train.limit``), the same docs for every system. OUT.json:
``{"task", "n_train", "rows": [{"fraction", "n", "system", "score", "train_s"}]}``;
``scripts/plots.py --label-curve OUT.json`` draws it. Trainings whose model-best exists
are reused (``--force`` retrains).

A tagging task (``--tagging TRAIN DEV TEST``, e.g. the EWT ``.spacy`` files; ``--task``
names it, default ``pos``): a seeded random ``round(fraction × n)`` of the TRAIN docs
(nested: each fraction's docs hold the smaller fraction's; EWT train is ordered by genre,
so its first docs would be one genre), written to ``TRAINING/FRACTION/train.spacy`` (100 %:
TRAIN itself), trained with ``spacy train CONFIG --paths.train … --paths.dev DEV`` through
scripts/timed.py, scored on TEST with gold tokens: ``score`` is UPOS accuracy (× 100) and
``unseen`` the UPOS accuracy on the TEST tokens whose lowercase form is not in that
fraction's training docs (scripts/benchmark_tagger.py's measure).

    python scripts/label_curve.py OUT.json --tagging corpus/en_ewt-ud-train.spacy \
        corpus/en_ewt-ud-dev.spacy corpus/en_ewt-ud-test.spacy --systems rnn=configs/tagger.cfg \
        pretrained=configs/tagger_pretrained.cfg --options "pretrained=--paths.lm training/pretrain/model-best"
"""

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import spacy
from spacy.tokens import DocBin

SCRIPTS = Path(__file__).parent


def count_docs(path: Path) -> int:
    return len(DocBin().from_disk(path))


def train_subset(train: Path, n: int, out: Path, seed: int = 0) -> Path:
    """``out``, a DocBin of ``n`` of ``train``'s docs drawn by a seeded permutation, in
    their original order (the first ``n`` of one permutation: smaller subsets nest); all of
    them: ``train`` itself."""
    docs = DocBin(store_user_data=True).from_disk(train)
    if n >= len(docs):
        return train
    keep = sorted(random.Random(seed).sample(range(len(docs)), len(docs))[:n])
    all_docs = list(docs.get_docs(spacy.blank("en").vocab))
    out.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=[all_docs[i] for i in keep], store_user_data=True).to_disk(out)
    return out


def tagging_row(config: str, train: Path, dev: Path, test: Path, training: Path, options: str, force: bool) -> dict:
    """Train ``config`` on ``train`` (model-best by ``dev``) unless ``training/model-best``
    exists, and score it on ``test``: ``{"score", "unseen", "n_unseen", "train_s"}``."""
    if force or not (training / "model-best").exists():
        cmd = [sys.executable, str(SCRIPTS / "timed.py"), str(training / "train_time.json"), "--threads", "1", "--"]
        cmd += [sys.executable, "-m", "spacy", "train", config, "--output", str(training)]
        cmd += ["--paths.train", str(train), "--paths.dev", str(dev)] + shlex.split(options)
        subprocess.run(cmd, check=True)
    sys.path.insert(0, str(SCRIPTS))
    from benchmark_tagger import load_examples, oov_accuracy, train_forms

    nlp = spacy.load(training / "model-best")
    examples = load_examples(nlp, test)
    predicted = list(nlp.pipe([eg.predicted for eg in examples], batch_size=1000))
    accuracy, _ = oov_accuracy(predicted, examples, set(), "pos")  # no known forms: every token
    unseen, n_unseen = oov_accuracy(predicted, examples, train_forms(nlp, train), "pos")
    seconds = json.loads((training / "train_time.json").read_text())["seconds"]
    return {
        "score": round(100 * accuracy, 2),
        "unseen": round(100 * unseen, 2),
        "n_unseen": n_unseen,
        "train_s": round(seconds, 1),
    }


def textcat_row(spec: str, task: str, n: int, training: Path, args: argparse.Namespace, options: str) -> dict:
    """One system on the first ``n`` train docs of a TweetEval task, through
    scripts/benchmark_textcat.py, trained under ``training``: ``{"score", "train_s"}``."""
    out = training / f"{spec.partition('=')[0]}.json"
    env = dict(os.environ)
    extra = f"{os.environ.get('SPACY_RNN_BENCHMARK_OVERRIDES', '')} {options}"
    env["SPACY_RNN_BENCHMARK_OVERRIDES"] = f"--corpora.train.limit {n} {extra}".strip()
    cmd = [sys.executable, str(SCRIPTS / "benchmark_textcat.py"), str(out), "--tasks", task, "--systems", spec]
    cmd += ["--corpus", str(args.corpus), "--training", str(training)] + (["--force"] if args.force else [])
    subprocess.run(cmd, env=env, check=True)
    row = json.loads(out.read_text())["tasks"][task][spec.partition("=")[0]]
    return {"score": row["score"], "train_s": row["train_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--task", default=None, help="a TweetEval task (default emotion), or a tagging task's name")
    parser.add_argument("--tagging", nargs=3, type=Path, metavar=("TRAIN", "DEV", "TEST"))
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.25, 0.5, 1.0])
    parser.add_argument("--systems", nargs="+", default=None, help="NAME=CONFIG ...")
    parser.add_argument("--options", nargs="*", default=[], help='NAME="spacy train options"')
    parser.add_argument("--corpus", type=Path, default=Path("corpus/tweeteval"))
    parser.add_argument("--training", type=Path, default=Path("training/label-curve"))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    task = args.task or ("pos" if args.tagging else "emotion")
    systems: List[str] = args.systems or ["rnn=configs/tagger.cfg" if args.tagging else "rnn=configs/textcat.cfg"]
    if any(not 0 < f <= 1 for f in args.fractions):
        parser.error(f"--fractions must lie in (0, 1], got {args.fractions}")
    train = args.tagging[0] if args.tagging else args.corpus / task / "train.spacy"
    if not train.exists():
        parser.error(f"{train} not found" + ("" if args.tagging else " (a task with sub-targets is not supported)"))
    n_train = count_docs(train)
    options: Dict[str, str] = dict(spec.partition("=")[::2] for spec in args.options)
    rows = []
    for fraction in args.fractions:
        n = round(fraction * n_train)
        training = args.training / (task if args.tagging else "") / f"{fraction:g}"
        subset = train_subset(train, n, training / "train.spacy") if args.tagging else None
        for spec in systems:
            name, _, config = spec.partition("=")
            print(f"{task}: {name} on {n} of {n_train} training docs", flush=True)
            if args.tagging:
                dev, test = args.tagging[1:]
                row = tagging_row(config, subset, dev, test, training / name, options.get(name, ""), args.force)
            else:
                row = textcat_row(spec, task, n, training, args, options.get(name, ""))
            rows.append({"fraction": fraction, "n": n, "system": name, **row})
            print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"task": task, "n_train": n_train, "rows": rows}, indent=2) + "\n")
    print("\n| labels | " + " | ".join(s.partition("=")[0] for s in systems) + " |")
    print("|---|" + "---|" * len(systems))
    for fraction in args.fractions:
        scores = {r["system"]: r["score"] for r in rows if r["fraction"] == fraction}
        cells = " | ".join(str(scores[s.partition("=")[0]]) for s in systems)
        print(f"| {fraction:.0%} ({round(fraction * n_train)}) | {cells} |")


if __name__ == "__main__":
    main()
