"""Prediction time and extra peak memory of each component (factory defaults) on one
long doc:

    python scripts/long_doc_memory.py OUT.json [--tokens 10000 100000] [--components ...]

For each component and length, in a fresh process with 1 thread: build the component with
its factory defaults, initialize it (17 UPOS labels for rnn_tagger, 2 labels for
rnn_textcat, a 7,921-word vocabulary for rnn_lm), predict a 5-token doc (the baseline),
then one doc of N tokens (made before the baseline) over up to 7,919 distinct words, as
in a long real text. Reports
the seconds of that prediction and its peak resident memory above the baseline's.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

COMPONENTS = ["rnn_tagger", "rnn_textcat", "rnn_lm"]
UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
N_TYPES = 7919


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(component: str, n_tokens: int) -> dict:
    import spacy
    import torch
    from spacy.tokens import Doc
    from spacy.training import Example

    torch.set_num_threads(1)
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe(component)
    words = [f"word{i}" for i in range(N_TYPES)]
    doc = Doc(nlp.vocab, words=["a", "good", "day", "today", "."])
    if component == "rnn_tagger":
        example = Example(doc, Doc(nlp.vocab, words=[t.text for t in doc], pos=["DET", "ADJ", "NOUN", "NOUN", "PUNCT"]))
        pipe.initialize(lambda: [example], nlp=nlp, labels=UPOS)
    elif component == "rnn_textcat":
        example = Example.from_dict(doc, {"cats": {"a": 1.0, "b": 0.0}})
        pipe.initialize(lambda: [example], nlp=nlp)
    else:
        pipe.initialize(lambda: [Example(doc, doc)], nlp=nlp, words=words)
    long_doc = Doc(nlp.vocab, words=[words[i % N_TYPES] for i in range(n_tokens)])
    nlp(Doc(nlp.vocab, words=words[:5]))
    base = peak_mb()
    start = time.perf_counter()
    nlp(long_doc)
    seconds = time.perf_counter() - start
    return {
        "component": component,
        "tokens": n_tokens,
        "predict_s": round(seconds, 2),
        "extra_peak_mb": round(peak_mb() - base, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, nargs="?")
    parser.add_argument("--tokens", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--components", nargs="+", default=COMPONENTS)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]))))
        return
    rows = []
    for component in args.components:
        for n in args.tokens:
            result = subprocess.run(
                [sys.executable, __file__, "--one", component, str(n)], check=True, capture_output=True, text=True
            )
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
            row = rows[-1]
            print(
                f"{component:12s} {n:>9,} tokens: predict {row['predict_s']:6.2f} s, "
                f"+{row['extra_peak_mb']:7.1f} MB peak RSS",
                flush=True,
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
