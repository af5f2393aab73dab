"""spacy_rnn.layers.lm: the thinc layer over the RNN language model."""

import numpy
import pytest
import torch
from thinc.api import set_dropout_rate

from spacy_rnn.layers.lm import LMBatch, rnn_lm
from spacy_rnn.modules.lm import LMOptions


def make_layer(bptt=3):
    torch.manual_seed(0)
    layer = rnn_lm(LMOptions(embed_size=8, hidden_size=8, num_layers=1), n_vocab=10, bptt=bptt)
    layer.initialize()
    return layer


IDS = [numpy.array([2, 3, 4, 5, 6, 7, 8]), numpy.array([9]), numpy.array([], dtype="int64")]


def test_one_log_probability_per_token_and_end_and_the_next_distribution():
    layer = make_layer()
    out = layer.predict(LMBatch([layer.ops.asarray1i(x) for x in IDS], next_logprobs=True))
    assert [len(lp) for lp in out.logprobs] == [8, 2, 1]
    assert all((lp < 0).all() for lp in out.logprobs)
    assert out.next_logprobs.shape == (3, 10)
    numpy.testing.assert_allclose(numpy.exp(out.next_logprobs).sum(axis=1), 1.0, rtol=1e-5)
    # the distribution after a sequence is the one its <eos> was scored from
    numpy.testing.assert_allclose(out.next_logprobs[1][1], out.logprobs[1][-1], rtol=1e-5)
    assert layer.predict(LMBatch([layer.ops.asarray1i(IDS[0])])).next_logprobs is None


def test_backprop_reaches_the_torch_parameters_and_dropout_is_the_training_rate():
    layer = make_layer()
    batch = LMBatch([layer.ops.asarray1i(x) for x in IDS])
    set_dropout_rate(layer, 0.5)
    out, backprop = layer.begin_update(batch)
    assert backprop([[numpy.full(len(lp), -1.0, "f") for lp in out.logprobs]]) is batch
    from spacy_rnn.shims import torch_parameters

    assert all(p.grad is not None for p in torch_parameters(layer.shims[0]))
    again, _ = layer.begin_update(batch)
    assert not numpy.allclose(numpy.concatenate(out.logprobs), numpy.concatenate(again.logprobs))
    set_dropout_rate(layer, 1.0)
    with pytest.raises(ValueError, match="training dropout rate"):
        layer.begin_update(batch)


def test_uninitialized_layer_raises():
    layer = rnn_lm(LMOptions(embed_size=8, hidden_size=8))
    with pytest.raises(ValueError, match="vocabulary size"):
        layer.initialize()
    with pytest.raises(ValueError, match="not initialized"):
        layer.predict(LMBatch([layer.ops.asarray1i([2])]))
