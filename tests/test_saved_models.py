"""Pipelines saved by an earlier version load and predict exactly as they did
(fixtures written by tests/data/saved/make_fixtures.py with that version's code)."""

import json
from pathlib import Path

import pytest
import spacy

from spacy_rnn import __version__  # noqa: F401  (the version that loads them)

SAVED = Path(__file__).parent / "data" / "saved"
VERSIONS = sorted(p.name for p in SAVED.iterdir() if p.is_dir())
TEXTS = ["The cat ran to the park .", "I love big ships", "", "unseen words here today"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("pipeline", ["classify", "lm"])
def test_saved_pipeline_loads_with_identical_predictions(version, pipeline):
    path = SAVED / version / pipeline
    expected = json.loads((path / "expected.json").read_text())
    nlp = spacy.load(path)
    docs = list(nlp.pipe(TEXTS))
    assert [[t.pos_ for t in d] for d in docs] == expected["tags"]
    for doc, cats in zip(docs, expected["cats"]):
        assert doc.cats == pytest.approx(cats, abs=1e-6)
    if "surprisal" in expected:
        for doc, values in zip(docs, expected["surprisal"]):
            assert [t._.surprisal for t in doc] == pytest.approx(values, abs=1e-5)
    if pipeline == "classify":
        assert any(tags for tags in expected["tags"]) and any(expected["cats"][0].values())
