"""Character-level word embeddings (Plank et al. 2016; Lample et al. 2016): the thinc
layer over ``spacy_rnn.modules.chars.CharRNN``.

Data flow of ``char_rnn_embed``::

    List[Doc] -> the batch's distinct words (by ORTH) -> their bytes, at most
      max_chars (the first and last max_chars/2 of a longer word)
      -> torch: CharRNN (byte embeddings, packed bidirectional RNN, final states)
      -> one (n_words, 2 * hidden_size) tensor -> rows gathered per token
    -> List[Floats2d]  (one (len(doc), 2 * hidden_size) array per doc)

Each distinct word is encoded once per batch; the gradient of a repeated word is the sum
over its tokens (torch's indexing does that).
"""

from functools import lru_cache
from typing import Callable, List, Tuple

import numpy
import torch
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch
from thinc.types import Floats2d

from ..modules.chars import CharRNN
from ..shims import AveragingShim
from .dropout import training_dropout


def char_rnn_embed(
    nM: int = 32,
    hidden_size: int = 64,
    max_chars: int = 20,
    cell: str = "lstm",
) -> Model[List[Doc], List[Floats2d]]:
    """Per-token vectors of width ``2 * hidden_size`` from a bidirectional RNN over the
    word's bytes. ``attrs["dropout_rate"]`` (spaCy's ``[training] dropout``) is applied to
    the byte embeddings and the RNN's outputs while training."""
    if max_chars < 2:
        raise ValueError(f"char_rnn_embed: max_chars must be >= 2, got {max_chars}.")
    return Model(
        "char-rnn-embed",
        forward,
        shims=[AveragingShim(CharRNN(nM, hidden_size, cell))],
        dims={"nO": 2 * hidden_size},
        attrs={"dropout_rate": 0.0, "max_chars": max_chars},
    )


@lru_cache(maxsize=100_000)
def _bytes_of(word: str, max_chars: int) -> numpy.ndarray:
    """A word's UTF-8 bytes (the first and last halves of a longer one), cached per
    process and never saved with a model; read-only."""
    data = word.encode("utf8") or b" "
    if len(data) > max_chars:
        data = data[: max_chars // 2] + data[-(max_chars - max_chars // 2) :]
    chars = numpy.frombuffer(data, dtype="uint8").astype("int64")
    chars.setflags(write=False)
    return chars


def forward(
    model: Model[List[Doc], List[Floats2d]], docs: List[Doc], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    ops = model.ops
    shim = model.shims[0]
    lengths = [len(doc) for doc in docs]
    nO = model.get_dim("nO")
    if sum(lengths) == 0:
        return [ops.alloc2f(0, nO) for _ in docs], lambda dYs: []
    orths = numpy.concatenate([doc.to_array("ORTH") for doc in docs if len(doc)])
    uniq, index = numpy.unique(orths, return_inverse=True)
    strings = docs[0].vocab.strings
    words = [_bytes_of(strings[int(orth)], model.attrs["max_chars"]) for orth in uniq]
    device = shim.device
    chars = torch.from_numpy(numpy.concatenate(words)).to(device)
    index_t = torch.from_numpy(index.reshape(-1).astype("int64")).to(device)
    rate = training_dropout(model) if is_train else 0.0
    args = ArgsKwargs(args=(chars, [len(w) for w in words], index_t), kwargs={"dropout": rate})
    Yt, torch_backprop = shim(args, is_train)
    Ys = ops.unflatten(torch2xp(Yt, ops=ops), lengths)

    def backprop(dYs: List[Floats2d]) -> List:
        dYt = xp2torch(ops.flatten(dYs), device=device)
        torch_backprop(ArgsKwargs(args=(Yt,), kwargs={"grad_tensors": dYt}))
        return []

    return Ys, backprop
