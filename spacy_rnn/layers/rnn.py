"""The thinc layer over ``spacy_rnn.modules.rnn.PackedRNN``.

Data flow of ``rnn``::

    List[Floats2d]  (one (n_tokens_i, nI) array per doc)
      -> one (sum n_tokens_i, nI) array                       (ops.flatten)
      -> the lengths of the sequences read: each doc, or its ``window``-token pieces
      -> torch: PackedRNN (dropout, packed nn.LSTM/GRU/RNN, dropout)
      -> one (sum n_tokens_i, nO) array -> List[Floats2d]     (ops.unflatten)
"""

from dataclasses import asdict
from typing import Callable, List, Optional, Sequence, Tuple

from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from ..modules.rnn import PackedRNN, RNNOptions
from ..shims import LazyShim
from .dropout import training_dropout


def rnn(options: RNNOptions, *, nI: Optional[int] = None, window: int = 0) -> Model[List[Floats2d], List[Floats2d]]:
    """A PyTorch RNN as a thinc layer over lists of per-doc arrays.

    In: one ``(n_tokens, nI)`` array per doc. Out: one ``(n_tokens, nO)`` array per doc,
    ``nO = options.output_size``. Docs may be empty. ``nI`` is inferred from the data at
    ``initialize`` when not given.

    ``window > 0`` bounds the recurrence: a doc longer than ``window`` tokens is read as
    consecutive windows of ``window`` tokens, each from a fresh state, all in one packed
    batch (so long docs run in parallel and backpropagation never spans more than
    ``window`` steps). ``window = 0`` reads every doc whole.

    ``attrs["dropout_rate"]`` (set by spaCy's ``set_dropout_rate`` from ``[training]
    dropout``) is applied to the RNN's inputs and outputs while training;
    ``options.dropout`` is torch's dropout between stacked layers.
    """
    if not isinstance(window, int) or isinstance(window, bool) or window < 0:
        raise ValueError(f"RNN option window must be an integer >= 0, got {window!r}.")
    shim = LazyShim(PackedRNN.from_config, asdict(options), "input_size")
    if nI is not None:
        shim.build(nI)
    return Model(
        "rnn",
        forward,
        init=init,
        shims=[shim],
        dims={"nI": nI, "nO": options.output_size},
        attrs={"dropout_rate": 0.0, "cell": options.cell, "window": window, "bidirectional": options.bidirectional},
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
    rate = training_dropout(model) if is_train else 0.0
    Xt = xp2torch(ops.flatten(Xs), requires_grad=is_train, device=shim.device)
    seq_lengths = windows(lengths, model.attrs["window"])
    Yt, torch_backprop = shim(ArgsKwargs(args=(Xt, seq_lengths), kwargs={"dropout": rate}), is_train)
    Ys = ops.unflatten(torch2xp(Yt, ops=ops), lengths)

    def backprop(dYs: List[Floats2d]) -> List[Floats2d]:
        dYt = xp2torch(ops.flatten(dYs), device=shim.device)
        dXt = torch_backprop(ArgsKwargs(args=(Yt,), kwargs={"grad_tensors": dYt}))
        return ops.unflatten(torch2xp(dXt.args[0], ops=ops), lengths)

    return Ys, backprop


def windows(lengths: Sequence[int], window: int) -> List[int]:
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
