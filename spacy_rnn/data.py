"""Data conversion: corpora in their published layouts -> spaCy ``.spacy`` files.

TweetEval (Barbieri et al. 2020) keeps each task in a folder::

    mapping.txt                  "<id>\\t<label name>" per line
    {train,val,test}_text.txt    one tweet per line
    {train,val,test}_labels.txt  one label id per line, aligned with the texts

Each tweet becomes a ``Doc`` whose ``cats`` has every label name: 1.0 for its label,
0.0 for the others (mutually exclusive classes, as ``rnn_textcat`` and spaCy's
``textcat`` expect).
"""
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import DocBin

TWEETEVAL_SPLITS = {"train": "train", "val": "dev", "test": "test"}


def read_tweeteval_mapping(task_dir: Union[str, Path]) -> Dict[int, str]:
    """The ``mapping.txt`` of a TweetEval task: label id -> label name."""
    path = Path(task_dir) / "mapping.txt"
    if not path.exists():
        raise ValueError(f"TweetEval: {path} not found (is {task_dir} a TweetEval task folder?).")
    mapping: Dict[int, str] = {}
    for i, line in enumerate(path.read_text(encoding="utf8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip().lstrip("-").isdigit() or not parts[1].strip():
            raise ValueError(f"TweetEval: {path} line {i} is not '<id>\\t<label>': {line!r}.")
        label_id, name = int(parts[0]), parts[1].strip()
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


def tweeteval_docbin(
    task_dir: Union[str, Path], split: str, nlp: Optional[Language] = None
) -> DocBin:
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


def convert_tweeteval(
    task_dir: Union[str, Path], output_dir: Union[str, Path], lang: str = "en"
) -> List[Path]:
    """Write ``train.spacy``, ``dev.spacy`` (from ``val``) and ``test.spacy`` for one
    TweetEval task folder into ``output_dir``; returns the paths written."""
    nlp = spacy.blank(lang)
    output_dir = Path(output_dir)
    # read everything first: a bad file must not leave half the output behind
    docbins = {name: tweeteval_docbin(task_dir, split, nlp) for split, name in TWEETEVAL_SPLITS.items()}
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, docbin in docbins.items():
        path = output_dir / f"{name}.spacy"
        docbin.to_disk(path)
        written.append(path)
    return written


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
