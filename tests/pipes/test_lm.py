"""The rnn_lm component: training, scores, fresh state per sentence, windows (truncated
BPTT), serialization and bad input."""

import math
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example

from spacy_rnn.modules.lm import EOS, UNK
from spacy_rnn.pipes.lm import RNNLMComponent
from spacy_rnn.shims import torch_module
from tests.helpers import LM_TEXTS, lm_examples, lm_model, lm_nlp, train_lm


@pytest.fixture(scope="module")
def trained_nlp():
    return train_lm(lm_nlp())


def test_overfits_a_fixture_to_perplexity_near_one(trained_nlp):
    scores = trained_nlp.evaluate(lm_examples(trained_nlp))
    assert scores["lm_ppl"] < 1.5
    assert scores["lm_score"] == pytest.approx(1 / scores["lm_ppl"])
    assert scores["lm_loss"] == pytest.approx(math.log(scores["lm_ppl"]))


def test_vocabulary_is_built_from_the_training_docs(trained_nlp):
    words = trained_nlp.get_pipe("rnn_lm").words
    assert words[UNK] == "<unk>" and words[EOS] == "<eos>"
    assert words[2:6] == (".", "a", "on", "the") and set(words[2:]) == {w for t in LM_TEXTS for w in t.split()}


def test_min_freq_max_size_lowercase():
    nlp = lm_nlp(min_freq=2, lowercase=True)
    examples = lm_examples(nlp, ["The cat .", "the dog .", "THE cat"])
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("rnn_lm").words == ("<unk>", "<eos>", "the", ".", "cat")
    nlp = lm_nlp(max_size=4)
    nlp.initialize(lambda: lm_examples(nlp))
    assert nlp.get_pipe("rnn_lm").words == ("<unk>", "<eos>", ".", "a")


def test_the_vocabulary_can_come_from_word_counts(tmp_path):
    """[initialize.components.rnn_lm] words: a corpus's counts (convert-text's
    word_counts.json through spacy_rnn.read_word_counts.v1) go through min_freq, max_size
    and lowercase as the docs' would; the docs are not counted then."""
    import json

    from spacy_rnn.training import read_word_counts

    path = tmp_path / "word_counts.json"
    path.write_text(json.dumps({"the": 5, "The": 2, "cat": 3, "dog": 1, "<unk>": 9}))
    nlp = lm_nlp(min_freq=2, lowercase=True)
    nlp.get_pipe("rnn_lm").initialize(lambda: lm_examples(nlp, ["a zebra ."]), nlp=nlp, words=read_word_counts(path))
    assert nlp.get_pipe("rnn_lm").words == ("<unk>", "<eos>", "the", "cat")
    assert read_word_counts(None) is None
    for content, message in [(None, "not found"), ("{oops", "not a JSON file"), ('{"a": 0}', "positive integer")]:
        bad = tmp_path / "bad.json"
        bad.unlink(missing_ok=True)
        if content is not None:
            bad.write_text(content)
        with pytest.raises(ValueError, match=message):
            read_word_counts(bad)


def test_a_streamed_corpus_without_word_counts_is_an_error(tmp_path):
    """spaCy initializes a streamed corpus (max_epochs = -1) from its first 100 docs: a
    vocabulary built from them would be silently tiny."""
    from spacy.tokens import DocBin
    from spacy.util import load_config

    nlp = spacy.blank("en")
    DocBin(docs=[nlp.make_doc(t) for t in LM_TEXTS]).to_disk(tmp_path / "train.spacy")
    from spacy.training.initialize import init_nlp

    config = load_config(
        Path(__file__).parents[2] / "configs" / "pretrain.cfg",
        overrides={
            "paths.train": str(tmp_path / "train.spacy"),
            "paths.dev": str(tmp_path / "train.spacy"),
            "training.max_epochs": -1,
        },
    )
    with pytest.raises(ValueError, match="streamed"):
        init_nlp(config)
    counts = tmp_path / "word_counts.json"
    counts.write_text('{"a": 4, "the": 3, "cat": 1}')
    config = load_config(
        Path(__file__).parents[2] / "configs" / "pretrain.cfg",
        overrides={
            "paths.train": str(tmp_path / "train.spacy"),
            "paths.dev": str(tmp_path / "train.spacy"),
            "paths.words": str(counts),
            "training.max_epochs": -1,
        },
    )
    nlp = init_nlp(config)
    assert nlp.get_pipe("rnn_lm").words == ("<unk>", "<eos>", "a", "the")  # min_freq = 3


def module_of(nlp):
    return torch_module(nlp.get_pipe("rnn_lm").model.shims[0])


