"""Text classifiers: the RNN acceptor, the deep averaging network and the n-gram linear
model, and the classifier head they share (ReLU layers, an output layer that grows with
new labels, optionally a linear model's scores added: wide & deep)."""

from functools import partial
from typing import List, Optional, Sequence

from spacy.ml.models.textcat import NEG_VALUE, resize_and_set_ref
from spacy.tokens import Doc
from thinc.api import (
    Linear,
    Logistic,
    Model,
    Relu,
    Softmax,
    SparseLinear_v2,
    chain,
    resizable,
    softmax_activation,
    with_cpu,
)
from thinc.layers.resizable import resize_linear_weighted
from thinc.types import Floats2d

from ..layers.dropout import fixed_dropout
from ..layers.ngrams import extract_ngram_features
from ..layers.nonempty import on_nonempty_docs
from ..layers.pieces import piece_length, pooled_in_pieces
from ..layers.pooling import pool_mean, pooling
from ..layers.softmax import softmax_logits
from ..layers.word_dropout import word_dropout
from .wide_and_deep import add_branches
from .widths import output_width


def classifier(
    features: Model[List[Doc], Floats2d],
    nI: int,
    *,
    exclusive_classes: bool,
    depth: int,
    hidden_width: int,
    dropout: float,
    nO: Optional[int],
    linear_model: Optional[Model[List[Doc], Floats2d]] = None,
    branch_dropout: float = 0.0,
) -> Model[List[Doc], Floats2d]:
    """``features`` (one ``nI``-wide vector per doc) -> ``depth`` ReLU layers of
    ``hidden_width``, each followed by dropout at ``dropout`` -> softmax (exclusive
    classes) or sigmoid per label. Out: ``(n_docs, n_labels)`` probabilities. With a
    ``linear_model``, its scores are added to the logits (``branch_dropout``: see
    ``add_branches``). The output layers grow when labels are added, as in spaCy's textcat
    models (with a ``linear_model``: if it can grow too, as ``NgramBOW`` and
    ``spacy.TextCatBOW`` can). ``attrs["scores_empty_docs"]``: an empty doc gets a defined
    score (its features are zeros)."""
    if depth < 0 or (depth and hidden_width < 1):
        raise ValueError(
            f"The classifier head needs depth >= 0 and hidden_width >= 1, got depth={depth}, "
            f"hidden_width={hidden_width}."
        )
    layers = [features]
    for _ in range(depth):
        layers.append(Relu(nO=hidden_width, nI=nI))
        if dropout:
            layers.append(fixed_dropout(dropout))
        nI = hidden_width
    fill_defaults = {"b": NEG_VALUE if exclusive_classes else 0, "W": 0}
    if linear_model is not None:
        # wide & deep: the linear model's scores are added to the network's logits
        output_layer = Linear(nO=nO, nI=nI)
        resizable_layer = resizable(
            output_layer, resize_layer=partial(resize_linear_weighted, fill_defaults=fill_defaults)
        )
        layers.append(resizable_layer)
        scores = add_branches(chain(*layers), on_nonempty_docs(linear_model), branch_dropout)
        model = chain(scores, softmax_logits() if exclusive_classes else Logistic())
        model.set_ref("linear_model", linear_model)
        if "resize_output" in linear_model.attrs:
            model.attrs["resize_output"] = partial(
                _resize_wide_and_deep, resizable_layer=resizable_layer, linear_model=linear_model
            )
    else:
        output_layer = Softmax(nO=nO, nI=nI) if exclusive_classes else Linear(nO=nO, nI=nI)
        resizable_layer = resizable(
            output_layer, resize_layer=partial(resize_linear_weighted, fill_defaults=fill_defaults)
        )
        layers.append(resizable_layer)
        if not exclusive_classes:
            layers.append(Logistic())
        model = chain(*layers)
        model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    model.set_ref("output_layer", output_layer)
    model.attrs["multi_label"] = not exclusive_classes
    model.attrs["scores_empty_docs"] = True
    if nO is not None:
        model.set_dim("nO", nO)
    return model


def _resize_wide_and_deep(model: Model, new_nO: int, *, resizable_layer: Model, linear_model: Model) -> Model:
    """Grow both output layers of a wide & deep model to ``new_nO`` labels."""
    linear_model.attrs["resize_output"](linear_model, new_nO)
    resize_and_set_ref(model, new_nO, resizable_layer=resizable_layer)
    for node in model.walk():
        if node.name in ("add_branches", f"nonempty({linear_model.name})"):
            node.set_dim("nO", new_nO, force=True)
    return model


