"""Output activations."""
from typing import Callable, Tuple

import numpy

from thinc.api import Model
from thinc.types import Floats2d


def softmax_logits() -> Model[Floats2d, Floats2d]:
    """Softmax over each row of logits, whose backward pass takes the gradient of the
    cross-entropy with respect to the logits (``scores - truths``, what spaCy's textcat
    passes back) and returns it unchanged: the convention of thinc's ``Softmax`` layer,
    for models whose logits come from several layers added together."""
    return Model("softmax_logits", _forward)


def _forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    return model.ops.softmax(X), lambda dY: dY


def on_nonempty_docs(layer: Model) -> Model:
    """``layer`` (docs -> one row per doc) run on the non-empty docs only; an empty doc
    gets a row of zeros. (spaCy's n-gram features fail on empty docs.)"""
    return Model(f"nonempty({layer.name})", _nonempty_forward, layers=[layer], init=_nonempty_init,
                 dims={"nO": None})


def _nonempty_init(model: Model, X=None, Y=None) -> None:
    if X is not None:
        keep = [i for i, doc in enumerate(X) if len(doc)]
        X = [X[i] for i in keep]
        Y = Y[keep] if Y is not None else None
    model.layers[0].initialize(X=X, Y=Y)
    if Y is not None:
        model.set_dim("nO", Y.shape[1])


def _nonempty_forward(model: Model, docs, is_train: bool) -> Tuple[Floats2d, Callable]:
    layer = model.layers[0]
    keep = [i for i, doc in enumerate(docs) if len(doc)]
    if len(keep) == len(docs):
        return layer(docs, is_train)
    if not keep:
        return model.ops.alloc2f(len(docs), model.get_dim("nO")), lambda dY: []
    Yk, backprop_k = layer([docs[i] for i in keep], is_train)
    Y = model.ops.alloc2f(len(docs), Yk.shape[1])
    Y[keep] = Yk

    def backprop(dY: Floats2d):
        backprop_k(model.ops.as_contig(dY[keep]))
        return []

    return Y, backprop


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
