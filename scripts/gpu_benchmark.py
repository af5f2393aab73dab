"""GPU speed of the three components (run by scripts/gpu_check.sh on a CUDA machine):

    python scripts/gpu_benchmark.py OUT.json --models DIR [--data .gpu] [--cpu]

For each pipeline ``DIR/{tagger,textcat,lm}/model-last`` (trained by gpu_check.sh):
- ``infer_wps_b1000`` / ``infer_wps_b5000``: words/s of ``nlp.pipe`` over 5,000 docs of
  its dev slice (repeated) at 1,000 and 5,000 docs a batch (best of 2, after a warm-up);
- ``train_wps``: words/s of ``nlp.update`` on batches of its train slice (30 updates
  after 5 warm-up ones, fp32), and ``train_wps_mixed`` with the torch shims switched to
  mixed precision (``spacy_rnn.shims.use_mixed_precision``; the error is recorded if it
  fails, spaCy#13512);
- ``peak_mem_mb``: ``torch.cuda.max_memory_allocated`` over all of it.
Beside them, ``packed_vs_padded``: one bidirectional 2-layer LSTM (256 units) on batches
of 64 sequences of lengths drawn from 5..L, packed (what PackedRNN does) against padded,
forward + backward, ms per batch, for L = 50 and 500 (pytorch#149194). ``--cpu`` runs
the same on the CPU with 1 thread (for the ratio; no mixed precision).
"""

import argparse
import json
import time
from itertools import cycle, islice
from pathlib import Path

import spacy
import torch
from spacy.tokens import DocBin
from spacy.training import Example


def sync(gpu: bool) -> None:
    if gpu:
        torch.cuda.synchronize()


def infer_wps(nlp, texts, batch_size: int, gpu: bool) -> float:
    words = sum(len(d) for d in nlp.pipe(texts[:batch_size], batch_size=batch_size))  # warm-up
    words = sum(len(nlp.make_doc(t)) for t in texts)
    best = None
    for _ in range(2):
        sync(gpu)
        start = time.perf_counter()
        for _doc in nlp.pipe(texts, batch_size=batch_size):
            pass
        sync(gpu)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return round(words / best)


def train_wps(nlp, examples, gpu: bool, steps: int = 30, batch_words: int = 2000) -> float:
    batches, batch, words = [], [], 0
    for eg in cycle(examples):
        batch.append(eg)
        words += len(eg.reference)
        if words >= batch_words:
            batches.append(batch)
            batch, words = [], 0
            if len(batches) == steps + 5:
                break
    optimizer = nlp.resume_training()
    for b in batches[:5]:
        nlp.update(b, sgd=optimizer)
    sync(gpu)
    start = time.perf_counter()
    for b in batches[5:]:
        nlp.update(b, sgd=optimizer)
    sync(gpu)
    return round(sum(len(eg.reference) for b in batches[5:] for eg in b) / (time.perf_counter() - start))


def packed_vs_padded(device: str, max_len: int, batches: int = 10) -> dict:
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(128, 256, num_layers=2, bidirectional=True, batch_first=True).to(device)
    lengths = torch.randint(5, max_len + 1, (64,))
    x = torch.randn(64, int(lengths.max()), 128, device=device, requires_grad=True)
    out = {}
    for mode in ("packed", "padded"):
        times = []
        for i in range(batches + 2):
            sync(device == "cuda")
            start = time.perf_counter()
            if mode == "packed":
                packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                y, _ = lstm(packed)
                y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True)
            else:
                y, _ = lstm(x)
            y.sum().backward()
            sync(device == "cuda")
            if i >= 2:
                times.append(time.perf_counter() - start)
        out[f"{mode}_ms"] = round(1000 * sum(times) / len(times), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path(".gpu"))
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args()
    gpu = not args.cpu
    if gpu:
        if not torch.cuda.is_available():
            raise SystemExit("gpu_benchmark.py: no CUDA GPU (torch.cuda.is_available() is False); use --cpu.")
        spacy.require_gpu(0)
        device = "cuda"
    else:
        torch.set_num_threads(1)
        device = "cpu"
    from spacy_rnn.shims import use_mixed_precision

    results = {"device": torch.cuda.get_device_name(0) if gpu else "cpu (1 thread)", "components": {}}
    for name in ("tagger", "textcat", "lm"):
        model = args.models / name / "model-last"
        if not model.exists():
            results["components"][name] = {"error": f"{model} not found"}
            continue
        if gpu:
            torch.cuda.reset_peak_memory_stats()
        nlp = spacy.load(model)
        dev = list(DocBin().from_disk(args.data / f"{name}-dev.spacy").get_docs(nlp.vocab))
        train = list(DocBin().from_disk(args.data / f"{name}-train.spacy").get_docs(nlp.vocab))
        texts = [d.text for d in islice(cycle(dev), 5000)]
        row = {f"infer_wps_b{b}": infer_wps(nlp, texts, b, gpu) for b in (1000, 5000)}
        examples = [Example(nlp.make_doc(d.text), d) for d in train]
        row["train_wps"] = train_wps(nlp, examples, gpu)
        if gpu:
            try:
                shims = sum(use_mixed_precision(pipe.model) for _, pipe in nlp.pipeline if hasattr(pipe, "model"))
                row["train_wps_mixed"] = train_wps(nlp, examples, gpu)
                row["mixed_shims"] = shims
            except Exception as err:  # noqa: BLE001 - recorded, it is a finding
                row["train_wps_mixed"] = None
                row["mixed_error"] = f"{type(err).__name__}: {err}"
            row["peak_mem_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        results["components"][name] = row
        print(name, json.dumps(row), flush=True)
    batches = 10 if gpu else 2  # a 500-step bidirectional LSTM batch takes seconds on one CPU thread
    results["packed_vs_padded"] = {f"max_len_{n}": packed_vs_padded(device, n, batches) for n in (50, 500)}
    print("packed_vs_padded", json.dumps(results["packed_vs_padded"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
