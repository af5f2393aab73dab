"""spacy_rnn.models.tagger (RNNTagger.v1): long docs tagged in pieces at prediction."""

import numpy
import spacy
from spacy.tokens import Doc

from tests.helpers import SMALL_TAGGER, train


def test_a_long_doc_is_tagged_in_pieces_with_the_same_scores(tiny_examples):
    """With a windowed encoder, a doc longer than a piece (1,024 tokens for window 4) is
    run as pieces at prediction: the same probabilities as reading it whole."""
    import copy

    model = copy.deepcopy(SMALL_TAGGER)
    model["tok2vec"]["window"] = 4
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": model})
    train(nlp, tiny_examples, steps=5)
    tagger = nlp.get_pipe("rnn_tagger")
    assert tagger.model.attrs["piece"] == 1024
    words = [t.text for eg in tiny_examples for t in eg.reference] * 30  # ~3,000 tokens
    docs = [Doc(nlp.vocab, words=words), Doc(nlp.vocab, words=words[:7])]
    pieced = tagger.model.predict(docs)
    tagger.model.attrs["piece"] = 0  # read whole
    whole = tagger.model.predict(docs)
    assert len(docs[0]) > 2 * 1024
    for a, b in zip(pieced, whole):
        numpy.testing.assert_allclose(a, b, atol=1e-6)
