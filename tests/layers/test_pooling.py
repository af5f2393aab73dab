"""spacy_rnn.layers.pooling: one vector per doc from its token vectors."""

import numpy
import pytest
from thinc.types import Ragged

from spacy_rnn.layers.pooling import pool_last, pool_max, pool_mean, pooling


def test_last_pooling_takes_each_directions_final_state():
    X = numpy.arange(24, dtype="f").reshape(6, 4)  # docs of 2, 0 and 4 tokens; halves of 2
    lengths = numpy.array([2, 0, 4], dtype="i")
    layer = pool_last(bidirectional=True)
    Y, backprop = layer.begin_update(Ragged(X, lengths))
    numpy.testing.assert_array_equal(Y, [[4, 5, 2, 3], [0, 0, 0, 0], [20, 21, 10, 11]])
    dX = backprop(numpy.ones_like(Y)).dataXd
    assert dX.sum() == 8 and dX[1, :2].sum() == 2 and dX[0, 2:].sum() == 2
    uni = pool_last(bidirectional=False).predict(Ragged(X, lengths))
    numpy.testing.assert_array_equal(uni, [X[1], numpy.zeros(4), X[5]])


def test_max_pooling_routes_the_gradient_to_the_maximum():
    X = numpy.array([[1, 5], [3, 2], [9, 9]], dtype="f")
    lengths = numpy.array([2, 0, 1], dtype="i")
    Y, backprop = pool_max().begin_update(Ragged(X, lengths))
    numpy.testing.assert_array_equal(Y, [[3, 5], [0, 0], [9, 9]])
    numpy.testing.assert_array_equal(backprop(numpy.ones_like(Y)).dataXd, [[0, 1], [1, 0], [1, 1]])


@pytest.mark.parametrize("names", [["mean"], ["max"], ["last"], ["attention"], ["last", "max", "mean"]])
def test_concat_pooling_gives_zeros_for_empty_docs_and_batches(names):
    layer = pooling(names, 4, bidirectional=True)
    Xs = [numpy.random.default_rng(0).normal(size=(n, 4)).astype("f") for n in (3, 0, 2)]
    layer.initialize(X=Xs)
    Y = layer.predict(Xs)
    assert Y.shape == (3, 4 * len(names)) and not Y[1].any()
    assert not layer.predict([numpy.zeros((0, 4), "f")] * 2).any()
    numpy.testing.assert_allclose(layer.predict([Xs[2]])[0], Y[2], atol=1e-6)  # batch-independent


def test_mean_of_each_doc():
    Xs = [numpy.array([[1, 2], [3, 4]], "f"), numpy.array([[5, 6]], "f")]
    numpy.testing.assert_allclose(pool_mean().predict(Xs), [[2, 3], [5, 6]])


def test_bad_pooling_names_raise():
    with pytest.raises(ValueError, match="Unknown pooling 'min'"):
        pooling(["min"], 4)
    with pytest.raises(ValueError, match="names a pooling twice"):
        pooling(["max", "max"], 4)
    with pytest.raises(ValueError, match="at least one"):
        pooling([], 4)
