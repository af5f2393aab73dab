"""A PyTorch RNN (Elman tanh/ReLU, LSTM, GRU) over packed sequences.

``PackedRNN.forward(X, lengths)``::

    X: (sum(lengths), input_size), the tokens of several sequences stacked
      -> dropout -> rows reordered into a PackedSequence (``packed_positions``: no
         padding) -> nn.LSTM / GRU / RNN -> rows put back in X's order -> dropout
    -> (sum(lengths), output_size), stacked the same way

Packing means every sequence is read only up to its own last token in both directions, so
a sequence's vectors never depend on the other sequences of the batch.
"""

from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import torch
from torch.nn.utils.rnn import PackedSequence

CELLS: Dict[str, Tuple[type, dict]] = {
    "lstm": (torch.nn.LSTM, {}),
    "gru": (torch.nn.GRU, {}),
    "rnn_tanh": (torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNN, {"nonlinearity": "relu"}),
}


def rnn_output_width(hidden_size: int, bidirectional: bool, proj_size: int = 0) -> int:
    """Width of the vectors the RNN returns per token."""
    return (proj_size or hidden_size) * (2 if bidirectional else 1)


def check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"RNN option {name} must be a positive integer, got {value!r}.")


@dataclass(frozen=True)
class RNNOptions:
    """The settings of a ``PackedRNN`` other than its input width, checked when made: a
    ValueError names the option that is unusable. ``dropout`` is torch's dropout between
    stacked layers; ``proj_size`` is for LSTMs only."""

    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    proj_size: int = 0
    bias: bool = True

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"Unknown RNN cell {self.cell!r}: choose one of {sorted(CELLS)}.")
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)
        dropout = self.dropout
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"RNN option dropout must be in [0, 1), got {dropout!r}.")
        proj = self.proj_size
        if not isinstance(proj, int) or isinstance(proj, bool) or proj < 0:
            raise ValueError(f"RNN option proj_size must be an integer >= 0, got {proj!r}.")
        if proj and self.cell != "lstm":
            raise ValueError(
                f"RNN option proj_size is only supported for cell='lstm', not {self.cell!r} (set proj_size = 0)."
            )
        if proj and not proj < self.hidden_size:
            raise ValueError(f"RNN option proj_size must be in [0, hidden_size={self.hidden_size}), got {proj}.")

    @property
    def output_size(self) -> int:
        """Width of the vectors the RNN returns per token."""
        return rnn_output_width(self.hidden_size, self.bidirectional, self.proj_size)


class PackedRNN(torch.nn.Module):
    """A torch RNN (``torch.nn.LSTM``, ``GRU`` or ``RNN``) run over packed sequences
    (see the module docstring). Every length must be > 0.

    ``options.dropout`` is torch's dropout between stacked layers; the ``dropout``
    argument of :meth:`forward` is applied to the RNN's inputs and outputs while training.
    """

    def __init__(self, input_size: int, options: RNNOptions):
        super().__init__()
        check_positive_int("input_size", input_size)
        cls, extra = CELLS[options.cell]
        if options.proj_size:
            extra = {**extra, "proj_size": options.proj_size}
        self.rnn = cls(
            input_size,
            options.hidden_size,
            num_layers=options.num_layers,
            bias=options.bias,
            batch_first=True,
            # torch warns about dropout on a single layer, where it does nothing
            dropout=options.dropout if options.num_layers > 1 else 0.0,
            bidirectional=options.bidirectional,
            **extra,
        )
        self.output_size = options.output_size

    @classmethod
    def from_config(cls, input_size: int, **options) -> "PackedRNN":
        """Build from a flat config: ``input_size`` and the fields of ``RNNOptions`` (the
        ``cfg`` a saved model keeps)."""
        return cls(input_size, RNNOptions(**options))

    def forward(self, X: torch.Tensor, lengths: Sequence[int], dropout: float = 0.0) -> torch.Tensor:
        X = torch.nn.functional.dropout(X, dropout, self.training)
        batch_sizes, to_packed, from_packed = packed_positions(lengths)
        packed = PackedSequence(X.index_select(0, from_packed.to(X.device)), batch_sizes)
        out, _ = self.rnn(packed)
        Y = out.data.index_select(0, to_packed.to(X.device))
        return torch.nn.functional.dropout(Y, dropout, self.training)


def packed_positions(lengths: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where the rows of sequences stacked one after another go in a PackedSequence.

    lengths: the sequences' lengths, each > 0, in stacking order (``n`` sequences,
    ``N = sum(lengths)`` rows). The packed order is time-major over the sequences
    sorted longest first (ties in stacking order), as ``pack_sequence`` makes it, but
    built without padding every sequence to the longest.

    Returns, on the CPU: ``batch_sizes`` ``(max(lengths),)``, how many sequences are
    still running at each step; ``to_packed`` ``(N,)``, the packed row of each stacked
    row; ``from_packed`` ``(N,)``, its inverse (the stacked row of each packed row).
    """
    lens = torch.as_tensor(list(lengths), dtype=torch.long)
    if lens.numel() == 0 or int(lens.min()) < 1:
        raise ValueError(f"Every sequence an RNN reads needs at least one row, got lengths {lens.tolist()}.")
    n_rows = int(lens.sum())
    order = torch.sort(lens, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    # batch_sizes[t] = the number of sequences longer than t
    ended_by = torch.cumsum(torch.bincount(lens, minlength=int(lens.max()) + 1), 0)
    batch_sizes = len(lens) - ended_by[:-1]
    step_starts = torch.cumsum(batch_sizes, 0) - batch_sizes
    seq_starts = torch.cumsum(lens, 0) - lens
    step = torch.arange(n_rows) - torch.repeat_interleave(seq_starts, lens)
    to_packed = step_starts[step] + torch.repeat_interleave(rank, lens)
    from_packed = torch.empty_like(to_packed)
    from_packed[to_packed] = torch.arange(n_rows)
    return batch_sizes, to_packed, from_packed
