"""Wide & deep: a network's scores and a linear model's scores added together, with branch
dropout while training."""

from typing import Callable, Tuple

import numpy
from thinc.api import Model
from thinc.types import Floats2d


def add_branches(deep: Model, wide: Model, branch_dropout: float = 0.0) -> Model:
    """The sum of two models' scores (docs -> one row per doc). While training, each
    doc's row comes, with probability ``branch_dropout`` each, from ``deep`` alone or
    from ``wide`` alone (the other's scores and gradient are dropped), so neither branch
    can lean on the other: each must score the doc well by itself, as an ensemble's
    members do, and their sum is used at prediction."""
    if not 0.0 <= branch_dropout <= 0.5:
        raise ValueError(f"branch_dropout must be in [0, 0.5], got {branch_dropout}.")
    return Model(
        "add_branches",
        _add_branches_forward,
        layers=[deep, wide],
        init=_add_branches_init,
        attrs={"branch_dropout": branch_dropout},
        dims={"nO": None},
    )


def _add_branches_init(model: Model, X=None, Y=None) -> None:
    for layer in model.layers:
        layer.initialize(X=X, Y=Y)
    if Y is not None:
        model.set_dim("nO", Y.shape[1])


def _add_branches_forward(model: Model, docs, is_train: bool) -> Tuple[Floats2d, Callable]:
    deep, wide = model.layers
    Yd, backprop_deep = deep(docs, is_train)
    Yw, backprop_wide = wide(docs, is_train)
    rate = model.attrs["branch_dropout"]
    if not (is_train and rate):
        return Yd + Yw, lambda dY: (backprop_deep(dY), backprop_wide(dY))[0]
    u = model.ops.asarray(numpy.random.uniform(size=(len(docs), 1))).astype("f")
    keep_deep = (u >= rate).astype("f")  # u < rate: wide alone
    keep_wide = ((u < rate) | (u >= 2 * rate)).astype("f")  # rate <= u < 2 rate: deep alone

    def backprop(dY: Floats2d):
        backprop_deep(dY * keep_deep)
        backprop_wide(dY * keep_wide)
        return []

    return Yd * keep_deep + Yw * keep_wide, backprop
