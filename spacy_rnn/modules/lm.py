"""The RNN language model as a pure PyTorch module.

``RNNLM.forward(ids, bptt=...)`` takes whole sequences and returns, for each, the
log-probability of each of its tokens given the tokens before it, then of the end of the
sequence::

    ids: per sequence its token ids w1 .. wn (a 1-d int64 tensor, n >= 0)
      -> fed <eos> w1 .. wn (the end-of-sentence symbol starts it), predicting w1 .. wn <eos>
      -> sequences sorted longest first, then read in windows of ``bptt`` positions:
         window k holds the sequences still running, a prefix of the sorted batch, and
         starts from their states at the end of window k - 1 (detached: truncated BPTT)
         embedding (embedding dropout) -> locked dropout -> RNN layer 1 -> locked dropout
         -> ... -> RNN layer n -> locked dropout -> output layer -> log-probabilities
      -> one flat (sum(n_i + 1),) tensor, sequence by sequence in the input order

The recurrent state never leaves the module, and sorting once makes the sequences of each
window a prefix of the previous window's, so a state can only go to its own sequence (a
doc's scores never depend on the other sequences of the batch). While training, windows
after the first are checkpointed (``torch.utils.checkpoint``, with the random state kept,
so dropout masks are drawn again identically): memory stays bounded by about two windows
however long a sequence is.

The regularisers are those of AWD-LSTM (Merity et al. 2018): embedding dropout (whole word
types), locked (variational) dropout with one mask per sequence and window on the
embeddings, between layers and on the output, and weight-drop (DropConnect) on the
hidden-to-hidden matrices.
"""

import copy
from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence, Tuple

import torch
from torch.nn.utils import parametrize
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .rnn import CELLS, RNNOptions, check_positive_int
from .windows import State, read_in_windows

UNK, EOS = 0, 1  # fixed ids of the unknown-word and end-of-sentence symbols


class WeightDrop(torch.nn.Module):
    """DropConnect on a weight matrix while training (a torch parametrization)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, W: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.dropout(W, self.p, self.training)


class HoldsWeightDrop(torch.nn.Module):
    """A module whose torch RNN layers carry ``WeightDrop``, and which ``copy.deepcopy``
    can still copy (spaCy's ``Language.resume_training``, thinc's ``Model.copy``).

    A torch RNN keeps the weights of its last forward pass; in training mode those are
    the dropped matrices, tensors with an autograd history, which deepcopy refuses. In
    eval mode ``WeightDrop`` passes the parameters through, and an RNN re-reads its
    weights when moved (``.to``, here to the device it is on), so they are then the
    parameters themselves; the copy and the original return to the mode they had.
    """

    def __deepcopy__(self, memo: dict) -> "HoldsWeightDrop":
        training = self.training
        self.eval()
        for layer in self.modules():
            if isinstance(layer, torch.nn.RNNBase):
                layer.to(next(layer.parameters()).device)
        try:
            clone = self.__class__.__new__(self.__class__)
            memo[id(self)] = clone
            clone.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        finally:
            self.train(training)
        return clone.train(training)

    @staticmethod
    def add_weight_drop(layer: torch.nn.RNNBase, p: float) -> None:
        """DropConnect (``WeightDrop(p)``) on ``layer``'s hidden-to-hidden matrix."""
        parametrize.register_parametrization(layer, "weight_hh_l0", WeightDrop(p))


