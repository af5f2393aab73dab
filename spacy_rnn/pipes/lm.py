"""The ``rnn_lm`` component: an RNN language model in a spaCy pipeline.

It sets ``Doc._.logprob`` (natural-log probability of the doc: of each token given its
left context, and of the end of each sentence), ``Doc._.perplexity`` and
``Token._.surprisal`` (``-log2 p(token | left context)``), trains with ``spacy train``
(mean cross-entropy over all predicted tokens, truncated back-propagation through time
over windows of ``bptt`` tokens) and generates text (:meth:`RNNLMComponent.generate`).
"""

import math
from collections import Counter
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Token
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Config, Model, set_dropout_rate

from ..layers.lm import UNK, LMBatch
from ..layers.lm_transfer import copy_lm_weights
from .base import RNNPipe, check_max_grad_norm

UNK_TEXT, EOS_TEXT = "<unk>", "<eos>"

# the model of configs/lm.cfg (settings chosen on the EWT LM benchmark's valid split)
DEFAULT_RNN_LM_MODEL = """
[model]
@architectures = "spacy_rnn.RNNLanguageModel.v1"
cell = "lstm"
embed_size = 256
hidden_size = 512
num_layers = 2
proj_size = 256
tie_weights = true
embed_dropout = 0.1
input_dropout = 0.4
hidden_dropout = 0.25
weight_dropout = 0.3
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_RNN_LM_MODEL)["model"]

_EXTENSIONS = [(Doc, "logprob"), (Doc, "perplexity"), (Doc, "lm_predicted"), (Token, "surprisal")]


def _register_extensions() -> None:
    """Register the extensions once; refuse to take over ones that another library set
    up differently (a getter, a method, or another default)."""
    for cls, name in _EXTENSIONS:
        if cls.has_extension(name):
            default, method, getter, setter = cls.get_extension(name)
            if method or getter or setter or default is not None:
                raise ValueError(
                    f"rnn_lm: the extension {cls.__name__}._.{name} is already registered by "
                    "something else; remove it (Doc/Token.remove_extension) before adding rnn_lm."
                )
        else:
            cls.set_extension(name, default=None)


@registry.scorers("spacy_rnn.lm_scorer.v1")
def make_lm_scorer() -> Callable:
    return lm_score


def lm_score(examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
    """Scores of the predicted docs, pooled over all their predicted tokens:
    ``lm_loss`` (mean cross-entropy, nats), ``lm_ppl`` (perplexity = exp(lm_loss)) and
    ``lm_score = 1 / lm_ppl`` (the geometric-mean probability of a token), which is
    higher for better models, as spaCy's model selection needs."""
    total, count = 0.0, 0
    for eg in examples:
        doc = eg.predicted
        if doc.has_extension("lm_predicted") and doc._.lm_predicted:
            total += doc._.logprob
            count += doc._.lm_predicted
    if not count:
        return {"lm_loss": None, "lm_ppl": None, "lm_score": None}
    loss = -total / count
    return {"lm_loss": loss, "lm_ppl": math.exp(loss), "lm_score": math.exp(-loss)}


