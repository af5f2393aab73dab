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
    result is cached (per process, for the 262,144 most recent (word, sizes) pairs; never saved with a
    model)."""
    return _char_ngram_keys(word, tuple(sizes))


@lru_cache(maxsize=1 << 18)
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


def _ranges(starts: numpy.ndarray, lengths: numpy.ndarray) -> numpy.ndarray:
    """The indices ``starts[i] .. starts[i] + lengths[i] - 1`` of every i, concatenated."""
    shift = numpy.repeat(starts - (numpy.cumsum(lengths) - lengths), lengths)
    return shift + numpy.arange(int(lengths.sum()), dtype="int64")


def _batch_key_counts(model: Model, docs: List[Doc]) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Every doc's distinct feature keys and how often each occurs, for the whole batch
    at once: ``(doc_index, keys, counts)``, sorted by doc, then by key. Character n-grams
    are taken once per distinct word of the batch and weighted by the word's count in
    each doc, so memory follows the vocabulary, not the docs' length. Needs at least one
    token in the batch (every token gives at least one key: its word or its n-grams)."""
    ops, attr = model.ops, model.attrs["attr"]
    lengths = numpy.asarray([len(doc) for doc in docs], dtype="int64")
    ids = numpy.concatenate([doc.to_array([attr]).reshape(-1) for doc in docs]).astype("uint64")
    doc_of = numpy.repeat(numpy.arange(len(docs), dtype="int64"), lengths)
    # distinct (doc, word) pairs and their counts
    words, word_index = numpy.unique(ids, return_inverse=True)
    word_index = word_index.reshape(-1)
    pair_codes, pair_counts = numpy.unique(doc_of * len(words) + word_index, return_counts=True)
    pair_doc, pair_word = numpy.divmod(pair_codes, len(words))
    keys, owners, weights = [], [], []
    if model.attrs["word_ngrams"] >= 1:
        keys.append(words[pair_word])
        owners.append(pair_doc)
        weights.append(pair_counts)
    for n in range(2, model.attrs["word_ngrams"] + 1):
        if len(ids) >= n:
            grams = numpy.asarray(ops.ngrams(n, ids), dtype="uint64")
            first_doc = doc_of[: len(grams)]
            inside = first_doc == doc_of[n - 1 :]  # no n-gram across two docs
            keys.append(grams[inside])
            owners.append(first_doc[inside])
            weights.append(numpy.ones(int(inside.sum()), dtype="int64"))
    sizes = tuple(model.attrs["char_ngrams"])  # a list after a round trip
    if sizes:
        strings = docs[0].vocab.strings
        word_grams = [char_ngram_keys(strings[key], sizes) for key in words.tolist()]
        n_grams = numpy.asarray([len(g) for g in word_grams], dtype="int64")
        offsets = numpy.cumsum(n_grams) - n_grams
        take = _ranges(offsets[pair_word], n_grams[pair_word])
        keys.append(numpy.concatenate(word_grams)[take])
        owners.append(numpy.repeat(pair_doc, n_grams[pair_word]))
        weights.append(numpy.repeat(pair_counts, n_grams[pair_word]))
    keys_, owners_, weights_ = numpy.concatenate(keys), numpy.concatenate(owners), numpy.concatenate(weights)
    order = numpy.lexsort((keys_, owners_))
    keys_, owners_, weights_ = keys_[order], owners_[order], weights_[order]
    first = numpy.ones(len(keys_), dtype=bool)
    first[1:] = (keys_[1:] != keys_[:-1]) | (owners_[1:] != owners_[:-1])
    starts = numpy.flatnonzero(first)
    return owners_[starts], keys_[starts], numpy.add.reduceat(weights_, starts)


def _forward(model: Model, docs: List[Doc], is_train: bool):
    if docs and sum(len(doc) for doc in docs):
        owners, keys, counts = _batch_key_counts(model, docs)
    else:
        owners, keys, counts = (numpy.zeros(0, dtype=dt) for dt in ("int64", "uint64", "int64"))
    vals = 1.0 + numpy.log(counts.astype("float32"))
    vals /= numpy.sqrt(numpy.bincount(owners, weights=vals**2, minlength=len(docs)))[owners]
    lengths = model.ops.asarray1i(numpy.bincount(owners, minlength=len(docs)))
    keys = model.ops.asarray(keys) if len(keys) else model.ops.alloc1i(0)
    vals = model.ops.asarray1f(vals.astype("float32"))

    def backprop(_):
        return []

    return (keys, vals, lengths), backprop
