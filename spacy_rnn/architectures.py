"""The registered ``spacy_rnn.*`` architectures: config values in, thinc Model out.

Each function checks the values that are its own and calls a builder in
``spacy_rnn.models`` or a layer in ``spacy_rnn.layers``; nothing else happens here.
"""

from typing import List, Literal, Optional, Sequence, Union

from spacy.attrs import IDS
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, concatenate
from thinc.types import Floats2d

from .layers.bilm import rnn_lm_v2
from .layers.chars import char_rnn_embed
from .layers.lm import rnn_lm
from .layers.lm_transfer import lm_encoder, lm_features
from .layers.subword import subword_embed
from .models.encoder import build_rnn_encoder
from .models.tagger import build_rnn_tagger
from .models.textcat import build_dan, build_ngram_bow, build_rnn_textcat
from .modules.bilm import STACK_NAMES, BiLMOptions
from .modules.lm import LMOptions
from .modules.rnn import RNNOptions
from .training import set_lr_scale

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
    options = RNNOptions(cell, hidden_size, num_layers, bidirectional, dropout, proj_size, bias)
    return build_rnn_encoder(embed, options, window=window)


@registry.architectures("spacy_rnn.CharRNNEmbed.v1")
def CharRNNEmbed_v1(
    nM: int = 32, hidden_size: int = 64, max_chars: int = 20, cell: Cell = "lstm"
) -> Model[List[Doc], List[Floats2d]]:
    """Character-level word vectors (Plank et al. 2016; Lample et al. 2016): a
    bidirectional RNN over each word's UTF-8 bytes; a word's vector is the forward RNN's
    last and the backward RNN's first state. Each distinct word of a batch is encoded once.
    Out: one ``(len(doc), 2 * hidden_size)`` array per doc.

    nM: width of the byte embeddings.
    hidden_size: units per direction.
    max_chars: a longer word keeps its first and last ``max_chars / 2`` bytes.
    cell: ``"lstm"``, ``"gru"``, ``"rnn_tanh"`` or ``"rnn_relu"``.
    """
    return char_rnn_embed(nM=nM, hidden_size=hidden_size, max_chars=max_chars, cell=cell)


@registry.architectures("spacy_rnn.SubwordEmbed.v1")
def SubwordEmbed_v1(
    width: int,
    rows: int = 50000,
    char_ngrams: Sequence[int] = (3, 4, 5, 6),
    attr: str = "LOWER",
) -> Model[List[Doc], List[Floats2d]]:
    """fastText-style word vectors (Bojanowski et al. 2017): the mean of hashed
    embeddings of the word and of its character n-grams (over ``<word>``, so prefixes and
    suffixes are n-grams of their own), in one table. Rare and unseen words (hashtags,
    elongations, typos) get vectors from the pieces they share with seen words; each
    distinct word of a batch is embedded once. Out: one ``(len(doc), width)`` array per doc.

    width: width of the vectors.
    rows: rows of the hash table (thinc's ``HashEmbed``).
    char_ngrams: the n-gram sizes.
    attr: the token attribute of the word itself (``"LOWER"``, ``"NORM"``, ...).
    """
    if attr.upper() not in IDS:
        raise ValueError(f"spacy_rnn.SubwordEmbed.v1: unknown token attribute {attr!r}.")
    return subword_embed(width, rows, char_ngrams=list(char_ngrams), attr=IDS[attr.upper()])


@registry.architectures("spacy_rnn.ConcatEmbed.v1")
def ConcatEmbed_v1(*embeds: Model[List[Doc], List[Floats2d]]) -> Model[List[Doc], List[Floats2d]]:
    """Several embedding layers side by side: each token's vectors concatenated
    (e.g. word hashes and ``CharRNNEmbed``). In a config, list them as
    ``[...embed.*.words]``, ``[...embed.*.chars]``, ...

    embeds: the embedding layers (``Model[List[Doc], List[Floats2d]]``), at least one.
    """
    if not embeds:
        raise ValueError("spacy_rnn.ConcatEmbed.v1 needs at least one embedding layer.")
    return concatenate(*embeds) if len(embeds) > 1 else embeds[0]


