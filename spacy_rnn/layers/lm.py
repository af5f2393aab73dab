"""The PyTorch RNN language model and the thinc layer that wraps it.

Data flow of the thinc layer ``rnn_lm``::

    LMBatch: per sequence (a sentence, or a window of one) the input ids and the target
             ids, + the RNN state each sequence starts from (None: a fresh state)
      -> torch: input ids -> embedding (embedding dropout) -> locked dropout
         -> RNN layer 1 -> locked dropout -> ... -> RNN layer n -> locked dropout
         -> output layer (optionally tied to the embedding) -> log_softmax
      -> LMOutput: per sequence, the log-probability of each next id (the targets), and
         the final state of each sequence (detached), to carry into its next window.

Sequences are packed, so each is read only up to its own length (its scores never depend
on the batch). The regularisers are those of AWD-LSTM (Merity et al. 2018): embedding
dropout (whole word types), locked (variational) dropout with one mask per sequence on
the embeddings, between layers and on the output, and weight-drop (DropConnect) on the
hidden-to-hidden matrices.
"""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import srsly
import torch
from thinc.api import Model, torch2xp, xp2torch
from thinc.types import Floats1d, Floats2d, Ints1d
from torch.nn.utils import parametrize
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from .rnn import CELLS, AveragingShim, validate_rnn_options

UNK, EOS = 0, 1  # fixed ids of the unknown-word and end-of-sentence symbols


class WeightDrop(torch.nn.Module):
    """DropConnect on a weight matrix while training (a torch parametrization)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, W: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.dropout(W, self.p, self.training)


class RNNLM(torch.nn.Module):
    """Embedding -> stacked unidirectional RNN layers -> output layer over the vocabulary.

    ``forward(ids, targets, lengths, state)``: see :meth:`forward`.
    With ``tie_weights`` the output layer reuses the embedding matrix, so the last
    layer's output width, ``proj_size or hidden_size``, must equal ``embed_size``.
    """

    def __init__(
        self,
        n_vocab: int,
        *,
        embed_size: int,
        cell: str = "lstm",
        hidden_size: int = 512,
        num_layers: int = 2,
        proj_size: int = 0,
        tie_weights: bool = True,
        embed_dropout: float = 0.0,
        input_dropout: float = 0.0,
        hidden_dropout: float = 0.0,
        weight_dropout: float = 0.0,
    ):
        super().__init__()
        validate_lm_options(
            cell=cell, embed_size=embed_size, hidden_size=hidden_size, num_layers=num_layers,
            proj_size=proj_size, tie_weights=tie_weights, embed_dropout=embed_dropout,
            input_dropout=input_dropout, hidden_dropout=hidden_dropout, weight_dropout=weight_dropout,
        )
        self.embed = torch.nn.Embedding(n_vocab, embed_size)
        cls, extra = CELLS[cell]
        self.layers = torch.nn.ModuleList()
        width = embed_size
        for _ in range(num_layers):
            kwargs = dict(extra, proj_size=proj_size) if proj_size else dict(extra)
            layer = cls(width, hidden_size, batch_first=True, **kwargs)
            if weight_dropout:
                parametrize.register_parametrization(layer, "weight_hh_l0", WeightDrop(weight_dropout))
            self.layers.append(layer)
            width = proj_size or hidden_size
        self.decoder = torch.nn.Linear(width, n_vocab)
        if tie_weights:
            self.decoder.weight = self.embed.weight
        self.embed_dropout = embed_dropout
        self.input_dropout = input_dropout
        self.hidden_dropout = hidden_dropout
        self.output_dropout = 0.0  # set from spaCy's [training] dropout by the thinc layer
        self.is_lstm = cls is torch.nn.LSTM
        torch.nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        torch.nn.init.zeros_(self.decoder.bias)

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        weight = self.embed.weight
        if self.training and self.embed_dropout:
            keep = weight.new_empty((weight.shape[0], 1)).bernoulli_(1 - self.embed_dropout)
            weight = weight * keep / (1 - self.embed_dropout)
        return torch.nn.functional.embedding(ids, weight)

    def forward(
        self,
        ids: torch.Tensor,
        targets: torch.Tensor,
        lengths: Sequence[int],
        state: Optional[list] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor, list]:
        """Padded ``(batch, time)`` input and target ids -> the ``(batch, time)``
        log-probabilities of the targets (0 at padding), the ``(batch, n_vocab)``
        log-distribution after each sequence's last input, and the final states.
        Only real positions reach the output layer (the sequences stay packed)."""
        lengths_t = torch.as_tensor(list(lengths), dtype=torch.int64)
        packed = pack_padded_sequence(self._embed(ids), lengths_t, batch_first=True, enforce_sorted=False)
        rows = torch.cat([torch.arange(int(b)) for b in packed.batch_sizes]).to(ids.device)
        data = _locked(packed.data, rows, len(lengths), self.input_dropout, self.training)
        new_state = []
        for i, layer in enumerate(self.layers):
            out, h = layer(packed._replace(data=data), _sorted_state(state, i, packed))
            last_layer = i == len(self.layers) - 1
            p = self.output_dropout if last_layer else self.hidden_dropout
            data = _locked(out.data, rows, len(lengths), p, self.training)
            new_state.append(_unsorted_state(h, packed))
        targets_packed = pack_padded_sequence(targets, lengths_t, batch_first=True, enforce_sorted=False)
        picked = self._target_logprobs(data, targets_packed.data)
        picked, _ = pad_packed_sequence(
            packed._replace(data=picked), batch_first=True, total_length=ids.shape[1]
        )
        outputs, _ = pad_packed_sequence(packed._replace(data=data), batch_first=True)
        ends = outputs[torch.arange(len(lengths), device=outputs.device), lengths_t.to(outputs.device) - 1]
        return picked, torch.log_softmax(self.decoder(ends.detach()), dim=-1), new_state


    def _target_logprobs(self, data: torch.Tensor, targets: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """log p(target) at each position. Without gradients the output layer runs on
        ``chunk`` positions at a time, so memory does not grow with n_positions x n_vocab."""
        if torch.is_grad_enabled():
            return -torch.nn.functional.cross_entropy(self.decoder(data), targets, reduction="none")
        return torch.cat([
            -torch.nn.functional.cross_entropy(self.decoder(data[i: i + chunk]), targets[i: i + chunk], reduction="none")
            for i in range(0, data.shape[0], chunk)
        ]) if data.shape[0] else data.new_zeros(0)


def _locked(data: torch.Tensor, rows: torch.Tensor, n_seqs: int, p: float, training: bool) -> torch.Tensor:
    """Locked dropout on packed data: ``rows[k]`` is the (sorted) sequence of row k."""
    if not training or p == 0.0:
        return data
    mask = data.new_empty((n_seqs, data.shape[1])).bernoulli_(1 - p) / (1 - p)
    return data * mask[rows]


def _sorted_state(state: Optional[list], layer: int, packed):
    """Layer ``layer``'s states in the packed (sorted) batch order."""
    if state is None:
        return None
    h = state[layer]
    idx = packed.sorted_indices
    if isinstance(h, tuple):
        return tuple(t.index_select(1, idx) for t in h)
    return h.index_select(1, idx)