@Language.factory(
    "rnn_lm",
    assigns=["doc._.logprob", "doc._.perplexity", "token._.surprisal"],
    default_config={
        "model": DEFAULT_MODEL,
        "min_freq": 1,
        "max_size": 0,
        "lowercase": False,
        "bptt": 70,
        "variable_bptt": False,
        "fresh_state": "sentence",
        "max_grad_norm": 0.25,
        "scorer": {"@scorers": "spacy_rnn.lm_scorer.v1"},
    },
    # lm_score = 1 / perplexity: higher is better, so spaCy keeps the lowest perplexity
    default_score_weights={"lm_score": 1.0, "lm_ppl": None, "lm_loss": None},
)
def make_rnn_lm(
    nlp: Language,
    name: str,
    model: Model,
    min_freq: int,
    max_size: int,
    lowercase: bool,
    bptt: int,
    variable_bptt: bool,
    fresh_state: str,
    max_grad_norm: float,
    scorer: Optional[Callable],
) -> "RNNLMComponent":
    """A word-level RNN language model: ``Doc._.logprob``, ``Doc._.perplexity``,
    ``Token._.surprisal`` and text generation. Each doc, or each sentence where the doc
    has sentence boundaries, is read from a fresh state and its end (``<eos>``) is
    predicted after it; words outside the vocabulary are scored as ``<unk>``.

    model: ``spacy_rnn.RNNLanguageModel.v1`` (word ids; the default, as in
        ``configs/lm.cfg``) or ``spacy_rnn.RNNLanguageModel.v2`` (any embedding layer, one
        or both directions: what ``configs/pretrain.cfg`` trains for transfer).
    min_freq, max_size: the output vocabulary is the training tokens seen at least
        ``min_freq`` times, at most ``max_size`` of them (0: no limit), plus ``<unk>`` (id
        0) and ``<eos>`` (id 1); built at initialize and saved with the pipeline.
    lowercase: lowercase tokens before looking them up.
    bptt: sequences longer than this are read in windows of ``bptt`` tokens, carrying the
        state forward (truncated back-propagation through time in training; bounded memory
        in training and prediction).
    variable_bptt: while training, windows of random lengths around ``bptt`` (AWD-LSTM's
        variable-length BPTT: N(bptt, 5), or N(bptt / 2, 5) one time in 20), so a long
        stream is cut at other places in every epoch; prediction always uses ``bptt``.
    fresh_state: ``"sentence"`` reads each sentence from a fresh state where the doc has
        sentence boundaries (each doc otherwise); ``"doc"`` reads each doc as one stream,
        the state carried across its sentences and windows (for long unlabelled documents).
    max_grad_norm: clip the gradients to this global L2 norm before each update (0: off;
        AWD-LSTM's 0.25 by default).
    scorer: ``lm_ppl`` (perplexity), ``lm_loss`` (mean cross-entropy, nats) and
        ``lm_score = 1 / lm_ppl``, on which spaCy selects the best checkpoint (its score
        weights cannot be negative).
    """
    return RNNLMComponent(
        nlp.vocab,
        model,
        name,
        min_freq=min_freq,
        max_size=max_size,
        lowercase=lowercase,
        bptt=bptt,
        variable_bptt=variable_bptt,
        fresh_state=fresh_state,
        max_grad_norm=max_grad_norm,
        scorer=scorer,
        make_doc=nlp.make_doc,
    )


# (doc, token positions of one sequence, its ids)
Sequence_ = Tuple[int, numpy.ndarray, numpy.ndarray]


