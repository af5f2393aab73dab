"""The registered ``spacy_rnn.*`` architectures: config values in, thinc Model out."""
from functools import partial
from typing import List, Literal, Optional, Sequence, Union

from spacy.ml.models.tagger import build_tagger_model
from spacy.ml.models.textcat import NEG_VALUE, resize_and_set_ref
from spacy.attrs import IDS
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import (
    Linear,
    Logistic,
    Model,
    Relu,
    Softmax,
    SparseLinear_v2,
    chain,
    concatenate,
    resizable,
    softmax_activation,
    with_cpu,
)
from thinc.layers.resizable import resize_linear_weighted
from thinc.types import Floats2d

from .layers.chars import char_rnn_embed
from .layers.dropout import fixed_dropout
from .layers.output import add_branches, on_nonempty_docs, softmax_logits
from .layers.dropout import word_dropout as word_dropout_layer
from .layers.pooling import pool_mean
from .layers.pooling import pooling as pooling_layer
from .layers.lm import rnn_lm
from .layers.ngrams import extract_ngram_features, subword_embed
from .layers.pieces import per_token_in_pieces, piece_length, pooled_in_pieces
from .layers.rnn import rnn

Cell = Literal["lstm", "gru", "rnn_tanh", "rnn_relu"]


@registry.architectures("spacy_rnn.RNNEncoder.v1")
def RNNEncoder_v1(
    embed: Model[List[Doc], List[Floats2d]],
    cell: Cell = "lstm",
    hidden_size: int = 128,
    num_layers: int = 2,
    bidirectional: bool = True,
    dropout: float = 0.0,
    proj_size: int = 0,
    bias: bool = True,
    window: int = 0,
) -> Model[List[Doc], List[Floats2d]]:
    """A tok2vec layer: ``embed`` then a PyTorch RNN over each doc's tokens.

    In: docs. Out: one ``(len(doc), nO)`` array per doc, with
    ``nO = (proj_size or hidden_size) * (2 if bidirectional else 1)``.

    embed: any ``Model[List[Doc], List[Floats2d]]``, e.g. ``spacy.MultiHashEmbed.v2``
        or ``spacy.CharacterEmbed.v2``; the RNN's input width is inferred from it.
    cell, hidden_size, num_layers, bidirectional, proj_size, bias: as in torch's
        ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (``rnn_tanh``, ``rnn_relu``);
        ``proj_size`` is for LSTMs only.
    window: if > 0, docs longer than this are read in consecutive windows of
        ``window`` tokens, each from a fresh state (bounds the recurrence on long docs);
        0 reads every doc whole.
    dropout: torch's dropout between stacked layers. spaCy's ``[training] dropout``
        is applied to the RNN's inputs and outputs while training.
    """
    encoder = rnn(
        cell,
        hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        proj_size=proj_size,
        bias=bias,
        window=window,
    )
    model = chain(embed, encoder)
    model.name = f"rnn-encoder({cell})"
    model.set_ref("embed", embed)
    model.set_ref("encoder", encoder)
    # what models above read (spacy_rnn.RNNTagger.v1, RNNTextCat.v1): the window, which
    # makes reading a long doc in pieces exact, and the [forward; backward] layout
    model.attrs["window"] = window
    model.attrs["bidirectional"] = bidirectional
    return model


@registry.architectures("spacy_rnn.CharRNNEmbed.v1")
def CharRNNEmbed_v1(
    nM: int = 32, hidden_size: int = 64, max_chars: int = 20, cell: Cell = "lstm"
) -> Model[List[Doc], List[Floats2d]]:
    """Character-level word vectors: a bidirectional RNN over each word's UTF-8 bytes
    (at most ``max_chars``: the first and last halves of a longer word), with ``nM``-wide
    byte embeddings. Out: one ``(len(doc), 2 * hidden_size)`` array per doc.
    """
    return char_rnn_embed(nM=nM, hidden_size=hidden_size, max_chars=max_chars, cell=cell)


@registry.architectures("spacy_rnn.SubwordEmbed.v1")
def SubwordEmbed_v1(
    width: int,
    rows: int = 50000,
    char_ngrams: Sequence[int] = (3, 4, 5, 6),
    attr: str = "LOWER",
) -> Model[List[Doc], List[Floats2d]]:
    """fastText-style word vectors: the mean of hashed embeddings (``rows`` rows of
    ``width``) of the word (by ``attr``, e.g. ``"LOWER"`` or ``"NORM"``) and of its
    character n-grams (n in ``char_ngrams``, the word marked as ``<word>``). Unseen
    words get vectors from the pieces they share with seen ones. Out: one
    ``(len(doc), width)`` array per doc."""
    if attr.upper() not in IDS:
        raise ValueError(f"spacy_rnn.SubwordEmbed.v1: unknown token attribute {attr!r}.")
    return subword_embed(width, rows, char_ngrams=list(char_ngrams), attr=IDS[attr.upper()])


