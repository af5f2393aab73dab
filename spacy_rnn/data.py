"""Data conversion: corpora in their published layouts -> spaCy ``.spacy`` files.

TweetEval (Barbieri et al. 2020) keeps each task in a folder::

    mapping.txt                  "<id>\\t<label name>" per line
    {train,val,test}_text.txt    one tweet per line
    {train,val,test}_labels.txt  one label id per line, aligned with the texts

Each tweet becomes a ``Doc`` whose ``cats`` has every label name: 1.0 for its label,
0.0 for the others (mutually exclusive classes, as ``rnn_textcat`` and spaCy's
``textcat`` expect). A task with sub-targets (``stance/{abortion,atheism,...}``) is a
folder of such folders: each target is converted on its own, into a folder of its name.

The official metric of each task (Barbieri et al. 2020, its ``evaluation_script.py``) is
in :data:`TWEETEVAL_METRICS` and computed by :func:`official_score`.
"""

import json
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin

TWEETEVAL_SPLITS = {"train": "train", "val": "dev", "test": "test"}


def read_tweeteval_mapping(task_dir: Union[str, Path]) -> Dict[int, str]:
    """The ``mapping.txt`` of a TweetEval task: label id -> label name (``<id>\\t<name>``
    per line; for emoji ``<id>\\t<emoji>\\t_<name>_``, whose label is the name)."""
    path = Path(task_dir) / "mapping.txt"
    if not path.exists():
        raise ValueError(f"TweetEval: {path} not found (is {task_dir} a TweetEval task folder?).")
    mapping: Dict[int, str] = {}
    for i, line in enumerate(path.read_text(encoding="utf8").splitlines(), 1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("\t")]
        names = [part for part in parts[1:] if part]
        if len(parts) < 2 or not parts[0].lstrip("-").isdigit() or not names:
            raise ValueError(f"TweetEval: {path} line {i} is not '<id>\\t<label>': {line!r}.")
        # emoji's mapping is "<id>\t<emoji>\t_<name>_": the name is the label
        label_id, name = int(parts[0]), names[-1].strip("_") or names[-1]
        if label_id in mapping or name in mapping.values():
            raise ValueError(f"TweetEval: {path} line {i} repeats the id or label of {line!r}.")
        mapping[label_id] = name
    if not mapping:
        raise ValueError(f"TweetEval: {path} has no labels.")
    return mapping


def read_tweeteval(task_dir: Union[str, Path], split: str) -> Iterator[Tuple[str, str]]:
    """``(text, label name)`` for each tweet of ``split`` (``train``, ``val`` or ``test``).
    Raises ValueError when the text and label files differ in length or a label id is
    not in ``mapping.txt``."""
    task_dir = Path(task_dir)
    if split not in TWEETEVAL_SPLITS:
        raise ValueError(f"TweetEval: unknown split {split!r}; use one of {list(TWEETEVAL_SPLITS)}.")
    mapping = read_tweeteval_mapping(task_dir)
    paths = [task_dir / f"{split}_text.txt", task_dir / f"{split}_labels.txt"]
    for path in paths:
        if not path.exists():
            raise ValueError(f"TweetEval: {path} not found.")
    texts = paths[0].read_text(encoding="utf8").rstrip("\n").split("\n")
    labels = paths[1].read_text(encoding="utf8").rstrip("\n").split("\n")
    if len(texts) != len(labels):
        raise ValueError(
            f"TweetEval: {paths[0].name} has {len(texts)} lines but {paths[1].name} has "
            f"{len(labels)} in {task_dir}; they must be aligned line by line."
        )
    for i, (text, label) in enumerate(zip(texts, labels), 1):
        label = label.strip()
        if not label.lstrip("-").isdigit() or int(label) not in mapping:
            raise ValueError(
                f"TweetEval: {paths[1]} line {i} has the label {label!r}, which is not an id "
                f"in mapping.txt ({sorted(mapping)})."
            )
        yield text.strip(), mapping[int(label)]


