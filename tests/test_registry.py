"""spaCy finds the factories, architectures and scorer through the entry points in
setup.cfg, without `import spacy_rnn`."""

import subprocess
import sys

import pytest

REGISTERED = {
    "architectures": [
        "spacy_rnn.RNNEncoder.v1",
        "spacy_rnn.RNNTagger.v1",
        "spacy_rnn.CharRNNEmbed.v1",
        "spacy_rnn.ConcatEmbed.v1",
        "spacy_rnn.RNNTextCat.v1",
        "spacy_rnn.DAN.v1",
        "spacy_rnn.SubwordEmbed.v1",
        "spacy_rnn.NgramBOW.v1",
        "spacy_rnn.RNNLanguageModel.v1",
    ],
    "scorers": ["spacy_rnn.tagger_scorer.v1", "spacy_rnn.lm_scorer.v1"],
}

SCRIPT = """
import sys
import spacy
from spacy.util import registry
assert "spacy_rnn" not in sys.modules
nlp = spacy.blank("en")
nlp.add_pipe("rnn_tagger")
nlp.add_pipe("rnn_textcat")
nlp.add_pipe("rnn_textcat_multilabel")
nlp.add_pipe("rnn_lm")
for kind, names in {registered!r}.items():
    for name in names:
        getattr(registry, kind).get(name)
print("ok", *(type(pipe).__name__ for _, pipe in nlp.pipeline))
"""


def test_factories_and_architectures_resolve_without_import():
    code = SCRIPT.format(registered=REGISTERED)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == "ok RNNTaggerComponent RNNTextCatComponent RNNMultiLabelTextCatComponent RNNLMComponent"
    )


@pytest.mark.parametrize("kind,name", [(k, n) for k, ns in REGISTERED.items() for n in ns])
def test_registered_names_point_into_the_package(kind, name):
    from spacy.util import registry

    func = getattr(registry, kind).get(name)
    assert func.__module__.startswith("spacy_rnn.")
