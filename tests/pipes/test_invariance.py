"""One invariance test for every component: a doc's outputs (probabilities, scores,
surprisal) do not depend on the other docs of its batch, their order, the window
boundaries, the process that ran it, or a serialization round trip.

Every factory registered by spacy-rnn (its ``spacy_factories`` entry points) must have a
case in CASES: a new component without one fails ``test_every_factory_has_a_case``.
"""

import itertools

import numpy
import pytest
import spacy
from spacy.tokens import Doc

from tests.helpers import (
    ALL_CASES,
    CASES,
    LONG,
    SHORT,
    TARGET_LENGTHS,
    build,
    our_factories,
    record_model_scores,
    words,
)


def test_every_factory_has_a_case():
    assert our_factories(), "no spacy_factories entry points found (is the package installed?)"
    missing = [name for name in our_factories() if name not in CASES]
    assert not missing, f"add an invariance case for {missing} to CASES"


@pytest.fixture(scope="module", params=ALL_CASES, ids=lambda case: case.name)
def case_nlp(request):
    return request.param, build(request.param)


def docs_for(nlp, lengths, seed):
    return [Doc(nlp.vocab, words=words(n, seed + i)) for i, n in enumerate(lengths)]


def outputs(case, nlp, docs, **kwargs):
    return [case.extract(doc) for doc in nlp.pipe(docs, **kwargs)]


def assert_same(a, b):
    assert len(a) == len(b)
    numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_outputs_do_not_depend_on_the_batch_its_order_or_window_boundaries(case_nlp):
    case, nlp = case_nlp
    for n in TARGET_LENGTHS:
        target = docs_for(nlp, [n], seed=7)[0]
        alone = outputs(case, nlp, [target])[0]
        assert numpy.isfinite(alone).all() and len(alone)
        others = docs_for(nlp, [SHORT, LONG], seed=3)
        for order in itertools.permutations([0, 1, 2]):  # the target first, in the middle, last
            batch = [[target, *others][i] for i in order]
            position = order.index(0)
            assert_same(outputs(case, nlp, batch)[position], alone)
        with_empty = outputs(case, nlp, [Doc(nlp.vocab, words=[]), target])
        assert_same(with_empty[1], alone)


def test_outputs_do_not_depend_on_the_process(case_nlp):
    case, nlp = case_nlp
    docs = docs_for(nlp, TARGET_LENGTHS + [SHORT, LONG, 0], seed=11)
    expected = [outputs(case, nlp, [doc])[0] for doc in docs]
    got = outputs(case, nlp, docs, n_process=2, batch_size=3)
    for a, b in zip(got, expected):
        assert_same(a, b)


def test_outputs_survive_a_bytes_round_trip(case_nlp):
    case, nlp = case_nlp
    docs = docs_for(nlp, TARGET_LENGTHS + [LONG], seed=5)
    expected = outputs(case, nlp, docs)
    again = spacy.blank("en")
    case.add(again)
    for name in case.record:
        record_model_scores(again, name)
    again.from_bytes(nlp.to_bytes())
    for a, b in zip(outputs(case, again, docs), expected):
        assert_same(a, b)
