"""spacy_rnn.training: gradient clipping by the global norm, scaled learning rates, gradual
unfreezing, the repeated training corpus."""

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


def test_scaled_adam_applies_the_learning_rate_scales_layers_register():
    from thinc.api import Model

    from spacy_rnn.training import LR_SCALES, lr_scale_of, scaled_adam, set_lr_scale

    a = Model("a", lambda model, X, is_train: (X, lambda d: d), params={"W": numpy.zeros((3,), "f")})
    b = Model("b", lambda model, X, is_train: (X, lambda d: d), params={"W": numpy.zeros((3,), "f")})
    set_lr_scale(a.id, "", 0.0)
    set_lr_scale(b.id, "W", 0.5)
    try:
        assert lr_scale_of((a.id, "W")) == 0.0 and lr_scale_of((b.id, "W")) == 0.5 and lr_scale_of((-1, "W")) == 1.0
        optimizer = scaled_adam(0.1, use_averages=False, grad_clip=0.0)
        for model in (a, b):
            model.inc_grad("W", numpy.ones((3,), "f"))
            model.finish_update(optimizer)
        assert numpy.allclose(a.get_param("W"), 0.0)  # scale 0: no step
        assert numpy.allclose(b.get_param("W"), -0.05, atol=1e-3)  # Adam's first step: lr * scale
    finally:
        LR_SCALES.pop((a.id, ""), None)
        LR_SCALES.pop((b.id, "W"), None)


def test_gradual_unfreezing_needs_an_lm_encoder():
    import spacy

    from spacy_rnn.training import gradual_unfreezing

    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger")
    with pytest.raises(ValueError, match="no component 'x'"):
        gradual_unfreezing("x", 10)(nlp, {"step": 0})
    with pytest.raises(ValueError, match="has no spacy_rnn.LMEncoder.v1"):
        gradual_unfreezing("rnn_tagger", 10)(nlp, {"step": 0})
    with pytest.raises(ValueError, match="steps_per_layer"):
        gradual_unfreezing("rnn_tagger", 0)


def _docbin(tmp_path, texts):
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    path = tmp_path / "train.spacy"
    DocBin(docs=[nlp(text) for text in texts]).to_disk(path)
    return nlp, path


@pytest.mark.parametrize("min_examples,passes", [(7, 3), (3, 1), (1, 1), (6, 2)])
def test_repeated_corpus_reads_the_corpus_until_an_epoch_has_min_examples(tmp_path, min_examples, passes):
    from spacy.util import registry

    nlp, path = _docbin(tmp_path, ["a b", "c", "d e f"])
    corpus = registry.readers.get("spacy_rnn.Corpus.v1")(path, min_examples=min_examples)
    texts = [eg.reference.text for eg in corpus(nlp)]
    assert texts == ["a b", "c", "d e f"] * passes
    assert [eg.reference.text for eg in corpus(nlp)] == texts  # every epoch alike


def test_repeated_corpus_without_min_examples_is_spacys_corpus(tmp_path):
    from spacy.training import Corpus
    from spacy.util import registry

    _, path = _docbin(tmp_path, ["a"])
    assert type(registry.readers.get("spacy_rnn.Corpus.v1")(path)) is Corpus


@pytest.mark.parametrize("bad", [-1, 2.5, "100", True])
def test_repeated_corpus_rejects_bad_settings(tmp_path, bad):
    from spacy.util import registry

    _, path = _docbin(tmp_path, ["a"])
    reader = registry.readers.get("spacy_rnn.Corpus.v1")
    with pytest.raises(ValueError, match="min_examples"):
        reader(path, min_examples=bad)
    with pytest.raises(ValueError, match="path is null"):
        reader(None, min_examples=10)


def test_repeated_corpus_of_an_empty_corpus_yields_nothing(tmp_path):
    from spacy.util import registry

    nlp, path = _docbin(tmp_path, [])
    assert list(registry.readers.get("spacy_rnn.Corpus.v1")(path, min_examples=5)(nlp)) == []
