"""The thinc layer over ``spacy_rnn.modules.lm.RNNLM``.

Data flow of ``rnn_lm``::

    LMBatch: per sequence (a sentence, or a doc without sentence boundaries) the ids of
             its tokens; whether to return the distribution of the next token
      -> torch: RNNLM, reading each sequence in windows of attrs["bptt"] positions from a
         fresh state, the state carried from window to window inside the module
      -> LMOutput: per sequence, the log-probability of each token given its left
         context, then of the end of the sequence; optionally the log-distribution of the
         token after each sequence, (n_seqs, n_vocab)

The recurrent state never leaves the torch module, so a sequence's scores never depend on
the other sequences of the batch. While training, the backward pass runs window by window
(truncated back-propagation through time) and memory stays bounded on long sequences.
"""

from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional, Tuple

import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats1d, Floats2d, Ints1d

from ..modules.lm import EOS, RNNLM, UNK, LMOptions
from ..shims import LazyShim
from .dropout import training_dropout

__all__ = ["EOS", "UNK", "LMBatch", "LMOutput", "rnn_lm"]


@dataclass
class LMBatch:
    """Input of the language model layers: ``ids[i]``, the vocabulary ids of sequence i's
    tokens (the model adds the start, and predicts ``<eos>`` after the tokens);
    ``next_logprobs``: also return the distribution of the next token. For models that
    embed the tokens themselves (``RNNLanguageModel.v2``): ``docs``, and per sequence
    ``(doc index, token positions)`` in ``spans``."""

    ids: List[Ints1d]
    next_logprobs: bool = False
    docs: Optional[List[Doc]] = None
    spans: Optional[List[Tuple[int, Ints1d]]] = None


@dataclass
class LMOutput:
    """``logprobs[i]``: natural-log probability of each token of sequence i given its
    left context, then of its end (``len(ids[i]) + 1`` values); ``next_logprobs``: the
    ``(n_seqs, n_vocab)`` log-distribution of the token after each sequence (None unless
    asked for). ``by_direction``: the same per direction the model reads in
    (``[logprobs]`` for one; a backward direction's in reading order, the sequence
    reversed); ``penalty``: the regularisation added to the training loss (0 unless
    training). The backward pass takes the gradient of the loss with respect to
    ``by_direction`` (the penalty's is 1)."""

    logprobs: List[Floats1d]
    next_logprobs: Optional[Floats2d] = None
    by_direction: List[List[Floats1d]] = field(default_factory=list)
    penalty: float = 0.0


def rnn_lm(options: LMOptions, *, n_vocab: Optional[int] = None, bptt: int = 70) -> Model[LMBatch, LMOutput]:
    """A PyTorch RNN language model as a thinc layer (see the module docstring).
    ``n_vocab`` is set at initialize by the ``rnn_lm`` component, which also sets
    ``attrs["bptt"]`` from its own setting. spaCy's ``[training] dropout`` is the locked
    dropout on the last layer's output while training."""
    shim = LazyShim(RNNLM.from_config, asdict(options), "n_vocab")
    if n_vocab is not None:
        shim.build(n_vocab)
    return Model(
        "rnn_lm",
        forward,
        init=init,
        shims=[shim],
        dims={"nV": n_vocab},
        attrs={"dropout_rate": 0.0, "bptt": bptt},
    )


def init(model: Model, X=None, Y=None) -> None:
    if not model.has_dim("nV"):
        raise ValueError("The rnn_lm layer needs its vocabulary size nV before initialize.")
    shim = model.shims[0]
    if not shim.is_built or shim.size != model.get_dim("nV"):
        shim.build(model.get_dim("nV"))


def forward(model: Model[LMBatch, LMOutput], batch: LMBatch, is_train: bool) -> Tuple[LMOutput, Callable]:
    shim = model.shims[0]
    if not shim.is_built:
        raise ValueError("The rnn_lm layer is not initialized: call initialize() first.")
    ops = model.ops
    lengths = [len(ids) + 1 for ids in batch.ids]
    ids = [torch.as_tensor(ops.to_numpy(x), dtype=torch.int64) for x in batch.ids]
    kwargs = {
        "bptt": int(model.attrs["bptt"]),
        "output_dropout": training_dropout(model) if is_train else 0.0,
        "next_logprobs": batch.next_logprobs and not is_train,
        "variable_bptt": is_train and bool(model.attrs.get("variable_bptt", False)),
    }
    (flat, nxt), torch_backprop = shim(ArgsKwargs(args=(ids,), kwargs=kwargs), is_train)
    logprobs = ops.unflatten(torch2xp(flat.detach(), ops=ops), lengths) if lengths else []
    out = LMOutput(logprobs, None if nxt is None else torch2xp(nxt.detach(), ops=ops), [logprobs])

    def backprop(d_by_direction: List[List[Floats1d]]) -> LMBatch:
        if lengths:
            d_flat = xp2torch(ops.flatten([ops.asarray1f(d) for d in d_by_direction[0]]), device=flat.device)
            torch_backprop(ArgsKwargs(args=(flat,), kwargs={"grad_tensors": d_flat}))
        return batch

    return out, backprop
