"""A PyTorch RNN (Elman tanh/ReLU, LSTM, GRU) over packed sequences.

``PackedRNN.forward(X, lengths)``::

    X: (sum(lengths), input_size), the tokens of several sequences stacked
      -> dropout -> split into sequences -> pack_sequence -> nn.LSTM / GRU / RNN
      -> unpack (original order) -> the real positions, row-major -> dropout
    -> (sum(lengths), output_size), stacked the same way

Packing means every sequence is read only up to its own last token in both directions, so
a sequence's vectors never depend on the other sequences of the batch.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
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
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"RNN option dropout must be in [0, 1), got {dropout!r}.")
    if not isinstance(proj_size, int) or isinstance(proj_size, bool) or proj_size < 0:
        raise ValueError(f"RNN option proj_size must be an integer >= 0, got {proj_size!r}.")
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
    """A torch RNN (``torch.nn.LSTM``, ``GRU`` or ``RNN``) run over packed sequences
    (see the module docstring). Every length must be > 0.

    ``dropout`` is torch's dropout between stacked layers; the ``dropout`` argument of
    :meth:`forward` is applied to the RNN's inputs and outputs while training.
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
        self.output_size = rnn_output_width(hidden_size, bidirectional, proj_size)

    def forward(self, X: torch.Tensor, lengths: Sequence[int], dropout: float = 0.0) -> torch.Tensor:
        X = torch.nn.functional.dropout(X, dropout, self.training)
        packed = pack_sequence(torch.split(X, list(lengths)), enforce_sorted=False)
        out, _ = self.rnn(packed)
        # pad_packed_sequence restores the original order; the mask drops the padding
        # row-major, i.e. in the same sequence-by-sequence order as X.
        padded, lens = pad_packed_sequence(out, batch_first=True)
        mask = torch.arange(padded.shape[1])[None, :] < lens[:, None]
        return torch.nn.functional.dropout(padded[mask.to(padded.device)], dropout, self.training)
