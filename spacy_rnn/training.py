"""What spaCy's training loop needs for our models beyond thinc's defaults: gradient
clipping by the global norm, discriminative learning rates, gradual unfreezing and a
training corpus whose epochs have a minimum size."""

import json
import math
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.training import Corpus, Example
from spacy.util import registry as spacy_registry
from thinc.api import Model, Optimizer, registry

from .shims import torch_parameters

FloatOrSeq = Union[float, List[float]]


def clip_gradients(model: Model, max_norm: float) -> float:
    """Scale all gradients of ``model`` so that their global L2 norm is at most
    ``max_norm`` (Pascanu et al. 2013; ``torch.nn.utils.clip_grad_norm_``).

    The norm is taken over every gradient of the model at once: thinc parameters and
    the parameters of its PyTorch shims. thinc's own ``grad_clip`` clips each tensor
    separately, which changes the direction of the update. Returns the norm before
    clipping; ``max_norm <= 0`` only measures it.
    """
    thinc_grads = []
    for node in model.walk():
        for name in node.grad_names:
            thinc_grads.append(node.get_grad(name))
    torch_grads = [
        p.grad for node in model.walk() for shim in node.shims for p in torch_parameters(shim) if p.grad is not None
    ]
    sq = sum(float((g * g).sum()) for g in thinc_grads)
    sq += sum(float(g.detach().pow(2).sum()) for g in torch_grads)
    norm = math.sqrt(sq)
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in thinc_grads:
            g *= scale
        for g in torch_grads:
            g.mul_(scale)
    return norm


# Learning-rate scales for discriminative fine-tuning (ULMFiT): (node or shim id, parameter
# name prefix) -> scale. Layers register their parameters when they are built (ids are
# per process); ``spacy_rnn.Adam.v1`` applies the scales. An id with the prefix "" covers
# all of that node's or shim's parameters.
LR_SCALES: Dict[Tuple[int, str], float] = {}


def set_lr_scale(owner_id: int, prefix: str, scale: float) -> None:
    """Scale the learning rate of the parameters of node/shim ``owner_id`` whose names
    start with ``prefix`` (the longest matching prefix wins)."""
    LR_SCALES[(owner_id, prefix)] = float(scale)


def lr_scale_of(key: Tuple[int, str]) -> float:
    owner, name = key
    best, scale = -1, 1.0
    for (oid, prefix), value in LR_SCALES.items():
        if oid == owner and str(name).startswith(prefix) and len(prefix) > best:
            best, scale = len(prefix), value
    return scale


class ScaledOptimizer(Optimizer):
    """thinc's optimizer, with the learning rate of each parameter scaled by the scale
    its layer registered (``set_lr_scale``; 1 for all others)."""

    def __call__(self, key, weights, gradient, *, lr_scale: float = 1.0):
        return super().__call__(key, weights, gradient, lr_scale=lr_scale * lr_scale_of(key))


@registry.optimizers("spacy_rnn.Adam.v1")
def scaled_adam(
    learn_rate: FloatOrSeq = 0.001,
    *,
    L2: FloatOrSeq = 0.0,
    beta1: FloatOrSeq = 0.9,
    beta2: FloatOrSeq = 0.999,
    eps: FloatOrSeq = 1e-08,
    grad_clip: FloatOrSeq = 1.0,
    L2_is_weight_decay: bool = True,
    use_averages: bool = True,
) -> Optimizer:
    """thinc's ``Adam.v1`` with discriminative learning rates: the layers that carry a
    pretrained language model (``spacy_rnn.LMEncoder.v1`` with ``lr_decay``) train their
    lower layers more slowly (ULMFiT, Howard & Ruder 2018). Same arguments as Adam.v1."""
    return ScaledOptimizer(
        learn_rate,
        L2=L2,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        grad_clip=grad_clip,
        L2_is_weight_decay=L2_is_weight_decay,
        use_averages=use_averages,
    )


