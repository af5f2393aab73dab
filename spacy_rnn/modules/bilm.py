"""A forward, backward or bidirectional RNN language model over given input vectors: the
model of ``spacy_rnn.RNNLanguageModel.v2`` (whose embeddings are a thinc layer, e.g.
spaCy's ``MultiHashEmbed``) and of the encoders that carry it into other tasks.

``BiRNNLM.forward(X, lengths, targets, bptt=...)``::

    X: (sum(lengths), input_size), the token vectors of several sequences, stacked
    targets: (sum(lengths),), their vocabulary ids
      -> per direction ("forward": left to right; "backward": right to left), each sequence
         fed [start] + its vectors, predicting its ids then <eos>, in windows of bptt
         positions with the state carried inside (spacy_rnn.modules.windows)
         locked dropout -> RNN layer 1 -> locked dropout -> ... -> layer n -> locked dropout
         -> output layer (a softmax over the vocabulary, or torch's adaptive softmax)
    -> log-probabilities (n_directions, sum(lengths + 1)) and a penalty: AWD-LSTM's
       activation regularisation (AR, on the last layer's dropped outputs) and temporal
       activation regularisation (TAR, on the changes of its undropped outputs)

``BiRNNLM.encode(X, lengths)`` gives each token the states of every layer after reading
it (forward: the tokens up to it; backward: from it to the end), what ELMo-style features
and ULMFiT-style fine-tuning use.
"""

from dataclasses import dataclass
from functools import partial
from typing import List, Optional, Sequence, Tuple

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .lm import EOS, HoldsWeightDrop, locked_dropout
from .rnn import CELLS, RNNOptions, check_positive_int
from .windows import State, read_in_windows

DIRECTIONS = {"forward": ("forward",), "backward": ("backward",), "both": ("forward", "backward")}
STACK_NAMES = {"forward": "left_to_right", "backward": "right_to_left"}  # ("forward" is a Module method)