def build_rnn_textcat(
    tok2vec: Model[List[Doc], List[Floats2d]],
    *,
    exclusive_classes: bool,
    pooling_names: Sequence[str],
    hidden_width: int,
    dropout: float,
    bidirectional: Optional[bool],
    linear_model: Optional[Model[List[Doc], Floats2d]],
    branch_dropout: float,
    nO: Optional[int],
) -> Model[List[Doc], Floats2d]:
    """An RNN acceptor (see ``spacy_rnn.RNNTextCat.v1``): ``tok2vec`` -> pooling (read in
    pieces at prediction for docs much longer than the encoder's window) -> classifier."""
    arch = "spacy_rnn.RNNTextCat.v1"
    width = output_width(tok2vec, arch)
    names = list(pooling_names)
    if bidirectional is None:
        if "bidirectional" in tok2vec.attrs:
            bidirectional = bool(tok2vec.attrs["bidirectional"])
        elif "last" in names:
            raise ValueError(
                f"{arch}: pooling 'last' needs to know whether the token vectors come from a "
                "bidirectional RNN; set bidirectional = true/false."
            )
    pool = pooling(names, width, bidirectional=bool(bidirectional))
    window = tok2vec.attrs.get("window", 0)
    features = pooled_in_pieces(
        tok2vec, pool, names, bidirectional=bool(bidirectional), piece=piece_length(window) if window else 0
    )
    model = classifier(
        features,
        width * len(names),
        exclusive_classes=exclusive_classes,
        depth=1 if hidden_width else 0,
        hidden_width=hidden_width,
        dropout=dropout,
        nO=nO,
        linear_model=linear_model,
        branch_dropout=branch_dropout,
    )
    model.name = f"rnn-textcat({'+'.join(names)})"
    model.set_ref("tok2vec", tok2vec)
    return model


def build_dan(
    embed: Model[List[Doc], List[Floats2d]],
    *,
    exclusive_classes: bool,
    depth: int,
    hidden_width: int,
    dropout: float,
    word_dropout_rate: float,
    nO: Optional[int],
) -> Model[List[Doc], Floats2d]:
    """A deep averaging network (see ``spacy_rnn.DAN.v1``)."""
    width = output_width(embed, "spacy_rnn.DAN.v1")
    model = classifier(
        chain(embed, word_dropout(word_dropout_rate), pool_mean()),
        width,
        exclusive_classes=exclusive_classes,
        depth=depth,
        hidden_width=hidden_width,
        dropout=dropout,
        nO=nO,
    )
    model.name = "dan"
    model.set_ref("tok2vec", embed)
    return model


def build_ngram_bow(
    *,
    exclusive_classes: bool,
    word_ngrams: int,
    char_ngrams: Sequence[int],
    length: int,
    no_output_layer: bool,
    nO: Optional[int],
) -> Model[List[Doc], Floats2d]:
    """A hashed n-gram linear classifier (see ``spacy_rnn.NgramBOW.v1``); ``length`` is
    rounded up to a power of 2."""
    if length < 1:
        raise ValueError(f"spacy_rnn.NgramBOW.v1: length must be >= 1, got {length}.")
    sparse_linear = SparseLinear_v2(nO=nO, length=2 ** (length - 1).bit_length())
    fill_defaults = {"b": NEG_VALUE if exclusive_classes and not no_output_layer else 0, "W": 0}
    resizable_layer = resizable(
        sparse_linear, resize_layer=partial(resize_linear_weighted, fill_defaults=fill_defaults)
    )
    features = extract_ngram_features(word_ngrams=word_ngrams, char_ngrams=list(char_ngrams))
    model = with_cpu(chain(features, resizable_layer), sparse_linear.ops)
    if not no_output_layer:
        output = softmax_activation() if exclusive_classes else Logistic()
        model = chain(model, with_cpu(output, output.ops))
    if nO is not None:
        model.set_dim("nO", nO)
    model.name = "ngram-bow"
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = not exclusive_classes
    model.attrs["scores_empty_docs"] = True  # no features: the bias alone
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    return model
