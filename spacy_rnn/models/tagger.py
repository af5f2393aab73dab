"""The RNN tagger: a tok2vec, then a softmax over the labels for every token."""

from typing import List, Optional

from spacy.ml.models.tagger import build_tagger_model
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d

from ..layers.pieces import per_token_in_pieces, piece_length


def build_rnn_tagger(
    tok2vec: Model[List[Doc], List[Floats2d]], nO: Optional[int] = None
) -> Model[List[Doc], List[Floats2d]]:
    """spaCy's tagger model (refs ``tok2vec``, ``softmax``, ``output_layer``), whose
    top node reads a doc much longer than ``tok2vec``'s window in pieces at prediction
    (same outputs, bounded memory; never when ``tok2vec.attrs["window"]`` is 0 or unset)."""
    model = build_tagger_model(tok2vec, nO, normalize=True)
    window = tok2vec.attrs.get("window", 0)
    tok2vec_layer, head = model.layers
    pieced = per_token_in_pieces(tok2vec_layer, head, piece_length(window) if window else 0)
    for name in model.ref_names:
        pieced.set_ref(name, model.get_ref(name))
    return pieced
