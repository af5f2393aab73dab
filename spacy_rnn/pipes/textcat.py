"""The ``rnn_textcat`` and ``rnn_textcat_multilabel`` components: spaCy's ``textcat`` and
``textcat_multilabel`` (labels, loss, scoring, serialization) with RNN models as defaults,
gradient clipping by the global norm, and stricter checks of the training data."""

from typing import Callable, Iterable, Optional

from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Config, Model
from thinc.types import Floats2d

from .base import RNNPipe, check_max_grad_norm

# the model of configs/textcat.cfg (settings chosen on TweetEval val)
DEFAULT_RNN_TEXTCAT_MODEL = """
[model]
@architectures = "spacy_rnn.RNNTextCat.v1"
exclusive_classes = true
pooling = ["last", "max", "mean"]
hidden_width = 128
dropout = 0.2
bidirectional = null
branch_dropout = 0.33
nO = null

[model.tok2vec]
@architectures = "spacy_rnn.RNNEncoder.v1"
cell = "lstm"
hidden_size = 128
num_layers = 1
bidirectional = true
dropout = 0.0
proj_size = 0
bias = true
window = 256

[model.tok2vec.embed]
@architectures = "spacy_rnn.SubwordEmbed.v1"
width = 128
rows = 50000
char_ngrams = [3, 4, 5, 6]
attr = "LOWER"

[model.linear_model]
@architectures = "spacy_rnn.NgramBOW.v1"
exclusive_classes = true
word_ngrams = 2
char_ngrams = [2, 3, 4, 5]
length = 262144
no_output_layer = true
nO = null
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_RNN_TEXTCAT_MODEL)["model"]
DEFAULT_MULTILABEL_MODEL = Config().from_str(
    DEFAULT_RNN_TEXTCAT_MODEL.replace("exclusive_classes = true", "exclusive_classes = false")
)["model"]

# class_weights -> the power of n_docs / (n_labels * n_docs_with_the_label) in a doc's weight
CLASS_WEIGHTS = {None: 0.0, "balanced": 1.0, "sqrt_balanced": 0.5}

# as spaCy's textcat: cats_score is the model-selection score, the rest are reported
SCORE_WEIGHTS = {
    "cats_score": 1.0,
    "cats_score_desc": None,
    "cats_micro_p": None,
    "cats_micro_r": None,
    "cats_micro_f": None,
    "cats_macro_p": None,
    "cats_macro_r": None,
    "cats_macro_f": None,
    "cats_macro_auc": None,
    "cats_f_per_type": None,
}


class _RNNTextCatMixin(RNNPipe):
    """What both components add to spaCy's: global-norm clipping, an error for labels
    the component does not know, and batch-independent scores for empty docs."""

    factory_name = "rnn_textcat"

    def _check_model(self, model: Model, multi_label: bool) -> None:
        declared = model.attrs.get("multi_label")
        if declared is not None and declared != multi_label:
            want = "false" if multi_label else "true"
            other = "rnn_textcat" if multi_label else "rnn_textcat_multilabel"
            raise ValueError(
                f"{self.factory_name} '{self.name}': the model has exclusive_classes = "
                f"{str(not declared).lower()}; set it to {want}, or use {other}."
            )

    def predict(self, docs: Iterable[Doc]) -> Floats2d:
        """Scores ``(n_docs, n_labels)``; an empty doc scores the same in any batch.

        A model that declares it scores empty docs (``attrs["scores_empty_docs"]``: the
        spacy_rnn architectures) runs on every doc, empty ones too. Any other model
        (e.g. spaCy's ``TextCatBOW``, ``TextCatReduce``) runs on the non-empty docs only
        and an empty doc gets zeros, as spaCy's textcat gives a batch of empty docs."""
        docs = list(docs)
        ops = self.model.ops
        if not docs:
            return ops.alloc2f(0, len(self.labels))
        if self.model.attrs.get("scores_empty_docs"):
            return ops.asarray(self.model.predict(docs))
        keep = [i for i, doc in enumerate(docs) if len(doc)]
        scores = ops.alloc2f(len(docs), len(self.labels))
        if keep:
            scores[keep] = ops.asarray(self.model.predict([docs[i] for i in keep]))
        return scores

    def initialize(self, get_examples, *, nlp=None, labels=None, **kwargs) -> None:
        """spaCy's initialize, then every example's labels are checked against the
        labels (given, or read from the examples): an unknown one is an error here,
        before training starts."""
        if isinstance(labels, str):
            raise ValueError(
                f"{self.factory_name} '{self.name}': labels must be a list of label names, got "
                f'the string {labels!r}. In a config, write labels = ["a", "b"] (JSON, with '
                "double quotes), or give a path to a labels file with spacy.read_labels.v1."
            )
        super().initialize(get_examples, nlp=nlp, labels=labels, **kwargs)
        self._check_labels(get_examples())

    def _check_labels(self, examples: Iterable[Example]) -> None:
        known = set(self.labels)
        for eg in examples:
            unknown = [label for label in eg.reference.cats if label not in known]
            if unknown:
                raise ValueError(
                    f"{self.factory_name} '{self.name}': the training data has the label "
                    f"{unknown[0]!r}, which is not among the labels added at initialize "
                    f"{sorted(known)}. Initialize on data that has every label, or list "
                    f"them all in [initialize.components.{self.name}.labels]."
                )

    def _validate_categories(self, examples: Iterable[Example]) -> None:
        examples = list(examples)
        if self.labels:  # in update; at initialize, labels are checked once they are added
            self._check_labels(examples)
        super()._validate_categories(examples)

    def loaded_problem(self) -> Optional[str]:
        if self.model.has_dim("nO") is True and self.model.get_dim("nO") != len(self.labels):
            n_out = self.model.get_dim("nO")
            return f"the saved model has {n_out} output rows but cfg has {len(self.labels) or 'no'} labels"
        return None


class RNNTextCatComponent(_RNNTextCatMixin, TextCategorizer):
    """spaCy's ``TextCategorizer`` (mutually exclusive classes, softmax). A training doc
    without any cats is left out of the loss (spaCy's textcat would train it towards
    all zeros). ``class_weights = "balanced"`` weights each doc's loss by
    ``n_docs / (n_labels * n_docs_with_its_label)``, counted at initialize, which
    favours macro-averaged F1 on imbalanced data."""

    factory_name = "rnn_textcat"

    def __init__(
        self,
        vocab,
        model: Model,
        name: str = "rnn_textcat",
        *,
        threshold: float = 0.0,
        max_grad_norm: float = 5.0,
        class_weights: Optional[str] = "sqrt_balanced",
        scorer: Optional[Callable] = None,
    ):
        self.max_grad_norm = check_max_grad_norm(self.factory_name, max_grad_norm)
        if class_weights not in CLASS_WEIGHTS:
            raise ValueError(
                f'{self.factory_name}: class_weights must be null, "balanced" or "sqrt_balanced", '
                f"got {class_weights!r}."
            )
        kwargs = {} if scorer is None else {"scorer": scorer}
        super().__init__(vocab, model, name, threshold=threshold, **kwargs)
        self._check_model(model, multi_label=False)
        self.cfg["class_weights"] = class_weights
        self.cfg["label_weights"] = {}

    def initialize(self, get_examples, *, nlp=None, labels=None, positive_label=None) -> None:
        super().initialize(get_examples, nlp=nlp, labels=labels, positive_label=positive_label)
        self.cfg["label_weights"] = {}
        power = CLASS_WEIGHTS[self.cfg["class_weights"]]
        if power:
            counts = {label: 0 for label in self.labels}
            for eg in get_examples():
                for label, value in eg.reference.cats.items():
                    if value == 1.0 and label in counts:
                        counts[label] += 1
            total = sum(counts.values())
            self.cfg["label_weights"] = {
                label: (total / (len(counts) * n)) ** power if n else 1.0 for label, n in counts.items()
            }

    def get_loss(self, examples, scores):
        examples = list(examples)
        loss, d_scores = super().get_loss(examples, scores)
        weights = self.cfg.get("label_weights")
        if weights:
            row_weights = [
                weights.get(max(eg.reference.cats, key=eg.reference.cats.get), 1.0) if eg.reference.cats else 0.0
                for eg in examples
            ]
            d_scores = d_scores * self.model.ops.asarray2f([row_weights]).T
        return loss, d_scores

    def _examples_to_truth(self, examples):
        examples = list(examples)
        truths, not_missing = super()._examples_to_truth(examples)
        for i, eg in enumerate(examples):
            if not eg.reference.cats:
                not_missing[i] = 0.0
        return truths, not_missing


class RNNMultiLabelTextCatComponent(_RNNTextCatMixin, MultiLabel_TextCategorizer):
    """spaCy's ``MultiLabel_TextCategorizer`` (independent labels, a sigmoid each;
    labels absent from a doc's cats are missing values, left out of the loss)."""

    factory_name = "rnn_textcat_multilabel"

    def __init__(
        self,
        vocab,
        model: Model,
        name: str = "rnn_textcat_multilabel",
        *,
        threshold: float = 0.5,
        max_grad_norm: float = 5.0,
        scorer: Optional[Callable] = None,
    ):
        self.max_grad_norm = check_max_grad_norm(self.factory_name, max_grad_norm)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"{self.factory_name}: threshold must be in [0, 1], got {threshold}.")
        kwargs = {} if scorer is None else {"scorer": scorer}
        super().__init__(vocab, model, name, threshold=threshold, **kwargs)
        self._check_model(model, multi_label=True)


