"""Pictures of the trained pipelines, as PNGs (matplotlib):

    python scripts/plots.py OUT_DIR [--training training] [--benchmark JSON] [--label-curve JSON ...]
        [--confusion NAME=MODEL:DATA.spacy[,MODEL:DATA.spacy ...] ...]

- a learning curve for every training log found under ``--training`` (``**/log.jsonl``,
  written by ``spacy train`` through the configs' ``[training.logger] output_file``): the
  training loss per step and the dev score at each evaluation, against the step;
  ``OUT_DIR/curve_<run>.png``;
- with ``--benchmark metrics/benchmark_textcat.json``: for each task, the true label counts
  on test beside each system's predicted counts; ``OUT_DIR/distributions_textcat.png``;
- with ``--label-curve OUT.json`` (scripts/label_curve.py): the test score against the
  number of training labels (log scale), one line per system, and for a tagging curve a
  second panel with the accuracy on the test words unseen in training;
  ``OUT_DIR/label_curve_<task>.png``;
- a confusion matrix for each ``--confusion`` pipeline on its data: UPOS (``token.pos_``)
  for a tagger, ``doc.cats`` for a text classifier (rows: true label, columns:
  predicted, each row normalised), with accuracy; ``OUT_DIR/confusion_<NAME>.png``.
  Several comma-separated ``MODEL:DATA`` pairs under one NAME are pooled into one matrix
  (a task with one model per target, such as TweetEval stance).
Missing models or data are skipped with a message, so the command also runs after a
partial project run.
"""

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def learning_curve(log: Path, out: Path, title: str) -> None:
    rows = read_log(log)
    steps = [r["step"] for r in rows]
    losses, previous = [], 0
    for r in rows:
        n = max(1, r["step"] - previous)
        losses.append(sum(r["losses"].values()) / n)
        previous = r["step"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(steps[1:], losses[1:], color="tab:blue", label="training loss per step")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss / step", color="tab:blue")
    right = ax.twinx()
    right.plot(steps, [100 * r["score"] for r in rows], color="tab:orange", marker="o", markersize=3, label="dev score")
    right.set_ylabel("dev score (x100)", color="tab:orange")
    best = max(range(len(rows)), key=lambda i: rows[i]["score"])
    right.axvline(steps[best], color="grey", linestyle=":", linewidth=1)
    ax.set_title(f"{title}: best dev {100 * rows[best]['score']:.2f} at step {steps[best]}")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def predictions(model: Path, data: Path) -> Tuple[List[str], List[str]]:
    import spacy
    from spacy.tokens import Doc, DocBin

    nlp = spacy.load(model)
    refs = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    if refs and refs[0].cats:
        golds = [max(d.cats, key=d.cats.get) for d in refs]
        preds = [max(d.cats, key=d.cats.get) for d in nlp.pipe(d.text for d in refs)]
        return golds, preds
    docs = nlp.pipe(Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]) for d in refs)
    golds, preds = [], []
    for ref, doc in zip(refs, docs):
        golds += [t.pos_ for t in ref]
        preds += [t.pos_ for t in doc]
    return golds, preds


def pooled_predictions(pairs: List[Tuple[Path, Path]]) -> Tuple[List[str], List[str]]:
    """The true and predicted labels of several (model, data) pairs, one after another."""
    golds: List[str] = []
    preds: List[str] = []
    for model, data in pairs:
        pair_golds, pair_preds = predictions(model, data)
        golds += pair_golds
        preds += pair_preds
    return golds, preds


