"""fastText-style word vectors (Bojanowski et al. 2017).

``subword_embed``: List[Doc] -> one ``(len(doc), width)`` array per doc; a word's vector
is the mean of the hashed embeddings of the word and of its character n-grams, so rare
and unseen words share rows with the words they look like.
"""

from functools import lru_cache
from typing import Callable, List, Sequence, Tuple

import numpy
from spacy.attrs import LOWER
from spacy.tokens import Doc
from thinc.api import HashEmbed, Model
from thinc.types import Floats2d

from .ngrams import char_ngram_keys


@lru_cache(maxsize=1 << 17)
def _subword_keys(word: str, key: int, sizes: Tuple[int, ...]) -> numpy.ndarray:
    keys = numpy.concatenate([numpy.asarray([key], dtype="uint64"), char_ngram_keys(word, sizes)])
    keys.setflags(write=False)
    return keys


def subword_embed(
    width: int, rows: int, char_ngrams: Sequence[int] = (3, 4, 5, 6), attr: int = LOWER, seed: int = 11
) -> Model[List[Doc], List[Floats2d]]:
    """Per-token vectors of ``width``: the mean of ``rows``-row hashed embeddings of the
    word (by ``attr``) and of its character n-grams (n in ``char_ngrams``). Each distinct
    word of a batch is embedded once; a repeated word's gradient is summed over its tokens."""
    if width < 1 or rows < 1 or any(n < 1 for n in char_ngrams):
        raise ValueError(
            "subword_embed needs width >= 1, rows >= 1 and char_ngrams >= 1, got "
            f"width={width}, rows={rows}, char_ngrams={list(char_ngrams)}."
        )
    embed = HashEmbed(nO=width, nV=rows, seed=seed)
    return Model(
        "subword-embed",
        _subword_forward,
        init=lambda model, X=None, Y=None: model.layers[0].initialize(),
        layers=[embed],
        dims={"nO": width},
        attrs={"char_ngrams": tuple(char_ngrams), "attr": attr},
    )


def _subword_forward(
    model: Model[List[Doc], List[Floats2d]], docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    ops, embed = model.ops, model.layers[0]
    lengths = [len(doc) for doc in docs]
    width = model.get_dim("nO")
    if sum(lengths) == 0:
        return [ops.alloc2f(0, width) for _ in docs], lambda dYs: []
    ids = numpy.concatenate([doc.to_array([model.attrs["attr"]]).reshape(-1) for doc in docs])
    words, inverse = numpy.unique(ids, return_inverse=True)
    strings, sizes = docs[0].vocab.strings, tuple(model.attrs["char_ngrams"])
    word_keys = [_subword_keys(strings[key], key, sizes) for key in words.tolist()]
    n_keys = ops.asarray1i([len(keys) for keys in word_keys])
    vectors, backprop_embed = embed(ops.asarray(numpy.concatenate(word_keys)), is_train)
    word_vectors = ops.reduce_mean(vectors, n_keys)
    index = ops.asarray1i(inverse.reshape(-1))
    Ys = ops.unflatten(word_vectors[index], lengths)

    def backprop(dYs: List[Floats2d]) -> List:
        d_words = ops.alloc2f(len(word_keys), width)
        ops.scatter_add(d_words, index, ops.flatten(dYs))
        backprop_embed(ops.backprop_reduce_mean(d_words, n_keys))
        return []

    return Ys, backprop