@registry.architectures("spacy_rnn.RNNTagger.v1")
def RNNTagger_v1(
    tok2vec: Model[List[Doc], List[Floats2d]], nO: Optional[int] = None
) -> Model[List[Doc], List[Floats2d]]:
    """An RNN transducer: ``tok2vec`` then a softmax over the labels for every token
    (spaCy's tagger head). Out: one ``(len(doc), n_labels)`` array of probabilities per doc.
    When ``tok2vec`` reads docs in windows (``RNNEncoder.v1`` with ``window > 0``), a doc
    much longer than the window is tagged in pieces at prediction, with the same result and
    bounded memory.

    tok2vec: usually ``spacy_rnn.RNNEncoder.v1``; any ``Model[List[Doc], List[Floats2d]]``.
    nO: the number of labels; inferred from the labels at initialize.
    """
    return build_rnn_tagger(tok2vec, nO)


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
    """An RNN acceptor: ``tok2vec`` -> pooling -> one ReLU layer -> logits (+ an optional
    linear model's scores) -> softmax or a sigmoid per label. Out: ``(n_docs, n_labels)``.
    Each doc is pooled over its own tokens only (an empty doc pools to zeros); a doc much
    longer than the encoder's window is encoded in pieces at prediction and pooled from
    their statistics, with the same result and bounded memory.

    tok2vec: usually ``spacy_rnn.RNNEncoder.v1`` (any cell, stacked, bidirectional).
    exclusive_classes: softmax (one label per doc: ``rnn_textcat``) or a sigmoid per label
        (``rnn_textcat_multilabel``); must match the component.
    hidden_width: the ReLU layer's width (0: none).
    dropout: dropout after the ReLU layer (this rate, not ``[training] dropout``).

    pooling: ``"last"`` (each direction's final state: forward's last token, backward's
        first), ``"mean"``, ``"max"``, ``"attention"`` (thinc's ``ParametricAttention.v2``)
        or a list of them, concatenated (ULMFiT's concat pooling).
    bidirectional: whether the token vectors are ``[forward; backward]`` halves, for
        ``"last"``; read from an ``RNNEncoder`` when null.
    linear_model: optional sparse linear model whose scores are added to the logits
        ("wide & deep"), e.g. ``spacy_rnn.NgramBOW.v1`` or ``spacy.TextCatBOW.v3`` with
        ``no_output_layer = true`` and the same ``exclusive_classes``. Labels can be added
        after initialize if the linear model can grow (those two can).
    branch_dropout: with a ``linear_model``, the probability that a training doc is
        scored by the RNN alone, and the same that it is scored by the linear model
        alone (at most 0.5), so that neither leans on the other; their sum is used at
        prediction.
    nO: the number of labels; inferred from the labels at initialize.
    """
    return build_rnn_textcat(
        tok2vec,
        exclusive_classes=exclusive_classes,
        pooling_names=[pooling] if isinstance(pooling, str) else list(pooling),
        hidden_width=hidden_width,
        dropout=dropout,
        bidirectional=bidirectional,
        linear_model=linear_model,
        branch_dropout=branch_dropout,
        nO=nO,
    )


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
    """Deep averaging network (Iyyer et al. 2015): the mean of the token embeddings over
    the tokens kept by word dropout -> ReLU layers -> softmax or sigmoid.
    Out: ``(n_docs, n_labels)``.

    embed: the token embeddings, e.g. ``spacy.MultiHashEmbed.v2``.
    exclusive_classes: softmax (``rnn_textcat``) or a sigmoid per label
        (``rnn_textcat_multilabel``).
    depth: the number of ReLU layers.
    hidden_width: their width.
    dropout: dropout after each ReLU layer.
    word_dropout: while training, each token is dropped with this probability (a doc
        keeps at least one).
    nO: the number of labels; inferred from the labels at initialize.
    """
    return build_dan(
        embed,
        exclusive_classes=exclusive_classes,
        depth=depth,
        hidden_width=hidden_width,
        dropout=dropout,
        word_dropout_rate=word_dropout,
        nO=nO,
    )


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
    """A word-level RNN language model for ``rnn_lm``: embedding -> unidirectional RNN
    layers -> softmax over the vocabulary, whose size the component sets at initialize.
    Sequences are packed, so only real positions reach the output layer. spaCy's
    ``[training] dropout`` is the locked dropout on the last layer's output (AWD-LSTM's
    ``dropout``).

    embed_size: embedding width.
    cell, hidden_size, num_layers, proj_size: the RNN layers, as in torch (``proj_size``:
        LSTM projections, 0 for none).
    tie_weights: the output layer reuses the embedding matrix (Press & Wolf 2017; Inan et
        al. 2017); then ``proj_size or hidden_size`` must equal ``embed_size`` (checked).
    embed_dropout: drop whole word types from the embedding matrix while training.
    input_dropout, hidden_dropout: locked (variational) dropout, one mask per sequence, on
        the embeddings and between layers.
    weight_dropout: DropConnect on each layer's hidden-to-hidden matrix (AWD-LSTM).
    """
    return rnn_lm(LMOptions(**locals()))  # config errors now, before the vocabulary exists


