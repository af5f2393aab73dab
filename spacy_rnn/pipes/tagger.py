"""The ``rnn_tagger`` component: spaCy's ``Tagger`` with an RNN model, UPOS or
fine-grained tags, and gradient clipping by the global norm."""

from itertools import islice
from typing import Callable, Dict, Iterable, List, Literal, Optional

import numpy
from spacy.attrs import POS, TAG
from spacy.language import Language
from spacy.pipeline.tagger import Tagger
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Config, Model, SequenceCategoricalCrossentropy
from thinc.types import Floats2d

from .base import RNNPipe, check_max_grad_norm

# the model of configs/tagger.cfg (settings chosen on EWT dev)
DEFAULT_RNN_TAGGER_MODEL = """
[model]
@architectures = "spacy_rnn.RNNTagger.v1"
nO = null

[model.tok2vec]
@architectures = "spacy_rnn.RNNEncoder.v1"
cell = "lstm"
hidden_size = 128
num_layers = 2
bidirectional = true
dropout = 0.25
proj_size = 0
bias = true
window = 512

[model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 128
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [20000, 2000, 5000, 2000]
include_static_vectors = false
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_RNN_TAGGER_MODEL)["model"]

ATTRS = {"pos": POS, "tag": TAG}


@registry.scorers("spacy_rnn.tagger_scorer.v1")
def make_tagger_scorer() -> Callable:
    return tagger_score


def tagger_score(examples: Iterable[Example], *, attr: str = "pos", **kwargs) -> Dict[str, object]:
    """Token accuracy of ``attr``: ``pos_acc`` or ``tag_acc``. ``attr`` comes from the
    component's settings (spaCy passes ``cfg`` to the scorer)."""
    return Scorer.score_token_attr(examples, attr, **kwargs)


@Language.factory(
    "rnn_tagger",
    assigns=["token.pos", "token.tag"],
    default_config={
        "model": DEFAULT_MODEL,
        "attr": "pos",
        "overwrite": False,
        "max_grad_norm": 5.0,
        "label_smoothing": 0.0,
        "neg_prefix": "!",
        "scorer": {"@scorers": "spacy_rnn.tagger_scorer.v1"},
    },
    # Only the attribute the tagger predicts is scored; set [training.score_weights]
    # to {pos_acc = 1.0, tag_acc = 0.0} (or the reverse) to report it unscaled.
    default_score_weights={"pos_acc": 0.5, "tag_acc": 0.5},
)
def make_rnn_tagger(
    nlp: Language,
    name: str,
    model: Model[List[Doc], List[Floats2d]],
    attr: Literal["pos", "tag"],
    overwrite: bool,
    max_grad_norm: float,
    label_smoothing: float,
    neg_prefix: str,
    scorer: Optional[Callable],
) -> "RNNTaggerComponent":
    """Predict a label for every token with an RNN; spaCy's ``Tagger`` (prediction,
    labels, serialization, rehearsal) with UPOS as well as fine-grained tags, global-norm
    clipping, and errors for labels it does not know. Labels are read from the training
    data at initialize (or from ``[initialize.components.<name>.labels]``); tokens without
    annotation are left out of the loss.

    model: any ``Model[List[Doc], List[Floats2d]]`` ending in a softmax per token; by
        default ``spacy_rnn.RNNTagger.v1`` over ``spacy_rnn.RNNEncoder.v1`` (hash
        embeddings of NORM, PREFIX, SUFFIX, SHAPE; a 2-layer BiLSTM, 128 per direction).
    attr: ``"pos"`` predicts UPOS into ``token.pos_`` (scored as ``pos_acc``); ``"tag"``
        fine-grained tags into ``token.tag_`` (``tag_acc``).
    overwrite: overwrite annotation that is already set.
    max_grad_norm: clip the component's gradients to this global L2 norm before each
        update (Pascanu et al. 2013); 0 turns it off.
    label_smoothing: as in spaCy's tagger.
    neg_prefix: as in spaCy's tagger: a label starting with it means "not this label".
    scorer: token accuracy of ``attr``; the factory's score weights are ``pos_acc = 0.5,
        tag_acc = 0.5`` (our configs set the one predicted to 1).
    """
    return RNNTaggerComponent(
        nlp.vocab,
        model,
        name,
        attr=attr,
        overwrite=overwrite,
        max_grad_norm=max_grad_norm,
        label_smoothing=label_smoothing,
        neg_prefix=neg_prefix,
        scorer=scorer,
    )


