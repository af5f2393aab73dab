"""The rnn_tagger component: training, prediction, serialization, spaCy integration and
bad input."""

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Adam, Config

from spacy_rnn.shims import torch_module
from tests.helpers import SMALL_TAGGER, all_params, gold_attrs, package_and_run, predict_attrs, train


@pytest.fixture(scope="module")
def trained_nlp(tiny_docs):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER})
    vocab = nlp.vocab
    examples = [Example(Doc(vocab, words=[t.text for t in d]), d) for d in tiny_docs]
    return train(nlp, examples, steps=80)


def test_tagger_overfits_tiny_corpus_to_full_accuracy(trained_nlp, tiny_docs):
    assert predict_attrs(trained_nlp, tiny_docs) == gold_attrs(tiny_docs)
    examples = [Example(Doc(trained_nlp.vocab, words=[t.text for t in d]), d) for d in tiny_docs]
    scores = trained_nlp.evaluate(examples)
    assert scores["pos_acc"] == 1.0


def test_tag_attr_predicts_fine_grained_tags(tiny_examples, tiny_docs):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER, "attr": "tag"})
    train(nlp, tiny_examples, steps=80)
    assert predict_attrs(nlp, tiny_docs, "tag_") == gold_attrs(tiny_docs, "tag_")
    assert all(t.pos_ == "" for d in nlp.pipe(["The cat sat ."]) for t in d)
    scores = nlp.evaluate(tiny_examples)
    assert scores["tag_acc"] == 1.0 and "pos_acc" not in scores


def test_default_config_trains(tiny_examples):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger")
    optimizer = nlp.initialize(lambda: tiny_examples)
    first = nlp.update(tiny_examples, sgd=optimizer)["rnn_tagger"]
    for _ in range(5):
        last = nlp.update(tiny_examples, sgd=optimizer)["rnn_tagger"]
    assert last < first


def test_save_load_gives_identical_predictions(trained_nlp, tiny_docs, tmp_path):
    texts = [d.text for d in tiny_docs] + ["Unseen words appear here , like zebra ."]
    expected_scores = trained_nlp.get_pipe("rnn_tagger").model.predict([trained_nlp.make_doc(t) for t in texts])
    expected = [[t.pos_ for t in d] for d in trained_nlp.pipe(texts)]

    trained_nlp.to_disk(tmp_path / "model")
    for loaded in (
        spacy.load(tmp_path / "model"),
        spacy.blank("en").from_config(trained_nlp.config).from_disk(tmp_path / "model"),
        spacy.blank("en").from_config(trained_nlp.config).from_bytes(trained_nlp.to_bytes()),
    ):
        assert [[t.pos_ for t in d] for d in loaded.pipe(texts)] == expected
        scores = loaded.get_pipe("rnn_tagger").model.predict([loaded.make_doc(t) for t in texts])
        for a, b in zip(expected_scores, scores):
            numpy.testing.assert_array_equal(a, b)
        assert loaded.get_pipe("rnn_tagger").labels == trained_nlp.get_pipe("rnn_tagger").labels


def test_bad_docs_work(trained_nlp):
    texts = ["", "   ", "word " * 10_000, "A short one ."]
    docs = list(trained_nlp.pipe(texts, batch_size=4))
    assert [len(d) for d in docs] == [0, 1, 10_000, 4]
    assert all(t.pos_ for t in docs[2][:5]) and all(t.pos_ for t in docs[3])
    for text in texts:  # one at a time too
        trained_nlp(text)


def test_missing_annotation_is_masked(tiny_docs):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER})
    vocab = nlp.vocab
    examples = [Example(Doc(vocab, words=[t.text for t in d]), d) for d in tiny_docs]
    # the same sentence with no POS at all: it must neither fail nor count in the loss
    d = tiny_docs[0]
    unannotated = Example(Doc(vocab, words=[t.text for t in d]), Doc(vocab, words=[t.text for t in d]))
    optimizer = nlp.initialize(lambda: examples)
    tagger = nlp.get_pipe("rnn_tagger")
    scores = tagger.model.predict([unannotated.predicted])
    loss, d_scores = tagger.get_loss([unannotated], scores)
    assert loss == 0.0 and not d_scores[0].any()
    nlp.update(examples + [unannotated], sgd=optimizer)


def test_unseen_label_in_training_data_raises_clear_error(tiny_examples, tiny_docs):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER})
    optimizer = nlp.initialize(lambda: tiny_examples)
    words = ["Zzz", "!"]
    odd = Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words, pos=["X", "PUNCT"]))
    assert "X" not in nlp.get_pipe("rnn_tagger").labels
    with pytest.raises(ValueError, match="label 'X'.*not among the labels"):
        nlp.update([odd], sgd=optimizer)


def test_initialize_without_annotation_raises_clear_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER})
    words = ["no", "tags"]
    examples = [Example(Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words))]
    with pytest.raises(ValueError, match="no pos annotation"):
        nlp.initialize(lambda: examples)