def confusion(golds: List[str], preds: List[str], out: Path, title: str) -> None:
    labels = [label for label, _ in Counter(golds).most_common()]
    labels += sorted(set(preds) - set(labels))
    index: Dict[str, int] = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for g, p in zip(golds, preds):
        counts[index[g]][index[p]] += 1
    rates = [[c / max(1, sum(row)) for c in row] for row in counts]
    size = max(4.0, 0.45 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i, row in enumerate(rates):
        for j, value in enumerate(row):
            if value >= 0.01:
                ax.text(
                    j,
                    i,
                    f"{100 * value:.0f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if value > 0.5 else "black",
                )
    accuracy = sum(g == p for g, p in zip(golds, preds)) / max(1, len(golds))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: accuracy {100 * accuracy:.2f}\n(cells: % of each true label)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def distributions(benchmark: Path, out: Path) -> None:
    tasks = json.loads(benchmark.read_text())["tasks"]
    fig, axes = plt.subplots(len(tasks), 1, figsize=(9, 2.6 * len(tasks)))
    for ax, (task, rows) in zip(list(axes) if len(tasks) > 1 else [axes], tasks.items()):
        gold = next(iter(rows.values()))["gold_counts"]
        labels = sorted(gold, key=gold.get, reverse=True)
        series = [("true", gold)] + [(f"{name} ({row['score']:.1f})", row["pred_counts"]) for name, row in rows.items()]
        width = 0.8 / len(series)
        for i, (name, counts) in enumerate(series):
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(labels))]
            ax.bar(xs, [counts.get(label, 0) for label in labels], width, label=name, color="black" if i == 0 else None)
        ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 5 else 0, ha="right", fontsize=7)
        ax.set_title(f"{task}: test labels, true and predicted (official score)", fontsize=9)
        ax.legend(fontsize=7, ncol=len(series))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def label_curve(curve: Path, out: Path) -> None:
    record = json.loads(curve.read_text())
    # a tagging curve also has the accuracy on the test words unseen in each training set
    panels = [("score", "official score on test")]
    if all("unseen" in row for row in record["rows"]):
        panels = [("score", "UPOS accuracy on test"), ("unseen", "UPOS on the test words unseen in that training set")]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (field, label) in zip(axes[0], panels):
        for system in dict.fromkeys(row["system"] for row in record["rows"]):
            rows = sorted((r for r in record["rows"] if r["system"] == system), key=lambda r: r["n"])
            ax.plot([r["n"] for r in rows], [r[field] for r in rows], marker="o", label=system)
            for r in rows:
                ax.annotate(
                    f"{r[field]:.1f}", (r["n"], r[field]), textcoords="offset points", xytext=(4, -10), fontsize=7
                )
        ax.set_xscale("log")
        ax.set_xlabel(f"training docs (of {record['n_train']:,})")
        ax.set_ylabel(label)
        ax.set_title(f"{record['task']}: fewer labels", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--training", type=Path, default=Path("training"))
    parser.add_argument("--confusion", nargs="*", default=[], help="NAME=MODEL:DATA.spacy")
    parser.add_argument("--benchmark", type=Path, default=None, help="metrics/benchmark_textcat.json")
    parser.add_argument("--label-curve", nargs="*", type=Path, default=[], help="scripts/label_curve.py's JSON")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for log in sorted(args.training.rglob("log.jsonl")):
        run = log.parent.relative_to(args.training).as_posix()
        if run == ".":  # --training names one run's folder
            run = args.training.resolve().name
        if read_log(log):
            path = args.out / f"curve_{run.replace('/', '_')}.png"
            learning_curve(log, path, run)
            print(f"wrote {path}")
    if args.benchmark is not None:
        if args.benchmark.exists():
            path = args.out / "distributions_textcat.png"
            distributions(args.benchmark, path)
            print(f"wrote {path}")
        else:
            print(f"skipped the distributions: {args.benchmark} not found")
    for curve in args.label_curve:
        if not curve.exists():
            print(f"skipped the label curve: {curve} not found")
            continue
        path = args.out / f"label_curve_{json.loads(curve.read_text())['task']}.png"
        label_curve(curve, path)
        print(f"wrote {path}")
    for spec in args.confusion:
        name, _, rest = spec.partition("=")
        pairs = [pair.partition(":")[::2] for pair in rest.split(",")]
        missing = [f"{model} or {data}" for model, data in pairs if not Path(model).is_dir() or not Path(data).exists()]
        if missing:
            print(f"skipped {name}: {', '.join(missing)} not found")
            continue
        path = args.out / f"confusion_{name}.png"
        confusion(*pooled_predictions([(Path(model), Path(data)) for model, data in pairs]), path, name)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
