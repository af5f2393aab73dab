"""spacy_rnn.layers.subword: fastText-style word vectors."""

import numpy
import pytest
import spacy

from spacy_rnn.layers.ngrams import char_ngram_keys


def test_subword_embed_shares_rows_between_similar_words():
    from spacy_rnn.architectures import SubwordEmbed_v1

    nlp = spacy.blank("en")
    model = SubwordEmbed_v1(width=8, rows=1000)
    model.initialize()
    docs = [nlp("Happy happy day"), nlp(""), nlp("happpy")]
    Ys, backprop = model(docs, is_train=True)
    assert [Y.shape for Y in Ys] == [(3, 8), (0, 8), (1, 8)]
    assert numpy.array_equal(Ys[0][0], Ys[0][1])  # LOWER: one word
    # the word vector is the mean of its keys' rows: word + n-grams of "<happy>"
    embed = model.layers[0]
    word = numpy.asarray([nlp.vocab.strings["happy"]], dtype="uint64")
    rows = embed.predict(numpy.concatenate([word, char_ngram_keys("happy", [3, 4, 5, 6])]))
    assert numpy.allclose(Ys[0][0], rows.mean(axis=0), atol=1e-6)
    # the gradient of a repeated word is summed over its tokens
    before = embed.get_grad("E").copy() if embed.has_grad("E") else 0
    backprop([numpy.ones_like(Y) for Y in Ys])
    grad = embed.get_grad("E") - before
    # 4 tokens x 8 dims, each key's mean weights summing to 1 per token, and HashEmbed
    # spreads a key over 4 rows
    assert grad.sum() == pytest.approx(4 * 8 * 4, rel=1e-5)
    with pytest.raises(ValueError, match="unknown token attribute"):
        SubwordEmbed_v1(width=8, attr="NOPE")
