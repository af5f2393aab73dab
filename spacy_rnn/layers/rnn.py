"""The PyTorch RNN and the thinc layer that wraps it.

Data flow of the thinc layer ``rnn``::

    List[Floats2d]  (one (n_tokens_i, nI) array per doc)
      -> one (sum n_tokens_i, nI) array                       (ops.flatten)
      -> torch: dropout -> pack_sequence -> nn.LSTM/GRU/RNN -> unpack -> dropout
      -> one (sum n_tokens_i, nO) array -> List[Floats2d]     (ops.unflatten)

Packing means every doc is read only up to its own last token in both directions, so a
doc's vectors never depend on the other docs of the batch (spaCy's
``TorchBiLSTMEncoder.v1`` pads instead, and its backward direction reads the padding).
"""
import contextlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import srsly
import torch
from thinc.api import ArgsKwargs, Model, PyTorchShim, torch2xp, xp2torch
from thinc.types import Floats2d
from torch.nn.utils.rnn import pack_sequence, pad_packed_sequence

CELLS: Dict[str, Tuple[type, dict]] = {
    "lstm": (torch.nn.LSTM, {}),
    "gru": (torch.nn.GRU, {}),
    "rnn_tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
}


def rnn_output_width(hidden_size: int, bidirectional: bool, proj_size: int = 0) -> int:
    """Width of the vectors the RNN returns per token."""
    return (proj_size or hidden_size) * (2 if bidirectional else 1)


def validate_rnn_options(
    cell: str,
    input_size: Optional[int],
    hidden_size: int,
    num_layers: int,
    dropout: float,
    proj_size: int,
) -> None:
    """Raise a ValueError naming the option when the RNN settings are unusable."""
    if cell not in CELLS:
        raise ValueError(f"Unknown RNN cell {cell!r}: choose one of {sorted(CELLS)}.")
    sizes = {"hidden_size": hidden_size, "num_layers": num_layers}
    if input_size is not None:
        sizes["input_size"] = input_size
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"RNN option {name} must be a positive integer, got {value!r}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"RNN option dropout must be in [0, 1), got {dropout!r}.")
    if proj_size:
        if cell != "lstm":
            raise ValueError(
                f"RNN option proj_size is only supported for cell='lstm', not {cell!r} "
                "(set proj_size = 0)."
            )
        if not 0 < proj_size < hidden_size:
            raise ValueError(
                f"RNN option proj_size must be in [0, hidden_size={hidden_size}), got {proj_size}."
            )


