"""Reading sequences in windows with the recurrent state carried inside (truncated BPTT).

``read_in_windows(inputs, aux, bptt, step)``: the sequences are sorted longest first once,
so the sequences still running in window k are a prefix of those of window k - 1, and
each takes its own state: a state can only go to its own sequence. ``step`` runs one
window; while training, windows after the first are checkpointed (recomputed in the
backward pass with the random state kept, so dropout masks repeat exactly), which keeps
memory to about two windows however long a sequence is. With ``variable`` (training
only) the windows have AWD-LSTM's random lengths (``window_sizes``), so that the cuts fall
elsewhere at every pass over a long sequence.
"""

from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.checkpoint import checkpoint

State = List  # per layer: h, or (h, c) for an LSTM; each (1, n_seqs, width)
StepOutput = Tuple[torch.Tensor, State, Optional[torch.Tensor]]
Step = Callable[[torch.Tensor, torch.Tensor, List[int], Optional[State]], StepOutput]


def detach(state: State) -> State:
    return [tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach() for h in state]


def first(state: State, n: int) -> State:
    """The states of the first ``n`` sequences."""
    return [tuple(t[:, :n] for t in h) if isinstance(h, tuple) else h[:, :n] for h in state]


def window_sizes(total: int, bptt: int, *, variable: bool = False) -> List[int]:
    """The lengths of the successive windows that cover ``total`` positions: ``bptt``
    each (the last one shorter), or with ``variable`` those of AWD-LSTM (Merity et al.
    2018): each drawn from N(bptt, 5) with probability 0.95, else from N(bptt / 2, 5),
    rounded and clipped to [1, bptt + 40]; drawn with torch's random generator."""
    if bptt < 1:
        raise ValueError(f"bptt must be >= 1, got {bptt}.")
    sizes: List[int] = []
    covered = 0
    while covered < total:
        size = bptt
        if variable:
            mean = bptt if float(torch.rand(())) < 0.95 else bptt / 2
            size = min(max(1, round(float(torch.normal(float(mean), 5.0, ())))), bptt + 40)
        size = min(size, total - covered)
        sizes.append(size)
        covered += size
    return sizes


def read_in_windows(
    inputs: Sequence[torch.Tensor],
    aux: Sequence[torch.Tensor],
    bptt: int,
    step: Step,
    *,
    checkpointed: bool,
    variable: bool = False,
) -> Tuple[List[torch.Tensor], List[Optional[torch.Tensor]]]:
    """Run ``step`` over windows of ``bptt`` positions (of ``window_sizes(..., variable)``).

    inputs[i], aux[i]: sequence i's per-position inputs ``(L_i, ...)`` and what goes with
        them (e.g. its target ids), cut into windows alike; every ``L_i >= 1``.
    step(X, A, lengths, state): padded ``(m, t, ...)`` inputs and aux of the ``m``
        sequences of a window (sorted longest first), their lengths in it, and their
        states at its start (None: fresh) -> ``(Y, new_state, last)``: per-position
        outputs ``(m, t, ...)``, the states at the end, and optionally a row per sequence
        from its last position ``(m, ...)``.
    checkpointed: checkpoint windows after the first (while training).
    variable: random window lengths around ``bptt`` (while training).

    Returns per sequence its outputs ``(L_i, ...)`` and the ``last`` row of its final window.
    """
    lengths = [len(x) for x in inputs]
    order = sorted(range(len(inputs)), key=lambda i: -lengths[i])  # stable
    pieces: List[List[torch.Tensor]] = [[] for _ in inputs]
    lasts: List[Optional[torch.Tensor]] = [None] * len(inputs)
    state: Optional[State] = None
    start = 0
    for k, size in enumerate(window_sizes(max(lengths, default=0), bptt, variable=variable)):
        active = [i for i in order if lengths[i] > start]  # a prefix of order
        X = pad_sequence([inputs[i][start : start + size] for i in active], batch_first=True)
        A = pad_sequence([aux[i][start : start + size] for i in active], batch_first=True)
        window_lengths = [min(size, lengths[i] - start) for i in active]  # non-increasing
        if state is not None:
            state = first(state, len(active))
        if k > 0 and checkpointed:
            Y, state, last = checkpoint(step, X, A, window_lengths, state, use_reentrant=False, preserve_rng_state=True)
        else:
            Y, state, last = step(X, A, window_lengths, state)
        state = detach(state)
        for j, i in enumerate(active):
            pieces[i].append(Y[j, : window_lengths[j]])
            if last is not None and lengths[i] <= start + size:
                lasts[i] = last[j]
        start += size
    return [torch.cat(p) for p in pieces], lasts