def test_bad_config_values_raise_clear_errors():
    nlp = spacy.blank("en")
    with pytest.raises(Exception, match="attr"):
        nlp.add_pipe("rnn_tagger", config={"attr": "lemma"})
    bad_cell = Config(SMALL_TAGGER).copy()
    bad_cell["tok2vec"]["cell"] = "transformer"
    with pytest.raises(Exception, match="cell"):
        nlp.add_pipe("rnn_tagger", name="t2", config={"model": bad_cell})
    gru_proj = Config(SMALL_TAGGER).copy()
    gru_proj["tok2vec"].update({"cell": "gru", "proj_size": 8})
    with pytest.raises(ValueError, match="proj_size is only supported for cell='lstm'"):
        nlp.add_pipe("rnn_tagger", name="t3", config={"model": gru_proj})
    with pytest.raises(ValueError, match="max_grad_norm"):
        nlp.add_pipe("rnn_tagger", name="t4", config={"max_grad_norm": -1.0})


def test_overwrite_false_keeps_existing_annotation(trained_nlp):
    doc = Doc(trained_nlp.vocab, words=["The", "cat", "sat", "."], pos=["X", "", "", ""])
    tagger = trained_nlp.get_pipe("rnn_tagger")
    tagger.set_annotations([doc], tagger.predict([doc]))
    assert [t.pos_ for t in doc] == ["X", "NOUN", "VERB", "PUNCT"]


def test_use_averages_reaches_torch_weights_in_training(tiny_examples):
    """spaCy evaluates and saves under nlp.use_params(optimizer.averages): the torch
    weights must be the averaged ones there."""
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER})
    optimizer = nlp.initialize(lambda: tiny_examples, sgd=Adam(0.01, use_averages=True))
    for _ in range(3):
        nlp.update(tiny_examples, sgd=optimizer)
    shim = nlp.get_pipe("rnn_tagger").model.get_ref("tok2vec").get_ref("encoder").shims[0]
    raw = {n: p.detach().clone() for n, p in torch_module(shim).named_parameters()}
    with nlp.use_params(optimizer.averages):
        for name, param in torch_module(shim).named_parameters():
            expected = optimizer.averages[(shim.id, name)]
            numpy.testing.assert_allclose(param.detach().numpy(), expected, rtol=1e-6)
            assert not numpy.allclose(expected, raw[name].numpy())
    for name, param in torch_module(shim).named_parameters():
        assert (param.detach() == raw[name]).all()


def test_spacy_package_round_trip(trained_nlp, tmp_path):
    """`spacy package` builds an installable pipeline that predicts the same."""
    text = "The old man gave her a red apple ."
    code = f"import spacy; nlp = spacy.load('en_rnn_test'); print(' '.join(t.pos_ for t in nlp({text!r})))"
    stdout = package_and_run(trained_nlp, tmp_path, "rnn_test", code)
    assert stdout.split() == [t.pos_ for t in trained_nlp(text)]


@pytest.mark.parametrize("via_nlp", [True, False])
def test_updates_are_clipped_to_max_grad_norm(tiny_examples, via_nlp):
    """With plain SGD at learning rate 1, an update moves the weights by exactly the
    (clipped) gradient, so the step's global norm shows whether clipping happened."""
    from thinc.api import SGD

    max_norm = 1e-3
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER, "max_grad_norm": max_norm})
    nlp.initialize(lambda: tiny_examples)
    tagger = nlp.get_pipe("rnn_tagger")

    def weights():
        return all_params(tagger.model)

    before = weights()
    sgd = SGD(1.0, L2=0.0, grad_clip=0.0)
    if via_nlp:
        nlp.update(tiny_examples, sgd=sgd)  # spaCy's training loop: update(sgd=None), then finish_update
    else:
        tagger.update(tiny_examples, sgd=sgd)
    step = numpy.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(weights(), before)))
    assert step == pytest.approx(max_norm, rel=1e-2)


def test_tagger_with_words_and_characters_trains_and_round_trips(tiny_examples, tiny_docs):
    model = {
        **SMALL_TAGGER,
        "tok2vec": {
            **SMALL_TAGGER["tok2vec"],
            "embed": {
                "@architectures": "spacy_rnn.ConcatEmbed.v1",
                "*": {
                    "words": SMALL_TAGGER["tok2vec"]["embed"],
                    "chars": {"@architectures": "spacy_rnn.CharRNNEmbed.v1", "nM": 16, "hidden_size": 16},
                },
            },
        },
    }
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": model})
    train(nlp, tiny_examples, steps=80)
    assert predict_attrs(nlp, tiny_docs) == gold_attrs(tiny_docs)
    loaded = spacy.blank("en").from_config(nlp.config).from_bytes(nlp.to_bytes())
    texts = ["Zebras quickly jumped .", ""]
    assert [[t.pos_ for t in d] for d in loaded.pipe(texts)] == [[t.pos_ for t in d] for d in nlp.pipe(texts)]
