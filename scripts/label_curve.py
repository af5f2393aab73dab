"""Fewer labels: each system trained on the first 10 %, 25 %, 50 % and 100 % of a TweetEval
task's train split and scored on its test split (official metric), through
scripts/benchmark_textcat.py (one thread, model-best by the full val split).

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
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

from spacy.tokens import DocBin


def count_docs(path: Path) -> int:
    return len(DocBin().from_disk(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--task", default="emotion")
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.1, 0.25, 0.5, 1.0])
    parser.add_argument("--systems", nargs="+", default=["rnn=configs/textcat.cfg"])
    parser.add_argument("--options", nargs="*", default=[], help='NAME="spacy train options"')
    parser.add_argument("--corpus", type=Path, default=Path("corpus/tweeteval"))
    parser.add_argument("--training", type=Path, default=Path("training/label-curve"))
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    if any(not 0 < f <= 1 for f in args.fractions):
        parser.error(f"--fractions must lie in (0, 1], got {args.fractions}")
    if (args.corpus / args.task).joinpath("train.spacy").exists():
        n_train = count_docs(args.corpus / args.task / "train.spacy")
    else:
        parser.error(f"{args.corpus / args.task / 'train.spacy'} not found (a task with sub-targets is not supported)")
    options: Dict[str, str] = dict(spec.partition("=")[::2] for spec in args.options)
    bench = Path(__file__).parent / "benchmark_textcat.py"
    rows = []
    for fraction in args.fractions:
        n = round(fraction * n_train)
        for spec in args.systems:
            name = spec.partition("=")[0]
            training = args.training / f"{fraction:g}"
            out = training / f"{name}.json"
            env = dict(os.environ)
            extra = f"{os.environ.get('SPACY_RNN_BENCHMARK_OVERRIDES', '')} {options.get(name, '')}"
            env["SPACY_RNN_BENCHMARK_OVERRIDES"] = f"--corpora.train.limit {n} {extra}".strip()
            cmd = [sys.executable, str(bench), str(out), "--tasks", args.task, "--systems", spec]
            cmd += ["--corpus", str(args.corpus), "--training", str(training)] + (["--force"] if args.force else [])
            print(f"{args.task}: {name} on {n} of {n_train} training docs", flush=True)
            subprocess.run(cmd, env=env, check=True)
            row = json.loads(out.read_text())["tasks"][args.task][name]
            rows.append(
                {"fraction": fraction, "n": n, "system": name, "score": row["score"], "train_s": row["train_s"]}
            )
            print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"task": args.task, "n_train": n_train, "rows": rows}, indent=2) + "\n")
    print("\n| labels | " + " | ".join(s.partition("=")[0] for s in args.systems) + " |")
    print("|---|" + "---|" * len(args.systems))
    for fraction in args.fractions:
        scores = {r["system"]: r["score"] for r in rows if r["fraction"] == fraction}
        n = round(fraction * n_train)
        cells = " | ".join(str(scores[s.partition("=")[0]]) for s in args.systems)
        print(f"| {fraction:.0%} ({n}) | {cells} |")


if __name__ == "__main__":
    main()
