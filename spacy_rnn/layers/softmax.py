"""Softmax over logits whose backward pass takes the gradient with respect to the logits."""

from typing import Callable, Tuple

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
