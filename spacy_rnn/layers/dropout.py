"""Dropout: a layer whose rate is fixed by config, and the checked training rate.

spaCy's ``[training] dropout`` overwrites ``attrs["dropout_rate"]`` on every layer of a
component's model (``thinc.api.set_dropout_rate``), thinc's ``Dropout`` included.
``fixed_dropout`` keeps its rate under another name, so the rate in the architecture's
config is the one used; ``training_dropout`` reads and checks the rate spaCy set, for the
layers that do use it.
"""

from typing import Callable, Tuple

from thinc.api import Model
from thinc.types import Floats2d


def check_rate(name: str, rate: float) -> None:
    if not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {rate!r}.")


def training_dropout(model: Model) -> float:
    """The dropout rate spaCy gave ``model`` for this update (``attrs["dropout_rate"]``,
    set by ``set_dropout_rate`` from ``nlp.update(drop=...)`` / ``[training] dropout``),
    checked: a ValueError names the setting when it is outside [0, 1)."""
    rate = model.attrs.get("dropout_rate", 0.0)
    if rate is None:
        return 0.0
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
        raise ValueError(
            f"The training dropout rate must be in [0, 1), got {rate!r}: check "
            "nlp.update(drop=...) or [training] dropout in the config."
        )
    return float(rate)


def fixed_dropout(rate: float) -> Model[Floats2d, Floats2d]:
    """Inverted dropout on a ``(n, width)`` array while training, at ``rate``."""
    check_rate("dropout", rate)
    return Model("fixed_dropout", _dropout_forward, attrs={"rate": rate})


def _dropout_forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    rate = model.attrs["rate"]
    if not is_train or rate == 0.0:
        return X, lambda dY: dY
    mask = model.ops.get_dropout_mask(X.shape, rate)
    return X * mask, lambda dY: dY * mask
