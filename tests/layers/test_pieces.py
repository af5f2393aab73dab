"""spacy_rnn.layers.pieces: long docs in bounded pieces at prediction, with the same
outputs as read whole."""

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Linear, with_array

from spacy_rnn.layers.pieces import cut, per_token_in_pieces, piece_length, pooled_in_pieces
from spacy_rnn.layers.pooling import pooling
from tests.helpers import HASH_EMBED


def encoder(window):
    return registry.architectures.get("spacy_rnn.RNNEncoder.v1")(
        registry.architectures.get("spacy.MultiHashEmbed.v2")(
            **{k: v for k, v in HASH_EMBED.items() if k != "@architectures"}
        ),
        hidden_size=4,
        num_layers=1,
        window=window,
    )


@pytest.fixture
def docs():
    vocab = spacy.blank("en").vocab
    words = [f"w{i % 37}" for i in range(203)]
    return [Doc(vocab, words=words), Doc(vocab, words=words[:5]), Doc(vocab, words=[])]


def test_piece_length_is_a_multiple_of_the_window():
    assert piece_length(256) == 1024 and piece_length(512) == 1024 and piece_length(300) == 900
    assert piece_length(2000) == 2000 and piece_length(5, tokens=12) == 10


def test_cut_keeps_every_token_in_order(docs):
    pieces = cut(docs[0], 50)
    assert [len(p) for p in pieces] == [50, 50, 50, 50, 3]
    assert [t.text for p in pieces for t in p] == [t.text for t in docs[0]]


@pytest.mark.parametrize("group", [1, 3])
def test_per_token_outputs_in_pieces_equal_reading_whole(docs, group):
    model = per_token_in_pieces(encoder(5), with_array(Linear(3)), piece=20, group=group)
    model.initialize(X=docs)
    pieced = model.predict(docs)
    model.attrs["piece"] = 0
    whole = model.predict(docs)
    assert [len(Y) for Y in pieced] == [203, 5, 0]
    for a, b in zip(pieced, whole):
        numpy.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("names", [["last", "max", "mean"], ["mean"], ["attention"]])
def test_pooled_outputs_in_pieces_equal_reading_whole(docs, names):
    tok2vec = encoder(5)
    model = pooled_in_pieces(
        tok2vec, pooling(names, 8, bidirectional=True), names, bidirectional=True, piece=20, group=2
    )
    model.initialize(X=docs)
    pieced = model.predict(docs)
    model.attrs["piece"] = 0
    numpy.testing.assert_allclose(pieced, model.predict(docs), atol=1e-5)


def test_training_reads_whole_and_backpropagates(docs):
    model = per_token_in_pieces(encoder(5), with_array(Linear(3)), piece=20)
    model.initialize(X=docs)
    Ys, backprop = model.begin_update(docs)
    assert [len(Y) for Y in Ys] == [203, 5, 0]
    backprop([numpy.ones_like(Y) for Y in Ys])
