"""Hashed word and character n-gram features (fastText style).

``extract_ngram_features``: List[Doc] -> ``(keys, values, lengths)``, the input of thinc's
``SparseLinear``: for each doc its distinct feature keys (uint64), one value per key and
the number of keys.

The same character n-grams (``char_ngram_keys``) are the pieces of ``spacy_rnn.layers.subword``.
"""

from functools import lru_cache
from typing import List, Sequence, Tuple

import numpy
from spacy.attrs import LOWER
from spacy.strings import hash_string
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats1d, Ints1d

Features = Tuple[Ints1d, Floats1d, Ints1d]


def char_ngram_keys(word: str, sizes: Sequence[int]) -> numpy.ndarray:
    """The hashes of the character n-grams of ``<word>`` (``<`` and ``>`` mark its
    edges, so prefixes and suffixes are features of their own), for each n in
    ``sizes``; a word shorter than n gives its whole marked form once. Read-only: the
    result is cached (per process, for the 100,000 most recent words; never saved with a
    model)."""
    return _char_ngram_keys(word, tuple(sizes))


@lru_cache(maxsize=100_000)
def _char_ngram_keys(word: str, sizes: Tuple[int, ...]) -> numpy.ndarray:
    marked = f"<{word}>"
    grams = {marked[i : i + n] for n in sizes for i in range(max(1, len(marked) - n + 1))}
    keys = numpy.asarray([hash_string("#c" + gram) for gram in sorted(grams)], dtype="uint64")
    keys.setflags(write=False)
    return keys


def extract_ngram_features(
    word_ngrams: int = 2, char_ngrams: Sequence[int] = (2, 3, 4, 5), attr: int = LOWER
) -> Model[List[Doc], Features]:
    """Each doc's distinct word n-grams (n = 1..``word_ngrams``, over ``attr``) and the
    character n-grams (n in ``char_ngrams``) of its words, with sublinear counts
    (1 + log count) scaled to unit L2 norm per doc, as tf-idf text classifiers do. A doc
    without tokens has no features. No gradient flows back."""
    if word_ngrams < 0 or any(n < 1 for n in char_ngrams) or not (word_ngrams or char_ngrams):
        raise ValueError(
            "extract_ngram_features needs word_ngrams >= 0 and char_ngrams >= 1, and at "
            f"least one of them, got word_ngrams={word_ngrams}, char_ngrams={list(char_ngrams)}."
        )
    return Model(
        "extract_ngram_features",
        _forward,
        attrs={"word_ngrams": word_ngrams, "char_ngrams": tuple(char_ngrams), "attr": attr},
    )


def _doc_key_counts(model: Model, doc: Doc) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The doc's distinct feature keys and how often each occurs. Character n-grams are
    taken once per distinct word and weighted by the word's count, so memory follows the
    doc's vocabulary, not its length."""
    ops, attr = model.ops, model.attrs["attr"]
    ids = doc.to_array([attr]).reshape(-1).astype("uint64")
    words, word_counts = numpy.unique(ids, return_counts=True)
    keys, weights = [words], [word_counts]
    for n in range(2, model.attrs["word_ngrams"] + 1):
        if len(ids) >= n:
            grams = numpy.asarray(ops.ngrams(n, ids), dtype="uint64")
            keys.append(grams)
            weights.append(numpy.ones(len(grams), dtype="int64"))
    if model.attrs["word_ngrams"] < 1:
        keys, weights = [words[:0]], [word_counts[:0]]
    sizes = tuple(model.attrs["char_ngrams"])  # a list after a round trip
    if sizes and len(words):
        strings = doc.vocab.strings
        grams = [char_ngram_keys(strings[key], sizes) for key in words.tolist()]
        keys.extend(grams)
        weights.extend(numpy.full(len(g), c, dtype="int64") for g, c in zip(grams, word_counts.tolist()))
    uniq, inverse = numpy.unique(numpy.concatenate(keys), return_inverse=True)
    counts = numpy.bincount(inverse.reshape(-1), weights=numpy.concatenate(weights), minlength=len(uniq))
    return uniq, counts


def _forward(model: Model, docs: List[Doc], is_train: bool):
    batch_keys, batch_vals = [], []
    for doc in docs:
        keys, counts = _doc_key_counts(model, doc)
        vals = 1.0 + numpy.log(counts.astype("float32"))
        if len(vals):
            vals /= numpy.sqrt((vals**2).sum())
        batch_keys.append(keys)
        batch_vals.append(vals.astype("float32"))
    lengths = model.ops.asarray1i([len(keys) for keys in batch_keys])
    keys = model.ops.asarray(numpy.concatenate(batch_keys)) if docs else model.ops.alloc1i(0)
    vals = model.ops.asarray1f(numpy.concatenate(batch_vals)) if docs else model.ops.alloc1f(0)

    def backprop(_):
        return []

    return (keys, vals, lengths), backprop