def tweeteval_docbin(task_dir: Union[str, Path], split: str, nlp: Optional[Language] = None) -> DocBin:
    """The tweets of ``split`` as a ``DocBin`` of docs with ``cats`` (tokenized by
    ``nlp``'s tokenizer, by default ``spacy.blank("en")``)."""
    nlp = nlp if nlp is not None else spacy.blank("en")
    names = list(read_tweeteval_mapping(task_dir).values())
    docbin = DocBin(store_user_data=False)
    items = list(read_tweeteval(task_dir, split))
    for doc, (_, label) in zip(nlp.tokenizer.pipe(text for text, _ in items), items):
        doc.cats = {name: float(name == label) for name in names}
        docbin.add(doc)
    return docbin


def tweeteval_targets(task_dir: Union[str, Path]) -> List[str]:
    """The sub-targets of a TweetEval task folder (the subfolders that have a
    ``mapping.txt``, sorted), or ``[]`` for a task without them."""
    task_dir = Path(task_dir)
    if (task_dir / "mapping.txt").exists():
        return []
    targets = sorted(p.name for p in task_dir.iterdir() if (p / "mapping.txt").exists()) if task_dir.is_dir() else []
    if not targets:
        raise ValueError(
            f"TweetEval: {task_dir / 'mapping.txt'} not found, and no subfolder of {task_dir} has one "
            "(is it a TweetEval task folder?)."
        )
    return targets


def converted_task_parts(corpus: Union[str, Path], task: str) -> Dict[str, Path]:
    """The folders that ``convert_tweeteval`` wrote for ``task`` under ``corpus``: target
    name -> folder with ``train/dev/test.spacy`` (``{task: folder}`` for a task without
    targets). Raises ValueError when there are none."""
    folder = Path(corpus) / task
    if (folder / "train.spacy").exists():
        return {task: folder}
    targets = sorted(p.name for p in folder.iterdir() if (p / "train.spacy").exists()) if folder.is_dir() else []
    if not targets:
        raise ValueError(f"no train.spacy in {folder} or its subfolders: convert the task first (convert-tweeteval).")
    return {t: folder / t for t in targets}


def convert_tweeteval(task_dir: Union[str, Path], output_dir: Union[str, Path], lang: str = "en") -> List[Path]:
    """Write ``train.spacy``, ``dev.spacy`` (from ``val``) and ``test.spacy`` for one
    TweetEval task folder into ``output_dir``, or for each sub-target of a task with
    targets into ``output_dir/<target>/``; returns the paths written."""
    nlp = spacy.blank(lang)
    task_dir, output_dir = Path(task_dir), Path(output_dir)
    parts = [(task_dir / t, output_dir / t) for t in tweeteval_targets(task_dir)] or [(task_dir, output_dir)]
    # read everything first: a bad file must not leave half the output behind
    docbins = [
        (out, {name: tweeteval_docbin(src, split, nlp) for split, name in TWEETEVAL_SPLITS.items()})
        for src, out in parts
    ]
    written = []
    for out, bins in docbins:
        out.mkdir(parents=True, exist_ok=True)
        for name, docbin in bins.items():
            path = out / f"{name}.spacy"
            docbin.to_disk(path)
            written.append(path)
    return written


# task -> (metric, labels it averages over); None: every label
TWEETEVAL_METRICS: Dict[str, Tuple[str, Optional[Tuple[str, ...]]]] = {
    "emoji": ("macro_f1", None),
    "emotion": ("macro_f1", None),
    "hate": ("macro_f1", None),
    "offensive": ("macro_f1", None),
    "irony": ("f1", ("irony",)),
    "sentiment": ("macro_recall", None),
    "stance": ("f1", ("against", "favor")),
}


