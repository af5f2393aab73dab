"""Shared builders for the tests: small configurations of every component, synthetic
training examples, and trained tiny pipelines. Tests import from here, never from each
other."""

import copy
import json
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Dict, List

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

TESTS = Path(__file__).parent
ROOT = TESTS.parent
FIXTURE_CONLLU = TESTS / "data" / "tiny.conllu"
# the real corpora: ../shared/data beside the checkout, or SPACY_RNN_DATA
DATA_DIR = Path(os.environ.get("SPACY_RNN_DATA", ROOT.parent / "shared" / "data"))

WINDOW = 4  # the encoder's window / the language model's bptt: boundaries are crossed
WORDS = ["the", "cat", "sat", "on", "a", "mat", ".", "dogs", "ran", "home", "happy", "sad"]
TAGS = {
    "the": "DET",
    "a": "DET",
    "cat": "NOUN",
    "mat": "NOUN",
    "dogs": "NOUN",
    "home": "NOUN",
    "sat": "VERB",
    "ran": "VERB",
    "on": "ADP",
    ".": "PUNCT",
    "happy": "ADJ",
    "sad": "ADJ",
}
# lengths around the window (window - 1, window, window + 1, 2 * window + 1), and others
TARGET_LENGTHS = [1, WINDOW - 2, WINDOW - 1, WINDOW, WINDOW + 1, 2 * WINDOW - 1, 2 * WINDOW, 2 * WINDOW + 1]
SHORT, LONG = 2, 3 * WINDOW + 2
HASH_EMBED = {
    "@architectures": "spacy.MultiHashEmbed.v2",
    "width": 16,
    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
    "rows": [200, 50, 50, 20],
    "include_static_vectors": False,
}


def encoder(**overrides) -> dict:
    return {
        "@architectures": "spacy_rnn.RNNEncoder.v1",
        "hidden_size": 8,
        "num_layers": 2,
        "bidirectional": True,
        "window": WINDOW,
        "embed": HASH_EMBED,
        **overrides,
    }


def words(n: int, seed: int) -> List[str]:
    return [WORDS[(seed + 5 * i + i * i) % len(WORDS)] for i in range(n)]


def tagged_example(vocab, n: int, seed: int, attr: str) -> Example:
    ws = words(n, seed)
    kwargs = {"pos": [TAGS[w] for w in ws]} if attr == "pos" else {"tags": [TAGS[w].lower() for w in ws]}
    return Example(Doc(vocab, words=ws), Doc(vocab, words=ws, **kwargs))


def cats_example(vocab, n: int, seed: int, labels, multilabel: bool) -> Example:
    ws = words(n, seed)
    doc = Doc(vocab, words=ws)
    doc.cats = {
        label: float((seed + i) % len(labels) == 0 or (multilabel and i == 0)) for i, label in enumerate(labels)
    }
    return Example(Doc(vocab, words=ws), doc)


def lm_example(vocab, n: int, seed: int) -> Example:
    ws = words(n, seed)
    return Example(Doc(vocab, words=ws), Doc(vocab, words=ws))


@dataclass
class Case:
    """A component in a small configuration: ``add(nlp)`` adds it, ``example(vocab, n,
    seed)`` makes a training example of n tokens, ``extract(doc)`` reads its outputs as
    one float array."""

    name: str
    add: Callable[[Language], None]
    example: Callable
    extract: Callable[[Doc], numpy.ndarray]
    record: List[str] = field(default_factory=list)  # components whose model scores to record


def _scores(doc: Doc, name: str) -> numpy.ndarray:
    return numpy.asarray(doc.user_data[f"scores:{name}"], dtype="float64").ravel()


def _cats(doc: Doc) -> numpy.ndarray:
    return numpy.asarray([doc.cats[k] for k in sorted(doc.cats)], dtype="float64")


def _lm(doc: Doc) -> numpy.ndarray:
    values = [t._.surprisal for t in doc] + [doc._.logprob if doc._.logprob is not None else 0.0]
    return numpy.asarray(values, dtype="float64")


SMALL_SUBWORD = {"@architectures": "spacy_rnn.SubwordEmbed.v1", "width": 16, "rows": 300}


