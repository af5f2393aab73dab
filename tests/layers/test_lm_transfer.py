"""spacy_rnn.layers.lm_transfer: a pretrained LM carried into a tagger as a fine-tuned
encoder (LMEncoder.v1) or as frozen features (LMFeatures.v1)."""

import copy
import shutil

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example

from spacy_rnn.shims import torch_module, torch_parameters
from tests.helpers import HASH_EMBED_32, SMALL_TAGGER, lm_v2_model, train


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory, tiny_docs):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_lm", config={"model": lm_v2_model()})
    examples = [
        Example(Doc(nlp.vocab, words=[t.text for t in d]), Doc(nlp.vocab, words=[t.text for t in d])) for d in tiny_docs
    ]
    train(nlp, examples, steps=10)
    path = tmp_path_factory.mktemp("pretrained") / "lm"
    nlp.to_disk(path)
    return path


def encoder(lm_path, **overrides):
    return {
        "@architectures": "spacy_rnn.LMEncoder.v1",
        "lm_path": str(lm_path),
        "hidden_size": 16,
        "num_layers": 2,
        "embed": HASH_EMBED_32,
        **overrides,
    }


def tagger_with(tok2vec):
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": {"@architectures": "spacy_rnn.RNNTagger.v1", "tok2vec": tok2vec}})
    return nlp


def test_the_encoder_starts_from_the_language_model_and_reads_as_it_does(lm_path, tiny_examples, tiny_docs):
    nlp = train(tagger_with(encoder(lm_path)), tiny_examples, steps=0)
    lm = spacy.load(lm_path).get_pipe("rnn_lm").model
    tok2vec = nlp.get_pipe("rnn_tagger").model.get_ref("tok2vec")
    docs = [Doc(nlp.vocab, words=[t.text for t in d]) for d in tiny_docs[:3]]
    expected = (
        torch_module(lm.shims[0])
        .eval()
        .encode(torch.from_numpy(numpy.concatenate(lm.layers[0].predict(docs))), [len(d) for d in docs], top_only=True)
    )
    got = numpy.concatenate(tok2vec.predict(docs))
    numpy.testing.assert_allclose(got, expected.detach().numpy(), atol=1e-5)


def test_the_trained_pipeline_no_longer_needs_the_language_model(lm_path, tiny_examples, tiny_docs, tmp_path):
    shutil.copytree(lm_path, tmp_path / "lm")
    nlp = train(tagger_with(encoder(tmp_path / "lm")), tiny_examples, steps=30)
    texts = [d.text for d in tiny_docs[:5]]
    expected = [[t.pos_ for t in d] for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "tagger")
    shutil.rmtree(tmp_path / "lm")
    assert [[t.pos_ for t in d] for d in spacy.load(tmp_path / "tagger").pipe(texts)] == expected


@pytest.mark.parametrize(
    "change,message",
    [
        ({"hidden_size": 8}, "hidden_size = 16.*hidden_size = 8"),
        ({"embed": {**HASH_EMBED_32, "width": 8}}, "embedding"),
    ],
)
def test_a_language_model_that_does_not_fit_the_config_is_an_error_naming_both(lm_path, tiny_examples, change, message):
    with pytest.raises(ValueError, match=message):
        train(tagger_with(encoder(lm_path, **change)), tiny_examples, steps=0)