class RNNLMComponent(RNNPipe, TrainablePipe):
    """Scores docs with an RNN language model and generates text. Each doc, or each
    sentence where the doc has sentence boundaries, is read from a fresh state, and the
    end-of-sentence symbol is predicted after it. Whitespace tokens are skipped (their
    surprisal is None)."""

    factory_name = "rnn_lm"

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "rnn_lm",
        *,
        min_freq: int = 1,
        max_size: int = 0,
        lowercase: bool = False,
        bptt: int = 70,
        variable_bptt: bool = False,
        fresh_state: str = "sentence",
        max_grad_norm: float = 0.25,
        scorer: Optional[Callable] = lm_score,
        make_doc: Optional[Callable[[str], Doc]] = None,
    ):
        for option, value, low in [("min_freq", min_freq, 1), ("max_size", max_size, 0), ("bptt", bptt, 1)]:
            if not isinstance(value, int) or value < low:
                raise ValueError(f"rnn_lm: {option} must be an integer >= {low}, got {value!r}.")
        if max_size == 1 or max_size == 2:
            raise ValueError("rnn_lm: max_size must be 0 (no limit) or > 2 (<unk> and <eos> are included).")
        if not isinstance(variable_bptt, bool):
            raise ValueError(f"rnn_lm: variable_bptt must be true or false, got {variable_bptt!r}.")
        if fresh_state not in ("sentence", "doc"):
            raise ValueError(f'rnn_lm: fresh_state must be "sentence" or "doc", got {fresh_state!r}.')
        _register_extensions()
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        # saved with the pipeline: what the vocabulary depends on
        self.cfg = {"min_freq": min_freq, "max_size": max_size, "lowercase": lowercase, "words": []}
        # taken from the config each time the pipeline is created or loaded
        self.bptt = bptt
        self.fresh_state = fresh_state
        self.max_grad_norm = check_max_grad_norm("rnn_lm", max_grad_norm)
        self.make_doc = make_doc
        self._index: Dict[str, int] = {}
        self.model.attrs["bptt"] = bptt
        self.model.attrs["variable_bptt"] = variable_bptt

    # vocabulary -----------------------------------------------------------------
    @property
    def words(self) -> Tuple[str, ...]:
        """The output vocabulary: ``<unk>`` (id 0), ``<eos>`` (id 1), then the words."""
        return tuple(self.cfg["words"])

    def _key(self, token: Token) -> str:
        return token.lower_ if self.cfg["lowercase"] else token.text

    def ids(self, tokens: Iterable[Token]) -> numpy.ndarray:
        """The vocabulary ids of ``tokens`` (``<unk>`` for words outside it)."""
        if len(self._index) != len(self.cfg["words"]):
            self._index = {word: i for i, word in enumerate(self.cfg["words"])}
        return numpy.asarray([self._index.get(self._key(t), UNK) for t in tokens], dtype="int64")

    @property
    def directions(self) -> Tuple[str, ...]:
        """The directions the model reads in: ``("forward",)``, ``("backward",)`` or both."""
        return tuple(self.model.attrs.get("directions", ["forward"]))

    def _sequences(self, docs: Sequence[Doc]) -> List[Sequence_]:
        """One entry per sentence (or per doc, without sentence boundaries or with
        ``fresh_state = "doc"``) that has at least one non-whitespace token."""
        seqs = []
        for i, doc in enumerate(docs):
            by_sentence = self.fresh_state == "sentence" and doc.has_annotation("SENT_START")
            spans = doc.sents if by_sentence else [doc[:]]
            for span in spans:
                tokens = [t for t in span if not t.is_space]
                if tokens:
                    seqs.append((i, numpy.asarray([t.i for t in tokens]), self.ids(tokens)))
        return seqs

    def require_trained(self) -> None:
        """Raise a ValueError unless the component has a vocabulary and a built model."""
        if not self.cfg["words"] or self.model.has_dim("nV") is not True:
            raise ValueError(
                f"rnn_lm '{self.name}' is not initialized: train it (spacy train) or call nlp.initialize() first."
            )

    # scoring ----------------------------------------------------------------------
    def _batch(self, seqs: List[Sequence_], docs: Sequence[Doc], next_logprobs: bool = False) -> LMBatch:
        ids = [self.model.ops.asarray1i(ids) for _, _, ids in seqs]
        if self.model.attrs.get("lm_input") == "docs":  # the model embeds the tokens itself
            return LMBatch(ids, next_logprobs, docs=list(docs), spans=[(i, positions) for i, positions, _ in seqs])
        return LMBatch(ids, next_logprobs)

    def _in_token_order(self, logprobs: numpy.ndarray) -> numpy.ndarray:
        """A sequence's log-probabilities as its tokens come, then its end: a backward
        model predicts the tokens from the last to the first, then the start."""
        if self.directions[0] == "backward":
            return numpy.concatenate([logprobs[:-1][::-1], logprobs[-1:]])
        return logprobs

    def predict(self, docs: Iterable[Doc]):
        """Per doc, a list of ``(token positions, log-probabilities)`` per sequence; the
        log-probabilities cover the tokens, then the end of the sequence."""
        docs = list(docs)
        self.require_trained()
        seqs = self._sequences(docs)
        logprobs = self.model.predict(self._batch(seqs, docs)).logprobs if seqs else []
        out: List[list] = [[] for _ in docs]
        to_numpy = self.model.ops.to_numpy
        for (i, positions, _), lp in zip(seqs, logprobs):
            out[i].append((positions, self._in_token_order(to_numpy(lp))))
        return out

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        for doc, doc_scores in zip(docs, scores):
            for token in doc:
                token._.surprisal = None
            total, count = 0.0, 0
            for positions, lp in doc_scores:
                for position, value in zip(positions, lp[:-1]):
                    doc[int(position)]._.surprisal = float(-value / math.log(2))
                total += float(lp.sum())
                count += len(lp)
            doc._.lm_predicted = count
            doc._.logprob = total if count else None
            doc._.perplexity = math.exp(-total / count) if count else None

    # training ---------------------------------------------------------------------
    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd=None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Mean cross-entropy over every predicted token of the batch (each sentence's
        tokens and its end; the mean over the directions for a model that reads both
        ways, plus its AR/TAR penalty), back-propagated through windows of ``bptt``
        tokens."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        validate_examples(examples, "RNNLMComponent.update")
        self.require_trained()
        docs = [eg.reference for eg in examples]
        seqs = self._sequences(docs)
        if not seqs:
            return losses
        n_targets = sum(len(ids) + 1 for _, _, ids in seqs)
        set_dropout_rate(self.model, drop)
        out, backprop = self.model.begin_update(self._batch(seqs, docs))
        n_dirs = len(out.by_direction)
        loss = out.penalty - sum(float(lp.sum()) for lps in out.by_direction for lp in lps) / (n_targets * n_dirs)
        if not math.isfinite(loss):
            raise ValueError(f"rnn_lm '{self.name}': the loss is {loss} (the model diverged).")
        ops = self.model.ops
        backprop([[ops.alloc1f(len(lp)) - 1.0 / (n_targets * n_dirs) for lp in lps] for lps in out.by_direction])
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores) -> Tuple[float, None]:
        """Mean cross-entropy of ``scores`` (from :meth:`predict`); the gradient is
        computed inside :meth:`update`, window by window."""
        logprobs = [lp for doc_scores in scores for _, lp in doc_scores]
        count = sum(len(lp) for lp in logprobs)
        return (-float(sum(lp.sum() for lp in logprobs)) / count if count else 0.0), None

    def loaded_problem(self) -> Optional[str]:
        n_words = len(self.cfg["words"])
        if self.model.has_dim("nV") is True and self.model.get_dim("nV") != n_words:
            return (
                f"the saved model has {self.model.get_dim('nV')} output rows but cfg has "
                f"{n_words or 'no'} vocabulary words"
            )
        return None

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        words: Optional[Union[Sequence[str], Mapping[str, int]]] = None,
        lm: Optional[str] = None,
    ) -> None:
        """Build the output vocabulary and initialize the model for it. ``words``: null
        (count the training docs), a list (the vocabulary itself, in order) or a mapping of
        word counts (``spacy_rnn.read_word_counts.v1``: a whole corpus's counts, needed
        when spaCy streams the corpus and initializes from its first 100 docs only); counts
        go through ``min_freq``, ``max_size`` and ``lowercase`` as the docs' would.
        ``lm``: a pipeline directory with a pretrained ``rnn_lm`` (``RNNLanguageModel.v2``,
        the same embedding and sizes): its embedding and RNN weights start this model (in
        this model's directions), whose output layer, over this vocabulary, starts fresh
        (a pretrained LM carried to a new benchmark's vocabulary)."""
        validate_get_examples(get_examples, "RNNLMComponent.initialize")
        if lm is not None and self.model.attrs.get("lm_input") != "docs":
            raise ValueError(
                f"rnn_lm '{self.name}': [initialize.components.{self.name}] lm = {lm!r} needs a "
                f"spacy_rnn.RNNLanguageModel.v2 model (this one is {self.model.name!r})."
            )
        if words is None and nlp is not None and nlp.config.get("training", {}).get("max_epochs") == -1:
            raise ValueError(
                f"rnn_lm '{self.name}': the training corpus is streamed ([training] max_epochs = -1), so spaCy "
                "initializes from its first 100 docs only and the vocabulary would be built from them. Give the "
                "vocabulary instead: [initialize.components." + self.name + '] words = {"@readers": '
                '"spacy_rnn.read_word_counts.v1", "path": ".../word_counts.json"} (convert-text writes it).'
            )
        if words is None or isinstance(words, Mapping):
            counts: Counter = Counter()
            if words is None:
                for eg in get_examples():
                    counts.update(self._key(t) for t in eg.reference if not t.is_space)
            else:
                for word, count in words.items():
                    counts[word.lower() if self.cfg["lowercase"] else word] += count
            ranked = sorted(
                (w for w, c in counts.items() if c >= self.cfg["min_freq"] and w not in (UNK_TEXT, EOS_TEXT)),
                key=lambda w: (-counts[w], w),
            )
        else:
            ranked = [w for w in dict.fromkeys(words) if w not in (UNK_TEXT, EOS_TEXT)]
        if self.cfg["max_size"]:
            ranked = ranked[: self.cfg["max_size"] - 2]
        if not ranked:
            raise ValueError(
                f"rnn_lm '{self.name}': no words for the vocabulary (the initialization docs "
                f"have no tokens seen at least min_freq = {self.cfg['min_freq']} times)."
            )
        self.cfg["words"] = [UNK_TEXT, EOS_TEXT] + ranked
        self._index = {}
        self.model.set_dim("nV", len(self.cfg["words"]), force=True)
        sample = [eg.reference for _, eg in zip(range(10), get_examples())]
        self.model.initialize(X=self._batch(self._sequences(sample), sample))
        if lm is not None:
            copy_lm_weights(self.model, lm)

    # generation -------------------------------------------------------------------
    def generate(self, prompt: Union[str, Doc] = "", **options) -> str:
        """Continue ``prompt`` (a string, tokenized by the pipeline's tokenizer, or a
        Doc) and return the prompt and the new tokens as text (tokens joined by spaces).
        ``options``: ``max_tokens`` (40), ``temperature`` (1.0), ``top_k`` (None),
        ``top_p`` (1.0), ``greedy`` (False), ``seed`` (None), ``stop_at_eos`` (True); see
        :func:`spacy_rnn.pipes.generate.generate`."""
        from .generate import generate

        return generate(self, prompt, **options)

    def next_token_logprobs(self, tokens: Sequence[Token], ids: Sequence[int] = ()) -> numpy.ndarray:
        """The ``(n_vocab,)`` log-distribution of the token after ``tokens`` (then the
        vocabulary ids ``ids``), read from a fresh state."""
        self.require_trained()
        if "forward" not in self.directions:
            raise ValueError(f"rnn_lm '{self.name}' reads backward only: it cannot continue a text.")
        words = [t.text for t in tokens] + [self.cfg["words"][int(i)] for i in ids]
        doc = Doc(self.vocab, words=words) if words else Doc(self.vocab, words=[])
        context = numpy.asarray([int(i) for i in self.ids(tokens)] + [int(i) for i in ids], dtype="int64")
        seqs = [(0, numpy.arange(len(words)), context)]
        out = self.model.predict(self._batch(seqs, [doc], next_logprobs=True))
        return self.model.ops.to_numpy(out.next_logprobs[0]).astype("float64")

    def add_label(self, label: str) -> int:
        raise NotImplementedError("rnn_lm has a vocabulary built at initialize, not labels.")


# the name of 0.1.0 (it collided with the architecture spacy_rnn.RNNLanguageModel.v1)
RNNLanguageModel = RNNLMComponent
