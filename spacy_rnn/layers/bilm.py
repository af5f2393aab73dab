"""The thinc layer over ``spacy_rnn.modules.bilm.BiRNNLM``: a language model whose token
vectors come from a thinc embedding layer (the model of ``RNNLanguageModel.v2``).

Data flow of ``rnn_lm_v2``::

    LMBatch: docs; per sequence (a sentence, or a whole doc) its doc and token positions,
             and the vocabulary ids of those tokens
      -> embed(docs): one (len(doc), width) array per doc -> each sequence's rows, stacked
      -> torch: BiRNNLM (per direction, windows of attrs["bptt"] with the state inside)
      -> LMOutput: per direction and sequence the log-probability of each token and of the
         end; the AR/TAR penalty; optionally the next token's distribution

The backward pass takes the loss's gradient with respect to each direction's scores (the
penalty's is 1) and reaches the embedding layer through the token vectors.
"""

from dataclasses import asdict
from typing import Callable, List, Optional, Tuple

import numpy
import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from ..modules.bilm import BiLMOptions, BiRNNLM
from ..shims import LazyShim
from .dropout import training_dropout
from .lm import LMBatch, LMOutput


def rnn_lm_v2(
    embed: Model[List[Doc], List[Floats2d]], options: BiLMOptions, *, n_vocab: Optional[int] = None, bptt: int = 70
) -> Model[LMBatch, LMOutput]:
    """``embed`` then an RNN language model in ``options.direction`` (see the module
    docstring). ``n_vocab`` is set by the ``rnn_lm`` component at initialize, as is
    ``attrs["bptt"]``; spaCy's ``[training] dropout`` is the locked dropout on the last
    layer's output while training."""
    cfg = {**asdict(options), "adaptive_cutoffs": list(options.adaptive_cutoffs)}
    shim = LazyShim(BiRNNLM.from_config, {**cfg, "input_size": None}, "n_vocab")
    return Model(
        "rnn_lm_v2",
        forward,
        init=init,
        layers=[embed],
        shims=[shim],
        dims={"nV": n_vocab, "nE": None},
        attrs={"dropout_rate": 0.0, "bptt": bptt, "directions": list(options.directions), "lm_input": "docs"},
    )


def init(model: Model, X: Optional[LMBatch] = None, Y=None) -> None:
    embed = model.layers[0]
    embed.initialize(X=X.docs if X is not None and X.docs else None)
    if not model.has_dim("nV"):
        raise ValueError("The rnn_lm layer needs its vocabulary size nV before initialize.")
    width = embed.get_dim("nO") if embed.has_dim("nO") else None
    if width is None and X is not None and X.docs:
        width = embed.predict(X.docs[:1])[0].shape[1]
    if width is None:
        raise ValueError("The rnn_lm layer needs the width of its embedding layer: initialize it with docs.")
    model.set_dim("nE", width, force=True)
    shim = model.shims[0]
    shim.cfg["input_size"] = width
    if not shim.is_built or shim.size != model.get_dim("nV"):
        shim.build(model.get_dim("nV"))


def _rows(batch: LMBatch) -> Tuple[List[int], List[numpy.ndarray]]:
    spans = batch.spans or []
    return [len(p) for _, p in spans], [numpy.asarray(p, dtype="int64") for _, p in spans]


def forward(model: Model, batch: LMBatch, is_train: bool) -> Tuple[LMOutput, Callable]:
    shim = model.shims[0]
    if not shim.is_built:
        raise ValueError("The rnn_lm layer is not initialized: call initialize() first.")
    if batch.docs is None or batch.spans is None:
        raise ValueError("This language model embeds the tokens itself: its LMBatch needs docs and spans.")
    ops, embed = model.ops, model.layers[0]
    vectors, backprop_embed = embed(batch.docs, is_train)
    lengths, positions = _rows(batch)
    width = model.get_dim("nE")
    rows = [vectors[d][p] for (d, _), p in zip(batch.spans, positions)]
    X = ops.xp.concatenate(rows) if lengths else ops.alloc2f(0, width)
    Xt = xp2torch(ops.asarray2f(X), requires_grad=is_train, device=shim.device)
    ids = [ops.to_numpy(i) for i in batch.ids]
    targets = torch.as_tensor(numpy.concatenate(ids) if ids else numpy.zeros(0), dtype=torch.int64)
    kwargs = {
        "bptt": int(model.attrs["bptt"]),
        "output_dropout": training_dropout(model) if is_train else 0.0,
        "next_logprobs": batch.next_logprobs and not is_train,
        "variable_bptt": is_train and bool(model.attrs.get("variable_bptt", False)),
    }
    (scores, penalty, nxt), torch_backprop = shim(ArgsKwargs(args=(Xt, lengths, targets), kwargs=kwargs), is_train)
    sizes = [n + 1 for n in lengths]
    by_direction = [ops.unflatten(torch2xp(row.detach(), ops=ops), sizes) if sizes else [] for row in scores]
    nxt = None if nxt is None else torch2xp(nxt.detach(), ops=ops)
    out = LMOutput(by_direction[0], nxt, by_direction, float(penalty.detach()))

    def backprop(d_by_direction: List[List]) -> LMBatch:
        if not lengths:
            return batch
        grads = [ops.flatten([ops.asarray1f(d) for d in ds]) for ds in d_by_direction]
        d_scores = xp2torch(ops.xp.stack(grads), device=scores.device)
        tensors, grad_tensors = [scores], [d_scores]
        if penalty.requires_grad:
            tensors.append(penalty)
            grad_tensors.append(torch.ones_like(penalty))
        dX = torch_backprop(ArgsKwargs(args=(tensors,), kwargs={"grad_tensors": grad_tensors})).args[0]
        dX = torch2xp(dX, ops=ops) if dX is not None else ops.alloc2f(*X.shape)
        d_vectors = [ops.alloc2f(*v.shape) for v in vectors]
        start = 0
        for (d, _), p, n in zip(batch.spans, positions, lengths):
            d_vectors[d][p] += dX[start : start + n]
            start += n
        backprop_embed(d_vectors)
        return batch

    return out, backprop