@spacy_registry.callbacks("spacy_rnn.gradual_unfreezing.v1")
def gradual_unfreezing(component: str, steps_per_layer: int) -> Callable[[Language, dict], None]:
    """A ``[training] before_update`` callback for gradual unfreezing (ULMFiT): the
    ``spacy_rnn.LMEncoder.v1`` of ``component`` starts with its ``frozen`` lowest layer
    groups frozen, and every ``steps_per_layer`` steps one more is unfrozen, top down."""
    if not isinstance(steps_per_layer, int) or steps_per_layer < 1:
        raise ValueError(f"gradual_unfreezing: steps_per_layer must be an integer >= 1, got {steps_per_layer!r}.")

    def before_update(nlp: Language, args: dict) -> None:
        if component not in nlp.pipe_names:
            raise ValueError(f"gradual_unfreezing: no component {component!r} in the pipeline {nlp.pipe_names}.")
        encoders = [node for node in nlp.get_pipe(component).model.walk() if node.name == "lm-encoder"]
        if not encoders:
            raise ValueError(f"gradual_unfreezing: the model of {component!r} has no spacy_rnn.LMEncoder.v1.")
        for node in encoders:
            start = node.attrs.setdefault("frozen_at_start", node.attrs["frozen"])
            node.attrs["frozen"] = max(0, start - args["step"] // steps_per_layer)

    return before_update


class RepeatedCorpus:
    """A training corpus whose every pass holds at least ``min_examples`` examples: the
    wrapped corpus is read ``ceil(min_examples / n)`` times in a row (n: its size), each
    time afresh, so that an augmenter draws new variants. spaCy shuffles a pass as one
    epoch, so ``max_epochs`` then counts passes of at least ``min_examples`` examples: a
    small training set gets as many updates as a set of ``min_examples``, a large one is
    read once per epoch, as without the wrapper."""

    def __init__(self, corpus: Callable[[Language], Iterable[Example]], min_examples: int) -> None:
        if not isinstance(min_examples, int) or isinstance(min_examples, bool) or min_examples < 0:
            raise ValueError(f"spacy_rnn.Corpus.v1: min_examples must be an integer >= 0, got {min_examples!r}.")
        self.corpus = corpus
        self.min_examples = min_examples

    def __call__(self, nlp: Language) -> Iterator[Example]:
        n = 0
        for example in self.corpus(nlp):
            n += 1
            yield example
        if n == 0:
            return
        for _ in range(math.ceil(self.min_examples / n) - 1):
            yield from self.corpus(nlp)


@spacy_registry.readers("spacy_rnn.Corpus.v1")
def repeated_corpus(
    path: Optional[Path],
    gold_preproc: bool = False,
    max_length: int = 0,
    limit: int = 0,
    augmenter: Optional[Callable[[Language, Example], Iterable[Example]]] = None,
    min_examples: int = 0,
) -> Callable[[Language], Iterable[Example]]:
    """spaCy's ``spacy.Corpus.v1`` (same arguments), repeated within each epoch until the
    epoch has at least ``min_examples`` examples (see ``RepeatedCorpus``); 0: plain
    ``spacy.Corpus.v1``."""
    if path is None:
        raise ValueError("spacy_rnn.Corpus.v1: path is null; set it, e.g. --paths.train corpus/train.spacy.")
    corpus = Corpus(path, gold_preproc=gold_preproc, max_length=max_length, limit=limit, augmenter=augmenter)
    return RepeatedCorpus(corpus, min_examples) if min_examples else corpus


@spacy_registry.readers("spacy_rnn.read_word_counts.v1")
def read_word_counts(path: Optional[Path]) -> Optional[Dict[str, int]]:
    """The word counts ``convert-text`` writes beside its shards (``word_counts.json``:
    ``{word: count}``), for ``[initialize.components.rnn_lm] words``: the language model's
    vocabulary from the whole corpus rather than the docs it is initialized with (spaCy
    initializes a streamed corpus, ``max_epochs = -1``, from its first 100 docs only).
    null: no counts (the vocabulary comes from the initialization docs)."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"spacy_rnn.read_word_counts.v1: {path} not found; convert-text writes word_counts.json "
            "into its --output folder."
        )
    try:
        counts = json.loads(path.read_text(encoding="utf8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"spacy_rnn.read_word_counts.v1: {path} is not a JSON file of word counts ({err}).") from None
    if not isinstance(counts, dict) or not all(
        isinstance(w, str) and isinstance(c, int) and not isinstance(c, bool) and c > 0 for w, c in counts.items()
    ):
        raise ValueError(f"spacy_rnn.read_word_counts.v1: {path} must map words to positive integer counts.")
    return counts