def test_distributions_sum_to_one_and_surprisal_matches_the_torch_module(trained_nlp):
    lm = trained_nlp.get_pipe("rnn_lm")
    doc = trained_nlp("the dog sat on a mat .")
    ids = [lm.words.index(t.text) for t in doc]
    module = module_of(trained_nlp)
    module.eval()
    with torch.no_grad():
        X = module.embed(torch.tensor([[EOS] + ids]))
        for layer in module.layers:
            X, _ = layer(X)
        logp = torch.log_softmax(module.decoder(X), dim=-1)[0]
    numpy.testing.assert_allclose(logp.exp().sum(-1).numpy(), 1.0, rtol=1e-5)
    expected = [-logp[i, ids[i]].item() / math.log(2) for i in range(len(ids))]
    numpy.testing.assert_allclose([t._.surprisal for t in doc], expected, rtol=1e-4, atol=1e-5)
    total = -sum(expected) * math.log(2) + logp[len(ids), EOS].item()
    assert doc._.logprob == pytest.approx(total, rel=1e-4)
    assert doc._.perplexity == pytest.approx(math.exp(-total / (len(ids) + 1)), rel=1e-4)


def test_each_sentence_starts_from_a_fresh_state(trained_nlp):
    def with_sents(texts):
        words, starts = [], []
        for text in texts:
            for i, w in enumerate(text.split()):
                words.append(w)
                starts.append(i == 0)
        return Doc(trained_nlp.vocab, words=words, sent_starts=starts)

    one = trained_nlp(with_sents(LM_TEXTS[:1]))
    two = trained_nlp(with_sents(LM_TEXTS[:1] + LM_TEXTS[2:3]))  # noqa: E501
    n = len(one)
    assert [t._.surprisal for t in one] == pytest.approx([t._.surprisal for t in two[:n]], abs=1e-6)
    alone = trained_nlp(Doc(trained_nlp.vocab, words=LM_TEXTS[2].split()))
    assert [t._.surprisal for t in two[n:]] == pytest.approx([t._.surprisal for t in alone], abs=1e-6)
    # the doc's log-probability is the sum over its sentences, each with its end
    assert two._.logprob == pytest.approx(one._.logprob + alone._.logprob, abs=1e-4)


