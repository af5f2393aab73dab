"""spacy_rnn.shims: averaged weights under use_params, in-place updates, the lazily
built shim."""

import numpy
import torch
from spacy.training import Example
from thinc.api import Adam, PyTorchShim, torch2xp

from spacy_rnn.layers.rnn import rnn
from spacy_rnn.modules.rnn import PackedRNN, RNNOptions
from spacy_rnn.shims import LazyShim, torch_module, torch_parameters


def make_layer():
    torch.manual_seed(0)
    layer = rnn(RNNOptions("lstm", 6, 2, True))
    layer.initialize(X=[numpy.zeros((3, 8), "f")])
    return layer


def train_steps(layer, optimizer, n=3):
    Xs = [numpy.random.default_rng(0).normal(size=(n, 8)).astype("f") for n in (7, 3)]
    for _ in range(n):
        Ys, bp = layer.begin_update(Xs)
        bp([Y.copy() for Y in Ys])
        layer.finish_update(optimizer)
    return Xs


def test_use_params_applies_averaged_torch_weights():
    layer = make_layer()
    optimizer = Adam(0.01, use_averages=True)
    Xs = train_steps(layer, optimizer)
    shim = layer.shims[0]
    keys = [k for k in optimizer.averages if k[0] == shim.id]
    assert keys, "the optimizer keeps averages of the torch parameters"
    raw = layer.predict(Xs)[0]
    name = keys[0][1]
    with layer.use_params(optimizer.averages):
        param = dict(torch_module(shim).named_parameters())[name]
        numpy.testing.assert_allclose(torch2xp(param.detach()), optimizer.averages[keys[0]])
        averaged = layer.predict(Xs)[0]
    assert not numpy.allclose(raw, averaged)
    numpy.testing.assert_allclose(layer.predict(Xs)[0], raw)  # restored afterwards


def test_finish_update_does_not_accumulate_tensors():
    """thinc's PyTorchShim.finish_update made every step's weights a DLPack view of the
    previous step's, a chain that is never freed (training memory grew by megabytes per
    step); AveragingShim updates in place instead."""
    import gc

    import spacy
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


def test_lazy_shim_builds_once_the_size_is_known_and_from_saved_bytes():
    cfg = {
        "cell": "gru",
        "hidden_size": 4,
        "num_layers": 1,
        "bidirectional": False,
        "dropout": 0.0,
        "proj_size": 0,
        "bias": True,
    }
    shim = LazyShim(PackedRNN.from_config, cfg, "input_size")
    assert not shim.is_built and list(torch_parameters(shim)) == []
    shim.build(3)
    assert shim.is_built and shim.size == 3 and torch_module(shim).rnn.input_size == 3
    again = LazyShim(PackedRNN.from_config, cfg, "input_size")
    again.from_bytes(shim.to_bytes())
    assert again.size == 3
    for a, b in zip(torch_parameters(shim), torch_parameters(again)):
        assert torch.equal(a, b)


def test_use_mixed_precision_switches_every_torch_shim_and_back():
    import spacy
    from spacy.tokens import Doc

    from spacy_rnn.shims import use_mixed_precision
    from tests.helpers import SMALL_TAGGER

    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER})
    nlp.initialize(lambda: [Example.from_dict(Doc(nlp.vocab, words=["a", "b"]), {"pos": ["DET", "NOUN"]})])
    model = nlp.get_pipe("rnn_tagger").model
    n_torch = sum(isinstance(s, PyTorchShim) for node in model.walk() for s in node.shims)
    assert n_torch >= 1
    assert use_mixed_precision(model) == n_torch
    assert all(s._mixed_precision and s._grad_scaler._enabled for node in model.walk() for s in node.shims)
    assert use_mixed_precision(model, False) == n_torch
    assert not any(s._mixed_precision for node in model.walk() for s in node.shims)
