"""Text generation with a trained ``rnn_lm``: sampling (temperature, top-k, nucleus) or
greedy decoding, one token at a time from the component's next-token distribution."""

import math
from typing import TYPE_CHECKING, Optional, Union

import numpy
from spacy.tokens import Doc

from ..modules.lm import EOS, UNK

if TYPE_CHECKING:  # pragma: no cover
    from .lm import RNNLMComponent


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_sampling(max_tokens, temperature, top_k, top_p) -> None:
    """Raise a ValueError naming the argument when a sampling setting is unusable."""
    if not _is_number(temperature) or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"generate: temperature must be a finite number > 0, got {temperature!r}.")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1):
        raise ValueError(f"generate: top_k must be an integer >= 1 (or None), got {top_k!r}.")
    if not _is_number(top_p) or not 0.0 < top_p <= 1.0:  # NaN fails the comparison too
        raise ValueError(f"generate: top_p must be in (0, 1], got {top_p!r}.")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
        raise ValueError(f"generate: max_tokens must be an integer >= 0, got {max_tokens!r}.")


def choose(
    logp: numpy.ndarray,
    temperature: float,
    top_k: Optional[int],
    top_p: float,
    greedy: bool,
    rng: numpy.random.RandomState,
) -> int:
    """The id of the next token from the log-distribution ``logp`` (never ``<unk>``)."""
    logp = logp.copy()
    logp[UNK] = -numpy.inf
    if greedy:
        return int(numpy.argmax(logp))
    logits = logp / temperature
    probs = numpy.exp(logits - logits.max())
    probs /= probs.sum()
    order = numpy.argsort(-probs, kind="stable")
    keep = len(order) if top_k is None else min(top_k, len(order))
    if top_p < 1.0:
        cumulative = numpy.cumsum(probs[order])
        keep = min(keep, int(numpy.searchsorted(cumulative, top_p) + 1))
    chosen = order[:keep]
    p = probs[chosen] / probs[chosen].sum()
    return int(chosen[rng.choice(len(chosen), p=p)])


def generate(
    lm: "RNNLMComponent",
    prompt: Union[str, Doc] = "",
    *,
    max_tokens: int = 40,
    temperature: float = 1.0,
    top_k: Optional[int] = None,
    top_p: float = 1.0,
    greedy: bool = False,
    seed: Optional[int] = None,
    stop_at_eos: bool = True,
) -> str:
    """Continue ``prompt`` (a string, tokenized by the pipeline's tokenizer, or a Doc)
    and return the prompt and the new tokens as text (tokens joined by spaces).

    Sampling draws each token from the model's distribution divided by ``temperature``,
    restricted to the ``top_k`` most likely tokens and to the smallest set whose
    probability reaches ``top_p`` (nucleus); ``seed`` makes it reproducible. ``greedy``
    takes the most likely token each step. ``<unk>`` is never emitted; generation stops
    after ``max_tokens`` steps or, with ``stop_at_eos``, at the end of the sentence
    (without it, a sentence end is a step that adds no word, and the model reads on).
    """
    if not isinstance(prompt, (str, Doc)):
        raise TypeError(f"generate: prompt must be a str or a Doc, got {type(prompt).__name__}.")
    validate_sampling(max_tokens, temperature, top_k, top_p)
    if isinstance(prompt, str):
        if lm.make_doc is None:
            raise ValueError("generate: this component has no tokenizer; pass the prompt as a Doc.")
        doc = lm.make_doc(prompt)
    else:
        doc = prompt
    tokens = [t for t in doc if not t.is_space]
    lm.require_trained()
    if tokens and all(i == UNK for i in lm.ids(tokens)):
        raise ValueError(
            f"generate: every word of the prompt {doc.text!r} is unknown to the language "
            "model (not in its vocabulary); use words it was trained on."
        )
    rng = numpy.random.RandomState(seed)
    new_ids, words = [], []
    for _ in range(max_tokens):
        next_id = choose(lm.next_token_logprobs(tokens, new_ids), temperature, top_k, top_p, greedy, rng)
        if next_id == EOS and stop_at_eos:
            break
        if next_id != EOS:
            words.append(lm.words[next_id])
        new_ids.append(next_id)
    return " ".join([t.text for t in tokens] + words)
