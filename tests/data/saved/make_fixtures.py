"""Write tiny trained pipelines and their outputs, to test that models saved by an
earlier version keep loading with identical predictions (tests/test_saved_models.py).

    PYTHONPATH=<checkout of that version> python tests/data/saved/make_fixtures.py OUT_DIR

The fixtures in tests/data/saved/0.1.0 were written by commit 3148c1c (spacy-rnn 0.1.0).
"""
import json
import sys
from pathlib import Path

import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example

import spacy_rnn

torch.set_num_threads(1)

WORDS = [
    ("The cat sat on the mat .", "DET NOUN VERB ADP DET NOUN PUNCT"),
    ("A dog ran to the park .", "DET NOUN VERB ADP DET NOUN PUNCT"),
    ("She saw big ships today .", "PRON VERB ADJ NOUN NOUN PUNCT"),
]
TWEETS = [("I love this so much", "joy"), ("this is terrible and sad", "sadness"),
          ("what a great day", "joy"), ("I hate waiting", "anger")]
HASH = {"@architectures": "spacy.MultiHashEmbed.v2", "width": 16, "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
        "rows": [64, 32, 32, 16], "include_static_vectors": False}
TAGGER = {"@architectures": "spacy_rnn.RNNTagger.v1", "tok2vec": {
    "@architectures": "spacy_rnn.RNNEncoder.v1", "hidden_size": 8, "num_layers": 1,
    "embed": {"@architectures": "spacy_rnn.ConcatEmbed.v1", "*": {
        "words": HASH,
        "chars": {"@architectures": "spacy_rnn.CharRNNEmbed.v1", "nM": 4, "hidden_size": 4, "max_chars": 8}}}}}
TEXTCAT = {"tok2vec": {"hidden_size": 8, "embed": {"width": 16, "rows": 200}}, "hidden_width": 8,
           "linear_model": {"length": 256}}
DAN = {"@architectures": "spacy_rnn.DAN.v1", "exclusive_classes": False, "depth": 1, "hidden_width": 8, "embed": HASH}
LM = {"@architectures": "spacy_rnn.RNNLanguageModel.v1", "embed_size": 8, "hidden_size": 16, "num_layers": 2,
      "proj_size": 8, "weight_dropout": 0.2}
TEXTS = ["The cat ran to the park .", "I love big ships", "", "unseen words here today"]


def train(nlp, examples, steps=15):
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(steps):
        nlp.update(examples, sgd=optimizer)
    return nlp


def outputs(nlp):
    docs = list(nlp.pipe(TEXTS))
    out = {"tags": [[t.pos_ for t in d] for d in docs], "cats": [d.cats for d in docs]}
    if "rnn_lm" in nlp.pipe_names:
        out["surprisal"] = [[t._.surprisal for t in d] for d in docs]
    return out


def main(out_dir: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": TAGGER})
    nlp.add_pipe("rnn_textcat", config={"model": TEXTCAT})
    nlp.add_pipe("rnn_textcat_multilabel", config={"model": DAN})
    examples = []
    for (text, tags), (tweet, label) in zip(WORDS, TWEETS):
        words = text.split()
        doc = Doc(nlp.vocab, words=words, pos=tags.split())
        doc.cats = {name: float(name == label) for name in ("joy", "sadness", "anger")}
        examples.append(Example(Doc(nlp.vocab, words=words), doc))
    train(nlp, examples)
    lm_nlp = spacy.blank("en")
    lm_nlp.add_pipe("rnn_lm", config={"model": LM, "bptt": 4})
    train(lm_nlp, [Example(lm_nlp.make_doc(t), lm_nlp.make_doc(t)) for t, _ in WORDS + TWEETS])
    for name, pipeline in [("classify", nlp), ("lm", lm_nlp)]:
        pipeline.to_disk(out_dir / name)
        (out_dir / name / "expected.json").write_text(json.dumps(outputs(pipeline), indent=1) + "\n")
    (out_dir / "VERSION").write_text(spacy_rnn.__version__ + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
