"""spacy_rnn.training: gradient clipping by the global norm."""

import numpy
import pytest
import torch
from thinc.api import Linear, chain, with_array

from spacy_rnn.layers.rnn import rnn
from spacy_rnn.modules.rnn import RNNOptions
from spacy_rnn.shims import torch_parameters
from spacy_rnn.training import clip_gradients


def test_clip_gradients_uses_the_global_norm():
    torch.manual_seed(0)
    encoder = rnn(RNNOptions("gru", 6, 2, True))
    model = chain(encoder, with_array(Linear(4, 12)))
    model.initialize(X=[numpy.zeros((3, 8), "f")])
    Xs = [numpy.random.default_rng(0).normal(size=(n, 8)).astype("f") for n in (5, 4)]
    Ys, bp = model.begin_update(Xs)
    bp([numpy.full_like(Y, 100.0) for Y in Ys])

    def grads():
        out = [g.copy() for node in model.walk() for g in (node.get_grad(n) for n in node.grad_names)]
        return out + [p.grad.clone().numpy() for p in torch_parameters(encoder.shims[0])]

    before_grads = grads()
    before = numpy.sqrt(sum(float((g**2).sum()) for g in before_grads))
    norm = clip_gradients(model, 1.0)
    assert norm == pytest.approx(before, rel=1e-4)
    after = grads()
    assert numpy.sqrt(sum(float((g**2).sum()) for g in after)) == pytest.approx(1.0, rel=1e-4)
    # every gradient is scaled by the same factor: the direction is unchanged
    for g0, g1 in zip(before_grads, after):
        numpy.testing.assert_allclose(g1, g0 * (1.0 / before), rtol=1e-3, atol=1e-7)
    assert clip_gradients(model, 0.0) == pytest.approx(1.0, rel=1e-4)  # 0: measures only
