"""spacy_rnn.layers.chars: character-level word vectors as a thinc layer over docs."""

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.util import registry

from spacy_rnn.shims import torch_module


@pytest.fixture
def vocab():
    return spacy.blank("en").vocab


def make_char_embed(**kwargs):
    torch.manual_seed(0)
    model = registry.architectures.get("spacy_rnn.CharRNNEmbed.v1")(**{"nM": 8, "hidden_size": 5, **kwargs})
    model.initialize()
    return model


def test_one_row_per_token_and_equal_rows_for_equal_words(vocab):
    model = make_char_embed()
    docs = [Doc(vocab, words=["the", "cat", "the", "é"]), Doc(vocab, words=[]), Doc(vocab, words=["cat"])]
    Ys = model.predict(docs)
    assert [Y.shape for Y in Ys] == [(4, 10), (0, 10), (1, 10)]
    numpy.testing.assert_allclose(Ys[0][0], Ys[0][2])
    numpy.testing.assert_allclose(Ys[0][1], Ys[2][0], atol=1e-6)  # batch-independent
    assert not numpy.allclose(Ys[0][0], Ys[0][1])


def test_word_vector_is_final_states_of_a_plain_torch_run(vocab):
    model = make_char_embed()
    module = torch_module(model.shims[0])
    word = "tagging"
    Y = model.predict([Doc(vocab, words=[word])])[0][0]
    module.eval()
    with torch.no_grad():
        x = module.embed(torch.tensor(list(word.encode("utf8"))))[None]
        out, _ = module.rnn.rnn(x)
    expected = torch.cat([out[0, -1, :5], out[0, 0, 5:]]).numpy()
    numpy.testing.assert_allclose(Y, expected, atol=1e-6)


def test_long_words_keep_their_first_and_last_characters(vocab):
    model = make_char_embed(max_chars=6)
    a, b = model.predict([Doc(vocab, words=["abcXXXXXXXXxyz", "abcYYYYYYxyz"])])[0]
    numpy.testing.assert_allclose(a, b)  # only "abc" + "xyz" are read


def test_gradients_reach_the_byte_embeddings(vocab):
    model = make_char_embed()
    Ys, backprop = model.begin_update([Doc(vocab, words=["a", "bb", "a"])])
    backprop([numpy.ones_like(Y) for Y in Ys])
    grad = torch_module(model.shims[0]).embed.weight.grad
    assert grad[ord("a")].abs().sum() > 0 and grad[ord("b")].abs().sum() > 0
    assert grad[ord("z")].abs().sum() == 0


def test_bad_max_chars_raises():
    with pytest.raises(ValueError, match="max_chars"):
        registry.architectures.get("spacy_rnn.CharRNNEmbed.v1")(max_chars=1)


def test_saved_model_does_not_grow_with_the_words_it_has_seen(vocab):
    model = make_char_embed()
    size = len(model.to_bytes())
    model.predict([Doc(vocab, words=[f"word{i}" for i in range(2000)])])
    assert len(model.to_bytes()) == size