def _wide_textcat(tok2vec: dict) -> Callable[[Language], None]:
    """Adds rnn_textcat (hidden width 8) over ``tok2vec`` with the n-gram branch, as the
    shipped textcat configs have it."""
    model = {
        "@architectures": "spacy_rnn.RNNTextCat.v1",
        "hidden_width": 8,
        "tok2vec": tok2vec,
        "linear_model": {"@architectures": "spacy_rnn.NgramBOW.v1", "length": 512, "no_output_layer": True},
    }
    return lambda nlp: nlp.add_pipe("rnn_textcat", config={"model": copy.deepcopy(model)})


LABELS = ["anger", "joy", "sadness"]
CASES: Dict[str, List[Case]] = {
    "rnn_tagger": [
        Case(
            f"rnn_tagger-{attr}",
            lambda nlp, attr=attr: nlp.add_pipe(
                "rnn_tagger",
                config={"attr": attr, "model": {"@architectures": "spacy_rnn.RNNTagger.v1", "tok2vec": encoder()}},
            ),
            lambda vocab, n, seed, attr=attr: tagged_example(vocab, n, seed, attr),
            lambda doc: _scores(doc, "rnn_tagger"),
            record=["rnn_tagger"],
        )
        for attr in ("pos", "tag")
    ],
    "rnn_textcat": [
        Case(
            f"rnn_textcat-{pooling}",
            lambda nlp, pooling=pooling: nlp.add_pipe(
                "rnn_textcat",
                config={
                    "model": {
                        "@architectures": "spacy_rnn.RNNTextCat.v1",
                        "pooling": pooling,
                        "hidden_width": 8,
                        "tok2vec": encoder(
                            embed={"@architectures": "spacy_rnn.SubwordEmbed.v1", "width": 16, "rows": 300}
                        ),
                        "linear_model": {
                            "@architectures": "spacy_rnn.NgramBOW.v1",
                            "length": 512,
                            "no_output_layer": True,
                        },
                    }
                },
            ),
            lambda vocab, n, seed: cats_example(vocab, n, seed, LABELS, False),
            _cats,
        )
        for pooling in (["last", "max", "mean"], ["attention"])
    ],
    "rnn_textcat_multilabel": [
        Case(
            "rnn_textcat_multilabel",
            lambda nlp: nlp.add_pipe(
                "rnn_textcat_multilabel",
                config={
                    "model": {
                        "@architectures": "spacy_rnn.RNNTextCat.v1",
                        "exclusive_classes": False,
                        "hidden_width": 8,
                        "tok2vec": encoder(cell="gru"),
                        "linear_model": None,
                    }
                },
            ),
            lambda vocab, n, seed: cats_example(vocab, n, seed, LABELS, True),
            _cats,
        ),
    ],
    "rnn_lm": [
        Case(
            "rnn_lm",
            lambda nlp: nlp.add_pipe(
                "rnn_lm",
                config={
                    "bptt": WINDOW,
                    "model": {
                        "@architectures": "spacy_rnn.RNNLanguageModel.v1",
                        "embed_size": 8,
                        "hidden_size": 16,
                        "num_layers": 2,
                        "proj_size": 8,
                    },
                },
            ),
            lm_example,
            _lm,
        ),
    ],
    "rnn_lm (v2)": [
        Case(
            "rnn_lm-v2-both",
            lambda nlp: nlp.add_pipe(
                "rnn_lm",
                config={
                    "bptt": WINDOW,
                    "variable_bptt": True,  # random windows while training only
                    "model": {
                        "@architectures": "spacy_rnn.RNNLanguageModel.v2",
                        "hidden_size": 8,
                        "num_layers": 2,
                        "direction": "both",
                        "adaptive_cutoffs": [6],
                        "embed": HASH_EMBED,
                    },
                },
            ),
            lm_example,
            _lm,
        ),
    ],
    "rnn_tagger over spacy_rnn.LMEncoder.v1": [
        Case(
            "rnn_tagger+LMEncoder",
            lambda nlp: nlp.add_pipe(
                "rnn_tagger",
                config={
                    "model": {
                        "@architectures": "spacy_rnn.RNNTagger.v1",
                        "tok2vec": {
                            "@architectures": "spacy_rnn.LMEncoder.v1",
                            "hidden_size": 8,
                            "num_layers": 2,
                            "embed": HASH_EMBED,
                        },
                    }
                },
            ),
            lambda vocab, n, seed: tagged_example(vocab, n, seed, "pos"),
            lambda doc: _scores(doc, "rnn_tagger"),
            record=["rnn_tagger"],
        ),
    ],
    # configs/tagger_features.cfg in small: the frozen LM's states beside the tagger's own embedding
    "rnn_tagger over spacy_rnn.LMFeatures.v1": [
        Case(
            "rnn_tagger+LMFeatures",
            lambda nlp: nlp.add_pipe(
                "rnn_tagger",
                config={
                    "model": {
                        "@architectures": "spacy_rnn.RNNTagger.v1",
                        "tok2vec": encoder(
                            embed={
                                "@architectures": "spacy_rnn.ConcatEmbed.v1",
                                "*": {
                                    "words": HASH_EMBED,
                                    "lm": {
                                        "@architectures": "spacy_rnn.LMFeatures.v1",
                                        "hidden_size": 8,
                                        "embed": HASH_EMBED,
                                    },
                                },
                            }
                        ),
                    }
                },
            ),
            lambda vocab, n, seed: tagged_example(vocab, n, seed, "pos"),
            lambda doc: _scores(doc, "rnn_tagger"),
            record=["rnn_tagger"],
        ),
    ],
    # configs/textcat_pretrained.cfg in small: the LM encoder over SubwordEmbed, with the n-gram branch
    "rnn_textcat over spacy_rnn.LMEncoder.v1": [
        Case(
            "rnn_textcat+LMEncoder",
            _wide_textcat({"@architectures": "spacy_rnn.LMEncoder.v1", "hidden_size": 8, "embed": SMALL_SUBWORD}),
            lambda vocab, n, seed: cats_example(vocab, n, seed, LABELS, False),
            _cats,
        ),
    ],
    # configs/textcat_features.cfg in small: the frozen LM's states beside the task's own embedding
    "rnn_textcat over spacy_rnn.LMFeatures.v1": [
        Case(
            "rnn_textcat+LMFeatures",
            _wide_textcat(
                {
                    "@architectures": "spacy_rnn.RNNEncoder.v1",
                    "hidden_size": 8,
                    "embed": {
                        "@architectures": "spacy_rnn.ConcatEmbed.v1",
                        "*": {
                            "words": SMALL_SUBWORD,
                            "lm": {
                                "@architectures": "spacy_rnn.LMFeatures.v1",
                                "hidden_size": 8,
                                "embed": SMALL_SUBWORD,
                            },
                        },
                    },
                }
            ),
            lambda vocab, n, seed: cats_example(vocab, n, seed, LABELS, False),
            _cats,
        ),
    ],
    # not a factory of ours: our encoder under spaCy's own tagger
    "spacy tagger over spacy_rnn.RNNEncoder.v1": [
        Case(
            "tagger+RNNEncoder",
            lambda nlp: nlp.add_pipe(
                "tagger", config={"model": {"@architectures": "spacy.Tagger.v2", "tok2vec": encoder()}}
            ),
            lambda vocab, n, seed: tagged_example(vocab, n, seed, "tag"),
            lambda doc: _scores(doc, "tagger"),
            record=["tagger"],
        ),
    ],
}
ALL_CASES = [case for cases in CASES.values() for case in cases]


