"""The RNN encoder: an embedding layer, then a PyTorch RNN over each doc's tokens."""

from typing import List

from spacy.tokens import Doc
from thinc.api import Model, chain
from thinc.types import Floats2d

from ..layers.rnn import rnn
from ..modules.rnn import RNNOptions


def build_rnn_encoder(
    embed: Model[List[Doc], List[Floats2d]], options: RNNOptions, *, window: int = 0
) -> Model[List[Doc], List[Floats2d]]:
    """``chain(embed, rnn)``: docs -> one ``(len(doc), options.output_size)`` array per
    doc. Refs ``embed`` and ``encoder``; ``attrs["window"]`` and ``attrs["bidirectional"]``
    tell the models above it that long docs can be read in pieces (``window > 0``) and
    that the vectors are ``[forward; backward]`` halves."""
    encoder = rnn(options, window=window)
    model = chain(embed, encoder)
    model.name = f"rnn-encoder({options.cell})"
    model.set_ref("embed", embed)
    model.set_ref("encoder", encoder)
    model.attrs["window"] = window
    model.attrs["bidirectional"] = options.bidirectional
    return model
