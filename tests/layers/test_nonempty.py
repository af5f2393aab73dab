"""spacy_rnn.layers.nonempty: a layer run on the non-empty docs only."""

import numpy
import spacy
from thinc.api import Model

from spacy_rnn.layers.nonempty import on_nonempty_docs


def test_empty_docs_get_zeros_and_never_reach_the_layer():
    seen = []

    def forward(model, docs, is_train):
        seen.append([len(d) for d in docs])
        return numpy.ones((len(docs), 2), "f") * numpy.asarray([[len(d)] for d in docs], "f"), lambda dY: []

    nlp = spacy.blank("en")
    layer = on_nonempty_docs(Model("count", forward))
    layer.set_dim("nO", 2)
    docs = [nlp("a b"), nlp(""), nlp("c")]
    Y = layer.predict(docs)
    numpy.testing.assert_array_equal(Y, [[2, 2], [0, 0], [1, 1]])
    assert seen == [[2, 1]]
    assert not layer.predict([nlp(""), nlp("")]).any() and seen == [[2, 1]]
