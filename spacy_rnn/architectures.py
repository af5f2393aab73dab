"""The registered ``spacy_rnn.*`` architectures: config values in, thinc Model out."""
from typing import List, Literal, Optional

from spacy.ml.models.tagger import build_tagger_model
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, chain
from thinc.types import Floats2d

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


@registry.architectures("spacy_rnn.RNNTagger.v1")
def RNNTagger_v1(
    tok2vec: Model[List[Doc], List[Floats2d]], nO: Optional[int] = None
) -> Model[List[Doc], List[Floats2d]]:
    """An RNN transducer: ``tok2vec`` (usually ``spacy_rnn.RNNEncoder.v1``) then a
    softmax over the labels for every token. Out: one ``(len(doc), n_labels)`` array
    of probabilities per doc. ``nO`` is inferred from the labels at initialize.
    """
    return build_tagger_model(tok2vec, nO, normalize=True)
