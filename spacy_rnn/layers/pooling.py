"""Pooling: one vector per doc from the doc's token vectors.

``pooling`` maps ``List[Floats2d]`` (one ``(n_tokens, nI)`` array per doc) to a
``Floats2d`` of shape ``(n_docs, nO)``; the single poolings take the same tokens as a
``Ragged``. Each doc is pooled over its own rows only, so
a doc's vector never depends on the batch; an empty doc pools to zeros.

- ``last``: for a unidirectional RNN the last token's vector (the final state). For a
  bidirectional one, whose vectors are ``[forward; backward]``, the forward half of the
  last token and the backward half of the first token: each direction's final state.
- ``mean`` / ``max``: over the tokens, per column.
- ``attention``: a weighted sum of the tokens, weights = softmax over the doc of
  ``gelu(W x + b) · q`` (thinc's ``ParametricAttention.v2``; q, W, b learned).
"""

from typing import Callable, List, Sequence, Tuple, Union

from thinc.api import (
    Gelu,
    Model,
    ParametricAttention_v2,
    chain,
    concatenate,
    list2ragged,
    reduce_mean,
    reduce_sum,
)
from thinc.types import Floats2d, Ragged

POOLINGS = ("last", "mean", "max", "attention")


def pool_last(bidirectional: bool = False) -> Model[Ragged, Floats2d]:
    """Each direction's final state (see the module docstring)."""
    return Model("pool_last", _last_forward, attrs={"bidirectional": bidirectional})


def _last_forward(model: Model, Xr: Ragged, is_train: bool) -> Tuple[Floats2d, Callable]:
    ops = model.ops
    X, lengths = Xr.dataXd, Xr.lengths
    width = X.shape[1]
    split = width // 2 if model.attrs["bidirectional"] else width
    ends = ops.xp.cumsum(lengths) - 1
    starts = ends - lengths + 1
    full = ops.xp.nonzero(lengths > 0)[0]
    Y = ops.alloc2f(len(lengths), width)
    Y[full, :split] = X[ends[full], :split]
    Y[full, split:] = X[starts[full], split:]

    def backprop(dY: Floats2d) -> Ragged:
        dX = ops.alloc2f(*X.shape)
        dX[ends[full], :split] += dY[full, :split]
        dX[starts[full], split:] += dY[full, split:]
        return Ragged(dX, lengths)

    return Y, backprop


def pool_max() -> Model[Ragged, Floats2d]:
    """The maximum of each column over the doc's tokens (zeros for an empty doc)."""
    return Model("pool_max", _max_forward)


def _max_forward(model: Model, Xr: Ragged, is_train: bool) -> Tuple[Floats2d, Callable]:
    ops = model.ops
    X, lengths = Xr.dataXd, Xr.lengths
    full = ops.xp.nonzero(lengths > 0)[0]
    Y = ops.alloc2f(len(lengths), X.shape[1])
    if len(full) == 0:
        return Y, lambda dY: Ragged(ops.alloc2f(*X.shape), lengths)
    # the rows of empty docs are absent from X, so the non-empty docs' lengths line up
    maxes, which = ops.reduce_max(X, lengths[full])
    Y[full] = maxes

    def backprop(dY: Floats2d) -> Ragged:
        dX = ops.backprop_reduce_max(ops.as_contig(dY[full]), which, lengths[full])
        return Ragged(dX, lengths)

    return Y, backprop


def pool_attention(width: int) -> Model[Ragged, Floats2d]:
    """Attention pooling over ``width``-wide token vectors (zeros for an empty doc)."""
    return chain(
        ParametricAttention_v2(key_transform=Gelu(nO=width, nI=width), nO=width),
        reduce_sum(),
    )


def pooling(
    names: Union[str, Sequence[str]], width: int, *, bidirectional: bool = False
) -> Model[List[Floats2d], Floats2d]:
    """One pooling, or several concatenated (e.g. ``["last", "max", "mean"]``, ULMFiT's
    concat pooling). Out: ``(n_docs, width * len(names))``."""
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise ValueError(f"pooling: name at least one of {list(POOLINGS)}.")
    unknown = [name for name in names if name not in POOLINGS]
    if unknown:
        raise ValueError(f"Unknown pooling {unknown[0]!r}: choose from {list(POOLINGS)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"pooling: {names} names a pooling twice.")
    builders = {
        "last": lambda: pool_last(bidirectional),
        "mean": reduce_mean,
        "max": pool_max,
        "attention": lambda: pool_attention(width),
    }
    layers = [builders[name]() for name in names]
    pooled = concatenate(*layers) if len(layers) > 1 else layers[0]
    model = chain(list2ragged(), _zeros_if_no_tokens(pooled, width * len(layers)))
    model.attrs["pooling"] = names
    return model


def pool_mean() -> Model[List[Floats2d], Floats2d]:
    """The mean of each doc's token vectors (zeros for an empty doc)."""
    return chain(list2ragged(), reduce_mean())


def _zeros_if_no_tokens(layer: Model[Ragged, Floats2d], nO: int) -> Model[Ragged, Floats2d]:
    """``layer``, except that a batch without any token gives zeros (thinc's
    ``reduce_mean`` and ``ParametricAttention`` fail on it)."""

    def forward(model: Model, Xr: Ragged, is_train: bool) -> Tuple[Floats2d, Callable]:
        if Xr.dataXd.shape[0] == 0:
            zeros = model.ops.alloc2f(len(Xr.lengths), nO)
            return zeros, lambda dY: Ragged(model.ops.alloc2f(*Xr.dataXd.shape), Xr.lengths)
        return layer(Xr, is_train)

    return Model(f"{layer.name}-or-zeros", forward, layers=[layer], init=_init_inner)


def _init_inner(model: Model, X=None, Y=None) -> None:
    model.layers[0].initialize(X=X, Y=Y)
