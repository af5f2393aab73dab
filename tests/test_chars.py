"""The character-level embedding (spacy_rnn.CharRNNEmbed.v1) and ConcatEmbed."""
import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.util import registry

from test_tagger import SMALL_MODEL, predict_attrs, gold_attrs, train


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
    module = model.shims[0]._model
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
    grad = model.shims[0]._model.embed.weight.grad
    assert grad[ord("a")].abs().sum() > 0 and grad[ord("b")].abs().sum() > 0
    assert grad[ord("z")].abs().sum() == 0


def test_tagger_with_words_and_characters_trains_and_round_trips(tiny_examples, tiny_docs):
    model = {**SMALL_MODEL, "tok2vec": {**SMALL_MODEL["tok2vec"], "embed": {
        "@architectures": "spacy_rnn.ConcatEmbed.v1",
        "*": {
            "words": SMALL_MODEL["tok2vec"]["embed"],
            "chars": {"@architectures": "spacy_rnn.CharRNNEmbed.v1", "nM": 16, "hidden_size": 16},
        },
    }}}
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": model})
    train(nlp, tiny_examples, steps=80)
    assert predict_attrs(nlp, tiny_docs) == gold_attrs(tiny_docs)
    loaded = spacy.blank("en").from_config(nlp.config).from_bytes(nlp.to_bytes())
    texts = ["Zebras quickly jumped .", ""]
    assert [[t.pos_ for t in d] for d in loaded.pipe(texts)] == [[t.pos_ for t in d] for d in nlp.pipe(texts)]


def test_bad_values_raise_clear_errors():
    with pytest.raises(ValueError, match="max_chars"):
        registry.architectures.get("spacy_rnn.CharRNNEmbed.v1")(max_chars=1)
    with pytest.raises(ValueError, match="at least one"):
        registry.architectures.get("spacy_rnn.ConcatEmbed.v1")()


def test_saved_model_does_not_grow_with_the_words_it_has_seen(vocab):
    model = make_char_embed()
    size = len(model.to_bytes())
    model.predict([Doc(vocab, words=[f"word{i}" for i in range(2000)])])
    assert len(model.to_bytes()) == size
