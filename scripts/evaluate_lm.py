"""Score a trained rnn_lm on the EWT language-modelling benchmark:

    python scripts/evaluate_lm.py MODEL EWT_LM_DIR OUT.json [--splits valid test]

Protocol: each line of EWT_LM_DIR/<split>.txt is one doc whose words are the line's
space-separated tokens (the file's own <unk> included); the model predicts every token and
one <eos> after the line, from a fresh state; perplexity = exp(total negative
log-likelihood / predicted tokens). Also reports scoring speed (predicted tokens/s, 1
thread, batches of 1,000 lines), the model's size and, when training/<...>/train_time.json
exists beside the model, the training time, peak memory and training tokens/s.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.tokens import Doc  # noqa: E402

from spacy_rnn.data import read_token_lines  # noqa: E402

torch.set_num_threads(1)


def score(lm, vocab, path: Path) -> dict:
    docs = [Doc(vocab, words=words) for words in read_token_lines(path)]
    start = time.perf_counter()
    total, count = 0.0, 0
    for doc in lm.pipe(docs, batch_size=1000):
        total += doc._.logprob
        count += doc._.lm_predicted
    seconds = time.perf_counter() - start
    return {
        "ppl": round(math.exp(-total / count), 2),
        "predicted_tokens": count,
        "tokens_per_s": round(count / seconds),
    }


def train_probe(nlp, corpus: Path, n_words: int = 30000) -> int:
    """Predicted tokens/s of nlp.update on 1,000-word batches (spacy.batch_by_words.v1),
    1 thread, for about n_words words (on a copy of the weights: nothing is saved)."""
    from spacy.tokens import DocBin
    from spacy.training import Example
    from spacy.util import registry

    docs = list(DocBin().from_disk(corpus).get_docs(nlp.vocab))
    examples = [Example(doc, doc) for doc in docs]
    optimizer = nlp.resume_training()
    batcher = registry.batchers.get("spacy.batch_by_words.v1")(size=1000, tolerance=0.2, discard_oversize=False)
    tokens, start = 0, time.perf_counter()
    for batch in batcher(examples):
        nlp.update(batch, sgd=optimizer, drop=0.4)
        tokens += sum(len(eg) + 1 for eg in batch)
        if tokens >= n_words:
            break
    return round(tokens / (time.perf_counter() - start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--splits", nargs="+", default=["valid", "test"])
    parser.add_argument("--component", default="rnn_lm")
    parser.add_argument(
        "--train-probe", type=Path, default=None, help="a .spacy training corpus: also measure training tokens/s on it"
    )
    args = parser.parse_args()
    nlp = spacy.load(args.model)
    lm = nlp.get_pipe(args.component)
    result = {split: score(lm, nlp.vocab, args.data / f"{split}.txt") for split in args.splits}
    result["vocab_size"] = len(lm.words)
    result["size_mb"] = round(sum(p.stat().st_size for p in args.model.rglob("*") if p.is_file()) / 2**20, 1)
    timing = args.model.parent / "train_time.json"
    if timing.exists():
        record = json.loads(timing.read_text())
        result["train_s"] = record["seconds"]
        result["train_rss_mb"] = record["peak_rss_mb"]
    if args.train_probe is not None:
        result["train_tokens_per_s"] = train_probe(nlp, args.train_probe)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
