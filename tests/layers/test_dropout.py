"""spacy_rnn.layers.dropout and word_dropout: rates fixed by config, the checked
training rate, whole tokens dropped."""

import numpy
import pytest
from thinc.api import Model, set_dropout_rate

from spacy_rnn.layers.dropout import fixed_dropout, training_dropout
from spacy_rnn.layers.word_dropout import word_dropout


def test_fixed_dropout_keeps_its_rate_under_spacys_training_dropout():
    layer = fixed_dropout(0.5)
    set_dropout_rate(layer, 0.0)  # what spaCy does with [training] dropout
    X = numpy.ones((200, 10), "f")
    Y, backprop = layer.begin_update(X)
    assert 0.4 < float((Y == 0).mean()) < 0.6 and set(numpy.unique(Y).tolist()) == {0.0, 2.0}
    numpy.testing.assert_array_equal(backprop(numpy.ones_like(Y)), Y)  # the same mask
    assert layer.predict(X) is X


def test_training_dropout_is_checked():
    model = Model("m", lambda model, X, is_train: (X, lambda d: d), attrs={"dropout_rate": 0.2})
    assert training_dropout(model) == 0.2
    for bad in (1.0, -0.1, "0.2", True):
        model.attrs["dropout_rate"] = bad
        with pytest.raises(ValueError, match="training dropout rate must be in"):
            training_dropout(model)


def test_word_dropout_keeps_a_token_per_doc_and_routes_gradients():
    layer = word_dropout(0.99)
    Xs = [numpy.arange(12, dtype="f").reshape(4, 3), numpy.zeros((0, 3), "f"), numpy.ones((1, 3), "f")]
    Ys, backprop = layer.begin_update(Xs)
    assert [len(Y) for Y in Ys][1:] == [0, 1] and 1 <= len(Ys[0]) <= 4
    dXs = backprop([numpy.ones_like(Y) for Y in Ys])
    assert [dX.shape for dX in dXs] == [X.shape for X in Xs]
    assert dXs[0].sum() == 3 * len(Ys[0])  # ones where a row was kept, zeros elsewhere
    assert layer.predict(Xs) is Xs  # no dropout at prediction


@pytest.mark.parametrize("make", [fixed_dropout, word_dropout])
def test_bad_rates_raise(make):
    with pytest.raises(ValueError, match="must be in"):
        make(1.0)