def test_windows_carry_the_state(trained_nlp, tmp_path):
    """Reading in windows of 3 (truncated BPTT) scores the same as reading whole."""
    trained_nlp.to_disk(tmp_path / "model")
    windowed = spacy.load(tmp_path / "model", config={"components": {"rnn_lm": {"bptt": 3}}})
    assert windowed.get_pipe("rnn_lm").bptt == 3
    text = " ".join(LM_TEXTS)  # one 27-token sequence: 10 windows
    expected = [t._.surprisal for t in trained_nlp(text)]
    assert [t._.surprisal for t in windowed(text)] == pytest.approx(expected, rel=1e-5, abs=1e-5)
    batch = list(windowed.pipe([text, LM_TEXTS[0], "", text[:20]]))
    assert [t._.surprisal for t in batch[0]] == pytest.approx(expected, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("variable_bptt", [False, True])
def test_training_in_windows_learns(variable_bptt):
    nlp = train_lm(lm_nlp(bptt=3, variable_bptt=variable_bptt))
    assert nlp.get_pipe("rnn_lm").model.attrs["variable_bptt"] is variable_bptt
    assert nlp.evaluate(lm_examples(nlp))["lm_ppl"] < 1.5


def test_long_doc_is_scored_in_bounded_windows(trained_nlp):
    words = (" ".join(LM_TEXTS) + " ").split() * 3900  # 101,400 tokens
    doc = trained_nlp(Doc(trained_nlp.vocab, words=words))
    assert len(doc) > 100_000 and doc._.lm_predicted == len(doc) + 1
    assert all(t._.surprisal is not None and math.isfinite(t._.surprisal) for t in doc[-50:])


def _training_logprobs(nlp, drop):
    """The log-probabilities of one training forward pass at dropout ``drop``."""
    from thinc.api import set_dropout_rate

    lm = nlp.get_pipe("rnn_lm")
    docs = [nlp.make_doc(t) for t in LM_TEXTS]
    batch = lm._batch(lm._sequences(docs), docs)
    set_dropout_rate(lm.model, drop)
    out, _ = lm.model.begin_update(batch)
    return numpy.concatenate(out.logprobs)


def test_training_dropout_reaches_the_torch_module():
    no_regularisers = dict(embed_dropout=0.0, input_dropout=0.0, hidden_dropout=0.0, weight_dropout=0.0)
    nlp = lm_nlp(lm_model(**no_regularisers))
    examples = lm_examples(nlp)
    nlp.initialize(lambda: examples)
    spacy.util.fix_random_seed(0)
    no_drop = [_training_logprobs(nlp, 0.0) for _ in range(2)]
    numpy.testing.assert_array_equal(no_drop[0], no_drop[1])
    dropped = [_training_logprobs(nlp, 0.3) for _ in range(2)]
    assert not numpy.allclose(dropped[0], dropped[1]) and not numpy.allclose(dropped[0], no_drop[0])
    lm = nlp.get_pipe("rnn_lm")
    before = [t._.surprisal for t in nlp(LM_TEXTS[0])]  # prediction: no dropout
    assert [t._.surprisal for t in nlp(LM_TEXTS[0])] == before
    assert numpy.allclose(-numpy.asarray(before) * math.log(2), no_drop[0][: len(before)], atol=1e-5), (
        "prediction scores equal a training pass without dropout"
    )
    assert lm.model.attrs["dropout_rate"] == 0.3


def test_regularisers_change_training_outputs_only():
    nlp = lm_nlp(lm_model(embed_dropout=0.2, input_dropout=0.3, hidden_dropout=0.3, weight_dropout=0.5))
    examples = lm_examples(nlp)
    nlp.initialize(lambda: examples)
    runs = [_training_logprobs(nlp, 0.0) for _ in range(2)]
    assert not numpy.allclose(runs[0], runs[1])
    lm = nlp.get_pipe("rnn_lm")
    docs = [eg.reference for eg in examples]
    batch = lm._batch(lm._sequences(docs), docs)
    preds = [numpy.concatenate(lm.model.predict(batch).logprobs) for _ in range(2)]
    numpy.testing.assert_array_equal(preds[0], preds[1])
    module = module_of(nlp)
    assert module.decoder.weight is module.embed.weight
    assert "layers.0.parametrizations.weight_hh_l0.original" in dict(module.named_parameters())


def test_serialization_keeps_vocabulary_and_scores(trained_nlp, tmp_path):
    texts = LM_TEXTS + ["an unknown word here", ""]
    expected = [[t._.surprisal for t in d] for d in trained_nlp.pipe(texts)]
    trained_nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.get_pipe("rnn_lm").words == trained_nlp.get_pipe("rnn_lm").words
    assert [[t._.surprisal for t in d] for d in loaded.pipe(texts)] == expected
    again = lm_nlp()
    again.get_pipe("rnn_lm").from_bytes(trained_nlp.get_pipe("rnn_lm").to_bytes())
    assert [[t._.surprisal for t in d] for d in again.pipe(texts)] == expected


def test_bad_input(trained_nlp):
    for text in ["", "   "]:
        doc = trained_nlp(text)
        assert doc._.logprob is None and doc._.perplexity is None
        assert all(t._.surprisal is None for t in doc)
    doc = trained_nlp("zebra quantum the")  # unknown words score as <unk>
    assert all(math.isfinite(t._.surprisal) for t in doc)
    lm = trained_nlp.get_pipe("rnn_lm")
    with pytest.raises(ValueError, match="every word of the prompt .* unknown"):
        lm.generate("zebra quantum")
    assert lm.generate("", greedy=True)  # no prompt: start of a sentence
    nan, inf = float("nan"), float("inf")
    for kwargs, name in [
        ({"temperature": 0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": nan}, "temperature"),
        ({"temperature": inf}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": True}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_p": nan}, "top_p"),
        ({"max_tokens": -1}, "max_tokens"),
    ]:
        with pytest.raises(ValueError, match=name):
            lm.generate("the", **kwargs)
    with pytest.raises(TypeError, match="prompt must be a str or a Doc"):
        lm.generate(None)


def test_untrained_component_raises_clear_errors():
    nlp = lm_nlp()
    lm = nlp.get_pipe("rnn_lm")
    assert isinstance(lm, RNNLMComponent)
    with pytest.raises(ValueError, match="not initialized"):
        lm.generate("the cat")
    with pytest.raises(ValueError, match="not initialized"):
        nlp("the cat")


def test_bad_config_values_raise_clear_errors():
    with pytest.raises(ValueError, match="tie_weights"):
        lm_nlp(lm_model(proj_size=0))
    with pytest.raises(ValueError, match="proj_size"):
        lm_nlp(lm_model(cell="gru"))
    with pytest.raises(ValueError, match="weight_dropout"):
        lm_nlp(lm_model(weight_dropout=1.0))
    with pytest.raises(ValueError, match="bptt"):
        lm_nlp(bptt=0)
    with pytest.raises(ValueError, match="variable_bptt"):
        lm_nlp(variable_bptt="yes")
    with pytest.raises(ValueError, match="max_size"):
        lm_nlp(max_size=2)
    gru = lm_nlp(lm_model(cell="gru", proj_size=0, hidden_size=32))
    train_lm(gru, steps=2)


def test_extensions_do_not_clash():
    from spacy.tokens import Token

    lm_nlp()
    lm_nlp()  # registering twice is fine
    Token.remove_extension("surprisal")
    Token.set_extension("surprisal", getter=lambda t: 0.0)
    try:
        with pytest.raises(ValueError, match="Token._.surprisal is already registered"):
            lm_nlp()
    finally:
        Token.remove_extension("surprisal")
        Token.set_extension("surprisal", default=None)


def test_scorer_selects_the_lowest_perplexity():
    from spacy_rnn.pipes.lm import lm_score

    nlp = lm_nlp()
    assert nlp.config["training"]["score_weights"]["lm_score"] == 1.0
    docs = [nlp.make_doc("a b"), nlp.make_doc("c")]
    docs[0]._.logprob, docs[0]._.lm_predicted = -6.0, 3
    docs[1]._.logprob, docs[1]._.lm_predicted = -2.0, 2
    scores = lm_score([Example(d, d) for d in docs])
    assert scores["lm_loss"] == pytest.approx(8 / 5)
    assert scores["lm_ppl"] == pytest.approx(math.exp(8 / 5))
    assert scores["lm_score"] == pytest.approx(math.exp(-8 / 5))


def test_scores_of_a_long_doc_do_not_depend_on_the_batch():
    """Regression: a doc longer than bptt in a batch not sorted longest first got the
    carried state of another doc (torch and our code both reordered the states)."""
    nlp = lm_nlp(lm_model(num_layers=1, proj_size=0, hidden_size=32), bptt=5)
    nlp.initialize(lambda: lm_examples(nlp))
    long, longer, short = " ".join(LM_TEXTS), " ".join(LM_TEXTS * 3), LM_TEXTS[1]
    alone = [t._.surprisal for t in nlp(long)]
    for batch in ([long, longer], [longer, long], [short, long, longer], [longer, short, long]):
        doc = next(d for d in nlp.pipe(batch) if d.text == long)
        numpy.testing.assert_allclose([t._.surprisal for t in doc], alone, rtol=1e-5, atol=1e-5)


# --- RNNLanguageModel.v2: any embedding, one or both directions ---------------------------


@pytest.mark.parametrize("direction", ["forward", "backward", "both"])
def test_v2_models_learn_in_every_direction(direction):
    from tests.helpers import lm_v2_model

    nlp = train_lm(lm_nlp(lm_v2_model(direction=direction), bptt=3), steps=150)
    assert nlp.evaluate(lm_examples(nlp))["lm_ppl"] < 1.6
    lm = nlp.get_pipe("rnn_lm")
    assert lm.directions == {"both": ("forward", "backward")}.get(direction, (direction,))
    doc = nlp(LM_TEXTS[0])
    assert all(t._.surprisal is not None and t._.surprisal < 3 for t in doc[1:])  # in token order
    if direction == "backward":
        with pytest.raises(ValueError, match="backward only"):
            lm.generate("the cat")
    else:
        assert lm.generate("the cat", greedy=True) == "the cat sat on the mat ."


def test_v2_saves_and_loads_with_the_same_scores(tmp_path):
    from tests.helpers import lm_v2_model

    nlp = train_lm(lm_nlp(lm_v2_model(adaptive_cutoffs=[10])), steps=3)
    texts = LM_TEXTS + ["unknown words here", ""]
    expected = [[t._.surprisal for t in d] for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "lm")
    assert [[t._.surprisal for t in d] for d in spacy.load(tmp_path / "lm").pipe(texts)] == expected


def test_stream_mode_reads_a_doc_with_sentences_as_one_sequence():
    from tests.helpers import lm_v2_model

    nlp = train_lm(lm_nlp(lm_v2_model()), steps=3)
    words = "the cat sat . a dog lay .".split()
    doc = Doc(nlp.vocab, words=words, sent_starts=[1, 0, 0, 0, 1, 0, 0, 0])
    by_sentence = [t._.surprisal for t in nlp(doc)]
    stream = spacy.blank("en")
    stream.add_pipe("rnn_lm", config={"model": lm_v2_model(), "fresh_state": "doc"})
    stream.get_pipe("rnn_lm").from_bytes(nlp.get_pipe("rnn_lm").to_bytes())
    streamed = [t._.surprisal for t in stream(Doc(nlp.vocab, words=words, sent_starts=[1, 0, 0, 0, 1, 0, 0, 0]))]
    assert streamed[:4] == pytest.approx(by_sentence[:4], abs=1e-5)  # the first sentence starts fresh in both
    assert streamed[4:] != pytest.approx(by_sentence[4:], abs=1e-5)  # the second carries the first's state
    whole = [t._.surprisal for t in stream(Doc(nlp.vocab, words=words))]
    assert streamed == pytest.approx(whole, abs=1e-5)
    with pytest.raises(ValueError, match="fresh_state"):
        lm_nlp(lm_v2_model(), fresh_state="paragraph")
