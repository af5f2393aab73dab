import os
from pathlib import Path

import pytest
import torch
import spacy
from spacy.training.converters import conllu_to_docs
from spacy.tokens import Doc
from spacy.training import Example

TESTS = Path(__file__).parent
ROOT = TESTS.parent
FIXTURE_CONLLU = TESTS / "data" / "tiny.conllu"
# the real corpora: ../shared/data beside the checkout, or SPACY_RNN_DATA
DATA_DIR = Path(os.environ.get("SPACY_RNN_DATA", ROOT.parent / "shared" / "data"))

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
        Example(Doc(vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]), d)
        for d in tiny_docs
    ]


def package_and_run(nlp, tmp_path, name: str, code: str) -> str:
    """`spacy package` the pipeline as an sdist, pip-install it into a private folder,
    then run ``code`` in a fresh interpreter that sees only that install; returns its
    stdout (the package is importable as ``en_<name>``)."""
    import subprocess
    import sys

    nlp.meta.update({"name": name, "version": "0.0.1"})
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "pkg").mkdir()

    def run(*cmd, **kw):
        result = subprocess.run(cmd, capture_output=True, text=True, **kw)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    run(sys.executable, "-m", "spacy", "package", str(tmp_path / "model"), str(tmp_path / "pkg"),
        "--build", "sdist", "--force")
    sdist = next((tmp_path / "pkg").rglob("*.tar.gz"))
    run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet",
        "--target", str(tmp_path / "site"), str(sdist))
    return run(sys.executable, "-c", code, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}).stdout
