"""spacy_rnn.layers.rnn: shapes, packing, equivalence with torch, windows, dropout,
option errors and serialization."""

import numpy
import pytest
import torch
from thinc.api import NumpyOps, set_dropout_rate

from spacy_rnn.layers.rnn import rnn, windows
from spacy_rnn.modules.rnn import RNNOptions
from spacy_rnn.shims import torch_module

OPS = NumpyOps()


def make_inputs(lengths, width=8, seed=0):
    rng = numpy.random.default_rng(seed)
    return [rng.normal(size=(n, width)).astype("float32") for n in lengths]


def make_layer(cell="lstm", bidirectional=True, num_layers=2, proj_size=0, nI=8, hidden=6, window=0):
    torch.manual_seed(0)
    layer = rnn(RNNOptions(cell, hidden, num_layers, bidirectional, proj_size=proj_size), window=window)
    layer.initialize(X=make_inputs([3], width=nI))
    return layer


CELL_OPTIONS = [
    (cell, bi, layers, proj)
    for cell in ["lstm", "gru", "rnn_tanh", "rnn_relu"]
    for bi in [False, True]
    for layers in [1, 2]
    for proj in ([0, 3] if cell == "lstm" else [0])  # proj_size is LSTM-only
]


@pytest.mark.parametrize("cell,bidirectional,num_layers,proj_size", CELL_OPTIONS)
def test_output_has_one_row_per_token_of_configured_width(cell, bidirectional, num_layers, proj_size):
    layer = make_layer(cell, bidirectional, num_layers, proj_size)
    Xs = make_inputs([5, 1, 0, 3])
    Ys, backprop = layer.begin_update(Xs)
    width = (proj_size or 6) * (2 if bidirectional else 1)
    assert layer.get_dim("nO") == width
    assert [Y.shape for Y in Ys] == [(5, width), (1, width), (0, width), (3, width)]
    dXs = backprop([numpy.ones_like(Y) for Y in Ys])
    assert [dX.shape for dX in dXs] == [X.shape for X in Xs]
    assert all(numpy.isfinite(dX).all() for dX in dXs)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_doc_vectors_do_not_depend_on_batch(cell):
    layer = make_layer(cell, bidirectional=True)
    short = make_inputs([4], seed=1)[0]
    alone = layer.predict([short])[0]
    longer = make_inputs([17, 9, 30], seed=2)
    batch = layer.predict([longer[0], short, longer[1], longer[2]])
    numpy.testing.assert_allclose(batch[1], alone, atol=1e-5)
    # and in training mode (no dropout), the gradients too
    Ys, bp = layer.begin_update([short])
    dX_alone = bp([numpy.ones_like(Ys[0])])[0]
    Ys, bp = layer.begin_update([longer[0], short])
    dX_batch = bp([numpy.ones_like(Y) for Y in Ys])[1]
    numpy.testing.assert_allclose(dX_batch, dX_alone, atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_layer_equals_plain_torch_module(cell):
    layer = make_layer(cell, bidirectional=True, num_layers=2)
    torch_rnn = torch_module(layer.shims[0]).rnn
    Xs = make_inputs([6, 2, 9], seed=3)
    Ys = layer.predict(Xs)
    torch_rnn.eval()
    with torch.no_grad():
        for X, Y in zip(Xs, Ys):
            expected, _ = torch_rnn(torch.from_numpy(X)[None])  # batch of one, no padding
            numpy.testing.assert_allclose(Y, expected[0].numpy(), atol=1e-5)


def test_window_reads_pieces_from_fresh_states():
    layer = make_layer("lstm", window=7)
    X = make_inputs([16])[0]
    whole = layer.predict([X])[0]
    plain = make_layer("lstm")
    parts = plain.predict([X[:7], X[7:14], X[14:]])
    numpy.testing.assert_allclose(whole, numpy.concatenate(parts), atol=1e-6)
    assert windows([16, 0, 3], 7) == [7, 7, 2, 3] and windows([16, 0, 3], 0) == [16, 3]


def test_training_dropout_reaches_torch_module():
    layer = make_layer("lstm")
    Xs = make_inputs([20, 11])
    set_dropout_rate(layer, 0.5)
    Y1, _ = layer.begin_update(Xs)
    Y2, _ = layer.begin_update(Xs)
    assert not numpy.allclose(Y1[0], Y2[0])
    # prediction never drops
    numpy.testing.assert_allclose(layer.predict(Xs)[0], layer.predict(Xs)[0])
    set_dropout_rate(layer, 0.0)
    Y3, _ = layer.begin_update(Xs)
    numpy.testing.assert_allclose(Y3[0], layer.predict(Xs)[0], atol=1e-6)
    # about half of the outputs are zeroed at rate 0.5 (inputs are dropped too)
    assert 0.3 < float((Y1[0] == 0).mean()) < 0.7


@pytest.mark.parametrize("drop", [1.0, 1.5, -0.5])
def test_bad_training_dropout_names_the_setting(drop):
    layer = make_layer("lstm")
    set_dropout_rate(layer, drop)
    with pytest.raises(ValueError, match=r"drop.*\[training\] dropout"):
        layer.begin_update(make_inputs([4]))


def test_all_empty_batch_gives_empty_outputs():
    layer = make_layer("lstm")
    Ys, bp = layer.begin_update([OPS.alloc2f(0, 8), OPS.alloc2f(0, 8)])
    assert [Y.shape for Y in Ys] == [(0, 12), (0, 12)]
    assert [dX.shape for dX in bp(Ys)] == [(0, 8), (0, 8)]


def test_long_input_is_encoded():
    layer = make_layer("lstm")
    Y = layer.predict(make_inputs([10_000]))[0]
    assert Y.shape == (10_000, 12) and numpy.isfinite(Y).all()


def test_bad_window_and_uninitialized_layer_raise():
    with pytest.raises(ValueError, match="window"):
        rnn(RNNOptions(), window=-1)
    layer = rnn(RNNOptions("lstm", 4))
    with pytest.raises(ValueError, match="not initialized"):
        layer.predict(make_inputs([3]))


def test_serialization_round_trip_builds_the_module():
    layer = make_layer("lstm", proj_size=3)
    Xs = make_inputs([4, 2])
    fresh = rnn(RNNOptions("lstm", 6, num_layers=2, bidirectional=True, proj_size=3))
    fresh.from_bytes(layer.to_bytes())
    for a, b in zip(layer.predict(Xs), fresh.predict(Xs)):
        numpy.testing.assert_array_equal(a, b)
