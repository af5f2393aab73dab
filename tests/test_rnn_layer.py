"""The thinc RNN layer: shapes, packing, equivalence with torch, dropout, averaging,
clipping and option errors."""
import numpy
import pytest
import torch
from thinc.api import Adam, Model, NumpyOps, set_dropout_rate, torch2xp, xp2torch

from spacy_rnn.layers.rnn import rnn
from spacy_rnn.training import clip_gradients

OPS = NumpyOps()


def make_inputs(lengths, width=8, seed=0):
    rng = numpy.random.default_rng(seed)
    return [rng.normal(size=(n, width)).astype("float32") for n in lengths]


def make_layer(cell="lstm", bidirectional=True, num_layers=2, proj_size=0, nI=8, hidden=6):
    torch.manual_seed(0)
    layer = rnn(cell, hidden, num_layers=num_layers, bidirectional=bidirectional, proj_size=proj_size)
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
    torch_rnn = layer.shims[0]._model.rnn
    Xs = make_inputs([6, 2, 9], seed=3)
    Ys = layer.predict(Xs)
    torch_rnn.eval()
    with torch.no_grad():
        for X, Y in zip(Xs, Ys):
            expected, _ = torch_rnn(torch.from_numpy(X)[None])  # batch of one, no padding
            numpy.testing.assert_allclose(Y, expected[0].numpy(), atol=1e-5)


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


def _train_steps(layer, optimizer, n=3):
    Xs = make_inputs([7, 3])
    for _ in range(n):
        Ys, bp = layer.begin_update(Xs)
        bp([Y.copy() for Y in Ys])
        layer.finish_update(optimizer)
    return Xs


def test_use_params_applies_averaged_torch_weights():
    layer = make_layer("lstm")
    optimizer = Adam(0.01, use_averages=True)
    Xs = _train_steps(layer, optimizer)
    shim = layer.shims[0]
    keys = [k for k in optimizer.averages if k[0] == shim.id]
    assert keys, "the optimizer keeps averages of the torch parameters"
    raw = layer.predict(Xs)[0]
    name = keys[0][1]
    with layer.use_params(optimizer.averages):
        param = dict(shim._model.named_parameters())[name]
        numpy.testing.assert_allclose(torch2xp(param.detach()), optimizer.averages[keys[0]])
        averaged = layer.predict(Xs)[0]
    assert not numpy.allclose(raw, averaged)
    numpy.testing.assert_allclose(layer.predict(Xs)[0], raw)  # restored afterwards


def test_clip_gradients_uses_the_global_norm():
    from thinc.api import Linear, chain, with_array

    model = chain(make_layer("gru"), with_array(Linear(4, 12)))
    model.initialize(X=make_inputs([3]))
    Ys, bp = model.begin_update(make_inputs([5, 4]))
    bp([numpy.full_like(Y, 100.0) for Y in Ys])
    grads = [g.copy() for node in model.walk() for g in (node.get_grad(n) for n in node.grad_names)]
    grads += [p.grad.clone().numpy() for p in model.layers[0].shims[0]._model.parameters()]
    before = numpy.sqrt(sum(float((g**2).sum()) for g in grads))
    norm = clip_gradients(model, 1.0)
    assert norm == pytest.approx(before, rel=1e-4)
    after = [g for node in model.walk() for g in (node.get_grad(n) for n in node.grad_names)]
    after += [p.grad.numpy() for p in model.layers[0].shims[0]._model.parameters()]
    assert numpy.sqrt(sum(float((g**2).sum()) for g in after)) == pytest.approx(1.0, rel=1e-4)
    # every gradient is scaled by the same factor: the direction is unchanged
    for g0, g1 in zip(grads, after):
        numpy.testing.assert_allclose(g1, g0 * (1.0 / before), rtol=1e-3, atol=1e-7)


def test_all_empty_batch_gives_empty_outputs():
    layer = make_layer("lstm")
    Ys, bp = layer.begin_update([OPS.alloc2f(0, 8), OPS.alloc2f(0, 8)])
    assert [Y.shape for Y in Ys] == [(0, 12), (0, 12)]
    assert [dX.shape for dX in bp(Ys)] == [(0, 8), (0, 8)]


def test_long_input_is_encoded():
    layer = make_layer("lstm")
    Y = layer.predict(make_inputs([10_000]))[0]
    assert Y.shape == (10_000, 12) and numpy.isfinite(Y).all()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"cell": "lstmx"}, "Unknown RNN cell 'lstmx'"),
        ({"cell": "gru", "proj_size": 2}, "proj_size is only supported for cell='lstm'"),
        ({"cell": "lstm", "proj_size": 6}, "proj_size must be in"),
        ({"cell": "lstm", "num_layers": 0}, "num_layers must be a positive integer"),
        ({"cell": "lstm", "dropout": 1.5}, "dropout must be in"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, message):
    kwargs = {"hidden_size": 6, **kwargs}
    with pytest.raises(ValueError, match=message):
        rnn(**kwargs)


def test_predict_before_initialize_raises():
    layer = rnn("lstm", 4)
    with pytest.raises(ValueError, match="not initialized"):
        layer.predict(make_inputs([3]))


def test_serialization_round_trip_builds_the_module():
    layer = make_layer("lstm", proj_size=3)
    Xs = make_inputs([4, 2])
    fresh = rnn("lstm", 6, num_layers=2, bidirectional=True, proj_size=3)
    fresh.from_bytes(layer.to_bytes())
    for a, b in zip(layer.predict(Xs), fresh.predict(Xs)):
        numpy.testing.assert_array_equal(a, b)


def test_finish_update_does_not_accumulate_tensors():
    """thinc's PyTorchShim.finish_update made every step's weights a DLPack view of the
    previous step's, a chain that is never freed (training memory grew by megabytes per
    step); AveragingShim updates in place instead."""
    import gc

    import spacy
    import torch
    from spacy.training import Example

    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_lm", config={"model": {"embed_size": 16, "hidden_size": 16, "proj_size": 0, "num_layers": 1}})
    examples = [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in ["a b c .", "b c a ."]]
    optimizer = nlp.initialize(lambda: examples)

    def n_tensors():
        gc.collect()
        return sum(1 for obj in gc.get_objects() if isinstance(obj, torch.Tensor))

    nlp.update(examples, sgd=optimizer)
    before = n_tensors()
    for _ in range(20):
        nlp.update(examples, sgd=optimizer)
    assert n_tensors() - before < 5
