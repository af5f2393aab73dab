"""spacy_rnn.layers.ngrams: hashed word and character n-gram features."""

import numpy
import pytest
import spacy
from spacy.strings import hash_string

from spacy_rnn.layers.ngrams import char_ngram_keys, extract_ngram_features


def test_char_ngrams_of_a_word_with_its_edges_marked():
    keys = set(char_ngram_keys("ab", [2, 3]).tolist())
    assert keys == {hash_string("#c" + g) for g in ["<a", "ab", "b>", "<ab", "ab>"]}
    # shorter than n: the whole marked word, once
    assert char_ngram_keys("a", [5]).tolist() == [hash_string("#c<a>")]


def test_features_count_word_ngrams_and_are_unit_norm():
    nlp = spacy.blank("en")
    layer = extract_ngram_features(word_ngrams=2, char_ngrams=[])
    (keys, vals, lengths), _ = layer([nlp("a b a"), nlp(""), nlp("b")], is_train=False)
    assert lengths.tolist() == [4, 0, 1]  # a, b, "a b", "b a" | nothing | b
    first = dict(zip(keys[:4].tolist(), vals[:4].tolist()))
    a, b = nlp.vocab.strings["a"], nlp.vocab.strings["b"]
    assert first[a] / first[b] == pytest.approx(1 + numpy.log(2))  # sublinear count
    assert numpy.sum(vals[:4] ** 2) == pytest.approx(1.0)
    assert vals[4] == pytest.approx(1.0)


def test_features_ignore_case_and_share_character_ngrams():
    nlp = spacy.blank("en")
    layer = extract_ngram_features(word_ngrams=1, char_ngrams=[3])
    (keys, _, lengths), _ = layer([nlp("Happy"), nlp("happy"), nlp("happpy")], is_train=False)
    first, second, third = numpy.split(keys, numpy.cumsum(lengths)[:-1])
    assert first.tolist() == second.tolist()
    assert len(set(first.tolist()) & set(third.tolist())) >= 3  # <ha, hap, py>, ...


def test_character_ngrams_are_counted_once_per_token_of_a_word():
    """The counts are those of all tokens (taken per distinct word, times its count)."""
    nlp = spacy.blank("en")
    layer = extract_ngram_features(word_ngrams=1, char_ngrams=[2])
    (keys, vals, _), _ = layer([nlp("ab ab ab cd")], is_train=False)
    by_key = dict(zip(keys.tolist(), vals.tolist()))
    ab, cd = char_ngram_keys("ab", [2]), char_ngram_keys("cd", [2])
    assert by_key[int(ab[0])] / by_key[int(cd[0])] == pytest.approx(1 + numpy.log(3))


@pytest.mark.parametrize("word_ngrams,char_ngrams", [(3, [2, 4]), (2, []), (0, [3])])
def test_a_docs_features_do_not_depend_on_its_batch(word_ngrams, char_ngrams):
    """The batch is extracted in one pass: each doc's keys and values must equal those of
    the doc alone (no word n-gram across two docs, counts per doc), in key order."""
    nlp = spacy.blank("en")
    texts = ["the cat sat", "", "sat the the cat", "x", "cat sat on the mat the cat"]
    docs = [nlp(text) for text in texts]
    layer = extract_ngram_features(word_ngrams=word_ngrams, char_ngrams=char_ngrams)
    (keys, vals, lengths), _ = layer(docs, is_train=False)
    starts = numpy.cumsum(lengths) - lengths
    for doc, start, length in zip(docs, starts.tolist(), lengths.tolist()):
        (alone_keys, alone_vals, alone_lengths), _ = layer([doc], is_train=False)
        assert alone_lengths.tolist() == [length]
        assert keys[start : start + length].tolist() == alone_keys.tolist()
        assert vals[start : start + length] == pytest.approx(alone_vals, abs=1e-6)
        assert alone_keys.tolist() == sorted(alone_keys.tolist())


def test_bad_feature_settings_raise():
    with pytest.raises(ValueError, match="word_ngrams"):
        extract_ngram_features(word_ngrams=-1)
    with pytest.raises(ValueError, match="at least one"):
        extract_ngram_features(word_ngrams=0, char_ngrams=[])
