"""Long docs in bounded pieces at prediction time.

A model whose encoder reads docs in windows of ``window`` tokens, each from a fresh state
(``spacy_rnn.RNNEncoder.v1`` with ``window > 0``) and whose embeddings are per token,
gives a doc's tokens the same vectors whether the doc is read whole or as consecutive
pieces of ``piece`` tokens, when ``window`` divides ``piece``. The layers here use that
to bound prediction memory: a doc longer than ``piece`` is cut into pieces (``Span.as_doc``)
that run through the model a few at a time, so no model call sees more than
``group * piece`` tokens of it however long it is. Shorter docs, and training, take the
ordinary path unchanged.

- ``per_token_in_pieces``: docs -> per-token arrays (a tagger): the pieces' rows
  concatenated.

Both take the place of ``chain(tok2vec, head)`` with the same two layers, so a saved
model's structure does not change.
- ``pooled_in_pieces``: docs -> one pooled vector per doc (a text classifier): each
  piece's token vectors are reduced to partial statistics (sum and count, maximum,
  first and last rows), merged over the doc's pieces.
"""

from typing import Callable, Iterator, List, Sequence, Tuple

from spacy.tokens import Doc
from thinc.api import Model
from thinc.layers.chain import init as chain_init
from thinc.types import Floats2d

PIECE_TOKENS = 1024  # about this many tokens per piece (a multiple of the window)
GROUP = 4  # pieces per model call


def piece_length(window: int, tokens: int = PIECE_TOKENS) -> int:
    """The multiple of ``window`` closest to ``tokens`` from below (at least ``window``)."""
    return window * max(1, tokens // window)


def cut(doc: Doc, piece: int) -> List[Doc]:
    """``doc`` as consecutive docs of ``piece`` tokens (the last one shorter)."""
    return [doc[i : i + piece].as_doc() for i in range(0, len(doc), piece)]


def _piece_groups(doc: Doc, piece: int, group: int) -> Iterator[List[Doc]]:
    """``cut(doc, piece)``, ``group`` pieces at a time (made as they are needed)."""
    step = piece * group
    for start in range(0, len(doc), step):
        yield cut(doc[start : start + step].as_doc(), piece)


def per_token_in_pieces(
    tok2vec: Model[List[Doc], List[Floats2d]],
    head: Model[List[Floats2d], List[Floats2d]],
    piece: int,
    group: int = GROUP,
) -> Model[List[Doc], List[Floats2d]]:
    """``chain(tok2vec, head)``, except that at prediction a doc longer than ``piece``
    tokens (0: never) is run as its pieces, ``group`` at a time, and their rows are
    concatenated (see the module docstring for when that is exact)."""
    return Model(
        f"{tok2vec.name}>>{head.name}",
        _per_token_forward,
        init=chain_init,
        layers=[tok2vec, head],
        dims={"nO": None, "nI": None},
        attrs={"piece": piece, "group": group},
    )


def _split(docs: List[Doc], piece: int) -> Tuple[List[int], List[int]]:
    long = [i for i, doc in enumerate(docs) if piece and len(doc) > piece]
    short = [i for i, doc in enumerate(docs) if not (piece and len(doc) > piece)]
    return short, long


def _chained(model: Model, docs: List[Doc], is_train: bool) -> Tuple:
    first, second = model.layers
    Y1, backprop1 = first(docs, is_train)
    Y2, backprop2 = second(Y1, is_train)
    return Y2, lambda dY: backprop1(backprop2(dY))


def _per_token_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    piece, group = model.attrs["piece"], model.attrs["group"]
    short, long = _split(docs, piece)
    if is_train or not long:
        return _chained(model, docs, is_train)
    predict = lambda batch: _chained(model, batch, False)[0]  # noqa: E731
    outputs: List = [None] * len(docs)
    if short:
        for i, Y in zip(short, predict([docs[i] for i in short])):
            outputs[i] = Y
    for i in long:
        rows = []
        for pieces in _piece_groups(docs[i], piece, group):
            rows.extend(predict(pieces))
        outputs[i] = model.ops.xp.concatenate(rows)
    return outputs, lambda dYs: []


def pooled_in_pieces(
    tok2vec: Model[List[Doc], List[Floats2d]],
    pool: Model[List[Floats2d], Floats2d],
    names: Sequence[str],
    *,
    bidirectional: bool,
    piece: int,
    group: int = GROUP,
) -> Model[List[Doc], Floats2d]:
    """``chain(tok2vec, pool)`` for ``pool = pooling(names, ...)``, except that at
    prediction a doc longer than ``piece`` tokens is encoded as its pieces, ``group`` at a
    time, and pooled from their partial statistics (0: never). ``"attention"`` pooling
    cannot be merged that way: with it, long docs are read whole."""
    return Model(
        f"{tok2vec.name}>>{pool.name}",
        _pooled_forward,
        init=chain_init,
        layers=[tok2vec, pool],
        dims={"nO": None, "nI": None},
        attrs={"piece": piece, "group": group, "names": list(names), "bidirectional": bidirectional},
    )


def _pooled_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Floats2d, Callable]:
    tok2vec, pool = model.layers
    piece, group, names = model.attrs["piece"], model.attrs["group"], model.attrs["names"]
    short, long = _split(docs, piece)
    if is_train or not long or "attention" in names:
        return _chained(model, docs, is_train)
    ops = model.ops
    rows: List = [None] * len(docs)
    if short:
        for i, row in zip(short, pool.predict(tok2vec.predict([docs[i] for i in short]))):
            rows[i] = row
    for i in long:
        stats = [_stats(Y) for pieces in _piece_groups(docs[i], piece, group) for Y in tok2vec.predict(pieces)]
        rows[i] = _merge(ops, stats, names, bool(model.attrs["bidirectional"]))
    return ops.xp.stack(rows), lambda dY: []


def _stats(Y: Floats2d) -> dict:
    """A piece's partial statistics (copies: a view would keep the piece's rows alive)."""
    return {"sum": Y.sum(axis=0), "n": Y.shape[0], "max": Y.max(axis=0), "first": Y[0].copy(), "last": Y[-1].copy()}


def _merge(ops, stats: List[dict], names: Sequence[str], bidirectional: bool):
    xp = ops.xp
    width = stats[0]["sum"].shape[0]
    split = width // 2 if bidirectional else width
    parts = []
    for name in names:
        if name == "mean":
            parts.append(sum(s["sum"] for s in stats) / sum(s["n"] for s in stats))
        elif name == "max":
            parts.append(xp.max(xp.stack([s["max"] for s in stats]), axis=0))
        elif name == "last":
            parts.append(xp.concatenate([stats[-1]["last"][:split], stats[0]["first"][split:]]))
        else:  # pragma: no cover - attention takes the whole-doc path
            raise ValueError(f"pooling {name!r} cannot be merged over pieces")
    return xp.concatenate(parts).astype("float32")
