"""spacy_rnn.modules.bilm: the forward/backward/bidirectional LM over input vectors."""

import copy

import pytest
import torch

from spacy_rnn.modules.bilm import BiLMOptions, BiRNNLM, BiRNNStacks

X_LENGTHS = [5, 1, 3]


def make(direction="both", **options):
    torch.manual_seed(0)
    return BiRNNLM(6, 11, BiLMOptions(hidden_size=4, num_layers=2, direction=direction, **options)).eval()


def data():
    torch.manual_seed(1)
    return torch.randn(sum(X_LENGTHS), 6), torch.tensor([2, 3, 4, 5, 6, 7, 8, 9, 10])


def test_backward_scores_are_the_forward_scores_of_the_reversed_sequence():
    X, ids = data()
    both = make("both")
    with torch.no_grad():
        scores, _, _ = both(X, X_LENGTHS, ids, bptt=2)
        backward = BiRNNLM(6, 11, both.options.__class__(hidden_size=4, num_layers=2, direction="forward"))
        state = both.state_dict()
        backward.load_state_dict(
            {
                "start": state["start"][1:],
                **{k.replace("right_to_left", "left_to_right"): v for k, v in state.items() if "right_to_left" in k},
                **{k: v for k, v in state.items() if k.startswith("output.")},
            }
        )
        start, reversed_scores = 0, []
        for n in X_LENGTHS:
            x, t = torch.flip(X[start : start + n], [0]), torch.flip(ids[start : start + n], [0])
            reversed_scores.append(backward.eval()(x, [n], t, bptt=100)[0][0])
            start += n
    torch.testing.assert_close(scores[1], torch.cat(reversed_scores), rtol=1e-5, atol=1e-5)
    assert scores.shape == (2, sum(X_LENGTHS) + 3)


@pytest.mark.parametrize("bptt", [1, 2, 100])
def test_windows_and_batch_order_do_not_change_scores_or_states(bptt):
    X, ids = data()
    module = make("both")
    with torch.no_grad():
        whole, _, _ = module(X, X_LENGTHS, ids, bptt=100)
        windowed, _, _ = module(X, X_LENGTHS, ids, bptt=bptt)
        torch.testing.assert_close(windowed, whole, rtol=1e-5, atol=1e-5)
        torch.manual_seed(bptt)  # random window lengths (AWD-LSTM's variable BPTT) too
        variable, _, _ = module(X, X_LENGTHS, ids, bptt=bptt, variable_bptt=True)
        torch.testing.assert_close(variable, whole, rtol=1e-5, atol=1e-5)
        first = module(X[:5], [5], ids[:5], bptt=bptt)[0]
        torch.testing.assert_close(first, whole[:, :6], rtol=1e-5, atol=1e-5)
        states = module.encode(X, X_LENGTHS, bptt=bptt)
        alone = module.encode(X[5:6], [1], bptt=bptt)
        torch.testing.assert_close(states[5:6], alone, rtol=1e-5, atol=1e-5)
    assert states.shape == (9, 2 * 2 * 4) and module.encode(X, X_LENGTHS, top_only=True).shape == (9, 8)


def test_the_encoder_state_of_a_token_predicts_the_next_one():
    """encode()'s forward state after token t is the state the LM predicts token t+1 from."""
    X, ids = data()
    module = make("forward")
    with torch.no_grad():
        scores, _, nxt = module(X[:5], [5], ids[:5], bptt=100, next_logprobs=True)
        top = module.encode(X[:5], [5], top_only=True)
        expected = module.log_distribution(top)[torch.arange(4), ids[1:5]]
    torch.testing.assert_close(scores[0][1:5], expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(nxt[0], module.log_distribution(top[-1:])[0])


def test_ar_tar_penalty_only_while_training_and_adaptive_softmax_is_a_distribution():
    X, ids = data()
    module = make("forward", ar=2.0, tar=1.0).train()
    _, penalty, _ = module(X, X_LENGTHS, ids, bptt=2)
    assert penalty.item() > 0 and penalty.requires_grad
    module.eval()
    assert module(X, X_LENGTHS, ids, bptt=2)[1].item() == 0
    adaptive = make("forward", adaptive_cutoffs=(4, 8))
    assert isinstance(adaptive.output, torch.nn.AdaptiveLogSoftmaxWithLoss)
    with torch.no_grad():
        dist = adaptive.log_distribution(torch.randn(3, 4))
        torch.testing.assert_close(dist.exp().sum(-1), torch.ones(3))
        scores, _, _ = adaptive(X, X_LENGTHS, ids, bptt=2)
    assert torch.isfinite(scores).all()


def test_frozen_layers_get_no_gradient():
    X, _ = data()
    module = BiRNNStacks(6, BiLMOptions(hidden_size=4, num_layers=2)).train()
    module.encode(X.requires_grad_(), X_LENGTHS, top_only=True, frozen=1).sum().backward()
    grads = {k: p.grad for k, p in module.named_parameters()}
    assert grads["start"] is None and X.grad is None
    assert all(g is None for k, g in grads.items() if ".layers.0." in k)
    assert all(g is not None for k, g in grads.items() if ".layers.1." in k)


@pytest.mark.parametrize(
    "options,message",
    [
        ({"direction": "sideways"}, "direction"),
        ({"ar": -1.0}, "ar"),
        ({"adaptive_cutoffs": (5, 3)}, "adaptive_cutoffs"),
        ({"weight_dropout": 1.0}, "weight_dropout"),
        ({"cell": "gru", "proj_size": 2}, "proj_size"),
    ],
)
def test_bad_options_name_the_setting(options, message):
    with pytest.raises(ValueError, match=message):
        BiLMOptions(**{"hidden_size": 4, **options})


def test_deepcopy_after_a_weight_dropped_training_step():
    """copy.deepcopy (spaCy's resume_training, thinc's Model.copy) works after a training
    step with weight drop, whose RNNs then hold dropped, non-leaf weights; the copy keeps
    the mode, predicts as the original does and owns its parameters."""
    X, ids = data()
    lm = make(weight_dropout=0.5).train()
    lm(X, X_LENGTHS, ids, bptt=2)[0][0].sum().backward()
    clone = copy.deepcopy(lm)
    assert clone.training and lm.training
    with torch.no_grad():
        for ours, theirs in zip(clone.eval()(X, X_LENGTHS, ids, bptt=2)[0], lm.eval()(X, X_LENGTHS, ids, bptt=2)[0]):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
        next(clone.parameters()).add_(1.0)
    assert not torch.equal(next(clone.parameters()), next(lm.parameters()))