class PackedRNN(torch.nn.Module):
    """A torch RNN (``torch.nn.LSTM``, ``GRU`` or ``RNN``) run over packed sequences.

    ``forward(X, lengths)`` takes the tokens of several sequences stacked into one
    ``(sum(lengths), input_size)`` tensor and returns their hidden states stacked the
    same way, ``(sum(lengths), output_size)``. Every length must be > 0.

    ``dropout`` is torch's dropout between stacked layers. ``io_dropout`` is applied to
    the RNN's inputs and outputs; the thinc layer sets its rate from spaCy's
    ``[training] dropout`` (see :func:`rnn`).
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        proj_size: int = 0,
        bias: bool = True,
    ):
        super().__init__()
        validate_rnn_options(cell, input_size, hidden_size, num_layers, dropout, proj_size)
        cls, extra = CELLS[cell]
        if proj_size:
            extra = {**extra, "proj_size": proj_size}
        self.rnn = cls(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bias=bias,
            batch_first=True,
            # torch warns about dropout on a single layer, where it does nothing
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
            **extra,
        )
        self.io_dropout = torch.nn.Dropout(0.0)
        self.output_size = rnn_output_width(hidden_size, bidirectional, proj_size)

    def forward(self, X: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
        X = self.io_dropout(X)
        packed = pack_sequence(torch.split(X, list(lengths)), enforce_sorted=False)
        out, _ = self.rnn(packed)
        # pad_packed_sequence restores the original order; the mask drops the padding
        # row-major, i.e. in the same doc-by-doc order as X.
        padded, lens = pad_packed_sequence(out, batch_first=True)
        mask = torch.arange(padded.shape[1])[None, :] < lens[:, None]
        return self.io_dropout(padded[mask.to(padded.device)])


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


class RNNShim(AveragingShim):
    """The shim of the ``rnn`` layer: the torch module is built once the input width is
    known (at ``initialize`` or ``from_bytes``), so any embedding layer can feed the RNN
    without the config repeating its width. ``cfg`` holds the ``PackedRNN`` arguments.
    """

    def __init__(self, cfg: dict):
        super().__init__(torch.nn.Module(), config=dict(cfg))

    @property
    def is_built(self) -> bool:
        return isinstance(self._model, PackedRNN)

    def build(self, input_size: int) -> None:
        self.cfg["input_size"] = input_size
        self._model = PackedRNN(**self.cfg).to(self.device)

    def from_bytes(self, bytes_data: bytes) -> "RNNShim":
        cfg = srsly.msgpack_loads(bytes_data)["config"]
        if cfg.get("input_size") is not None and not self.is_built:
            self.cfg = cfg
            self.build(cfg["input_size"])
        return super().from_bytes(bytes_data)


def rnn(
    cell: str,
    hidden_size: int,
    *,
    nI: Optional[int] = None,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    proj_size: int = 0,
    bias: bool = True,
    window: int = 0,
) -> Model[List[Floats2d], List[Floats2d]]:
    """A PyTorch RNN as a thinc layer over lists of per-doc arrays.

    In: one ``(n_tokens, nI)`` array per doc. Out: one ``(n_tokens, nO)`` array per doc,
    ``nO = (proj_size or hidden_size) * (2 if bidirectional else 1)``. Docs may be empty.
    ``nI`` is inferred from the data at ``initialize`` when not given.

    ``window > 0`` bounds the recurrence: a doc longer than ``window`` tokens is read as
    consecutive windows of ``window`` tokens, each from a fresh state, all in one packed
    batch (so long docs run in parallel and backpropagation never spans more than
    ``window`` steps). ``window = 0`` reads every doc whole.

    ``attrs["dropout_rate"]`` (set by spaCy's ``set_dropout_rate`` from ``[training]
    dropout``) is applied to the RNN's inputs and outputs while training; ``dropout``
    is torch's dropout between stacked layers.
    """
    validate_rnn_options(cell, nI, hidden_size, num_layers, dropout, proj_size)
    if not isinstance(window, int) or isinstance(window, bool) or window < 0:
        raise ValueError(f"RNN option window must be an integer >= 0, got {window!r}.")
    cfg = dict(
        cell=cell,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        proj_size=proj_size,
        bias=bias,
    )
    shim = RNNShim(cfg)
    if nI is not None:
        shim.build(nI)
    return Model(
        "rnn",
        forward,
        init=init,
        shims=[shim],
        dims={"nI": nI, "nO": rnn_output_width(hidden_size, bidirectional, proj_size)},
        attrs={"dropout_rate": 0.0, "cell": cell, "window": window},
    )


def init(
    model: Model[List[Floats2d], List[Floats2d]],
    X: Optional[List[Floats2d]] = None,
    Y: Optional[List[Floats2d]] = None,
) -> None:
    if X is not None and len(X):
        model.set_dim("nI", X[0].shape[1])
    if not model.has_dim("nI"):
        raise ValueError(
            "The rnn layer needs its input width: initialize it with a sample of input "
            "arrays (spaCy does this with the initialization docs) or pass nI."
        )
    shim = model.shims[0]
    if not shim.is_built:
        shim.build(model.get_dim("nI"))


def forward(
    model: Model[List[Floats2d], List[Floats2d]], Xs: List[Floats2d], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    ops = model.ops
    shim = model.shims[0]
    if not shim.is_built:
        raise ValueError("The rnn layer is not initialized: call initialize() (or nlp.initialize()) first.")
    lengths = [len(X) for X in Xs]
    nO = model.get_dim("nO")
    if sum(lengths) == 0:
        return [ops.alloc2f(0, nO) for _ in Xs], lambda dYs: [ops.alloc2f(*X.shape) for X in Xs]
    shim._model.io_dropout.p = float(model.attrs["dropout_rate"]) if is_train else 0.0
    Xt = xp2torch(ops.flatten(Xs), requires_grad=is_train, device=shim.device)
    seq_lengths = _windows(lengths, model.attrs["window"])
    Yt, torch_backprop = shim(ArgsKwargs(args=(Xt, seq_lengths), kwargs={}), is_train)
    Ys = ops.unflatten(torch2xp(Yt, ops=ops), lengths)

    def backprop(dYs: List[Floats2d]) -> List[Floats2d]:
        dYt = xp2torch(ops.flatten(dYs), device=shim.device)
        dXt = torch_backprop(ArgsKwargs(args=(Yt,), kwargs={"grad_tensors": dYt}))
        return ops.unflatten(torch2xp(dXt.args[0], ops=ops), lengths)

    return Ys, backprop


def _windows(lengths: Sequence[int], window: int) -> List[int]:
    """The lengths of the sequences the RNN reads: each non-empty doc whole, or cut
    into consecutive pieces of at most ``window`` tokens (rows stay in order)."""
    if not window:
        return [n for n in lengths if n]
    pieces = []
    for n in lengths:
        full, rest = divmod(n, window)
        pieces.extend([window] * full)
        if rest:
            pieces.append(rest)
    return pieces
