"""The registered ``spacy_rnn.*`` architectures: config values in, thinc Model out."""
from typing import List, Literal, Optional

from spacy.ml.models.tagger import build_tagger_model
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, chain, concatenate
from thinc.types import Floats2d

from .layers.chars import char_rnn_embed
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
) -> Model[List[Doc], List[Floats2d]]:
    """A tok2vec layer: ``embed`` then a PyTorch RNN over each doc's tokens.

    In: docs. Out: one ``(len(doc), nO)`` array per doc, with
    ``nO = (proj_size or hidden_size) * (2 if bidirectional else 1)``.

    embed: any ``Model[List[Doc], List[Floats2d]]``, e.g. ``spacy.MultiHashEmbed.v2``
        or ``spacy.CharacterEmbed.v2``; the RNN's input width is inferred from it.
    cell, hidden_size, num_layers, bidirectional, proj_size, bias: as in torch's
        ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (``rnn_tanh``, ``rnn_relu``);
        ``proj_size`` is for LSTMs only.
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
    )
    model = chain(embed, encoder)
    model.name = f"rnn-encoder({cell})"
    model.set_ref("embed", embed)
    model.set_ref("encoder", encoder)
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
    """
    return build_tagger_model(tok2vec, nO, normalize=True)
