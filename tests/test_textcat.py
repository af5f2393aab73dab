"""The rnn_textcat / rnn_textcat_multilabel components and their models: training,
pooling, batch invariance, serialization and bad input."""
import numpy
import pytest
import spacy
from spacy.training import Example
from thinc.api import SGD

from spacy_rnn.pipes.textcat import RNNMultiLabelTextCategorizer, RNNTextCategorizer

TEXTS = [
    ("I love this , what a happy day", "joy"),
    ("so glad and happy for you", "joy"),
    ("this makes me smile every time", "joy"),
    ("best news ever , love it", "joy"),
    ("I hate waiting in this stupid line", "anger"),
    ("furious about the awful service", "anger"),
    ("stop lying to us , this is outrageous", "anger"),
    ("what a rude and annoying man", "anger"),
    ("I miss her so much , feeling down", "sadness"),
    ("crying all night , so lonely", "sadness"),
    ("lost my dog today", "sadness"),
    ("nothing feels right anymore", "sadness"),
]
LABELS = ["anger", "joy", "sadness"]


def small_model(exclusive=True, pooling=("last", "max", "mean"), cell="lstm", bidirectional=True, window=0):
    return {
        "@architectures": "spacy_rnn.RNNTextCat.v1",
        "exclusive_classes": exclusive,
        "pooling": list(pooling),
        "hidden_width": 16,
        "dropout": 0.0,
        "tok2vec": {
            "@architectures": "spacy_rnn.RNNEncoder.v1",
            "cell": cell,
            "hidden_size": 16,
            "num_layers": 1,
            "bidirectional": bidirectional,
            "window": window,
            "embed": {
                "@architectures": "spacy.MultiHashEmbed.v2",
                "width": 16,
                "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                "rows": [500, 100, 100, 50],
                "include_static_vectors": False,
            },
        },
    }


def dan_model(exclusive=True, word_dropout=0.0):
    return {
        "@architectures": "spacy_rnn.DAN.v1",
        "exclusive_classes": exclusive,
        "depth": 2,
        "hidden_width": 32,
        "dropout": 0.0,
        "word_dropout": word_dropout,
        "embed": {
            "@architectures": "spacy.MultiHashEmbed.v2",
            "width": 32,
            "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
            "rows": [500, 100, 100, 50],
            "include_static_vectors": False,
        },
    }


def make_examples(nlp, multilabel=False):
    examples = []
    for text, label in TEXTS:
        cats = {name: float(name == label) for name in LABELS}
        if multilabel and label == "anger":
            cats["sadness"] = 1.0  # a second label on some docs
        examples.append(Example.from_dict(nlp.make_doc(text), {"cats": cats}))
    return examples


def train(nlp, examples, steps=40, lr=0.01):
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = lr
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp


def make_nlp(factory="rnn_textcat", model=None, **cfg):
    nlp = spacy.blank("en")
    exclusive = factory == "rnn_textcat"
    nlp.add_pipe(factory, config={"model": model or small_model(exclusive), **cfg})
    return nlp


@pytest.fixture(scope="module")
def trained_nlp():
    nlp = make_nlp()
    return train(nlp, make_examples(nlp))


def test_factories_work_with_their_defaults():
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("rnn_textcat")
    multi = nlp.add_pipe("rnn_textcat_multilabel")
    assert isinstance(textcat, RNNTextCategorizer) and isinstance(multi, RNNMultiLabelTextCategorizer)
    train(nlp, make_examples(nlp), steps=2)
    doc = nlp("a short text")
    assert set(doc.cats) == set(LABELS)


@pytest.mark.parametrize("pooling", [["last"], ["mean"], ["max"], ["attention"], ["last", "max", "mean"]])
@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_overfits_each_pooling(factory, pooling):
    exclusive = factory == "rnn_textcat"
    nlp = make_nlp(factory, small_model(exclusive, pooling=pooling))
    examples = make_examples(nlp, multilabel=not exclusive)
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
    nlp = make_nlp(factory, dan_model(exclusive, word_dropout=0.2))
    examples = make_examples(nlp, multilabel=not exclusive)
    train(nlp, examples, steps=60)
    assert nlp.evaluate(examples)["cats_macro_f"] == 1.0


