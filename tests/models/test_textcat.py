"""spacy_rnn.models.textcat: the RNN acceptor (each pooling), the DAN, the n-gram linear
model, wide & deep, growing with labels, long docs in pieces."""

import numpy
import pytest
import spacy

from tests.helpers import (
    TEXTCAT_LABELS,
    TEXTS,
    bow_model,
    dan_model,
    textcat_examples,
    textcat_model,
    textcat_nlp,
    train,
)


@pytest.mark.parametrize("pooling", [["last"], ["mean"], ["max"], ["attention"], ["last", "max", "mean"]])
@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_overfits_each_pooling(factory, pooling):
    exclusive = factory == "rnn_textcat"
    nlp = textcat_nlp(factory, textcat_model(exclusive, pooling=pooling))
    examples = textcat_examples(nlp, multilabel=not exclusive)
    train(nlp, examples, steps=40)
    for eg, doc in zip(examples, nlp.pipe(eg.reference.text for eg in examples)):
        if exclusive:
            assert max(doc.cats, key=doc.cats.get) == max(eg.reference.cats, key=eg.reference.cats.get)
            assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-5)
        else:
            assert {k for k, v in doc.cats.items() if v > 0.5} == {k for k, v in eg.reference.cats.items() if v}
    scores = nlp.evaluate(examples)
    assert scores["cats_macro_f"] == 1.0


@pytest.mark.parametrize("exclusive", [True, False])
def test_dan_overfits(exclusive):
    factory = "rnn_textcat" if exclusive else "rnn_textcat_multilabel"
    nlp = textcat_nlp(factory, dan_model(exclusive, word_dropout=0.2))
    examples = textcat_examples(nlp, multilabel=not exclusive)
    train(nlp, examples, steps=60)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0


@pytest.mark.parametrize("pooling", [["last"], ["mean"], ["max"], ["attention"]])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_scores_do_not_depend_on_the_batch(pooling, cell):
    nlp = textcat_nlp(model=textcat_model(pooling=pooling, cell=cell))
    nlp.initialize(lambda: textcat_examples(nlp))
    textcat = nlp.get_pipe("rnn_textcat")
    short = nlp.make_doc("lost my dog")
    others = [nlp.make_doc(t) for t, _ in TEXTS] + [nlp.make_doc("")]
    alone = textcat.predict([short])
    batched = textcat.predict(others[:3] + [short] + others[3:])
    numpy.testing.assert_allclose(alone[0], batched[3], atol=1e-5)
    empty_alone = textcat.predict([nlp.make_doc("")])
    numpy.testing.assert_allclose(empty_alone[0], batched[-1], atol=1e-6)


def test_long_doc_is_encoded_in_windows():
    """A 20,000-token doc classifies; with window = W the RNN reads it as W-token pieces."""
    nlp = textcat_nlp(model=textcat_model(window=7))
    nlp.initialize(lambda: textcat_examples(nlp))
    textcat = nlp.get_pipe("rnn_textcat")
    doc = nlp.make_doc(" ".join(["happy", "sad", "angry", "day"] * 5000))
    scores = textcat.predict([doc])
    assert scores.shape == (1, 3) and numpy.isfinite(scores).all()
    tok2vec = textcat.model.get_ref("tok2vec")
    encoder = tok2vec.get_ref("encoder")
    piece = nlp.make_doc("a b c d e f g h i j k l m n o p")  # 16 tokens: 7 + 7 + 2
    whole = tok2vec.predict([piece])[0]
    embedded = tok2vec.get_ref("embed").predict([piece])[0]
    parts = encoder.predict([embedded[:7], embedded[7:14], embedded[14:]])
    numpy.testing.assert_allclose(whole, numpy.concatenate(parts), atol=1e-6)


def test_default_model_classifies_a_long_doc_of_many_words():
    """The factory default (subword embeddings + n-gram linear model, window 256) on a
    20,000-token doc over 5,000 distinct words: defined scores, the same as when the doc
    is in a batch with a short one."""
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("rnn_textcat")
    train(nlp, textcat_examples(nlp), steps=1)
    doc = nlp.make_doc(" ".join(f"word{i % 5000}" for i in range(20000)))
    scores = textcat.predict([doc])
    assert scores.shape == (1, 3) and numpy.isfinite(scores).all()
    assert sum(scores[0]) == pytest.approx(1.0, abs=1e-5)
    batched = textcat.predict([nlp.make_doc("short one"), doc])
    numpy.testing.assert_allclose(batched[1], scores[0], atol=1e-5)


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_wide_and_deep_with_a_linear_model(factory, tmp_path):
    """A BOW model's scores added to the RNN's logits: trains, handles empty docs (which
    spaCy's bigram features cannot), and round-trips."""
    exclusive = factory == "rnn_textcat"
    model = textcat_model(exclusive)
    model["linear_model"] = {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": exclusive,
        "length": 2**16,
        "ngram_size": 2,
        "no_output_layer": True,
    }
    nlp = textcat_nlp(factory, model)
    examples = textcat_examples(nlp, multilabel=not exclusive)
    train(nlp, examples, steps=30)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0
    texts = ["", TEXTS[0][0], "", TEXTS[5][0]]
    expected = [d.cats for d in nlp.pipe(texts)]
    assert expected[0] == expected[2] == nlp("").cats
    assert all(numpy.isfinite(v) for cats in expected for v in cats.values())
    linear = nlp.get_pipe(factory).model.get_ref("linear_model")
    assert numpy.abs(linear.predict([nlp.make_doc(TEXTS[0][0])])).sum() > 0  # it was trained
    nlp.to_disk(tmp_path / "model")
    assert [d.cats for d in spacy.load(tmp_path / "model").pipe(texts)] == expected