def record_model_scores(nlp: Language, name: str) -> None:
    """Make component ``name`` also store its model's scores for each doc in
    ``doc.user_data`` (they travel back from ``nlp.pipe(n_process=2)`` workers with the doc)."""
    pipe = nlp.get_pipe(name)
    predict = pipe.predict

    def recording_predict(docs):
        docs = list(docs)
        for doc, scores in zip(docs, pipe.model.predict(docs)):
            doc.user_data[f"scores:{name}"] = pipe.model.ops.to_numpy(scores).tolist()
        return predict(docs)

    pipe.predict = recording_predict


def build(case: "Case", steps: int = 8) -> Language:
    """A blank English pipeline with the case's component, trained ``steps`` updates on
    six small examples."""
    nlp = spacy.blank("en")
    case.add(nlp)
    spacy.util.fix_random_seed(0)
    examples = [case.example(nlp.vocab, n, seed) for seed, n in enumerate([3, 5, 8, 2, 11, 6])]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    for name in case.record:
        record_model_scores(nlp, name)
    return nlp


def our_factories() -> List[str]:
    """The factories spacy-rnn registers (its spacy_factories entry points)."""
    return sorted(ep.name for ep in entry_points(group="spacy_factories") if ep.value.startswith("spacy_rnn."))


# --- builders shared by the component tests ---------------------------------------------

