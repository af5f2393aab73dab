"""Hashed word/character n-gram features and the NgramBOW linear classifier."""
import numpy
import pytest
import spacy
from spacy.strings import hash_string
from thinc.api import Model

from spacy_rnn.layers.ngrams import char_ngram_keys, extract_ngram_features

from test_textcat import LABELS, TEXTS, make_examples, make_nlp, small_model, train


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


def test_bad_feature_settings_raise():
    with pytest.raises(ValueError, match="word_ngrams"):
        extract_ngram_features(word_ngrams=-1)
    with pytest.raises(ValueError, match="at least one"):
        extract_ngram_features(word_ngrams=0, char_ngrams=[])
    with pytest.raises(ValueError, match="length"):
        make_nlp(model={"@architectures": "spacy_rnn.NgramBOW.v1", "length": 0})


def bow_model(exclusive=True, **kwargs):
    return {"@architectures": "spacy_rnn.NgramBOW.v1", "exclusive_classes": exclusive,
            "length": 2**16, **kwargs}


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel", "textcat"])
def test_ngram_bow_overfits_and_round_trips(factory, tmp_path):
    exclusive = factory != "rnn_textcat_multilabel"
    nlp = spacy.blank("en")
    nlp.add_pipe(factory, config={"model": bow_model(exclusive)})
    examples = make_examples(nlp, multilabel=not exclusive)
    train(nlp, examples, steps=60, lr=0.1)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0
    texts = ["", TEXTS[0][0], "", TEXTS[5][0]]
    expected = [d.cats for d in nlp.pipe(texts)]
    assert expected[0] == expected[2]
    if factory != "textcat":  # spaCy's own predict gives zeros to an all-empty batch
        assert [nlp(t).cats for t in texts] == expected  # batch-independent
    nlp.to_disk(tmp_path / "model")
    assert [d.cats for d in spacy.load(tmp_path / "model").pipe(texts)] == expected


def test_ngram_bow_as_the_wide_part_of_the_rnn():
    model = small_model()
    model["linear_model"] = bow_model(no_output_layer=True)
    nlp = make_nlp("rnn_textcat", model)
    examples = make_examples(nlp)
    train(nlp, examples, steps=30)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0
    linear = nlp.get_pipe("rnn_textcat").model.get_ref("linear_model")
    scores = linear.predict([nlp.make_doc(TEXTS[0][0])])
    assert scores.shape == (1, len(LABELS)) and numpy.abs(scores).sum() > 0


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


def test_rnn_over_subword_embeddings_overfits():
    model = small_model()
    model["tok2vec"]["embed"] = {"@architectures": "spacy_rnn.SubwordEmbed.v1", "width": 16, "rows": 2000}
    nlp = make_nlp("rnn_textcat", model)
    examples = make_examples(nlp)
    train(nlp, examples, steps=30)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0


def _constant(name, Y, grads):
    def forward(model, X, is_train):
        def backprop(dY):
            grads[name] = dY
            return []

        return Y.copy(), backprop

    return Model(name, forward)


def test_branch_dropout_scores_each_training_doc_by_one_or_both_branches():
    from spacy_rnn.layers.output import add_branches

    Yd = numpy.full((200, 3), 1.0, dtype="f")
    Yw = numpy.full((200, 3), 10.0, dtype="f")
    grads = {}
    model = add_branches(_constant("deep", Yd, grads), _constant("wide", Yw, grads), 0.3)
    Y, _ = model(list(range(200)), is_train=False)
    assert numpy.all(Y == 11.0)  # prediction: the sum
    numpy.random.seed(0)
    Y, backprop = model(list(range(200)), is_train=True)
    rows = Y[:, 0]
    assert set(rows.tolist()) == {1.0, 10.0, 11.0}
    assert 40 <= (rows == 1.0).sum() <= 80 and 40 <= (rows == 10.0).sum() <= 80
    backprop(numpy.ones_like(Y))
    # a branch gets the gradient of exactly the rows it scored
    assert numpy.array_equal(grads["deep"][:, 0] == 1, rows != 10.0)
    assert numpy.array_equal(grads["wide"][:, 0] == 1, rows != 1.0)
    with pytest.raises(ValueError, match="branch_dropout"):
        add_branches(_constant("deep", Yd, grads), _constant("wide", Yw, grads), 0.6)


def test_wide_and_deep_with_branch_dropout_trains():
    model = small_model()
    model["linear_model"] = bow_model(no_output_layer=True)
    model["branch_dropout"] = 0.3
    nlp = make_nlp("rnn_textcat", model)
    examples = make_examples(nlp)
    train(nlp, examples, steps=40)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_default_wide_and_deep_model_grows_when_a_label_is_added(factory):
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe(factory)
    train(nlp, make_examples(nlp, multilabel=factory != "rnn_textcat"), steps=3)
    texts = [TEXTS[0][0], ""]
    before = [d.cats for d in nlp.pipe(texts)]
    textcat.add_label("surprise")
    after = [d.cats for d in nlp.pipe(texts)]
    for old, new in zip(before, after):
        assert set(new) == set(LABELS) | {"surprise"}
        assert all(new[label] == pytest.approx(old[label], abs=1e-6) for label in LABELS)
    model = textcat.model
    assert model.get_ref("output_layer").get_dim("nO") == len(LABELS) + 1
    assert model.get_ref("linear_model").get_dim("nO") == len(LABELS) + 1


def test_saved_models_do_not_grow_with_the_words_they_have_seen():
    """The n-gram keys of words are cached per process, not in the model's attrs (which
    thinc saves)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_textcat", config={"model": {"tok2vec": {"embed": {"rows": 1000}},
                                                   "linear_model": {"length": 1024}}})
    train(nlp, make_examples(nlp), steps=1)
    size = len(nlp.get_pipe("rnn_textcat").model.to_bytes())
    nlp(" ".join(f"word{i}" for i in range(2000)))
    assert len(nlp.get_pipe("rnn_textcat").model.to_bytes()) == size