@pytest.mark.parametrize("pooling", [("last", "max", "mean"), ("attention",)])
def test_a_long_doc_is_classified_in_pieces_with_the_same_scores(pooling):
    """With a windowed encoder, a doc longer than a piece is encoded as pieces and pooled
    from their partial statistics: the same scores as reading it whole."""
    nlp = textcat_nlp(model=textcat_model(pooling=pooling, window=4))
    train(nlp, textcat_examples(nlp), steps=5)
    model = nlp.get_pipe("rnn_textcat").model
    pieced_node = next(node for node in model.walk() if node.attrs.get("piece"))
    assert pieced_node.attrs["piece"] == 1024
    words = " ".join(t for t, _ in TEXTS).split() * 40  # ~3,000 tokens
    docs = [nlp.make_doc(" ".join(words)), nlp.make_doc(TEXTS[0][0])]
    pieced = model.predict(docs)
    pieced_node.attrs["piece"] = 0  # read whole
    numpy.testing.assert_allclose(pieced, model.predict(docs), atol=1e-6)


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel", "textcat"])
def test_ngram_bow_overfits_and_round_trips(factory, tmp_path):
    exclusive = factory != "rnn_textcat_multilabel"
    nlp = spacy.blank("en")
    nlp.add_pipe(factory, config={"model": bow_model(exclusive)})
    examples = textcat_examples(nlp, multilabel=not exclusive)
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
    model = textcat_model()
    model["linear_model"] = bow_model(no_output_layer=True)
    nlp = textcat_nlp("rnn_textcat", model)
    examples = textcat_examples(nlp)
    train(nlp, examples, steps=30)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0
    linear = nlp.get_pipe("rnn_textcat").model.get_ref("linear_model")
    scores = linear.predict([nlp.make_doc(TEXTS[0][0])])
    assert scores.shape == (1, len(TEXTCAT_LABELS)) and numpy.abs(scores).sum() > 0


def test_rnn_over_subword_embeddings_overfits():
    model = textcat_model()
    model["tok2vec"]["embed"] = {"@architectures": "spacy_rnn.SubwordEmbed.v1", "width": 16, "rows": 2000}
    nlp = textcat_nlp("rnn_textcat", model)
    examples = textcat_examples(nlp)
    train(nlp, examples, steps=30)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0


def test_wide_and_deep_with_branch_dropout_trains():
    model = textcat_model()
    model["linear_model"] = bow_model(no_output_layer=True)
    model["branch_dropout"] = 0.3
    nlp = textcat_nlp("rnn_textcat", model)
    examples = textcat_examples(nlp)
    train(nlp, examples, steps=40)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_default_wide_and_deep_model_grows_when_a_label_is_added(factory):
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe(factory)
    train(nlp, textcat_examples(nlp, multilabel=factory != "rnn_textcat"), steps=3)
    texts = [TEXTS[0][0], ""]
    before = [d.cats for d in nlp.pipe(texts)]
    textcat.add_label("surprise")
    after = [d.cats for d in nlp.pipe(texts)]
    for old, new in zip(before, after):
        assert set(new) == set(TEXTCAT_LABELS) | {"surprise"}
        assert all(new[label] == pytest.approx(old[label], abs=1e-6) for label in TEXTCAT_LABELS)
    model = textcat.model
    assert model.get_ref("output_layer").get_dim("nO") == len(TEXTCAT_LABELS) + 1
    assert model.get_ref("linear_model").get_dim("nO") == len(TEXTCAT_LABELS) + 1


def test_saved_models_do_not_grow_with_the_words_they_have_seen():
    """The n-gram keys of words are cached per process, not in the model's attrs (which
    thinc saves)."""
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "rnn_textcat", config={"model": {"tok2vec": {"embed": {"rows": 1000}}, "linear_model": {"length": 1024}}}
    )
    train(nlp, textcat_examples(nlp), steps=1)
    size = len(nlp.get_pipe("rnn_textcat").model.to_bytes())
    nlp(" ".join(f"word{i}" for i in range(2000)))
    assert len(nlp.get_pipe("rnn_textcat").model.to_bytes()) == size