def f1_scores(golds: Sequence[str], preds: Sequence[str], labels: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Precision, recall and F1 of each label (0 where undefined)."""
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold labels but {len(preds)} predictions.")
    tp = Counter(g for g, p in zip(golds, preds) if g == p)
    n_gold, n_pred = Counter(golds), Counter(preds)
    out = {}
    for label in labels:
        p = tp[label] / n_pred[label] if n_pred[label] else 0.0
        r = tp[label] / n_gold[label] if n_gold[label] else 0.0
        out[label] = {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0}
    return out


def official_score(task: str, golds: Sequence[str], preds: Sequence[str], labels: Sequence[str]) -> float:
    """TweetEval's official metric of ``task`` on these predictions, in [0, 1]:
    macro-F1 (emoji, emotion, hate, offensive), macro-recall (sentiment), the F1 of
    "irony" (irony), the mean F1 of "against" and "favor" (stance: pool the five targets'
    predictions first)."""
    if task not in TWEETEVAL_METRICS:
        raise ValueError(f"TweetEval: unknown task {task!r}; known: {sorted(TWEETEVAL_METRICS)}.")
    metric, averaged = TWEETEVAL_METRICS[task]
    averaged = list(averaged or labels)
    missing = [label for label in averaged if label not in labels]
    if missing:
        raise ValueError(f"TweetEval {task}: the labels {missing} are not among {list(labels)}.")
    scores = f1_scores(golds, preds, labels)
    key = "r" if metric == "macro_recall" else "f"
    return sum(scores[label][key] for label in averaged) / len(averaged)


def read_token_lines(path: Union[str, Path]) -> Iterator[List[str]]:
    """The tokens of each line of a pre-tokenized text file (split on single spaces, as
    in the EWT LM benchmark: one sentence per line)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} not found.")
    for line in path.read_text(encoding="utf8").splitlines():
        yield [word for word in line.split(" ") if word]


def token_lines_docbin(path: Union[str, Path], lang: str = "en") -> DocBin:
    """One ``Doc`` per line of a pre-tokenized text file, with the line's tokens as its
    words (no sentence boundaries: each line is read from a fresh state by ``rnn_lm``)."""
    from spacy.tokens import Doc

    vocab = spacy.blank(lang).vocab
    docbin = DocBin(store_user_data=False)
    for words in read_token_lines(path):
        docbin.add(Doc(vocab, words=words))
    return docbin


TEXT_SUFFIXES = (".txt", ".jsonl")


def text_files(paths: Sequence[Union[str, Path]]) -> List[Path]:
    """``paths`` with each folder replaced by its ``.txt`` and ``.jsonl`` files (sorted);
    a missing path is an error naming it."""
    files: List[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in TEXT_SUFFIXES and p.is_file())
            if not found:
                raise ValueError(f"{path} has no .txt or .jsonl files.")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise ValueError(f"{path} not found.")
    return files


def _file_texts(path: Path, field: str) -> Iterator[str]:
    import json

    with path.open(encoding="utf8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if path.suffix == ".jsonl":
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path} line {n} is not JSON: {err}.") from None
                if not isinstance(record, dict) or not isinstance(record.get(field), str):
                    raise ValueError(f"{path} line {n} has no string field {field!r}.")
                line = record[field].strip()
                if not line:
                    continue
            yield line


def read_texts(paths: Sequence[Union[str, Path]], field: str = "text", *, interleave: bool = False) -> Iterator[str]:
    """The documents of plain-text files (one a line) and JSONL files (``.jsonl``: the
    ``field`` of each object); a folder stands for its ``.txt`` and ``.jsonl`` files.
    File after file, or with ``interleave`` one document of each file in turn (so that a
    budget of words takes from every source). Empty lines are skipped. A JSONL line that
    is not an object with a string ``field`` is an error naming the file and the line."""
    readers = [_file_texts(path, field) for path in text_files(paths)]
    if not interleave:
        for reader in readers:
            yield from reader
        return
    while readers:
        running = []
        for reader in readers:
            text = next(reader, None)
            if text is not None:
                yield text
                running.append(reader)
        readers = running


WORD_COUNTS = "word_counts.json"


