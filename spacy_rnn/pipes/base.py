"""What every spacy-rnn component adds to its spaCy base class: gradient clipping by the
global norm, option checks, and loading that fails loudly on damaged saved models."""

from pathlib import Path
from typing import Iterable, Optional, Union

import srsly

from ..training import clip_gradients


def check_max_grad_norm(component: str, value) -> float:
    """``max_grad_norm`` as a float >= 0, or a ValueError naming the component."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{component}: max_grad_norm must be a number >= 0, got {value!r}.")
    return float(value)


class RNNPipe:
    """Mixin for a ``TrainablePipe`` subclass (put it first in the bases).

    - ``finish_update`` clips the accumulated gradients of the component's model (thinc
      and torch parameters together) to ``self.max_grad_norm`` (0: off), then updates;
      ``nlp.update`` calls it after every component's ``update``.
    - ``from_disk`` / ``from_bytes`` raise a ValueError naming the component, the file and
      the problem when a saved component is incomplete (``cfg`` or ``model`` missing),
      damaged (a file that cannot be read) or inconsistent (``loaded_problem``), instead
      of loading a component that predicts nothing or fails later.
    """

    factory_name = "rnn component"
    max_grad_norm: float = 0.0

    def finish_update(self, sgd) -> None:
        if self.max_grad_norm:
            clip_gradients(self.model, self.max_grad_norm)
        super().finish_update(sgd)

    def loaded_problem(self) -> Optional[str]:
        """What is inconsistent between the loaded cfg and model, or None."""
        return None

    def _fail(self, where: Union[str, Path], problem: str) -> ValueError:
        return ValueError(
            f"{self.factory_name} '{self.name}': {problem} ({where}). The saved pipeline is "
            "incomplete or damaged: load it from a complete copy, or train it again."
        )

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()):
        path = Path(path)
        exclude = list(exclude)
        for name in ("cfg", "model"):
            if name not in exclude and not (path / name).exists():
                raise self._fail(path / name, f"the file {name!r} is missing")
        if "cfg" not in exclude:
            try:
                srsly.read_json(path / "cfg")
            except Exception as err:
                raise self._fail(path / "cfg", f"the file 'cfg' cannot be read: {err}") from err
        if "model" not in exclude:
            try:
                srsly.msgpack_loads((path / "model").read_bytes())
            except Exception as err:
                raise self._fail(path / "model", f"the model file is truncated or damaged: {err}") from err
        try:
            super().from_disk(path, exclude=exclude)
        except ValueError as err:
            raise self._fail(path, f"the saved model does not fit this component: {err}") from err
        if "cfg" not in exclude and "model" not in exclude:
            problem = self.loaded_problem()
            if problem:
                raise self._fail(path, problem)
        return self

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()):
        exclude = list(exclude)
        try:
            msg = srsly.msgpack_loads(bytes_data)
            if "model" in msg and "model" not in exclude:
                srsly.msgpack_loads(msg["model"])
        except Exception as err:
            raise self._fail("bytes", f"the serialized component is truncated or damaged: {err}") from err
        for name in ("cfg", "model"):
            if name not in exclude and name not in msg:
                raise self._fail("bytes", f"the serialized component has no {name!r}")
        try:
            super().from_bytes(bytes_data, exclude=exclude)
        except ValueError as err:
            raise self._fail("bytes", f"the saved model does not fit this component: {err}") from err
        if "cfg" not in exclude and "model" not in exclude:
            problem = self.loaded_problem()
            if problem:
                raise self._fail("bytes", problem)
        return self