HASH_EMBED_32 = {
    "@architectures": "spacy.MultiHashEmbed.v2",
    "width": 32,
    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
    "rows": [500, 100, 100, 50],
    "include_static_vectors": False,
}
SMALL_TAGGER = {
    "@architectures": "spacy_rnn.RNNTagger.v1",
    "tok2vec": {
        "@architectures": "spacy_rnn.RNNEncoder.v1",
        "cell": "lstm",
        "hidden_size": 32,
        "num_layers": 1,
        "bidirectional": True,
        "embed": HASH_EMBED_32,
    },
}


def train(nlp: Language, examples: List[Example], steps: int = 60, lr: float = 0.01, drop: float = 0.0) -> Language:
    """``nlp.initialize`` on the examples, then ``steps`` updates on all of them (seed 0)."""
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = lr
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer, drop=drop)
    return nlp


def predict_attrs(nlp: Language, docs: List[Doc], attr: str = "pos_") -> List[List[str]]:
    """``attr`` of each token when ``nlp`` annotates the words of ``docs``."""
    return [[getattr(t, attr) for t in d] for d in nlp.pipe([Doc(nlp.vocab, words=[t.text for t in d]) for d in docs])]


def gold_attrs(docs: List[Doc], attr: str = "pos_") -> List[List[str]]:
    return [[getattr(t, attr) for t in d] for d in docs]


TEXTS = [
    ("I love this , what a happy day", "joy"),
    ("so glad and happy for you", "joy"),
    ("this makes me smile every time", "joy"),
    ("best news ever , love it", "joy"),
    ("I hate waiting in this stupid line", "anger"),
    ("furious about the awful service", "anger"),
    ("stop lying to us , this is outrageous", "anger"),
    ("what a rude and annoying man", "anger"),
    ("I miss her so much , feeling down", "sadness"),
    ("crying all night , so lonely", "sadness"),
    ("lost my dog today", "sadness"),
    ("nothing feels right anymore", "sadness"),
]
TEXTCAT_LABELS = ["anger", "joy", "sadness"]


def textcat_model(exclusive=True, pooling=("last", "max", "mean"), cell="lstm", bidirectional=True, window=0) -> dict:
    """A small RNNTextCat.v1 without a linear model."""
    return {
        "@architectures": "spacy_rnn.RNNTextCat.v1",
        "exclusive_classes": exclusive,
        "pooling": list(pooling),
        "hidden_width": 16,
        "dropout": 0.0,
        "tok2vec": {
            "@architectures": "spacy_rnn.RNNEncoder.v1",
            "cell": cell,
            "hidden_size": 16,
            "num_layers": 1,
            "bidirectional": bidirectional,
            "window": window,
            "embed": {**HASH_EMBED_32, "width": 16},
        },
    }


def dan_model(exclusive=True, word_dropout=0.0) -> dict:
    return {
        "@architectures": "spacy_rnn.DAN.v1",
        "exclusive_classes": exclusive,
        "depth": 2,
        "hidden_width": 32,
        "dropout": 0.0,
        "word_dropout": word_dropout,
        "embed": HASH_EMBED_32,
    }


def bow_model(exclusive=True, **kwargs) -> dict:
    return {"@architectures": "spacy_rnn.NgramBOW.v1", "exclusive_classes": exclusive, "length": 2**16, **kwargs}


def textcat_examples(nlp: Language, multilabel: bool = False) -> List[Example]:
    """TEXTS as examples; with ``multilabel``, the "anger" docs are also "sadness"."""
    examples = []
    for text, label in TEXTS:
        cats = {name: float(name == label) for name in TEXTCAT_LABELS}
        if multilabel and label == "anger":
            cats["sadness"] = 1.0
        examples.append(Example.from_dict(nlp.make_doc(text), {"cats": cats}))
    return examples


def textcat_nlp(factory: str = "rnn_textcat", model: dict = None, **cfg) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe(factory, config={"model": model or textcat_model(factory == "rnn_textcat"), **cfg})
    return nlp


# after its first word, each sentence is predictable from its left context
LM_TEXTS = [
    "the cat sat on the mat .",
    "a dog lay on a log .",
    "my old man saw big ships .",
    "birds sang loudly today .",
]
NO_LM_REGULARISERS = {"embed_dropout": 0.0, "input_dropout": 0.0, "hidden_dropout": 0.0, "weight_dropout": 0.0}


def lm_model(**overrides) -> dict:
    """A small RNNLanguageModel.v1 (the factory default's dropouts, unless overridden)."""
    model = {
        "@architectures": "spacy_rnn.RNNLanguageModel.v1",
        "cell": "lstm",
        "embed_size": 32,
        "hidden_size": 64,
        "num_layers": 2,
        "proj_size": 32,
        "tie_weights": True,
    }
    model.update(overrides)
    return model