@Language.factory(
    "rnn_textcat",
    assigns=["doc.cats"],
    default_config={
        "threshold": 0.0,
        "model": DEFAULT_MODEL,
        "max_grad_norm": 5.0,
        "class_weights": "sqrt_balanced",
        "scorer": {"@scorers": "spacy.textcat_scorer.v2"},
    },
    default_score_weights=SCORE_WEIGHTS,
)
def make_rnn_textcat(
    nlp: Language,
    name: str,
    model: Model,
    threshold: float,
    max_grad_norm: float,
    class_weights: Optional[str],
    scorer: Optional[Callable],
) -> RNNTextCatComponent:
    """Mutually exclusive classes (exactly one per doc) with an RNN: ``doc.cats`` gets a
    probability per label, summing to 1. spaCy's ``textcat`` (labels, loss, scoring,
    serialization) with unknown training labels rejected at initialize, docs without cats
    left out of the loss, and a defined score for empty docs in any batch.

    model: any ``Model[List[Doc], Floats2d]`` with ``exclusive_classes = true``; by
        default ``spacy_rnn.RNNTextCat.v1`` as in ``configs/textcat.cfg``.
    threshold: unused, as in spaCy's textcat (kept for the same config).
    max_grad_norm: clip the gradients to this global L2 norm before each update (0: off).
    class_weights: ``"sqrt_balanced"`` (the default) weights each training doc's loss by
        the square root of ``n_docs / (n_labels * n_docs_with_its_label)``, counted at
        initialize; ``"balanced"`` by that ratio itself; ``null``: no weights.
    scorer: spaCy's textcat scorer: ``cats_score`` is the macro-F1, or the F1 of
        ``positive_label`` for a binary task initialized with one.
    """
    return RNNTextCatComponent(
        nlp.vocab,
        model,
        name,
        threshold=threshold,
        max_grad_norm=max_grad_norm,
        class_weights=class_weights,
        scorer=scorer,
    )