class _Shards:
    """``.spacy`` shards of ``size`` docs written into ``folder`` as docs come."""

    def __init__(self, folder: Path, size: int):
        self.folder, self.size = folder, size
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("shard-*.spacy"):
            old.unlink()
        self.docbin = DocBin(store_user_data=False)
        self.counts = {"docs": 0, "tokens": 0, "shards": 0}

    def add(self, doc: Doc) -> None:
        self.docbin.add(doc)
        self.counts["docs"] += 1
        self.counts["tokens"] += len(doc)
        if len(self.docbin) >= self.size:
            self.flush()

    def flush(self) -> None:
        if len(self.docbin):
            self.docbin.to_disk(self.folder / f"shard-{self.counts['shards']:04d}.spacy")
            self.counts["shards"] += 1
            self.docbin = DocBin(store_user_data=False)


def text_shards(
    paths: Sequence[Union[str, Path]],
    output_dir: Union[str, Path],
    *,
    lang: str = "en",
    field: str = "text",
    max_words: int = 0,
    shard_size: int = 20000,
    interleave: bool = False,
    dev_dir: Optional[Union[str, Path]] = None,
    dev_every: int = 100,
    dev_docs: int = 2000,
    progress: bool = True,
) -> Dict[str, int]:
    """Tokenize the documents of ``paths`` (``read_texts``, file after file or
    ``interleave``d) with spaCy's tokenizer for ``lang`` and write them as ``.spacy``
    shards of ``shard_size`` docs into ``output_dir`` (a folder ``spacy train`` reads as
    one corpus), until ``max_words`` training tokens (0: all). With ``dev_dir``, every
    ``dev_every``-th document, up to ``dev_docs`` of them, goes there instead (a held-out
    set for ``model-best``). Old shards in the folders are replaced. The training docs'
    word counts go to ``output_dir/word_counts.json`` (``WORD_COUNTS``; most frequent
    first), from which ``rnn_lm`` builds its vocabulary when the corpus is streamed
    (``spacy_rnn.read_word_counts.v1``). Returns the counts of docs, tokens and shards
    (``dev_docs`` and ``dev_tokens`` for the held-out set)."""
    from tqdm import tqdm

    if max_words < 0 or shard_size < 1 or dev_every < 1 or dev_docs < 0:
        raise ValueError(
            "text_shards needs max_words >= 0, shard_size >= 1, dev_every >= 1 and dev_docs >= 0, got "
            f"{max_words}, {shard_size}, {dev_every}, {dev_docs}."
        )
    nlp = spacy.blank(lang)
    train = _Shards(Path(output_dir), shard_size)
    dev = _Shards(Path(dev_dir), shard_size) if dev_dir is not None else None
    bar = tqdm(total=max_words or None, unit="tok", disable=not progress, desc="tokenizing")
    texts = read_texts(paths, field=field, interleave=interleave)
    words: Counter = Counter()
    for i, doc in enumerate(nlp.tokenizer.pipe(texts, batch_size=1000), 1):
        if dev is not None and i % dev_every == 0 and dev.counts["docs"] < dev_docs:
            dev.add(doc)
            continue
        train.add(doc)
        words.update(t.text for t in doc if not t.is_space)
        bar.update(len(doc))
        if max_words and train.counts["tokens"] >= max_words:
            break
    train.flush()
    bar.close()
    ranked = dict(sorted(words.items(), key=lambda item: (-item[1], item[0])))
    (Path(output_dir) / WORD_COUNTS).write_text(json.dumps(ranked, ensure_ascii=False), encoding="utf8")
    counts = dict(train.counts)
    if dev is not None:
        if not dev.counts["docs"]:
            raise ValueError(
                f"Nothing was held out for {dev_dir}: the text has fewer than {dev_every} documents "
                "(hold out more often with a smaller dev_every / --dev-every)."
            )
        dev.flush()
        counts.update(dev_docs=dev.counts["docs"], dev_tokens=dev.counts["tokens"])
    return counts
