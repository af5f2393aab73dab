"""spacy_rnn.architectures: every registered architecture builds from its config, and
its own checks name the bad value."""

import inspect

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.util import registry

from tests.helpers import HASH_EMBED

ARCHITECTURES = sorted(name for name in registry.architectures.get_all() if name.startswith("spacy_rnn."))


def build(name, *args, **kwargs):
    return registry.architectures.get(name)(*args, **kwargs)


def embed():
    return build("spacy.MultiHashEmbed.v2", **{k: v for k, v in HASH_EMBED.items() if k != "@architectures"})


def test_every_architecture_has_a_docstring_and_typed_arguments():
    assert len(ARCHITECTURES) >= 9
    for name in ARCHITECTURES:
        func = registry.architectures.get(name)
        assert func.__doc__ and len(func.__doc__) > 80, name
        for param in inspect.signature(func).parameters.values():
            assert param.annotation is not inspect.Parameter.empty, (name, param.name)


def test_concat_embed_puts_the_vectors_side_by_side():
    vocab = spacy.blank("en").vocab
    chars = build("spacy_rnn.CharRNNEmbed.v1", nM=4, hidden_size=3)
    model = build("spacy_rnn.ConcatEmbed.v1", embed(), chars)
    docs = [Doc(vocab, words=["a", "b"]), Doc(vocab, words=[])]
    model.initialize(X=docs)
    Ys = model.predict(docs)
    assert [Y.shape for Y in Ys] == [(2, 16 + 6), (0, 16 + 6)]
    assert build("spacy_rnn.ConcatEmbed.v1", chars) is chars
    with pytest.raises(ValueError, match="at least one"):
        build("spacy_rnn.ConcatEmbed.v1")


def test_encoder_declares_its_window_and_layout():
    model = build("spacy_rnn.RNNEncoder.v1", embed=embed(), hidden_size=4, window=7)
    assert model.attrs["window"] == 7 and model.attrs["bidirectional"] is True
    assert model.get_ref("encoder").get_dim("nO") == 8
    vocab = spacy.blank("en").vocab
    docs = [Doc(vocab, words=["a", "b", "c"])]
    model.initialize(X=docs)
    assert model.predict(docs)[0].shape == (3, 8) and numpy.isfinite(model.predict(docs)[0]).all()


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("spacy_rnn.RNNEncoder.v1", {"cell": "transformer"}, "Unknown RNN cell"),
        ("spacy_rnn.RNNEncoder.v1", {"window": -1}, "window"),
        ("spacy_rnn.SubwordEmbed.v1", {"width": 8, "attr": "NOPE"}, "unknown token attribute"),
        ("spacy_rnn.NgramBOW.v1", {"length": 0}, "length"),
        ("spacy_rnn.RNNLanguageModel.v1", {"proj_size": 0}, "tie_weights"),
        ("spacy_rnn.DAN.v1", {"word_dropout": 1.0}, "word_dropout"),
        ("spacy_rnn.RNNTextCat.v1", {"pooling": ["min"]}, "Unknown pooling"),
    ],
)
def test_bad_values_name_the_setting(name, kwargs, message):
    if name in ("spacy_rnn.RNNEncoder.v1", "spacy_rnn.DAN.v1"):
        kwargs = {"embed": embed(), **kwargs}
    if name == "spacy_rnn.RNNTextCat.v1":
        kwargs = {"tok2vec": build("spacy_rnn.RNNEncoder.v1", embed=embed(), hidden_size=4), **kwargs}
    with pytest.raises(ValueError, match=message):
        build(name, **kwargs)


def test_width_of_an_unknown_tok2vec_is_an_error():
    from thinc.api import Model

    opaque = Model("opaque", lambda model, X, is_train: (X, lambda d: d))
    with pytest.raises(ValueError, match="width of the token vectors is unknown"):
        build("spacy_rnn.DAN.v1", embed=opaque)
