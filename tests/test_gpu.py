"""GPU checks (run with a CUDA GPU and cupy installed: `python -m pytest -m gpu`)."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc
from thinc.api import get_current_ops, set_current_ops, NumpyOps

pytestmark = pytest.mark.gpu

@pytest.fixture
def gpu():
    previous = get_current_ops()
    spacy.require_gpu(0)
    yield
    set_current_ops(previous)

def test_gpu_trained_tagger_loads_and_predicts_on_cpu(gpu, tiny_examples, tiny_docs, tmp_path):
    from test_tagger import SMALL_MODEL, train

    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_MODEL})
    train(nlp, tiny_examples, steps=80)
    words = [[t.text for t in d] for d in tiny_docs]
    gpu_tags = [[t.pos_ for t in nlp(Doc(nlp.vocab, words=w))] for w in words]
    assert gpu_tags == [[t.pos_ for t in d] for d in tiny_docs]
    nlp.to_disk(tmp_path / "gpu-model")

    set_current_ops(NumpyOps())

    cpu_nlp = spacy.load(tmp_path / "gpu-model")
    shim = cpu_nlp.get_pipe("rnn_tagger").model.get_ref("tok2vec").get_ref("encoder").shims[0]
    assert next(shim._model.parameters()).device.type == "cpu"
    cpu_tags = [[t.pos_ for t in cpu_nlp(Doc(cpu_nlp.vocab, words=w))] for w in words]
    assert cpu_tags == gpu_tags
    assert isinstance(cpu_nlp.get_pipe("rnn_tagger").model.predict([cpu_nlp.make_doc("a b")])[0], numpy.ndarray)
