"""Widths read from a model's dims."""

from typing import Optional

from thinc.api import Model


def output_width(tok2vec: Model, arch: str) -> int:
    """The output width of ``tok2vec``: its nO, else that of the last sublayer that has
    one (e.g. the Maxout near the end of ``spacy.MultiHashEmbed.v2``), or a listener's.
    ``arch`` names the architecture asking, for the error."""

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