def _unsorted_state(h, packed):
    """A layer's final states back in the batch's order."""
    idx = packed.unsorted_indices
    if isinstance(h, tuple):
        return tuple(t.index_select(1, idx) for t in h)
    return h.index_select(1, idx)


def validate_lm_options(
    *,
    cell: str,
    embed_size: int,
    hidden_size: int,
    num_layers: int,
    proj_size: int,
    tie_weights: bool,
    **dropouts: float,
) -> None:
    """Raise a ValueError naming the option when the language model settings are unusable."""
    validate_rnn_options(cell, embed_size, hidden_size, num_layers, 0.0, proj_size)
    for name, value in dropouts.items():
        if not 0.0 <= value < 1.0:
            raise ValueError(f"Language model option {name} must be in [0, 1), got {value!r}.")
    if tie_weights and (proj_size or hidden_size) != embed_size:
        raise ValueError(
            f"tie_weights needs the last RNN layer's output width (proj_size or hidden_size = "
            f"{proj_size or hidden_size}) to equal embed_size ({embed_size}); set proj_size = "
            f"{embed_size} (LSTM), hidden_size = {embed_size}, or tie_weights = false."
        )


class LMShim(AveragingShim):
    """The shim of the ``rnn_lm`` layer: the torch module is built once the vocabulary
    size is known (at ``initialize`` or ``from_bytes``); ``cfg`` holds its arguments."""

    def __init__(self, cfg: dict):
        super().__init__(torch.nn.Module(), config=dict(cfg))

    @property
    def is_built(self) -> bool:
        return isinstance(self._model, RNNLM)

    def build(self, n_vocab: int) -> None:
        self.cfg["n_vocab"] = n_vocab
        self._model = RNNLM(**self.cfg).to(self.device)

    def from_bytes(self, bytes_data: bytes) -> "LMShim":
        cfg = srsly.msgpack_loads(bytes_data)["config"]
        if cfg.get("n_vocab") is not None:
            self.cfg = cfg
            self.build(cfg["n_vocab"])
        return super().from_bytes(bytes_data)


@dataclass
class LMBatch:
    """Input of the ``rnn_lm`` layer: per sequence, the ids fed in (``inputs[i]``) and
    the ids to predict at each position (``targets[i]``, as long). A sentence
    ``w1 .. wn`` is fed ``<eos> w1 .. wn`` (the end-of-sentence symbol starts it) and
    predicts ``w1 .. wn <eos>``; a long one is cut into windows of both. ``states``: the
    state each sequence starts from, as returned in ``LMOutput.states`` for its previous
    window, or None for fresh (zero) states."""

    inputs: List[Ints1d]
    targets: List[Ints1d]
    states: Optional[list] = None


