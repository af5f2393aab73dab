"""The rnn_textcat / rnn_textcat_multilabel components: labels, loss, scoring, empty
docs, serialization and bad input."""

import numpy
import pytest
import spacy
from spacy.training import Example
from thinc.api import SGD

from spacy_rnn.pipes.textcat import RNNMultiLabelTextCatComponent, RNNTextCatComponent
from tests.helpers import (
    TEXTCAT_LABELS,
    TEXTS,
    all_params,
    dan_model,
    package_and_run,
    textcat_examples,
    textcat_model,
    textcat_nlp,
    train,
)

SPACY_MODELS = {
    "bow_bigrams": {
        "@architectures": "spacy.TextCatBOW.v3",
        "exclusive_classes": True,
        "ngram_size": 2,
        "no_output_layer": False,
    },
    "reduce": {
        "@architectures": "spacy.TextCatReduce.v1",
        "exclusive_classes": True,
        "use_reduce_first": False,
        "use_reduce_last": False,
        "use_reduce_max": False,
        "use_reduce_mean": True,
        "tok2vec": {
            "@architectures": "spacy.HashEmbedCNN.v2",
            "pretrained_vectors": None,
            "width": 16,
            "depth": 1,
            "embed_size": 200,
            "window_size": 1,
            "maxout_pieces": 2,
            "subword_features": True,
        },
    },
}


@pytest.fixture(scope="module")
def trained_nlp():
    nlp = textcat_nlp()
    return train(nlp, textcat_examples(nlp))


def test_factories_work_with_their_defaults():
    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("rnn_textcat")
    multi = nlp.add_pipe("rnn_textcat_multilabel")
    assert isinstance(textcat, RNNTextCatComponent) and isinstance(multi, RNNMultiLabelTextCatComponent)
    train(nlp, textcat_examples(nlp), steps=2)
    doc = nlp("a short text")
    assert set(doc.cats) == set(TEXTCAT_LABELS)


def test_empty_docs_get_a_defined_output(trained_nlp):
    for text in ["", "   "]:
        cats = trained_nlp(text).cats
        assert set(cats) == set(TEXTCAT_LABELS)
        assert all(numpy.isfinite(v) for v in cats.values())
        assert sum(cats.values()) == pytest.approx(1.0, abs=1e-5)
    docs = list(trained_nlp.pipe(["", "a text", ""]))
    assert docs[0].cats == docs[2].cats


def test_multilabel_threshold_is_used_by_the_scorer():
    nlp = textcat_nlp("rnn_textcat_multilabel", threshold=0.5)
    examples = textcat_examples(nlp, multilabel=True)
    train(nlp, examples)
    assert nlp.evaluate(examples)["cats_micro_f"] == 1.0
    doc = nlp(TEXTS[4][0])
    assert doc.cats["anger"] > 0.5 and doc.cats["sadness"] > 0.5  # independent sigmoids
    nlp.get_pipe("rnn_textcat_multilabel").cfg["threshold"] = 0.0  # every label counts as predicted
    scores = nlp.evaluate(examples)
    assert scores["cats_micro_r"] == 1.0 and scores["cats_micro_p"] < 0.5


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_save_load_gives_identical_scores(factory, tmp_path):
    nlp = textcat_nlp(factory)
    train(nlp, textcat_examples(nlp, multilabel=factory != "rnn_textcat"), steps=5)
    texts = [t for t, _ in TEXTS] + [""]
    expected = [d.cats for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert [d.cats for d in loaded.pipe(texts)] == expected
    assert loaded.get_pipe(factory).labels == nlp.get_pipe(factory).labels
    again = textcat_nlp(factory)
    again.get_pipe(factory).from_bytes(nlp.get_pipe(factory).to_bytes())
    assert [d.cats for d in again.pipe(texts)] == expected


def test_spacy_package_round_trip(trained_nlp, tmp_path):
    """`spacy package` builds an installable pipeline that scores the same."""
    import json

    text = TEXTS[0][0]
    code = f"import spacy, json; nlp = spacy.load('en_rnn_textcat_test'); print(json.dumps(nlp({text!r}).cats))"
    stdout = package_and_run(trained_nlp, tmp_path, "rnn_textcat_test", code)
    assert json.loads(stdout) == pytest.approx(trained_nlp(text).cats, abs=1e-6)


def test_unknown_label_in_training_data_raises_clear_error():
    nlp = textcat_nlp()
    examples = textcat_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    bad = Example.from_dict(nlp.make_doc("a surprise"), {"cats": {"surprise": 1.0, "joy": 0.0}})
    with pytest.raises(ValueError, match="'surprise'.*not among the labels"):
        nlp.update(examples[:2] + [bad], sgd=optimizer)


def test_doc_without_cats_is_left_out_of_the_loss():
    nlp = textcat_nlp()
    examples = textcat_examples(nlp)
    nlp.initialize(lambda: examples)
    textcat = nlp.get_pipe("rnn_textcat")
    no_cats = Example(nlp.make_doc("no annotation here"), nlp.make_doc("no annotation here"))
    batch = examples[:3] + [no_cats]
    scores = textcat.model.predict([eg.predicted for eg in batch])
    _, d_scores = textcat.get_loss(batch, scores)
    assert not d_scores[3].any() and d_scores[:3].any()
    nlp.update(batch, sgd=SGD(0.01))  # trains on the other docs without error


def test_label_set_of_one():
    nlp = textcat_nlp()
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"joy": 1.0}}) for t, _ in TEXTS[:3]]
    with pytest.raises(ValueError, match="two labels"):
        nlp.initialize(lambda: examples)
    multi = textcat_nlp("rnn_textcat_multilabel")
    train(
        multi, [Example.from_dict(multi.make_doc(t), {"cats": {"joy": float(y == "joy")}}) for t, y in TEXTS], steps=3
    )
    assert list(multi("happy").cats) == ["joy"]