@dataclass(frozen=True)
class BiLMOptions:
    """The settings of a ``BiRNNLM`` other than its input width and vocabulary size,
    checked when made (a ValueError names the option)."""

    cell: str = "lstm"
    hidden_size: int = 512
    num_layers: int = 1
    proj_size: int = 0
    direction: str = "both"
    input_dropout: float = 0.0
    hidden_dropout: float = 0.0
    weight_dropout: float = 0.0
    adaptive_cutoffs: Tuple[int, ...] = ()
    ar: float = 0.0
    tar: float = 0.0

    def __post_init__(self) -> None:
        RNNOptions(self.cell, self.hidden_size, self.num_layers, proj_size=self.proj_size)
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"Language model option direction must be one of {list(DIRECTIONS)}, got {self.direction!r}."
            )
        for name in ("input_dropout", "hidden_dropout", "weight_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"Language model option {name} must be in [0, 1), got {value!r}.")
        for name in ("ar", "tar"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"Language model option {name} must be >= 0, got {value!r}.")
        cutoffs = list(self.adaptive_cutoffs)
        if any(not isinstance(c, int) or c < 1 for c in cutoffs) or cutoffs != sorted(set(cutoffs)):
            raise ValueError(
                f"Language model option adaptive_cutoffs must be increasing positive integers, got {cutoffs!r}."
            )

    @property
    def directions(self) -> Tuple[str, ...]:
        return DIRECTIONS[self.direction]

    @property
    def output_size(self) -> int:
        """Width of one direction's states."""
        return self.proj_size or self.hidden_size


class RNNStack(HoldsWeightDrop):
    """Stacked unidirectional RNN layers with locked dropout between them and weight-drop
    on their hidden-to-hidden matrices. ``layers`` is a ``ModuleList`` of torch RNNs."""

    def __init__(self, input_size: int, options: BiLMOptions):
        super().__init__()
        cls, extra = CELLS[options.cell]
        self.layers = torch.nn.ModuleList()
        width = input_size
        for _ in range(options.num_layers):
            kwargs = dict(extra, proj_size=options.proj_size) if options.proj_size else dict(extra)
            layer = cls(width, options.hidden_size, batch_first=True, **kwargs)
            if options.weight_dropout:
                self.add_weight_drop(layer, options.weight_dropout)
            self.layers.append(layer)
            width = options.output_size
        self.hidden_dropout = options.hidden_dropout

    def forward(self, packed, data: torch.Tensor, rows: torch.Tensor, state: Optional[State], frozen: int = 0):
        """Packed window data (already dropped) -> each layer's packed output data
        (undropped) and the final states. The outputs of the lowest ``frozen`` layers are
        detached: no gradient reaches them or what is below them."""
        outputs, new_state = [], []
        n = int(packed.batch_sizes[0])
        for i, layer in enumerate(self.layers):
            out, h = layer(packed._replace(data=data), None if state is None else state[i])
            out_data = out.data.detach() if i < frozen else out.data
            outputs.append(out_data)
            new_state.append(h)
            if i < len(self.layers) - 1:
                data = locked_dropout(out_data, rows, n, self.hidden_dropout, self.training)
        return outputs, new_state


class BiRNNStacks(torch.nn.Module):
    """The reading part of a ``BiRNNLM``: a learned start vector and an RNN stack per
    direction (parameters ``start``, ``stacks.left_to_right.*``, ``stacks.right_to_left.*``,
    named as in the language model, so its weights load into an encoder)."""

    def __init__(self, input_size: int, options: BiLMOptions):
        super().__init__()
        check_positive_int("input_size", input_size)
        self.options = options
        self.start = torch.nn.Parameter(torch.zeros(len(options.directions), input_size))
        self.stacks = torch.nn.ModuleDict({STACK_NAMES[d]: RNNStack(input_size, options) for d in options.directions})
        self.input_dropout = options.input_dropout
        self.checkpoint_windows = True

    @classmethod
    def from_config(cls, input_size: int, **options) -> "BiRNNStacks":
        if "adaptive_cutoffs" in options:
            options["adaptive_cutoffs"] = tuple(options["adaptive_cutoffs"])
        return cls(input_size, BiLMOptions(**options))

    def forward(
        self, X: torch.Tensor, lengths: Sequence[int], *, bptt: int = 1024, top_only: bool = False, frozen: int = 0
    ) -> torch.Tensor:
        """``encode``, as the module's call (what a shim calls)."""
        return self.encode(X, lengths, bptt=bptt, top_only=top_only, frozen=frozen)

    # reading ------------------------------------------------------------------------
    def _inputs(self, X: torch.Tensor, lengths: Sequence[int], direction: str) -> List[torch.Tensor]:
        """Each sequence's inputs in reading order, after the learned start vector."""
        start = self.start[self.options.directions.index(direction)][None]
        seqs = torch.split(X, list(lengths))
        if direction == "backward":
            seqs = [torch.flip(x, dims=[0]) for x in seqs]
        return [torch.cat([start, x]) for x in seqs]

    def _read_window(self, X: torch.Tensor, lengths: List[int], state: Optional[State], stack, frozen: int = 0):
        """Pack a window's padded inputs ``(m, t, d)`` and run a stack over them: each
        layer's packed outputs, the final states, and the packing."""
        lengths_t = torch.as_tensor(lengths, dtype=torch.int64)
        packed = pack_padded_sequence(X, lengths_t, batch_first=True, enforce_sorted=True)
        rows = torch.cat([torch.arange(int(b)) for b in packed.batch_sizes]).to(X.device)
        data = locked_dropout(packed.data, rows, len(lengths), self.input_dropout, self.training)
        if frozen > 0:
            data = data.detach()  # the embeddings and the start vector are frozen too
        outputs, new_state = stack(packed, data, rows, state, frozen=frozen)
        return outputs, new_state, packed, rows, lengths_t

    def _encode_window(self, X, _aux, lengths, state, *, stack, top_only: bool, frozen: int):
        outputs, new_state, packed, _, _ = self._read_window(X, lengths, state, stack, frozen)
        data = outputs[-1] if top_only else torch.cat(outputs, dim=-1)
        Y, _ = pad_packed_sequence(packed._replace(data=data), batch_first=True)
        return Y, new_state, None

    def encode(
        self, X: torch.Tensor, lengths: Sequence[int], *, bptt: int = 1024, top_only: bool = False, frozen: int = 0
    ) -> torch.Tensor:
        """Each token's states, ``(sum(lengths), width)``: per token ``[forward; backward]``,
        each direction's top layer (``top_only``, width ``n_directions * output_size``) or
        all its layers (``[layer 1 .. n]``). Forward layer l is the state after reading the
        tokens up to this one; backward, after reading from the end down to it. Docs may
        be empty. ``frozen``: the lowest layers (and the inputs) get no gradient."""
        lengths = list(lengths)
        width = self.encoded_width(top_only)
        if not lengths or not sum(lengths):
            return X.new_zeros((0, width))
        checkpointed = self.checkpoint_windows and self.training and torch.is_grad_enabled()
        per_direction = []
        for direction in self.options.directions:
            stack = self.stacks[STACK_NAMES[direction]]
            step = partial(self._encode_window, stack=stack, top_only=top_only, frozen=frozen)
            inputs = self._inputs(X, lengths, direction)
            pieces, _ = read_in_windows(inputs, [x[:, :1] for x in inputs], bptt, step, checkpointed=checkpointed)
            states = [p[1:] for p in pieces]  # the state after each token (not after the start)
            if direction == "backward":
                states = [torch.flip(p, dims=[0]) for p in states]
            per_direction.append(torch.cat(states))
        return torch.cat(per_direction, dim=-1)

    def encoded_width(self, top_only: bool) -> int:
        layers = 1 if top_only else self.options.num_layers
        return len(self.options.directions) * layers * self.options.output_size


class BiRNNLM(BiRNNStacks):
    """An RNN language model over input vectors, in one or both directions (see the module
    docstring). Both directions share the output layer."""

    def __init__(self, input_size: int, n_vocab: int, options: BiLMOptions):
        super().__init__(input_size, options)
        check_positive_int("n_vocab", n_vocab)
        width = options.output_size
        cutoffs = [c for c in options.adaptive_cutoffs if c < n_vocab - 1]
        if cutoffs:
            self.output = torch.nn.AdaptiveLogSoftmaxWithLoss(width, n_vocab, cutoffs, div_value=4.0)
        else:
            self.output = torch.nn.Linear(width, n_vocab)

    @classmethod
    def from_config(cls, input_size: int, n_vocab: int, **options) -> "BiRNNLM":
        """Build from a flat config (the ``cfg`` a saved model keeps)."""
        if "adaptive_cutoffs" in options:
            options["adaptive_cutoffs"] = tuple(options["adaptive_cutoffs"])
        return cls(input_size, n_vocab, BiLMOptions(**options))

    # the output layer ---------------------------------------------------------------
    def target_logprobs(self, H: torch.Tensor, targets: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """log p(target) for each row of states ``H`` (in chunks without gradients)."""
        if not H.shape[0]:
            return H.new_zeros(0)
        if torch.is_grad_enabled():
            return self._picked(H, targets)
        return torch.cat([self._picked(H[i : i + chunk], targets[i : i + chunk]) for i in range(0, H.shape[0], chunk)])

    def _picked(self, H: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if isinstance(self.output, torch.nn.AdaptiveLogSoftmaxWithLoss):
            return self.output(H, targets).output
        return -torch.nn.functional.cross_entropy(self.output(H), targets, reduction="none")

    def log_distribution(self, H: torch.Tensor) -> torch.Tensor:
        """The ``(n, n_vocab)`` log-distribution of the next token after states ``H``."""
        if isinstance(self.output, torch.nn.AdaptiveLogSoftmaxWithLoss):
            return self.output.log_prob(H)
        return torch.log_softmax(self.output(H), dim=-1)

    def _score_window(self, X, T, lengths, state, *, stack, output_dropout: float):
        """One window: per position (log-probability of the target, AR/TAR penalty), the
        final states, and the last layer's output at each sequence's last position."""
        outputs, new_state, packed, rows, lengths_t = self._read_window(X, lengths, state, stack)
        n = len(lengths)
        top = outputs[-1]
        dropped = locked_dropout(top, rows, n, output_dropout, self.training)
        targets = pack_padded_sequence(T, lengths_t, batch_first=True, enforce_sorted=True).data
        penalty = top.new_zeros(top.shape[0])
        if self.training and self.options.ar:
            penalty = penalty + self.options.ar * dropped.pow(2).mean(dim=-1)
        if self.training and self.options.tar:
            H, _ = pad_packed_sequence(packed._replace(data=top), batch_first=True)
            change = (H[:, 1:] - H[:, :-1]).pow(2).mean(dim=-1)  # (n, t - 1), 0 past the end
            change = torch.cat([change.new_zeros((n, 1)), change], dim=1)
            penalty = (
                penalty
                + self.options.tar * pack_padded_sequence(change, lengths_t, batch_first=True, enforce_sorted=True).data
            )
        per_position = torch.stack([self.target_logprobs(dropped, targets), penalty], dim=-1)
        Y, _ = pad_packed_sequence(packed._replace(data=per_position), batch_first=True, total_length=X.shape[1])
        padded_top, _ = pad_packed_sequence(packed._replace(data=dropped), batch_first=True)
        last = padded_top[torch.arange(n, device=X.device), lengths_t.to(X.device) - 1]
        return Y, new_state, last

    def forward(  # type: ignore[override]
        self,
        X: torch.Tensor,
        lengths: Sequence[int],
        targets: torch.Tensor,
        *,
        bptt: int,
        output_dropout: float = 0.0,
        next_logprobs: bool = False,
        variable_bptt: bool = False,
    ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Score sequences (see the module docstring): ``(n_directions, sum(lengths + 1))``
        log-probabilities (per sequence its tokens, then its end; for "backward" in
        reading order, i.e. the sequence reversed), the mean AR/TAR penalty (0 unless
        training), and with ``next_logprobs`` the forward direction's ``(n_seqs, n_vocab)``
        log-distribution of the token after each sequence. ``variable_bptt``: windows of
        random lengths around ``bptt`` (``windows.window_sizes``; while training)."""
        if not 0.0 <= output_dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {output_dropout!r}.")
        lengths = list(lengths)
        eos = torch.full((1,), EOS, dtype=torch.int64, device=X.device)
        ids = torch.split(targets.to(X.device, torch.int64), lengths)
        checkpointed = self.checkpoint_windows and self.training and torch.is_grad_enabled()
        scores, penalties, nxt = [], [], None
        for direction in self.options.directions:
            reading = [torch.flip(t, dims=[0]) for t in ids] if direction == "backward" else list(ids)
            step = partial(self._score_window, stack=self.stacks[STACK_NAMES[direction]], output_dropout=output_dropout)
            pieces, lasts = read_in_windows(
                self._inputs(X, lengths, direction),
                [torch.cat([t, eos]) for t in reading],
                bptt,
                step,
                checkpointed=checkpointed,
                variable=variable_bptt,
            )
            flat = torch.cat(pieces) if pieces else X.new_zeros((0, 2))
            scores.append(flat[:, 0])
            penalties.append(flat[:, 1].mean() if len(flat) else X.new_zeros(()))
            if next_logprobs and direction == "forward" and lengths:
                nxt = self.log_distribution(torch.stack(lasts))
        return torch.stack(scores), torch.stack(penalties).mean(), nxt
