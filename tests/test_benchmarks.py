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
    assert known == {"the", "dog", "barks"}
    # "fox" and "cat" are unseen; "THE" (as "the") and "dog" are known
    words = ["THE", "fox", "dog", "cat"]
    example = Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, pos=["DET", "NOUN", "NOUN", "NOUN"]))
    predicted = Doc(nlp.vocab, words=words, pos=["PRON", "AUX", "VERB", "NOUN"])
    assert bench.oov_accuracy([predicted], [example], known, "pos") == (0.5, 2)
    all_right = Doc(nlp.vocab, words=words, pos=["PRON", "NOUN", "VERB", "NOUN"])
    assert bench.oov_accuracy([all_right], [example], known, "pos") == (1.0, 2)