def test_frozen_groups_do_not_move_and_gradual_unfreezing_frees_them(lm_path, tiny_examples):
    from spacy_rnn.training import gradual_unfreezing

    nlp = train(tagger_with(encoder(lm_path, frozen=2)), tiny_examples, steps=0)
    tok2vec = nlp.get_pipe("rnn_tagger").model.get_ref("tok2vec")
    module = torch_module(tok2vec.shims[0])
    before = {k: v.clone() for k, v in module.state_dict().items()}
    embed_before = copy.deepcopy(tok2vec.layers[0].to_bytes())
    optimizer = nlp.resume_training()
    callback = gradual_unfreezing("rnn_tagger", steps_per_layer=2)
    moved = []
    for step in range(5):
        callback(nlp, {"step": step, "epoch": 0})
        nlp.update(tiny_examples, sgd=optimizer)
        moved.append(tok2vec.attrs["frozen"])
        if step == 1:  # still 2 frozen groups: the embedding and the first layer
            state = module.state_dict()
            assert all(torch.equal(before[k], state[k]) for k in before if ".layers.0." in k or k == "start")
            assert not all(torch.equal(before[k], state[k]) for k in before if ".layers.1." in k)
            assert tok2vec.layers[0].to_bytes() == embed_before
    assert moved == [2, 2, 1, 1, 0]
    assert tok2vec.layers[0].to_bytes() != embed_before  # unfrozen at the end


def test_features_are_a_trained_mix_of_frozen_language_model_layers(lm_path, tiny_examples, tiny_docs):
    features = {
        "@architectures": "spacy_rnn.LMFeatures.v1",
        "lm_path": str(lm_path),
        "hidden_size": 16,
        "num_layers": 2,
        "embed": HASH_EMBED_32,
    }
    model = copy.deepcopy(SMALL_TAGGER)
    model["tok2vec"]["embed"] = {
        "@architectures": "spacy_rnn.ConcatEmbed.v1",
        "*": {"words": HASH_EMBED_32, "lm": features},
    }
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_tagger", config={"model": model})
    train(nlp, tiny_examples, steps=0)
    node = next(n for n in nlp.get_pipe("rnn_tagger").model.walk() if n.name == "lm-features")
    frozen = [p.detach().clone() for p in torch_parameters(node.shims[0])]
    lm_embed = node.layers[0].to_bytes()
    optimizer = nlp.resume_training()
    for _ in range(5):
        nlp.update(tiny_examples, sgd=optimizer)
    assert all(torch.equal(a, b) for a, b in zip(frozen, torch_parameters(node.shims[0])))
    assert node.layers[0].to_bytes() == lm_embed
    assert not numpy.allclose(node.get_param("mix"), 0.0) or node.get_param("gamma")[0] != 1.0
    docs = [Doc(nlp.vocab, words=[t.text for t in d]) for d in tiny_docs[:2]]
    assert [Y.shape for Y in node.predict(docs)] == [(len(d), 32) for d in docs]


@pytest.mark.parametrize("lm_drop,task_drop", [(0.3, 0.0), (0.0, 0.3)])
def test_weights_transfer_whether_or_not_either_side_uses_weight_dropout(
    tiny_docs, tiny_examples, tmp_path, lm_drop, task_drop
):
    """Weight dropout keeps the recurrent weights under torch's parametrizations (other
    state-dict names): an LM pretrained with it feeds LMFeatures (which has none), and an
    LM pretrained without it feeds an LMEncoder that fine-tunes with it."""
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_lm", config={"model": lm_v2_model(weight_dropout=lm_drop)})
    examples = [
        Example(Doc(nlp.vocab, words=[t.text for t in d]), Doc(nlp.vocab, words=[t.text for t in d])) for d in tiny_docs
    ]
    train(nlp, examples, steps=3)
    nlp.to_disk(tmp_path / "lm")
    tagger = tagger_with(encoder(tmp_path / "lm", weight_dropout=task_drop))
    train(tagger, tiny_examples, steps=0)
    ours = torch_module(next(n for n in tagger.get_pipe("rnn_tagger").model.walk() if n.name == "lm-encoder").shims[0])
    theirs = torch_module(nlp.get_pipe("rnn_lm").model.shims[0])
    a, b = dict(ours.named_parameters()), dict(theirs.named_parameters())
    for layer in range(2):
        key = next(k for k in a if f"left_to_right.layers.{layer}." in k and "weight_hh" in k)
        other = next(k for k in b if f"left_to_right.layers.{layer}." in k and "weight_hh" in k)
        assert ("parametrizations" in key) == (task_drop > 0) and ("parametrizations" in other) == (lm_drop > 0)
        assert torch.equal(a[key], b[other])


