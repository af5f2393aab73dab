"""Build the EWT language-modelling benchmark from UD English EWT CoNLL-U files:

    python scripts/make_ewt_lm.py EWT_DIR OUT_DIR

Writes OUT_DIR/{train,valid,test}.txt from en_ewt-ud-{train,dev,test}.conllu: one sentence
per line, the FORM of each word line (no multiword-token ranges, no empty nodes; spaces
inside a form become "_"), joined by spaces; every type seen fewer than 2 times in train is
replaced by <unk> in all three files. The result is the benchmark as distributed
(md5 checksums below, also in project.yml); when OUT_DIR already holds files with those
checksums nothing is written (so a read-only local copy can be used as OUT_DIR).
"""

import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import List

SPLITS = {"train": "train", "valid": "dev", "test": "test"}
MD5 = {
    "train": "72efff873d0dcd4dcb645796b850e548",
    "valid": "c7635c0d6599fdbe9a6958ac7bc507c3",
    "test": "22f67def925b7c9d0b1e858747f3ff45",
}


def up_to_date(out_dir: Path) -> bool:
    paths = {name: out_dir / f"{name}.txt" for name in SPLITS}
    return all(p.exists() and hashlib.md5(p.read_bytes()).hexdigest() == MD5[n] for n, p in paths.items())


def read_sentences(path: Path) -> List[List[str]]:
    sentences, words = [], []
    for line in path.read_text(encoding="utf8").splitlines():
        if not line.strip():
            if words:
                sentences.append(words)
            words = []
        elif not line.startswith("#"):
            cols = line.split("\t")
            if cols[0].isdigit():  # skips "1-2" ranges and "1.1" empty nodes
                words.append(cols[1].replace(" ", "_"))
    if words:
        sentences.append(words)
    return sentences


def main(ewt_dir: str, out_dir: str) -> None:
    if up_to_date(Path(out_dir)):
        print(f"{out_dir}: the EWT LM files are there, with the expected checksums")
        return
    data = {name: read_sentences(Path(ewt_dir) / f"en_ewt-ud-{split}.conllu") for name, split in SPLITS.items()}
    counts = Counter(w for sent in data["train"] for w in sent)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for name, sentences in data.items():
        lines = [" ".join(w if counts[w] >= 2 else "<unk>" for w in sent) for sent in sentences]
        text = "\n".join(lines) + "\n"
        (Path(out_dir) / f"{name}.txt").write_text(text, encoding="utf8")
        ok = hashlib.md5(text.encode("utf8")).hexdigest() == MD5[name]
        print(f"{name}: {len(lines)} lines" + ("" if ok else " (checksum differs from the distributed benchmark)"))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