@registry.architectures("spacy_rnn.RNNLanguageModel.v2")
def RNNLanguageModel_v2(
    embed: Model[List[Doc], List[Floats2d]],
    cell: Cell = "lstm",
    hidden_size: int = 512,
    num_layers: int = 1,
    proj_size: int = 0,
    direction: Literal["forward", "backward", "both"] = "both",
    input_dropout: float = 0.0,
    hidden_dropout: float = 0.0,
    weight_dropout: float = 0.0,
    adaptive_cutoffs: Sequence[int] = (),
    ar: float = 0.0,
    tar: float = 0.0,
) -> Model:
    """A word-level RNN language model for ``rnn_lm`` whose token vectors come from any
    embedding layer (the kinds the task models use, so that the weights can be carried
    into them: ``spacy_rnn.RNNEncoder.v2``, ``spacy_rnn.LMFeatures.v1``), reading forward,
    backward or both ways (ELMo's biLM: two RNN stacks over one embedding and one output
    layer; the loss is the mean of both). spaCy's ``[training] dropout`` is the locked
    dropout on the last layer's output.

    embed: the token vectors, e.g. ``spacy.MultiHashEmbed.v2`` or
        ``spacy_rnn.SubwordEmbed.v1`` (unseen words still get vectors from their pieces).
    cell, hidden_size, num_layers, proj_size: each direction's RNN layers, as in torch.
    direction: ``"forward"`` (left to right), ``"backward"`` (right to left: each token
        predicted from the ones after it) or ``"both"``.
    input_dropout, hidden_dropout: locked dropout on the token vectors and between layers.
    weight_dropout: DropConnect on each layer's hidden-to-hidden matrix.
    adaptive_cutoffs: if given, torch's adaptive softmax with these frequency cutoffs
        (ids are ranked by frequency) instead of a full softmax: faster on large
        vocabularies.
    ar, tar: AWD-LSTM's activation regularisation (the squared last-layer outputs, after
        dropout) and temporal activation regularisation (their squared changes from one
        token to the next), their weights in the loss.
    """
    options = BiLMOptions(
        cell,
        hidden_size,
        num_layers,
        proj_size,
        direction,
        input_dropout,
        hidden_dropout,
        weight_dropout,
        tuple(adaptive_cutoffs),
        ar,
        tar,
    )
    return rnn_lm_v2(embed, options)


@registry.architectures("spacy_rnn.LMEncoder.v1")
def LMEncoder_v1(
    embed: Model[List[Doc], List[Floats2d]],
    lm_path: Optional[str] = None,
    cell: Cell = "lstm",
    hidden_size: int = 512,
    num_layers: int = 1,
    proj_size: int = 0,
    direction: Literal["forward", "backward", "both"] = "both",
    input_dropout: float = 0.0,
    hidden_dropout: float = 0.0,
    weight_dropout: float = 0.0,
    frozen: int = 0,
    lr_decay: float = 1.0,
) -> Model[List[Doc], List[Floats2d]]:
    """A tok2vec initialised from a pretrained language model and fine-tuned with the task
    (ULMFiT): the LM's embedding, then its forward and backward RNN stacks, each token's
    vector ``[forward; backward]`` top-layer states. The weights are taken from the
    ``rnn_lm`` (``spacy_rnn.RNNLanguageModel.v2``) of the pipeline at ``lm_path`` when the
    pipeline is initialized (``spacy train``); the trained pipeline holds them itself. An
    LM whose embedding or sizes differ from these settings is an error naming both.

    embed: the same embedding layer (architecture and settings) as the language model's.
    lm_path: the pretrained pipeline (e.g. ``training/pretrain/model-best``); null: start
        from random weights (the same architecture without pretraining).
    cell, hidden_size, num_layers, proj_size, direction: as the language model's
        (``direction``: both, or one of its directions).
    input_dropout, hidden_dropout, weight_dropout: dropout while fine-tuning, as in the
        language model (spaCy's ``[training] dropout`` is not used by this layer).
    frozen: how many layer groups, from the bottom, start frozen (0: none; 1: the
        embedding; 2: the embedding and the first RNN layer; ...);
        ``spacy_rnn.gradual_unfreezing.v1`` unfreezes them one by one while training.
    lr_decay: discriminative learning rates (with ``spacy_rnn.Adam.v1``): each group's
        rate is the one above it divided by this (ULMFiT's 2.6); 1: the same rate for all.
    """
    if isinstance(lr_decay, bool) or not isinstance(lr_decay, (int, float)) or lr_decay < 1.0:
        raise ValueError(f"spacy_rnn.LMEncoder.v1: lr_decay must be a number >= 1, got {lr_decay!r}.")
    if not isinstance(frozen, int) or isinstance(frozen, bool) or not 0 <= frozen <= num_layers + 1:
        raise ValueError(f"spacy_rnn.LMEncoder.v1: frozen must be an integer in [0, num_layers + 1], got {frozen!r}.")
    options = BiLMOptions(
        cell, hidden_size, num_layers, proj_size, direction, input_dropout, hidden_dropout, weight_dropout
    )
    model = lm_encoder(embed, options, lm_path=lm_path, frozen=frozen)
    if lr_decay != 1.0:
        for node in embed.walk():
            set_lr_scale(node.id, "", lr_decay**-num_layers)
        shim = model.shims[0]
        set_lr_scale(shim.id, "start", lr_decay**-num_layers)
        for layer in range(num_layers):
            for name in STACK_NAMES.values():
                set_lr_scale(shim.id, f"stacks.{name}.layers.{layer}.", lr_decay ** -(num_layers - 1 - layer))
    return model


