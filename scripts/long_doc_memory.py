"""Time and peak memory of ``rnn_textcat`` (factory defaults) on one long doc:

    python scripts/long_doc_memory.py N_TOKENS [N_TOKENS ...]

For each length, in a fresh process: predict one doc of N tokens (over up to 7,919
distinct words), then one training update on it; prints seconds and the growth of peak RSS over the initialized pipeline.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n_tokens: int) -> None:
    import spacy
    from spacy.training import Example

    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_textcat")
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": {"a": float(i), "b": float(1 - i)}})
        for i, text in enumerate(["a good day", "a bad day"])
    ]
    optimizer = nlp.initialize(lambda: examples)
    # up to 7,919 distinct word types, as in a long real text (the subword and n-gram
    # features are computed per distinct word)
    doc = nlp.make_doc(" ".join(f"word{i % 7919}" for i in range(n_tokens)))
    base = peak_mb()
    start = time.perf_counter()
    nlp(doc)
    predict_s, predict_mb = time.perf_counter() - start, peak_mb() - base
    example = Example.from_dict(doc, {"cats": {"a": 1.0, "b": 0.0}})
    start = time.perf_counter()
    nlp.update([example], sgd=optimizer)
    update_s, update_mb = time.perf_counter() - start, peak_mb() - base
    print(f"{len(doc):,} tokens: predict {predict_s:.2f} s, +{predict_mb:.0f} MB peak RSS; "
          f"training update {update_s:.2f} s, +{update_mb:.0f} MB")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        measure(int(sys.argv[2]))
    else:
        for arg in sys.argv[1:]:
            subprocess.run([sys.executable, __file__, "--one", arg], check=True)
