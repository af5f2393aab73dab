"""spacy_rnn.models.wide_and_deep: the sum of two models' scores, with branch dropout."""

import numpy
import pytest
from thinc.api import Model

from spacy_rnn.models.wide_and_deep import add_branches


def _constant(name, Y, grads):
    def forward(model, X, is_train):
        def backprop(dY):
            grads[name] = dY
            return []

        return Y.copy(), backprop

    return Model(name, forward)


def test_branch_dropout_scores_each_training_doc_by_one_or_both_branches():
    Yd = numpy.full((200, 3), 1.0, dtype="f")
    Yw = numpy.full((200, 3), 10.0, dtype="f")
    grads = {}
    model = add_branches(_constant("deep", Yd, grads), _constant("wide", Yw, grads), 0.3)
    Y, _ = model(list(range(200)), is_train=False)
    assert numpy.all(Y == 11.0)  # prediction: the sum
    numpy.random.seed(0)
    Y, backprop = model(list(range(200)), is_train=True)
    rows = Y[:, 0]
    assert set(rows.tolist()) == {1.0, 10.0, 11.0}
    assert 40 <= (rows == 1.0).sum() <= 80 and 40 <= (rows == 10.0).sum() <= 80
    backprop(numpy.ones_like(Y))
    # a branch gets the gradient of exactly the rows it scored
    assert numpy.array_equal(grads["deep"][:, 0] == 1, rows != 10.0)
    assert numpy.array_equal(grads["wide"][:, 0] == 1, rows != 1.0)
    with pytest.raises(ValueError, match="branch_dropout"):
        add_branches(_constant("deep", Yd, grads), _constant("wide", Yw, grads), 0.6)
