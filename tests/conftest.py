import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.converters import conllu_to_docs

from tests.helpers import FIXTURE_CONLLU

torch.set_num_threads(1)  # tiny models: more threads only add overhead


def pytest_addoption(parser):
    parser.addoption("--gpu", action="store_true", help="run the tests marked gpu")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_gpu = False
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_docs():
    """20 hand-tagged sentences (UPOS and PTB tags), one Doc each."""
    text = FIXTURE_CONLLU.read_text(encoding="utf8")
    return list(conllu_to_docs(text, n_sents=1, no_print=True))


@pytest.fixture
def tiny_examples(tiny_docs):
    """Examples with the gold tokenization and no annotation on the predicted side."""
    vocab = spacy.blank("en").vocab
    return [
        Example(Doc(vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]), d) for d in tiny_docs
    ]


@pytest.fixture(scope="session")
def models(tmp_path_factory, tiny_docs):
    """Small trained pipelines on disk (tagger, textcat, lm) for the annotation tests."""
    from tests.helpers import annotation_models

    return annotation_models(tmp_path_factory.mktemp("models"), tiny_docs)
