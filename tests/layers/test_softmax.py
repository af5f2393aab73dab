"""spacy_rnn.layers.softmax: softmax whose backward pass takes logit gradients."""

import numpy

from spacy_rnn.layers.softmax import softmax_logits


def test_rows_sum_to_one_and_the_gradient_passes_through():
    X = numpy.array([[0.0, 1.0, 2.0], [5.0, 5.0, 5.0]], "f")
    Y, backprop = softmax_logits().begin_update(X)
    numpy.testing.assert_allclose(Y.sum(axis=1), 1.0, rtol=1e-6)
    numpy.testing.assert_allclose(Y[1], 1 / 3, rtol=1e-6)
    dY = numpy.array([[0.1, -0.2, 0.1], [0.0, 0.0, 0.0]], "f")
    assert backprop(dY) is dY