def test_word_dropout_keeps_a_token_per_doc_and_routes_gradients():
    from spacy_rnn.layers.dropout import word_dropout

    layer = word_dropout(0.99)
    Xs = [numpy.arange(12, dtype="f").reshape(4, 3), numpy.zeros((0, 3), "f"), numpy.ones((1, 3), "f")]
    Ys, backprop = layer.begin_update(Xs)
    assert [len(Y) for Y in Ys][1:] == [0, 1] and 1 <= len(Ys[0]) <= 4
    dXs = backprop([numpy.ones_like(Y) for Y in Ys])
    assert [dX.shape for dX in dXs] == [X.shape for X in Xs]
    assert dXs[0].sum() == 3 * len(Ys[0])  # ones where a row was kept, zeros elsewhere
    assert layer.predict(Xs) is Xs  # no dropout at prediction


@pytest.mark.parametrize("pooling", [["last"], ["mean"], ["max"], ["attention"]])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_scores_do_not_depend_on_the_batch(pooling, cell):
    nlp = make_nlp(model=small_model(pooling=pooling, cell=cell))
    nlp.initialize(lambda: make_examples(nlp))
    textcat = nlp.get_pipe("rnn_textcat")
    short = nlp.make_doc("lost my dog")
    others = [nlp.make_doc(t) for t, _ in TEXTS] + [nlp.make_doc("")]
    alone = textcat.predict([short])
    batched = textcat.predict(others[:3] + [short] + others[3:])
    numpy.testing.assert_allclose(alone[0], batched[3], atol=1e-5)
    empty_alone = textcat.predict([nlp.make_doc("")])
    numpy.testing.assert_allclose(empty_alone[0], batched[-1], atol=1e-6)


def test_last_pooling_takes_each_directions_final_state():
    from spacy_rnn.layers.pooling import pool_last
    from thinc.types import Ragged

    X = numpy.arange(24, dtype="f").reshape(6, 4)  # docs of 2, 0 and 4 tokens; halves of 2
    lengths = numpy.array([2, 0, 4], dtype="i")
    layer = pool_last(bidirectional=True)
    Y, backprop = layer.begin_update(Ragged(X, lengths))
    numpy.testing.assert_array_equal(Y, [[4, 5, 2, 3], [0, 0, 0, 0], [20, 21, 10, 11]])
    dX = backprop(numpy.ones_like(Y)).dataXd
    assert dX.sum() == 8 and dX[1, :2].sum() == 2 and dX[0, 2:].sum() == 2
    uni = pool_last(bidirectional=False).predict(Ragged(X, lengths))
    numpy.testing.assert_array_equal(uni, [X[1], numpy.zeros(4), X[5]])


def test_empty_docs_get_a_defined_output(trained_nlp):
    for text in ["", "   "]:
        cats = trained_nlp(text).cats
        assert set(cats) == set(LABELS)
        assert all(numpy.isfinite(v) for v in cats.values())
        assert sum(cats.values()) == pytest.approx(1.0, abs=1e-5)
    docs = list(trained_nlp.pipe(["", "a text", ""]))
    assert docs[0].cats == docs[2].cats


def test_long_doc_is_encoded_in_windows():
    """A 20,000-token doc classifies; with window = W the RNN reads it as W-token pieces."""
    nlp = make_nlp(model=small_model(window=7))
    nlp.initialize(lambda: make_examples(nlp))
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
    train(nlp, make_examples(nlp), steps=1)
    doc = nlp.make_doc(" ".join(f"word{i % 5000}" for i in range(20000)))
    scores = textcat.predict([doc])
    assert scores.shape == (1, 3) and numpy.isfinite(scores).all()
    assert sum(scores[0]) == pytest.approx(1.0, abs=1e-5)
    batched = textcat.predict([nlp.make_doc("short one"), doc])
    numpy.testing.assert_allclose(batched[1], scores[0], atol=1e-5)