@dataclass
class LMOutput:
    """``logprobs[i]``: natural-log probability of each target of sequence i (its ids,
    then end-of-sentence where predicted); ``states``: the final RNN states (batch order);
    ``last``: the log-distribution after each sequence's last id, ``(n_seqs, n_vocab)``."""

    logprobs: List[Floats1d]
    states: list
    last: Floats2d


def rnn_lm(
    *,
    embed_size: int,
    cell: str = "lstm",
    hidden_size: int = 512,
    num_layers: int = 2,
    proj_size: int = 0,
    tie_weights: bool = True,
    embed_dropout: float = 0.0,
    input_dropout: float = 0.0,
    hidden_dropout: float = 0.0,
    weight_dropout: float = 0.0,
    n_vocab: Optional[int] = None,
) -> Model[LMBatch, LMOutput]:
    """A PyTorch RNN language model as a thinc layer (see the module docstring).
    ``n_vocab`` is set by the ``rnn_lm`` component at initialize. spaCy's ``[training]
    dropout`` is the locked dropout on the last layer's output while training."""
    cfg = dict(
        embed_size=embed_size, cell=cell, hidden_size=hidden_size, num_layers=num_layers,
        proj_size=proj_size, tie_weights=tie_weights, embed_dropout=embed_dropout,
        input_dropout=input_dropout, hidden_dropout=hidden_dropout, weight_dropout=weight_dropout,
    )
    validate_lm_options(**cfg)  # config errors at pipeline creation, before the vocabulary exists
    shim = LMShim(cfg)
    if n_vocab is not None:
        shim.build(n_vocab)
    return Model(
        "rnn_lm",
        _forward,
        init=_init,
        shims=[shim],
        dims={"nV": n_vocab},
        attrs={"dropout_rate": 0.0},
    )


def _init(model: Model, X=None, Y=None) -> None:
    if not model.has_dim("nV"):
        raise ValueError("The rnn_lm layer needs its vocabulary size nV before initialize.")
    shim = model.shims[0]
    if not shim.is_built or shim.cfg.get("n_vocab") != model.get_dim("nV"):
        shim.build(model.get_dim("nV"))


def _forward(model: Model, batch: LMBatch, is_train: bool) -> Tuple[LMOutput, Callable]:
    shim = model.shims[0]
    if not shim.is_built:
        raise ValueError("The rnn_lm layer is not initialized: call initialize() first.")
    module: RNNLM = shim._model
    device = shim.device
    n = len(batch.inputs)
    lengths = [len(ids) for ids in batch.inputs]
    if min(lengths) < 1 or [len(t) for t in batch.targets] != lengths:
        raise ValueError("rnn_lm: every sequence needs at least one input, and one target per input.")
    as_tensor = lambda ids: torch.as_tensor(model.ops.to_numpy(ids), dtype=torch.int64)  # noqa: E731
    X = pad_sequence([as_tensor(ids) for ids in batch.inputs], batch_first=True).to(device)
    T = pad_sequence([as_tensor(ids) for ids in batch.targets], batch_first=True).to(device)
    module.output_dropout = float(model.attrs["dropout_rate"]) if is_train else 0.0
    module.train(is_train)
    with torch.set_grad_enabled(is_train):
        picked, last, new_state = module(X, T, lengths, _to_torch_state(batch.states, device))
    out = LMOutput(
        logprobs=[torch2xp(picked[i, : lengths[i]].detach(), ops=model.ops) for i in range(n)],
        states=[tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach() for h in new_state],
        last=torch2xp(last.detach(), ops=model.ops),
    )

    def backprop(d_logprobs: List[Floats1d]) -> LMBatch:
        grad = torch.zeros_like(picked)
        for i, d in enumerate(d_logprobs):
            grad[i, : lengths[i]] = xp2torch(model.ops.asarray1f(d), device=picked.device)
        picked.backward(grad)
        return batch

    return out, backprop


def _to_torch_state(states: Optional[list], device) -> Optional[list]:
    if states is None:
        return None
    return [tuple(t.to(device) for t in h) if isinstance(h, tuple) else h.to(device) for h in states]


def select_state(states: list, index: Sequence[int]) -> list:
    """The states of the sequences at ``index`` (states are ``(layers, batch, width)``)."""
    idx = torch.as_tensor(list(index), dtype=torch.int64)

    def pick(t: torch.Tensor) -> torch.Tensor:
        return t.index_select(1, idx.to(t.device))

    return [tuple(pick(t) for t in h) if isinstance(h, tuple) else pick(h) for h in states]