def test_a_saved_weight_dropped_encoder_resumes_training_and_copies(lm_path, tiny_examples, tiny_docs, tmp_path):
    """spaCy's resume_training deep-copies the model (rehearsal), before and after a
    training step, on a loaded pipeline whose encoder has weight drop (the shipped
    configs/tagger_pretrained.cfg has 0.2); the copy tags as the original does."""
    nlp = train(tagger_with(encoder(lm_path, weight_dropout=0.5)), tiny_examples, steps=3)
    nlp.to_disk(tmp_path / "tagger")
    loaded = spacy.load(tmp_path / "tagger")
    optimizer = loaded.resume_training()
    loaded.update(tiny_examples, sgd=optimizer)
    clone = copy.deepcopy(loaded)
    texts = [d.text for d in tiny_docs[:5]]
    assert [[t.pos_ for t in d] for d in clone.pipe(texts)] == [[t.pos_ for t in d] for d in loaded.pipe(texts)]
    loaded.resume_training()


def lm_from(lm_path, examples, **overrides):
    """A forward-only rnn_lm over ``examples``' own vocabulary, its embedding and RNN
    initialized from the LM at ``lm_path`` (or from scratch, ``lm_path=None``)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_lm", config={"model": lm_v2_model(direction="forward", **overrides)})
    nlp.config["initialize"]["components"]["rnn_lm"] = {"lm": None if lm_path is None else str(lm_path)}
    return train(nlp, examples, steps=0)


def test_a_language_model_starts_another_with_its_own_vocabulary(lm_path, tiny_docs):
    # the new benchmark's words: every pretrained word lowercased, so the vocabularies differ
    vocab = spacy.blank("en").vocab
    examples = [
        Example(Doc(vocab, words=[t.text.lower() for t in d]), Doc(vocab, words=[t.text.lower() for t in d]))
        for d in tiny_docs
    ]
    pretrained = spacy.load(lm_path).get_pipe("rnn_lm")
    nlp = lm_from(lm_path, examples)
    lm = nlp.get_pipe("rnn_lm")
    assert lm.words != pretrained.words
    module, theirs = torch_module(lm.model.shims[0]), torch_module(pretrained.model.shims[0])
    assert module.output.out_features == len(lm.words)
    docs = [Doc(nlp.vocab, words=[t.text.lower() for t in d]) for d in tiny_docs[:3]]
    lengths = [len(d) for d in docs]

    def states(model):
        X = torch.from_numpy(numpy.concatenate(model.layers[0].predict(docs)))
        return torch_module(model.shims[0]).eval().encode(X, lengths, top_only=True).detach().numpy()

    # the forward half of the pretrained LM's states, token for token
    numpy.testing.assert_allclose(states(lm.model), states(pretrained.model)[:, :16], atol=1e-5)
    scratch = lm_from(None, examples).get_pipe("rnn_lm")
    assert not numpy.allclose(states(scratch.model), states(pretrained.model)[:, :16], atol=1e-3)
    assert module is not theirs


def test_a_language_model_that_does_not_fit_the_new_one_is_an_error(lm_path, tiny_examples):
    examples = [Example(eg.predicted, eg.predicted) for eg in tiny_examples]
    with pytest.raises(ValueError, match="hidden_size = 16.*hidden_size = 8"):
        lm_from(lm_path, examples, hidden_size=8)
    nlp = spacy.blank("en")
    nlp.add_pipe("rnn_lm")  # the word-level RNNLanguageModel.v1
    nlp.config["initialize"]["components"]["rnn_lm"] = {"lm": str(lm_path)}
    with pytest.raises(ValueError, match="RNNLanguageModel.v2"):
        train(nlp, examples, steps=0)