@registry.architectures("spacy_rnn.ConcatEmbed.v1")
def ConcatEmbed_v1(*embeds: Model[List[Doc], List[Floats2d]]) -> Model[List[Doc], List[Floats2d]]:
    """Several embedding layers side by side: each token's vectors concatenated.
    In config, list them as ``[...embed.*.words]``, ``[...embed.*.chars]``, ..."""
    if not embeds:
        raise ValueError("spacy_rnn.ConcatEmbed.v1 needs at least one embedding layer.")
    return concatenate(*embeds) if len(embeds) > 1 else embeds[0]


@registry.architectures("spacy_rnn.RNNTagger.v1")
def RNNTagger_v1(
    tok2vec: Model[List[Doc], List[Floats2d]], nO: Optional[int] = None
) -> Model[List[Doc], List[Floats2d]]:
    """An RNN transducer: ``tok2vec`` (usually ``spacy_rnn.RNNEncoder.v1``) then a
    softmax over the labels for every token. Out: one ``(len(doc), n_labels)`` array
    of probabilities per doc. ``nO`` is inferred from the labels at initialize.

    When ``tok2vec`` reads docs in windows (``RNNEncoder.v1`` with ``window > 0``), a doc
    much longer than the window is tagged in pieces at prediction, with the same result
    and bounded memory (``spacy_rnn.layers.pieces``).
    """
    model = build_tagger_model(tok2vec, nO, normalize=True)
    window = tok2vec.attrs.get("window", 0)
    tok2vec_layer, head = model.layers
    pieced = per_token_in_pieces(tok2vec_layer, head, piece_length(window) if window else 0)
    for name in model.ref_names:
        pieced.set_ref(name, model.get_ref(name))
    return pieced


def _width(tok2vec: Model, arch: str) -> int:
    """The output width of ``tok2vec``: its nO, else that of the last sublayer that has
    one (e.g. the Maxout near the end of ``spacy.MultiHashEmbed.v2``)."""

    def find(node: Model) -> Optional[int]:
        if node.has_dim("nO"):
            return node.get_dim("nO")
        if node.has_ref("listener") and node.get_ref("listener").has_dim("nO"):
            return node.get_ref("listener").get_dim("nO")
        for layer in reversed(node.layers):
            width = find(layer)
            if width:
                return width
        return None

    width = find(tok2vec)
    if width:
        return width
    raise ValueError(
        f"{arch}: the width of the token vectors is unknown; use an embedding/encoder "
        "whose output width is set in its config (e.g. spacy.MultiHashEmbed.v2, "
        "spacy_rnn.RNNEncoder.v1, spacy.Tok2VecListener.v1 with width)."
    )


