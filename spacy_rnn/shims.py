"""The PyTorch shims of our layers: thinc's ``PyTorchShim`` with two fixes, and one shim
whose torch module is built once a size is known.

Only this module reaches into a shim's torch module (``shim._model``); layers call the
shim (``shim(ArgsKwargs, is_train)``) and the training code asks for
:func:`torch_parameters`.
"""

import contextlib
from typing import Callable, Iterator

import srsly
import torch
from thinc.api import PyTorchShim, torch2xp, xp2torch
from thinc.shims import Shim


class AveragingShim(PyTorchShim):
    """A ``PyTorchShim`` whose ``use_params`` understands thinc's optimizer averages and
    whose ``finish_update`` updates the torch parameters in place.

    ``Optimizer.averages`` keys a torch parameter as ``(shim.id, name)`` (that is how
    ``PyTorchShim.finish_update`` calls the optimizer), but thinc's ``use_params`` only
    looks for string keys ``"pytorch_{id}_{name}"``, so with ``use_averages = true`` spaCy
    would evaluate and save the raw weights instead of the averaged ones.

    thinc's ``finish_update`` replaces each ``param.data`` by a new tensor made through
    DLPack from the optimizer's array, which is itself a view of the old tensor: every
    step adds a link to a chain that is never freed (training memory grew by megabytes
    per step). Copying the result into the existing tensor avoids it.
    """

    def finish_update(self, optimizer) -> None:
        for name, param in self._model.named_parameters():
            if param.grad is None:
                continue
            if not self._grad_scaler.found_inf:  # skip the step if a gradient overflowed
                weights, _ = optimizer((self.id, name), torch2xp(param.data), torch2xp(param.grad))
                # through .data, as thinc does: the update does not count as an in-place
                # change for autograd (spaCy's shared tok2vec can backprop after it)
                param.data.copy_(xp2torch(weights, device=param.device))
            param.grad.zero_()
        self._grad_scaler.update()

    @contextlib.contextmanager
    def use_params(self, params):
        averaged = {
            name: xp2torch(params[(self.id, name)], device=self.device)
            for name, _ in self._model.named_parameters()
            if (self.id, name) in params
        }
        if not averaged:
            yield
            return
        backup = {k: v.detach().clone() for k, v in self._model.state_dict().items()}
        self._model.load_state_dict(averaged, strict=False)
        try:
            yield
        finally:
            self._model.load_state_dict(backup)


class LazyShim(AveragingShim):
    """A shim whose torch module is built by ``factory(**cfg)`` once ``cfg[size_key]`` is
    known: at ``build(size)`` (the layer's ``initialize``, when the input width or the
    vocabulary size is known) or at ``from_bytes`` (the saved ``cfg`` has it). Until
    then it holds an empty ``torch.nn.Module``. ``cfg`` is saved with the model."""

    def __init__(self, factory: Callable[..., torch.nn.Module], cfg: dict, size_key: str):
        super().__init__(torch.nn.Module(), config=dict(cfg))
        self._factory = factory
        self._size_key = size_key

    @property
    def is_built(self) -> bool:
        return next(self._model.parameters(), None) is not None

    @property
    def size(self):
        return self.cfg.get(self._size_key)

    def build(self, size: int) -> None:
        self.cfg[self._size_key] = size
        self._model = self._factory(**self.cfg).to(self.device)

    def from_bytes(self, bytes_data: bytes) -> "LazyShim":
        cfg = srsly.msgpack_loads(bytes_data)["config"]
        if cfg.get(self._size_key) is not None:
            self.cfg = cfg
            self.build(cfg[self._size_key])
        return super().from_bytes(bytes_data)


def torch_parameters(shim: Shim) -> Iterator[torch.nn.Parameter]:
    """The torch parameters of a PyTorch shim (none for other shims)."""
    if isinstance(shim, PyTorchShim):
        yield from shim._model.parameters()


def torch_module(shim: Shim) -> torch.nn.Module:
    """The torch module a PyTorch shim wraps (for inspection and tests)."""
    if not isinstance(shim, PyTorchShim):
        raise TypeError(f"{type(shim).__name__} is not a PyTorch shim.")
    return shim._model


def use_mixed_precision(model, enabled: bool = True) -> int:
    """Switch the PyTorch shims under ``model`` (a thinc Model) to mixed precision (and a
    gradient scaler) or back: thinc's ``PyTorchWrapper(mixed_precision=...)`` option,
    for models already built. CUDA only. Returns the number of shims changed."""
    from thinc.api import PyTorchGradScaler

    count = 0
    for node in model.walk():
        for shim in node.shims:
            if isinstance(shim, PyTorchShim):
                shim._mixed_precision = enabled
                shim._grad_scaler = PyTorchGradScaler(enabled=enabled)
                count += 1
    return count