def lm_v2_model(**overrides) -> dict:
    """A small RNNLanguageModel.v2 over hash embeddings, reading both ways."""
    return {
        "@architectures": "spacy_rnn.RNNLanguageModel.v2",
        "hidden_size": 16,
        "num_layers": 2,
        "direction": "both",
        "embed": HASH_EMBED_32,
        **overrides,
    }


def lm_nlp(model: dict = None, **cfg) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_lm", config={"model": model or lm_model(), **cfg})
    return nlp


def lm_examples(nlp: Language, texts=LM_TEXTS) -> List[Example]:
    return [Example(nlp.make_doc(t), nlp.make_doc(t)) for t in texts]


def train_lm(nlp: Language, steps: int = 300, lr: float = 0.01, drop: float = 0.0) -> Language:
    return train(nlp, lm_examples(nlp), steps=steps, lr=lr, drop=drop)


def torch_params(model) -> List[numpy.ndarray]:
    """Copies of every torch parameter under ``model`` (a thinc Model)."""
    from spacy_rnn.shims import torch_parameters

    return [p.detach().numpy().copy() for node in model.walk() for s in node.shims for p in torch_parameters(s)]


def all_params(model) -> List[numpy.ndarray]:
    """Copies of every thinc and torch parameter under ``model``."""
    out = [node.get_param(n).copy() for node in model.walk() for n in node.param_names if node.has_param(n)]
    return out + torch_params(model)


def package_and_run(nlp: Language, tmp_path, name: str, code: str) -> str:
    """`spacy package` the pipeline as an sdist, pip-install it into a private folder,
    then run ``code`` in a fresh interpreter that sees only that install; returns its
    stdout (the package is importable as ``en_<name>``)."""
    import os
    import subprocess
    import sys

    nlp.meta.update({"name": name, "version": "0.0.1"})
    nlp.to_disk(tmp_path / "model")
    (tmp_path / "pkg").mkdir()

    def run(*cmd, **kw):
        result = subprocess.run(cmd, capture_output=True, text=True, **kw)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    run(
        sys.executable,
        "-m",
        "spacy",
        "package",
        str(tmp_path / "model"),
        str(tmp_path / "pkg"),
        "--build",
        "sdist",
        "--force",
    )
    sdist = next((tmp_path / "pkg").rglob("*.tar.gz"))
    run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--quiet",
        "--target",
        str(tmp_path / "site"),
        str(sdist),
    )
    return run(sys.executable, "-c", code, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}).stdout


# ------------------------------------------------------------- annotation (tests/test_annotate.py, test_scale.py)
ANNOTATE_TEXTS = [
    "the cat sat on the mat .",
    "I love this , what a happy day",
    "furious about the awful service and the long wait in the line today",
    "a",
    "dogs ran home , happy and sad , on a mat",
]


def annotation_models(root: Path, tagged_docs: List[Doc]) -> Dict[str, Path]:
    """Three small trained pipelines saved under ``root``: a tagger (on ``tagged_docs``),
    a text classifier and a language model."""
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": SMALL_TAGGER})
    examples = [Example(Doc(nlp.vocab, words=[t.text for t in d]), d) for d in tagged_docs]
    train(nlp, examples, steps=10).to_disk(root / "tagger")
    nlp = textcat_nlp()
    train(nlp, textcat_examples(nlp), steps=10).to_disk(root / "textcat")
    train_lm(lm_nlp(), steps=10).to_disk(root / "lm")
    return {name: root / name for name in ("tagger", "textcat", "lm")}


def write_jsonl(path: Path, objs: list) -> Path:
    """One line per item: strings as they are, anything else as JSON."""
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs), encoding="utf8")
    return path


def read_jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines()]


def expected_records(model: Path, texts: List[str], ids: List[str], batch_size: int = 256) -> List[dict]:
    """What ``nlp.pipe`` gives, as annotate's records (the same batches give the same
    floats to the last bit; other batches agree within 1e-5, tests/pipes/test_invariance.py)."""
    from spacy_rnn.annotate import Record, doc_record

    nlp = spacy.load(model)
    docs = nlp.pipe(texts, batch_size=batch_size)
    return [
        doc_record(doc, Record(i, doc_id, "", 0, text)) for i, (doc, text, doc_id) in enumerate(zip(docs, texts, ids))
    ]
