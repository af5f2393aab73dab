"""Word dropout (Iyyer et al. 2015): whole tokens dropped while training."""

from typing import Callable, List, Tuple

from thinc.api import Model
from thinc.types import Floats2d

from .dropout import check_rate


def word_dropout(rate: float) -> Model[List[Floats2d], List[Floats2d]]:
    """Drop whole tokens (rows) of each doc while training, each with probability
    ``rate`` (Iyyer et al. 2015); a non-empty doc keeps at least one token. Later
    layers see the shorter docs, so a mean is taken over the kept tokens."""
    check_rate("word_dropout", rate)
    return Model("word_dropout", _word_dropout_forward, attrs={"rate": rate})


def _word_dropout_forward(model: Model, Xs: List[Floats2d], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    rate = model.attrs["rate"]
    if not is_train or rate == 0.0:
        return Xs, lambda dYs: dYs
    xp = model.ops.xp
    keeps = []
    for X in Xs:
        keep = xp.random.uniform(0.0, 1.0, (len(X),)) >= rate
        if len(X) and not keep.any():
            keep[int(xp.random.randint(len(X)))] = True
        keeps.append(keep)
    Ys = [X[keep] for X, keep in zip(Xs, keeps)]

    def backprop(dYs: List[Floats2d]) -> List[Floats2d]:
        dXs = []
        for X, keep, dY in zip(Xs, keeps, dYs):
            dX = model.ops.alloc2f(*X.shape)
            dX[keep] = dY
            dXs.append(dX)
        return dXs

    return Ys, backprop