def test_multilabel_threshold_is_used_by_the_scorer():
    nlp = make_nlp("rnn_textcat_multilabel", threshold=0.5)
    examples = make_examples(nlp, multilabel=True)
    train(nlp, examples)
    assert nlp.evaluate(examples)["cats_micro_f"] == 1.0
    doc = nlp(TEXTS[4][0])
    assert doc.cats["anger"] > 0.5 and doc.cats["sadness"] > 0.5  # independent sigmoids
    nlp.get_pipe("rnn_textcat_multilabel").cfg["threshold"] = 0.0  # every label counts as predicted
    scores = nlp.evaluate(examples)
    assert scores["cats_micro_r"] == 1.0 and scores["cats_micro_p"] < 0.5


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_save_load_gives_identical_scores(factory, tmp_path):
    nlp = make_nlp(factory)
    train(nlp, make_examples(nlp, multilabel=factory != "rnn_textcat"), steps=5)
    texts = [t for t, _ in TEXTS] + [""]
    expected = [d.cats for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert [d.cats for d in loaded.pipe(texts)] == expected
    assert loaded.get_pipe(factory).labels == nlp.get_pipe(factory).labels
    again = make_nlp(factory)
    again.get_pipe(factory).from_bytes(nlp.get_pipe(factory).to_bytes())
    assert [d.cats for d in again.pipe(texts)] == expected


def test_spacy_package_round_trip(trained_nlp, tmp_path):
    """`spacy package` builds an installable pipeline that scores the same."""
    import json

    from conftest import package_and_run

    text = TEXTS[0][0]
    code = f"import spacy, json; nlp = spacy.load('en_rnn_textcat_test'); print(json.dumps(nlp({text!r}).cats))"
    stdout = package_and_run(trained_nlp, tmp_path, "rnn_textcat_test", code)
    assert json.loads(stdout) == pytest.approx(trained_nlp(text).cats, abs=1e-6)


def test_unknown_label_in_training_data_raises_clear_error():
    nlp = make_nlp()
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    bad = Example.from_dict(nlp.make_doc("a surprise"), {"cats": {"surprise": 1.0, "joy": 0.0}})
    with pytest.raises(ValueError, match="'surprise'.*not among the labels"):
        nlp.update(examples[:2] + [bad], sgd=optimizer)


def test_doc_without_cats_is_left_out_of_the_loss():
    nlp = make_nlp()
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    textcat = nlp.get_pipe("rnn_textcat")
    no_cats = Example(nlp.make_doc("no annotation here"), nlp.make_doc("no annotation here"))
    batch = examples[:3] + [no_cats]
    scores = textcat.model.predict([eg.predicted for eg in batch])
    _, d_scores = textcat.get_loss(batch, scores)
    assert not d_scores[3].any() and d_scores[:3].any()
    nlp.update(batch, sgd=SGD(0.01))  # trains on the other docs without error


def test_label_set_of_one():
    nlp = make_nlp()
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"joy": 1.0}}) for t, _ in TEXTS[:3]]
    with pytest.raises(ValueError, match="two labels"):
        nlp.initialize(lambda: examples)
    multi = make_nlp("rnn_textcat_multilabel")
    train(multi, [Example.from_dict(multi.make_doc(t), {"cats": {"joy": float(y == "joy")}}) for t, y in TEXTS], steps=3)
    assert list(multi("happy").cats) == ["joy"]


def test_non_string_label_raises():
    nlp = make_nlp()
    with pytest.raises(ValueError, match="string"):
        nlp.get_pipe("rnn_textcat").add_label(3)


def test_bad_config_values_raise_clear_errors():
    with pytest.raises(ValueError, match="exclusive_classes"):
        make_nlp("rnn_textcat", small_model(exclusive=False))
    with pytest.raises(ValueError, match="exclusive_classes"):
        make_nlp("rnn_textcat_multilabel", small_model(exclusive=True))
    with pytest.raises(ValueError, match="Unknown pooling 'min'"):
        make_nlp(model=small_model(pooling=["min"]))
    with pytest.raises(ValueError, match="window"):
        make_nlp(model=small_model(window=-1))
    with pytest.raises(ValueError, match="word_dropout"):
        make_nlp(model=dan_model(word_dropout=1.0))
    with pytest.raises(ValueError, match="threshold"):
        make_nlp("rnn_textcat_multilabel", threshold=1.5)


