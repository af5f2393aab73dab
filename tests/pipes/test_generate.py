"""Text generation with rnn_lm (spacy_rnn.pipes.generate): sampling, greedy decoding,
the command line and bad arguments."""

import pytest

from tests.helpers import lm_nlp, train_lm


@pytest.fixture(scope="module")
def trained_nlp():
    return train_lm(lm_nlp())


def test_seeded_sampling_is_reproducible(trained_nlp):
    lm = trained_nlp.get_pipe("rnn_lm")
    kwargs = dict(max_tokens=12, temperature=3.0, top_k=8, top_p=0.99)
    assert lm.generate("", seed=3, **kwargs) == lm.generate("", seed=3, **kwargs)
    samples = {lm.generate("", seed=seed, **kwargs) for seed in range(8)}
    assert len(samples) > 1  # the four sentence openings are about equally likely
    for sample in samples:
        assert "<unk>" not in sample and len(sample.split()) <= 12
    assert lm.generate("the", seed=1, max_tokens=5).startswith("the ")


def test_greedy_generation_is_deterministic_and_stops_at_the_end_of_sentence(trained_nlp):
    lm = trained_nlp.get_pipe("rnn_lm")
    text = lm.generate("the cat", greedy=True, max_tokens=30)
    assert text == lm.generate("the cat", greedy=True, max_tokens=30)
    assert text == "the cat sat on the mat ."  # learned: stops at <eos>, not at max_tokens
    longer = lm.generate("the cat", greedy=True, max_tokens=30, stop_at_eos=False)
    assert longer.startswith(text) and longer.count(" . ") >= 2  # went on past the end
    assert len(longer.split()) <= 32  # 30 steps; sentence ends are steps but not words
    assert len(lm.generate("the", greedy=True, max_tokens=2).split()) == 3
