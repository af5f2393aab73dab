"""GPU checks (run with a CUDA GPU and cupy installed: `python -m pytest -m gpu`)."""

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from thinc.api import NumpyOps, get_current_ops, set_current_ops

from spacy_rnn.shims import torch_parameters
from tests.helpers import LM_TEXTS, SMALL_TAGGER, TEXTS, lm_nlp, textcat_examples, textcat_nlp, train, train_lm

pytestmark = pytest.mark.gpu


@pytest.fixture
def gpu():
    previous = get_current_ops()
    spacy.require_gpu(0)
    yield
    set_current_ops(previous)


def test_gpu_trained_tagger_loads_and_predicts_on_cpu(gpu, tiny_examples, tiny_docs, tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER})
    train(nlp, tiny_examples, steps=80)
    words = [[t.text for t in d] for d in tiny_docs]
    gpu_tags = [[t.pos_ for t in nlp(Doc(nlp.vocab, words=w))] for w in words]
    assert gpu_tags == [[t.pos_ for t in d] for d in tiny_docs]
    nlp.to_disk(tmp_path / "gpu-model")

    set_current_ops(NumpyOps())

    cpu_nlp = spacy.load(tmp_path / "gpu-model")
    shim = cpu_nlp.get_pipe("rnn_tagger").model.get_ref("tok2vec").get_ref("encoder").shims[0]
    assert next(torch_parameters(shim)).device.type == "cpu"
    cpu_tags = [[t.pos_ for t in cpu_nlp(Doc(cpu_nlp.vocab, words=w))] for w in words]
    assert cpu_tags == gpu_tags
    assert isinstance(cpu_nlp.get_pipe("rnn_tagger").model.predict([cpu_nlp.make_doc("a b")])[0], numpy.ndarray)


# the default model (subword embeddings, n-gram linear model, branch dropout), made small
SMALL_DEFAULT = {"tok2vec": {"embed": {"rows": 1000}}, "linear_model": {"length": 1024}}


@pytest.mark.parametrize("model", ["small_rnn", "default"])
def test_gpu_trained_textcat_loads_and_scores_on_cpu(gpu, tmp_path, model):
    nlp = textcat_nlp() if model == "small_rnn" else textcat_nlp(model=SMALL_DEFAULT)
    train(nlp, textcat_examples(nlp), steps=40)
    texts = [t for t, _ in TEXTS] + [""]
    gpu_cats = [d.cats for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "gpu-model")

    set_current_ops(NumpyOps())

    cpu_nlp = spacy.load(tmp_path / "gpu-model")
    for gpu_doc_cats, doc in zip(gpu_cats, cpu_nlp.pipe(texts)):
        assert doc.cats == pytest.approx(gpu_doc_cats, abs=1e-4)


def test_gpu_trained_lm_loads_and_scores_on_cpu(gpu, tmp_path):
    nlp = train_lm(lm_nlp())
    gpu_surprisal = [[t._.surprisal for t in d] for d in nlp.pipe(LM_TEXTS)]
    greedy = nlp.get_pipe("rnn_lm").generate("the cat", greedy=True)
    nlp.to_disk(tmp_path / "gpu-model")

    set_current_ops(NumpyOps())

    cpu_nlp = spacy.load(tmp_path / "gpu-model")
    cpu_surprisal = [[t._.surprisal for t in d] for d in cpu_nlp.pipe(LM_TEXTS)]
    numpy.testing.assert_allclose(
        numpy.concatenate(cpu_surprisal), numpy.concatenate(gpu_surprisal), rtol=1e-3, atol=1e-3
    )
    assert cpu_nlp.get_pipe("rnn_lm").generate("the cat", greedy=True) == greedy