class RNNTaggerComponent(RNNPipe, Tagger):
    """spaCy's ``Tagger`` (labels, prediction, serialization, rehearsal), extended to
    predict UPOS as well as fine-grained tags and to clip gradients globally."""

    factory_name = "rnn_tagger"

    def __init__(
        self,
        vocab: Vocab,
        model: Model,
        name: str = "rnn_tagger",
        *,
        attr: str = "pos",
        overwrite: bool = False,
        max_grad_norm: float = 5.0,
        label_smoothing: float = 0.0,
        neg_prefix: str = "!",
        scorer: Optional[Callable] = tagger_score,
    ):
        if attr not in ATTRS:
            raise ValueError(f"rnn_tagger: attr must be one of {sorted(ATTRS)}, got {attr!r}.")
        self.max_grad_norm = check_max_grad_norm("rnn_tagger", max_grad_norm)
        super().__init__(
            vocab,
            model,
            name,
            overwrite=overwrite,
            scorer=scorer,
            neg_prefix=neg_prefix,
            label_smoothing=label_smoothing,
        )
        self.cfg["attr"] = attr

    @property
    def attr(self) -> str:
        return self.cfg["attr"]

    def _gold_labels(self, example: Example) -> List[Optional[str]]:
        """The example's gold labels aligned to its predicted tokens; None = missing."""
        golds = example.get_aligned(self.attr.upper(), as_string=True)
        return [label if label != "" else None for label in golds]

    def set_annotations(self, docs: Iterable[Doc], batch_tag_ids) -> None:
        if isinstance(docs, Doc):
            docs = [docs]
        attr_id = ATTRS[self.attr]
        strings = self.vocab.strings
        label_ids = numpy.asarray([strings.add(label) for label in self.labels], dtype="uint64")
        for doc, tag_ids in zip(docs, batch_tag_ids):
            if not len(doc):
                continue
            if hasattr(tag_ids, "get"):
                tag_ids = tag_ids.get()
            values = label_ids[numpy.asarray(tag_ids, dtype="int64")]
            if not self.cfg["overwrite"]:
                current = doc.to_array([attr_id])
                values = numpy.where(current == 0, values, current)
            doc.from_array([attr_id], values.astype("uint64"))

    def loaded_problem(self) -> Optional[str]:
        if self.model.has_ref("softmax") and self.model.get_ref("softmax").has_dim("nO") is True:
            n_out = self.model.get_ref("softmax").get_dim("nO")
            if n_out != len(self.labels):
                return f"the saved model has {n_out} output rows but cfg has {len(self.labels) or 'no'} labels"
        return None

    def get_loss(self, examples, scores):
        validate_examples(examples, "RNNTaggerComponent.get_loss")
        truths = [self._gold_labels(eg) for eg in examples]
        known = set(self.labels)
        neg = self.cfg["neg_prefix"]
        for golds in truths:
            for label in golds:
                if label is not None and label not in known and not (neg and label.startswith(neg)):
                    raise ValueError(
                        f"rnn_tagger '{self.name}': the training data has the {self.attr} "
                        f"label {label!r}, which is not among the labels added at initialize "
                        f"({len(known)} labels). Initialize on data that contains every label, "
                        f"or pass the full label set to initialize (e.g. [initialize.components."
                        f"{self.name}.labels])."
                    )
        loss_func = SequenceCategoricalCrossentropy(
            names=self.labels,
            normalize=False,
            neg_prefix=neg,
            label_smoothing=self.cfg["label_smoothing"],
        )
        d_scores, loss = loss_func(scores, truths)
        if self.model.ops.xp.isnan(loss):
            raise ValueError(f"rnn_tagger '{self.name}': the loss is NaN (the model diverged).")
        return float(loss), d_scores

    def initialize(self, get_examples, *, nlp=None, labels=None):
        validate_get_examples(get_examples, "RNNTaggerComponent.initialize")
        if labels is not None:
            for label in labels:
                self.add_label(label)
        else:
            found = set()
            for example in get_examples():
                for token in example.reference:
                    label = getattr(token, f"{self.attr}_")
                    if label:
                        found.add(label)
            for label in sorted(found):
                self.add_label(label)
        if not self.labels:
            raise ValueError(
                f"rnn_tagger '{self.name}': no {self.attr} annotation was found in the "
                f"initialization examples (token.{self.attr}_ is empty everywhere); "
                f"check the training data or the component's attr setting."
            )
        doc_sample = []
        label_sample = []
        for example in islice(get_examples(), 10):
            doc_sample.append(example.x)
            golds = self._gold_labels(example)
            label_sample.append(
                self.model.ops.asarray(
                    [[1.0 if lab == gold else 0.0 for lab in self.labels] for gold in golds],
                    dtype="float32",
                ).reshape((len(golds), len(self.labels)))
            )
        self.model.initialize(X=doc_sample, Y=label_sample)


# the name of 0.1.0 (it collided with the architecture spacy_rnn.RNNTagger.v1)
RNNTagger = RNNTaggerComponent
