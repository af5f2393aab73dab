"""Annotation throughput: ``nlp.pipe`` against ``spacy-rnn annotate``, locally and on a
local Ray cluster, for each component, on this machine, 1 torch thread per process.

    python scripts/benchmark_annotate.py OUT.json --tagger MODEL --textcat MODEL --lm MODEL
        [--docs 20000] [--data ../shared/data] [--corpus corpus] [--batch-size 256]

Inputs (``--docs`` each, cycled when the source is shorter): EWT train sentences for the
tagger, TweetEval emoji train tweets for the text classifier, EWT-LM train lines for the
LM, as a text file (one doc a line). For each component and each way of running it:
``wps`` (spaCy tokens / wall second, start-up included: processes, Ray actors, model
loading), ``seconds``, and ``peak_rss_mb`` (the largest peak resident memory of one process
doing the work: this one for 1 process, else each worker, read from /proc while it runs).
Ways: ``pipe_1`` (``nlp.pipe``), ``pipe_2`` (``nlp.pipe(n_process=2)``), ``annotate_1`` /
``annotate_2`` (the local engine, 1 / 2 processes), ``ray_1`` / ``ray_2`` (``--engine ray``,
1 / 2 workers). ``ray_startup_s``: ``ray.init`` of the local cluster. Ratios:
``ray_2 / pipe_1`` (target ≥ 1.7) and ``ray_2 / pipe_2`` (target ≥ 0.9). For annotate and
Ray also ``steady_wps``: words/s after the first doc was written (start-up left out).
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/torch are imported

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from itertools import cycle, islice  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, List  # noqa: E402

import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.tokens import DocBin  # noqa: E402

from spacy_rnn.annotate import annotate  # noqa: E402

torch.set_num_threads(1)


class PeakMemory:
    """The largest VmHWM (peak RSS) of the other processes whose command line contains one
    of ``markers``, polled every 0.2 s while the block runs."""

    def __init__(self, *markers: bytes):
        self.markers, self.peak_kb, self._stop = markers, 0, threading.Event()

    def _poll(self) -> None:
        me = str(os.getpid())
        while not self._stop.is_set():
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit() or proc.name == me:
                    continue
                try:
                    cmdline = (proc / "cmdline").read_bytes()
                    if not any(marker in cmdline for marker in self.markers):
                        continue
                    for line in (proc / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    continue
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def texts_for(name: str, data: Path, corpus: Path, n: int) -> List[str]:
    if name == "tagger":
        from spacy.training.converters import conllu_to_docs

        source = (data / "ud-english-ewt" / "en_ewt-ud-train.conllu").read_text(encoding="utf8")
        texts = [d.text for d in conllu_to_docs(source, n_sents=1, no_print=True)]
    elif name == "textcat":
        texts = (data / "tweeteval" / "emoji" / "train_text.txt").read_text(encoding="utf8").splitlines()
    else:
        vocab = spacy.blank("en").vocab
        texts = [d.text for d in DocBin().from_disk(corpus / "ewt-lm" / "train.spacy").get_docs(vocab)]
    texts = [t.replace("\n", " ").strip() for t in texts if t.strip()]
    return list(islice(cycle(texts), n))


WORKERS = (b"benchmark_annotate", b"multiprocessing")  # forked (nlp.pipe) and spawned (annotate) workers


def timed(run: Callable[[], int], markers: tuple = ()) -> dict:
    start = time.perf_counter()
    with PeakMemory(*markers) if markers else _null() as mem:
        words = run()
    seconds = time.perf_counter() - start
    peak = mem.peak_kb if markers else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "wps": round(words / seconds),
        "seconds": round(seconds, 2),
        "words": words,
        "peak_rss_mb": round(peak / 1024),
    }


class _null:
    peak_kb = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def bench_component(name: str, model: Path, texts: List[str], tmp: Path, bs: int) -> dict:
    """Every way of running one pipeline over ``texts`` (see the module docstring)."""
    src = tmp / f"{name}.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf8")
    row = {}
    nlp = spacy.load(model)
    row["pipe_1"] = timed(lambda: sum(len(d) for d in nlp.pipe(texts, batch_size=bs)))
    row["pipe_2"] = timed(lambda: sum(len(d) for d in nlp.pipe(texts, batch_size=bs, n_process=2)), markers=WORKERS)

    steady = {}

    def local(n: int) -> int:
        out = tmp / f"{name}-local{n}.jsonl"
        summary = annotate(model, src, out, n_process=n, batch_size=bs, progress=False, overwrite=True)
        steady[f"annotate_{n}"] = summary.steady_words_per_second
        return summary.words

    def on_ray(n: int) -> int:
        out = tmp / f"{name}-ray{n}.jsonl"
        summary = annotate(model, src, out, engine="ray", workers=n, batch_size=bs, progress=False, overwrite=True)
        steady[f"ray_{n}"] = summary.steady_words_per_second
        return summary.words

    row["annotate_1"] = timed(lambda: local(1))
    row["annotate_2"] = timed(lambda: local(2), markers=WORKERS)
    row["ray_1"] = timed(lambda: on_ray(1), markers=(b"PipelineAnnotator",))
    row["ray_2"] = timed(lambda: on_ray(2), markers=(b"PipelineAnnotator",))
    for key, wps in steady.items():  # words/s after the first result: start-up left out
        row[key]["steady_wps"] = round(wps) if wps else None
    row["ray_2_over_pipe_1"] = round(row["ray_2"]["wps"] / row["pipe_1"]["wps"], 2)
    row["ray_2_over_pipe_2"] = round(row["ray_2"]["wps"] / row["pipe_2"]["wps"], 2)
    same = (tmp / f"{name}-local1.jsonl").read_bytes() == (tmp / f"{name}-ray2.jsonl").read_bytes()
    row["ray_output_equals_local"] = same
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tagger", type=Path, required=True)
    parser.add_argument("--textcat", type=Path, required=True)
    parser.add_argument("--lm", type=Path, required=True)
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("SPACY_RNN_DATA", "../shared/data")))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    results = {"docs": args.docs, "batch_size": args.batch_size, "cpus": os.cpu_count()}
    results["ray_startup_s"] = round(time.perf_counter() - start, 2)
    tmp = Path(tempfile.mkdtemp())
    bs = args.batch_size
    for name in ("tagger", "textcat", "lm"):
        model = getattr(args, name)
        texts = texts_for(name, args.data, args.corpus, args.docs)
        row = bench_component(name, model, texts, tmp, bs)
        results[name] = row
        print(name, json.dumps(row), flush=True)
    ray.shutdown()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n| component | " + " | ".join(["pipe_1", "pipe_2", "annotate_1", "annotate_2", "ray_1", "ray_2"]) + " |")
    print("|---" * 7 + "|")
    for name in ("tagger", "textcat", "lm"):
        cells = [
            f"{results[name][k]['wps']:,}" for k in ("pipe_1", "pipe_2", "annotate_1", "annotate_2", "ray_1", "ray_2")
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