def test_updates_are_clipped_to_max_grad_norm():
    max_norm = 1e-3
    nlp = make_nlp(max_grad_norm=max_norm)
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    textcat = nlp.get_pipe("rnn_textcat")

    def weights():
        out = [node.get_param(n).copy() for node in textcat.model.walk() for n in node.param_names if node.has_param(n)]
        out += [p.detach().numpy().copy() for node in textcat.model.walk() for s in node.shims for p in s._model.parameters()]
        return out

    before = weights()
    nlp.update(examples, sgd=SGD(1.0, L2=0.0, grad_clip=0.0))
    step = numpy.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(weights(), before)))
    assert step == pytest.approx(max_norm, rel=1e-2)


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_wide_and_deep_with_a_linear_model(factory, tmp_path):
    """A BOW model's scores added to the RNN's logits: trains, handles empty docs (which
    spaCy's bigram features cannot), and round-trips."""
    exclusive = factory == "rnn_textcat"
    model = small_model(exclusive)
    model["linear_model"] = {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": exclusive,
        "length": 2**16,
        "ngram_size": 2,
        "no_output_layer": True,
    }
    nlp = make_nlp(factory, model)
    examples = make_examples(nlp, multilabel=not exclusive)
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
    nlp = make_nlp(model=small_model(pooling=pooling, window=4))
    train(nlp, make_examples(nlp), steps=5)
    model = nlp.get_pipe("rnn_textcat").model
    pieced_node = next(node for node in model.walk() if node.attrs.get("piece"))
    assert pieced_node.attrs["piece"] == 1024
    words = " ".join(t for t, _ in TEXTS).split() * 40  # ~3,000 tokens
    docs = [nlp.make_doc(" ".join(words)), nlp.make_doc(TEXTS[0][0])]
    pieced = model.predict(docs)
    pieced_node.attrs["piece"] = 0  # read whole
    numpy.testing.assert_allclose(pieced, model.predict(docs), atol=1e-6)


SPACY_MODELS = {
    "bow_bigrams": {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True, "ngram_size": 2,
                    "no_output_layer": False},
    "reduce": {"@architectures": "spacy.TextCatReduce.v1", "exclusive_classes": True, "use_reduce_first": False,
               "use_reduce_last": False, "use_reduce_max": False, "use_reduce_mean": True,
               "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": 16,
                           "depth": 1, "embed_size": 200, "window_size": 1, "maxout_pieces": 2,
                           "subword_features": True}},
}


@pytest.mark.parametrize("name", sorted(SPACY_MODELS))
def test_spacy_architectures_give_empty_docs_a_defined_score_in_any_batch(name):
    """Regression (found by spaCy's own test suite): spaCy's models fail on empty docs,
    which our predict used to pass them."""
    nlp = make_nlp(model=SPACY_MODELS[name])
    train(nlp, make_examples(nlp), steps=3)
    alone = nlp("").cats
    assert alone == {label: 0.0 for label in LABELS}
    docs = list(nlp.pipe(["", "so happy today", "", "I hate this"]))
    assert docs[0].cats == alone and docs[2].cats == alone
    assert docs[1].cats == pytest.approx(nlp("so happy today").cats, abs=1e-6)
    assert sum(docs[1].cats.values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_unknown_labels_are_rejected_at_initialize(factory):
    """Both components check the training labels against the given labels when they
    are initialized (rnn_textcat used to wait for the first update)."""
    nlp = make_nlp(factory)
    examples = make_examples(nlp, multilabel=factory.endswith("multilabel"))
    with pytest.raises(ValueError, match="the training data has the label 'sadness'"):
        nlp.get_pipe(factory).initialize(lambda: examples, nlp=nlp, labels=["anger", "joy"])