@Language.factory(
    "rnn_textcat_multilabel",
    assigns=["doc.cats"],
    default_config={
        "threshold": 0.5,
        "model": DEFAULT_MULTILABEL_MODEL,
        "max_grad_norm": 5.0,
        "scorer": {"@scorers": "spacy.textcat_multilabel_scorer.v2"},
    },
    default_score_weights=SCORE_WEIGHTS,
)
def make_rnn_textcat_multilabel(
    nlp: Language,
    name: str,
    model: Model,
    threshold: float,
    max_grad_norm: float,
    scorer: Optional[Callable],
) -> RNNMultiLabelTextCatComponent:
    """Independent labels (zero, one or several per doc) with an RNN: ``doc.cats`` gets
    a probability per label. spaCy's ``textcat_multilabel`` (labels missing from a doc's
    cats are missing values) with the checks of ``rnn_textcat``.

    model: any ``Model[List[Doc], Floats2d]`` with ``exclusive_classes = false``; by
        default ``spacy_rnn.RNNTextCat.v1`` with a sigmoid per label.
    threshold: the probability above which the scorer counts a label as predicted.
    max_grad_norm: clip the gradients to this global L2 norm before each update (0: off).
    scorer: spaCy's multi-label textcat scorer (``cats_score``: macro-F1).
    """
    return RNNMultiLabelTextCatComponent(
        nlp.vocab, model, name, threshold=threshold, max_grad_norm=max_grad_norm, scorer=scorer
    )


# the names of 0.1.0
RNNTextCategorizer = RNNTextCatComponent
RNNMultiLabelTextCategorizer = RNNMultiLabelTextCatComponent
