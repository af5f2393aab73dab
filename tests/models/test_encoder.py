"""spacy_rnn.models.encoder (RNNEncoder.v1): a plain tok2vec under spaCy's own components,
inline or shared through a tok2vec component and listeners."""

import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example

from tests.helpers import SMALL_TAGGER, gold_attrs, predict_attrs, train


def test_encoder_works_under_spacy_tagger_and_shared_tok2vec(tiny_examples, tiny_docs):
    """The encoder is a plain tok2vec: spaCy's own tagger can use it, inline or through
    a shared tok2vec component and a listener."""
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec", config={"model": SMALL_TAGGER["tok2vec"]})
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 64, "upstream": "*"}
    nlp.add_pipe("tagger", config={"model": {"@architectures": "spacy.Tagger.v2", "tok2vec": listener}})
    nlp.add_pipe("rnn_tagger", config={"model": {**SMALL_TAGGER, "tok2vec": listener}})
    train(nlp, tiny_examples, steps=80)
    assert predict_attrs(nlp, tiny_docs, "tag_") == gold_attrs(tiny_docs, "tag_")
    assert predict_attrs(nlp, tiny_docs, "pos_") == gold_attrs(tiny_docs, "pos_")


@pytest.mark.parametrize("factory", ["morphologizer", "ner"])
def test_encoder_is_a_tok2vec_for_spacy_components(tiny_docs, factory):
    """spaCy's own components train and predict with RNNEncoder.v1 as their tok2vec."""
    nlp = spacy.blank("en")
    defaults = nlp.get_factory_meta(factory).default_config["model"]
    model = {**defaults, "tok2vec": SMALL_TAGGER["tok2vec"]}
    nlp.add_pipe(factory, config={"model": model})
    references = []
    for d in tiny_docs[:6]:
        ref = Doc(
            nlp.vocab,
            words=[t.text for t in d],
            pos=[t.pos_ for t in d],
            morphs=["Number=Sing" if t.pos_ == "NOUN" else "_" for t in d],
            ents=["B-ORG" if t.pos_ == "PROPN" else "O" for t in d],
        )
        references.append(ref)
    examples = [Example(Doc(nlp.vocab, words=[t.text for t in r]), r) for r in references]
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = 0.01
    losses = [nlp.update(examples, sgd=optimizer)[factory] for _ in range(30)]
    assert all(numpy.isfinite(losses)) and sum(losses[-5:]) < sum(losses[:5])
    docs = list(nlp.pipe(["Google bought a company .", ""]))
    assert len(docs[0]) == 5 and len(docs[1]) == 0
