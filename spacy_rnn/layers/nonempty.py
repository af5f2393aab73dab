"""A layer run on the non-empty docs of a batch only."""

from typing import Callable, Tuple

from thinc.api import Model
from thinc.types import Floats2d


def on_nonempty_docs(layer: Model) -> Model:
    """``layer`` (docs -> one row per doc) run on the non-empty docs only; an empty doc
    gets a row of zeros. (spaCy's n-gram features fail on empty docs.)"""
    return Model(f"nonempty({layer.name})", _nonempty_forward, layers=[layer], init=_nonempty_init, dims={"nO": None})


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