@dataclass(frozen=True)
class LMOptions:
    """The settings of an ``RNNLM`` other than its vocabulary size, checked when made: a
    ValueError names the option that is unusable.

    embed_size: embedding width. cell, hidden_size, num_layers, proj_size: the stacked
    unidirectional RNN layers. tie_weights: the output layer reuses the embedding matrix
    (needs ``proj_size or hidden_size == embed_size``). embed_dropout: drop whole word
    types from the embedding matrix while training. input_dropout, hidden_dropout: locked
    dropout on the embeddings and between layers. weight_dropout: DropConnect on each
    layer's hidden-to-hidden matrix.
    """

    embed_size: int = 256
    cell: str = "lstm"
    hidden_size: int = 512
    num_layers: int = 2
    proj_size: int = 0
    tie_weights: bool = True
    embed_dropout: float = 0.0
    input_dropout: float = 0.0
    hidden_dropout: float = 0.0
    weight_dropout: float = 0.0

    def __post_init__(self) -> None:
        RNNOptions(self.cell, self.hidden_size, self.num_layers, proj_size=self.proj_size)
        check_positive_int("embed_size", self.embed_size)
        for name in ("embed_dropout", "input_dropout", "hidden_dropout", "weight_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"Language model option {name} must be in [0, 1), got {value!r}.")
        width = self.proj_size or self.hidden_size
        if self.tie_weights and width != self.embed_size:
            raise ValueError(
                f"tie_weights needs the last RNN layer's output width (proj_size or hidden_size = "
                f"{width}) to equal embed_size ({self.embed_size}); set proj_size = "
                f"{self.embed_size} (LSTM), hidden_size = {self.embed_size}, or tie_weights = false."
            )


def locked_dropout(data: torch.Tensor, rows: torch.Tensor, n_seqs: int, p: float, training: bool) -> torch.Tensor:
    """Dropout with one mask per sequence on packed ``data`` (``rows[k]``: the sequence of
    packed row k)."""
    if not training or p == 0.0:
        return data
    mask = data.new_empty((n_seqs, data.shape[1])).bernoulli_(1 - p) / (1 - p)
    return data * mask[rows]


class RNNLM(HoldsWeightDrop):
    """Embedding -> stacked unidirectional RNN layers -> output layer over the vocabulary.

    With ``tie_weights`` the output layer reuses the embedding matrix, so the last
    layer's output width, ``proj_size or hidden_size``, must equal ``embed_size``.
    """

    def __init__(self, n_vocab: int, options: LMOptions):
        super().__init__()
        check_positive_int("n_vocab", n_vocab)
        embed_size, hidden_size, proj_size = options.embed_size, options.hidden_size, options.proj_size
        self.options = options
        self.embed = torch.nn.Embedding(n_vocab, embed_size)
        cls, extra = CELLS[options.cell]
        self.layers = torch.nn.ModuleList()
        width = embed_size
        for _ in range(options.num_layers):
            kwargs = dict(extra, proj_size=proj_size) if proj_size else dict(extra)
            layer = cls(width, hidden_size, batch_first=True, **kwargs)
            if options.weight_dropout:
                self.add_weight_drop(layer, options.weight_dropout)
            self.layers.append(layer)
            width = proj_size or hidden_size
        self.decoder = torch.nn.Linear(width, n_vocab)
        if options.tie_weights:
            self.decoder.weight = self.embed.weight
        self.embed_dropout = options.embed_dropout
        self.input_dropout = options.input_dropout
        self.hidden_dropout = options.hidden_dropout
        # recompute windows after the first in the backward pass (bounded memory); the
        # gradients are the same either way
        self.checkpoint_windows = True
        torch.nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        torch.nn.init.zeros_(self.decoder.bias)

    @classmethod
    def from_config(cls, n_vocab: int, **options) -> "RNNLM":
        """Build from a flat config: ``n_vocab`` and the fields of ``LMOptions`` (the
        ``cfg`` a saved model keeps)."""
        return cls(n_vocab, LMOptions(**options))

    def forward(
        self,
        ids: Sequence[torch.Tensor],
        *,
        bptt: int,
        output_dropout: float = 0.0,
        next_logprobs: bool = False,
        variable_bptt: bool = False,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Score whole sequences (see the module docstring).

        Returns the flat ``(sum(len(ids[i]) + 1),)`` log-probabilities, sequence by
        sequence, and with ``next_logprobs`` the ``(n_seqs, n_vocab)`` log-distribution
        of the token after each sequence (the one from which its ``<eos>`` is predicted),
        else None. ``output_dropout`` is the locked dropout on the last layer's output
        while training (spaCy's ``[training] dropout``); ``variable_bptt``: windows of
        random lengths around ``bptt`` (``windows.window_sizes``; while training).
        """
        if not 0.0 <= output_dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {output_dropout!r}.")
        device = self.embed.weight.device
        eos = torch.full((1,), EOS, dtype=torch.int64, device=device)
        inputs = [torch.cat([eos, x.to(device=device, dtype=torch.int64)]) for x in ids]
        targets = [torch.cat([x.to(device=device, dtype=torch.int64), eos]) for x in ids]
        step = partial(self._window, output_dropout=output_dropout, with_last=next_logprobs)
        checkpointed = self.checkpoint_windows and self.training and torch.is_grad_enabled()
        pieces, ends = read_in_windows(inputs, targets, bptt, step, checkpointed=checkpointed, variable=variable_bptt)
        flat = torch.cat(pieces) if pieces else torch.zeros(0, device=device)
        if not next_logprobs:
            return flat, None
        if not inputs:
            return flat, torch.zeros((0, self.decoder.out_features), device=device)
        return flat, torch.log_softmax(self.decoder(torch.stack(ends)), dim=-1)

    def _window(
        self,
        X: torch.Tensor,
        T: torch.Tensor,
        lengths: List[int],
        state: Optional[State],
        *,
        output_dropout: float,
        with_last: bool,
    ) -> Tuple[torch.Tensor, State, Optional[torch.Tensor]]:
        """One window: padded ``(m, t)`` input and target ids of sequences sorted longest
        first -> the ``(m, t)`` log-probabilities of the targets (0 at padding), the final
        states, and with ``with_last`` the last layer's output at each sequence's last
        position ``(m, width)``."""
        lengths_t = torch.as_tensor(lengths, dtype=torch.int64)
        packed = pack_padded_sequence(self._embed(X), lengths_t, batch_first=True, enforce_sorted=True)
        rows = torch.cat([torch.arange(int(b)) for b in packed.batch_sizes]).to(X.device)
        n = len(lengths)
        data = locked_dropout(packed.data, rows, n, self.input_dropout, self.training)
        new_state = []
        for i, layer in enumerate(self.layers):
            out, h = layer(packed._replace(data=data), None if state is None else state[i])
            p = output_dropout if i == len(self.layers) - 1 else self.hidden_dropout
            data = locked_dropout(out.data, rows, n, p, self.training)
            new_state.append(h)
        target_data = pack_padded_sequence(T, lengths_t, batch_first=True, enforce_sorted=True).data
        picked, _ = pad_packed_sequence(
            packed._replace(data=self._target_logprobs(data, target_data)),
            batch_first=True,
            total_length=X.shape[1],
        )
        last = None
        if with_last:
            outputs, _ = pad_packed_sequence(packed._replace(data=data), batch_first=True)
            last = outputs[torch.arange(n, device=outputs.device), lengths_t.to(outputs.device) - 1]
        return picked, new_state, last

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        weight = self.embed.weight
        if self.training and self.embed_dropout:
            keep = weight.new_empty((weight.shape[0], 1)).bernoulli_(1 - self.embed_dropout)
            weight = weight * keep / (1 - self.embed_dropout)
        return torch.nn.functional.embedding(ids, weight)

    def _target_logprobs(self, data: torch.Tensor, targets: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """log p(target) at each position. Without gradients the output layer runs on
        ``chunk`` positions at a time, so memory does not grow with n_positions x n_vocab."""
        if torch.is_grad_enabled():
            return -torch.nn.functional.cross_entropy(self.decoder(data), targets, reduction="none")
        if not data.shape[0]:
            return data.new_zeros(0)
        return torch.cat(
            [
                -torch.nn.functional.cross_entropy(
                    self.decoder(data[i : i + chunk]), targets[i : i + chunk], reduction="none"
                )
                for i in range(0, data.shape[0], chunk)
            ]
        )
