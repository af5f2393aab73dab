"""The benchmark scripts' scoring helpers (scripts/benchmark_tagger.py)."""

import importlib.util

import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from tests.helpers import TESTS


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, TESTS.parent / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tagger_benchmark_scores_only_the_tokens_unseen_in_train(tmp_path):
    bench = _script("benchmark_tagger")
    nlp = spacy.blank("en")
    train = Doc(nlp.vocab, words=["The", "dog", "barks"], pos=["DET", "NOUN", "VERB"])
    DocBin(docs=[train]).to_disk(tmp_path / "train.spacy")
    known = bench.train_forms(nlp, tmp_path / "train.spacy")
    assert known == {"The", "dog", "barks"}
    # "the" (lower case) and "fox" are unseen forms; "dog" is known
    ref = Doc(nlp.vocab, words=["the", "fox", "dog"], pos=["DET", "NOUN", "NOUN"])
    example = Example(Doc(nlp.vocab, words=["the", "fox", "dog"]), ref)
    predicted = Doc(nlp.vocab, words=["the", "fox", "dog"], pos=["DET", "AUX", "VERB"])
    acc, n = bench.oov_accuracy([predicted], [example], known, "pos")
    assert (acc, n) == (0.5, 2)
    all_right = Doc(nlp.vocab, words=["the", "fox", "dog"], pos=["DET", "NOUN", "VERB"])
    assert bench.oov_accuracy([all_right], [example], known, "pos") == (1.0, 2)