def _classifier(
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
    ``spacy.TextCatBOW`` can)."""
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
        model.set_ref("output_layer", output_layer)
        model.set_ref("linear_model", linear_model)
        model.attrs["multi_label"] = not exclusive_classes
        model.attrs["scores_empty_docs"] = True
        if "resize_output" in linear_model.attrs:
            model.attrs["resize_output"] = partial(
                _resize_wide_and_deep, resizable_layer=resizable_layer, linear_model=linear_model
            )
        if nO is not None:
            model.set_dim("nO", nO)
        return model
    output_layer = Softmax(nO=nO, nI=nI) if exclusive_classes else Linear(nO=nO, nI=nI)
    resizable_layer = resizable(
        output_layer, resize_layer=partial(resize_linear_weighted, fill_defaults=fill_defaults)
    )
    layers.append(resizable_layer)
    if not exclusive_classes:
        layers.append(Logistic())
    model = chain(*layers)
    model.set_ref("output_layer", output_layer)
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    model.attrs["multi_label"] = not exclusive_classes
    model.attrs["scores_empty_docs"] = True
    if nO is not None:
        model.set_dim("nO", nO)
    return model


def _resize_wide_and_deep(
    model: Model, new_nO: int, *, resizable_layer: Model, linear_model: Model
) -> Model:
    """Grow both output layers of a wide & deep model to ``new_nO`` labels."""
    linear_model.attrs["resize_output"](linear_model, new_nO)
    resize_and_set_ref(model, new_nO, resizable_layer=resizable_layer)
    for node in model.walk():
        if node.name in ("add_branches", f"nonempty({linear_model.name})"):
            node.set_dim("nO", new_nO, force=True)
    return model


@registry.architectures("spacy_rnn.RNNTextCat.v1")
def RNNTextCat_v1(
    tok2vec: Model[List[Doc], List[Floats2d]],
    exclusive_classes: bool = True,
    pooling: Union[str, List[str]] = ("last", "max", "mean"),
    hidden_width: int = 128,
    dropout: float = 0.0,
    bidirectional: Optional[bool] = None,
    linear_model: Optional[Model[List[Doc], Floats2d]] = None,
    branch_dropout: float = 0.0,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """An RNN acceptor: ``tok2vec`` (usually ``spacy_rnn.RNNEncoder.v1``) -> pooling
    -> one ReLU layer of ``hidden_width`` (0: none) with dropout ``dropout`` -> softmax
    (``exclusive_classes``) or a sigmoid per label. Out: ``(n_docs, n_labels)``.

    pooling: ``"last"``, ``"mean"``, ``"max"``, ``"attention"`` or a list of them,
        concatenated (default ``["last", "max", "mean"]``, ULMFiT's concat pooling).
    bidirectional: whether the token vectors are ``[forward; backward]`` halves, for
        ``"last"``; read from an ``RNNEncoder`` when null.
    linear_model: optional sparse linear model whose scores are added to the logits
        ("wide & deep"), e.g. ``spacy_rnn.NgramBOW.v1`` or ``spacy.TextCatBOW.v3`` with
        ``no_output_layer = true`` and the same ``exclusive_classes``. Labels can be added
        after initialize if the linear model can grow (those two can).
    branch_dropout: with a ``linear_model``, the probability that a training doc is
        scored by the RNN alone, and the same that it is scored by the linear model
        alone (at most 0.5), so that neither leans on the other.
    """
    width = _width(tok2vec, "spacy_rnn.RNNTextCat.v1")
    names = [pooling] if isinstance(pooling, str) else list(pooling)
    if bidirectional is None:
        if "bidirectional" in tok2vec.attrs:
            bidirectional = bool(tok2vec.attrs["bidirectional"])
        elif "last" in names:
            raise ValueError(
                "spacy_rnn.RNNTextCat.v1: pooling 'last' needs to know whether the token "
                "vectors come from a bidirectional RNN; set bidirectional = true/false."
            )
    pool = pooling_layer(names, width, bidirectional=bool(bidirectional))
    window = tok2vec.attrs.get("window", 0)
    features = pooled_in_pieces(
        tok2vec, pool, names, bidirectional=bool(bidirectional), piece=piece_length(window) if window else 0
    )
    model = _classifier(
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


@registry.architectures("spacy_rnn.DAN.v1")
def DAN_v1(
    embed: Model[List[Doc], List[Floats2d]],
    exclusive_classes: bool = True,
    depth: int = 2,
    hidden_width: int = 256,
    dropout: float = 0.0,
    word_dropout: float = 0.3,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """Deep averaging network (Iyyer et al. 2015): the mean of the token embeddings
    (``embed``, e.g. ``spacy.MultiHashEmbed.v2``) over the tokens kept by word dropout
    (each token dropped with probability ``word_dropout`` while training) -> ``depth``
    ReLU layers of ``hidden_width`` with dropout ``dropout`` -> softmax or sigmoid.
    Out: ``(n_docs, n_labels)``.
    """
    width = _width(embed, "spacy_rnn.DAN.v1")
    model = _classifier(
        chain(embed, word_dropout_layer(word_dropout), pool_mean()),
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


@registry.architectures("spacy_rnn.RNNLanguageModel.v1")
def RNNLanguageModel_v1(
    embed_size: int = 256,
    cell: Cell = "lstm",
    hidden_size: int = 512,
    num_layers: int = 2,
    proj_size: int = 0,
    tie_weights: bool = True,
    embed_dropout: float = 0.0,
    input_dropout: float = 0.0,
    hidden_dropout: float = 0.0,
    weight_dropout: float = 0.0,
) -> Model:
    """A word-level RNN language model for ``rnn_lm``: embedding (``embed_size``) ->
    ``num_layers`` unidirectional RNN layers (``cell``, ``hidden_size``, ``proj_size`` as
    in torch) -> softmax over the vocabulary, whose size the component sets at initialize.

    tie_weights: the output layer reuses the embedding matrix (Press & Wolf 2017; Inan et
        al. 2017); then ``proj_size or hidden_size`` must equal ``embed_size``.
    embed_dropout: drop whole word types from the embedding matrix while training.
    input_dropout, hidden_dropout: locked (variational) dropout on the embeddings and
        between RNN layers; spaCy's ``[training] dropout`` is the locked dropout on the
        last layer's output.
    weight_dropout: DropConnect on each layer's hidden-to-hidden matrix (AWD-LSTM).
    """
    return rnn_lm(
        embed_size=embed_size,
        cell=cell,
        hidden_size=hidden_size,
        num_layers=num_layers,
        proj_size=proj_size,
        tie_weights=tie_weights,
        embed_dropout=embed_dropout,
        input_dropout=input_dropout,
        hidden_dropout=hidden_dropout,
        weight_dropout=weight_dropout,
    )


@registry.architectures("spacy_rnn.NgramBOW.v1")
def NgramBOW_v1(
    exclusive_classes: bool = True,
    word_ngrams: int = 2,
    char_ngrams: Sequence[int] = (2, 3, 4, 5),
    length: int = 2**20,
    no_output_layer: bool = False,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """A fastText-style linear classifier: hashed word n-grams (n = 1..``word_ngrams``,
    lowercased) and character n-grams of each word (n in ``char_ngrams``; ``[]``: none),
    sublinear counts scaled to unit norm per doc -> a sparse linear layer of ``length``
    rows (rounded up to a power of 2) -> softmax (``exclusive_classes``) or sigmoid, or
    the raw scores with ``no_output_layer`` (as the ``linear_model`` of
    ``spacy_rnn.RNNTextCat.v1``). Out: ``(n_docs, n_labels)``.
    """
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