@registry.architectures("spacy_rnn.LMFeatures.v1")
def LMFeatures_v1(
    embed: Model[List[Doc], List[Floats2d]],
    lm_path: Optional[str] = None,
    cell: Cell = "lstm",
    hidden_size: int = 512,
    num_layers: int = 1,
    proj_size: int = 0,
    direction: Literal["forward", "backward", "both"] = "both",
) -> Model[List[Doc], List[Floats2d]]:
    """ELMo-style features from a pretrained language model, frozen: a learned mix of its
    RNN layers' ``[forward; backward]`` states for each token, ``gamma * sum_l softmax(w)_l
    * h_l`` (only ``w`` and ``gamma`` are trained). An embedding layer: concatenate it to
    a task's own (``spacy_rnn.ConcatEmbed.v1``) under any tok2vec. The weights come from
    the pipeline at ``lm_path`` at initialize, as for ``spacy_rnn.LMEncoder.v1``.

    embed: the same embedding layer (architecture and settings) as the language model's.
    lm_path: the pretrained pipeline; null: random frozen weights (only for tests).
    cell, hidden_size, num_layers, proj_size, direction: as the language model's.
    """
    options = BiLMOptions(cell, hidden_size, num_layers, proj_size, direction)
    return lm_features(embed, options, lm_path=lm_path)


@registry.architectures("spacy_rnn.NgramBOW.v1")
def NgramBOW_v1(
    exclusive_classes: bool = True,
    word_ngrams: int = 2,
    char_ngrams: Sequence[int] = (2, 3, 4, 5),
    length: int = 2**20,
    no_output_layer: bool = False,
    nO: Optional[int] = None,
) -> Model[List[Doc], Floats2d]:
    """A fastText-style linear classifier: each doc's distinct lowercased word n-grams
    and the character n-grams of its words, sublinear counts (1 + log count) scaled to unit
    L2 norm per doc, hashed into a sparse linear layer (thinc's ``SparseLinear``) ->
    softmax or sigmoid. Works under spaCy's ``textcat`` too; an empty doc has no features.
    Its output layer grows when labels are added. Out: ``(n_docs, n_labels)``.

    exclusive_classes: softmax or a sigmoid per label.
    word_ngrams: word n-grams for n = 1 .. ``word_ngrams``.
    char_ngrams: the character n-gram sizes (``[]``: none), counted per distinct word.
    length: rows of the hashed linear layer, rounded up to a power of 2.
    no_output_layer: give the raw scores (as the ``linear_model`` of
        ``spacy_rnn.RNNTextCat.v1``).
    nO: the number of labels; inferred from the labels at initialize.
    """
    return build_ngram_bow(
        exclusive_classes=exclusive_classes,
        word_ngrams=word_ngrams,
        char_ngrams=list(char_ngrams),
        length=length,
        no_output_layer=no_output_layer,
        nO=nO,
    )