def test_non_string_label_raises():
    nlp = textcat_nlp()
    with pytest.raises(ValueError, match="string"):
        nlp.get_pipe("rnn_textcat").add_label(3)


def test_bad_config_values_raise_clear_errors():
    with pytest.raises(ValueError, match="exclusive_classes"):
        textcat_nlp("rnn_textcat", textcat_model(exclusive=False))
    with pytest.raises(ValueError, match="exclusive_classes"):
        textcat_nlp("rnn_textcat_multilabel", textcat_model(exclusive=True))
    with pytest.raises(ValueError, match="Unknown pooling 'min'"):
        textcat_nlp(model=textcat_model(pooling=["min"]))
    with pytest.raises(ValueError, match="window"):
        textcat_nlp(model=textcat_model(window=-1))
    with pytest.raises(ValueError, match="word_dropout"):
        textcat_nlp(model=dan_model(word_dropout=1.0))
    with pytest.raises(ValueError, match="threshold"):
        textcat_nlp("rnn_textcat_multilabel", threshold=1.5)


def test_updates_are_clipped_to_max_grad_norm():
    max_norm = 1e-3
    nlp = textcat_nlp(max_grad_norm=max_norm)
    examples = textcat_examples(nlp)
    nlp.initialize(lambda: examples)
    textcat = nlp.get_pipe("rnn_textcat")

    def weights():
        return all_params(textcat.model)

    before = weights()
    nlp.update(examples, sgd=SGD(1.0, L2=0.0, grad_clip=0.0))
    step = numpy.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(weights(), before)))
    assert step == pytest.approx(max_norm, rel=1e-2)


@pytest.mark.parametrize("name", sorted(SPACY_MODELS))
def test_spacy_architectures_give_empty_docs_a_defined_score_in_any_batch(name):
    """Regression (found by spaCy's own test suite): spaCy's models fail on empty docs,
    which our predict used to pass them."""
    nlp = textcat_nlp(model=SPACY_MODELS[name])
    train(nlp, textcat_examples(nlp), steps=3)
    alone = nlp("").cats
    assert alone == {label: 0.0 for label in TEXTCAT_LABELS}
    docs = list(nlp.pipe(["", "so happy today", "", "I hate this"]))
    assert docs[0].cats == alone and docs[2].cats == alone
    assert docs[1].cats == pytest.approx(nlp("so happy today").cats, abs=1e-6)
    assert sum(docs[1].cats.values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("factory", ["rnn_textcat", "rnn_textcat_multilabel"])
def test_unknown_labels_are_rejected_at_initialize(factory):
    """Both components check the training labels against the given labels when they
    are initialized (rnn_textcat used to wait for the first update)."""
    nlp = textcat_nlp(factory)
    examples = textcat_examples(nlp, multilabel=factory.endswith("multilabel"))
    with pytest.raises(ValueError, match="the training data has the label 'sadness'"):
        nlp.get_pipe(factory).initialize(lambda: examples, nlp=nlp, labels=["anger", "joy"])
