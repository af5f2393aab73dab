"""spacy_rnn.modules.lm: the RNN language model reads whole sequences, windows and
states inside it."""

import copy
import math

import pytest
import torch

from spacy_rnn.modules.lm import EOS, RNNLM, LMOptions
from spacy_rnn.modules.windows import window_sizes


def make_module(**options):
    torch.manual_seed(0)
    return RNNLM(12, LMOptions(**{"embed_size": 8, "hidden_size": 8, "num_layers": 2, **options}))


IDS = [
    torch.tensor([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 3]),
    torch.tensor([5, 6]),
    torch.tensor([4, 4, 4, 4, 4, 4]),
    torch.tensor([], dtype=torch.int64),
]


def per_sequence(flat, ids):
    out, start = [], 0
    for x in ids:
        out.append(flat[start : start + len(x) + 1])
        start += len(x) + 1
    return out


def test_scores_are_log_probabilities_of_each_token_then_the_end():
    module = make_module().eval()
    with torch.no_grad():
        flat, nxt = module(IDS[:1], bptt=100, next_logprobs=True)
        X = module.embed(torch.cat([torch.tensor([EOS]), IDS[0]])[None])
        for layer in module.layers:
            X, _ = layer(X)
        logp = torch.log_softmax(module.decoder(X), dim=-1)[0]
    targets = torch.cat([IDS[0], torch.tensor([EOS])])
    torch.testing.assert_close(flat, logp[torch.arange(len(targets)), targets])
    torch.testing.assert_close(nxt[0], logp[-1])
    assert math.isclose(float(logp.exp().sum(-1)[0]), 1.0, rel_tol=1e-5)


@pytest.mark.parametrize("bptt", [1, 3, 5, 100])
def test_windows_and_batch_order_do_not_change_the_scores(bptt):
    module = make_module().eval()
    with torch.no_grad():
        whole = [module([x], bptt=100)[0] for x in IDS]
        for order in ([0, 1, 2, 3], [1, 3, 0, 2], [3, 2, 1, 0]):
            batch = [IDS[i] for i in order]
            got = per_sequence(module(batch, bptt=bptt)[0], batch)
            for i, scores in zip(order, got):
                torch.testing.assert_close(scores, whole[i], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dropouts", [0.0, 0.3])
def test_windows_recomputed_in_the_backward_pass_give_the_same_gradients(dropouts):
    """Windows after the first are checkpointed (recomputed while back-propagating, with
    the same dropout masks): the gradients equal those of keeping every window's graph."""
    module = make_module(
        embed_dropout=dropouts, input_dropout=dropouts, hidden_dropout=dropouts, weight_dropout=dropouts
    )
    grads = []
    for checkpointed in (True, False):
        module.checkpoint_windows = checkpointed
        module.zero_grad()
        torch.manual_seed(0)
        flat, _ = module(IDS, bptt=3, output_dropout=dropouts)
        flat.sum().backward()
        grads.append([p.grad.clone() for p in module.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_truncated_bptt_detaches_the_state_between_windows():
    module = make_module(num_layers=1, tie_weights=False)  # tied, the output layer would reach every row
    flat, _ = module(IDS[:1], bptt=4)
    # the first window's inputs get no gradient from the second window's outputs
    first_embedding_grad = torch.autograd.grad(flat[4:].sum(), module.embed.weight, retain_graph=True)[0]
    assert first_embedding_grad[2].abs().sum() == 0  # id 2 only occurs in the first window
    assert first_embedding_grad[6].abs().sum() > 0  # id 6 is an input of the second window


def test_window_sizes_cover_the_sequence_fixed_or_awd_lstm_variable():
    assert window_sizes(0, 70) == []
    assert window_sizes(150, 70) == [70, 70, 10]
    torch.manual_seed(0)
    sizes = window_sizes(100_000, 70, variable=True)
    assert sum(sizes) == 100_000
    assert all(1 <= n <= 110 for n in sizes) and len(set(sizes)) > 10
    full = sizes[:-1]
    assert 66 < sum(full) / len(full) < 70  # N(70, 5), one time in 20 N(35, 5)
    assert 0.02 < sum(n < 50 for n in full) / len(full) < 0.08
    torch.manual_seed(0)
    assert window_sizes(100_000, 70, variable=True) == sizes  # torch's generator: seeded
    with pytest.raises(ValueError, match="bptt"):
        window_sizes(10, 0, variable=True)


def test_variable_windows_cut_elsewhere_but_score_the_same():
    """In eval mode the windows only decide where the state is carried over, so random
    window lengths give the scores of whole sequences; while training they move the
    points where the gradient is cut."""
    module = make_module(num_layers=1, tie_weights=False)
    with torch.no_grad():
        whole = module.eval()(IDS, bptt=100)[0]
        torch.manual_seed(1)
        torch.testing.assert_close(module(IDS, bptt=5, variable_bptt=True)[0], whole, rtol=1e-5, atol=1e-5)
    module.train()

    def cut_after(seed):  # the first position whose output gets no gradient from id 2's embedding
        torch.manual_seed(seed)
        sizes = window_sizes(len(IDS[0]) + 1, 3, variable=True)
        torch.manual_seed(seed)
        flat, _ = module(IDS[:1], bptt=3, variable_bptt=True)
        return sizes, flat

    sizes, flat = cut_after(3)
    assert sizes != window_sizes(len(IDS[0]) + 1, 3)
    end = sizes[0]  # id 2 is the first token: an input of the first window only
    grad = torch.autograd.grad(flat[end:].sum(), module.embed.weight, retain_graph=True)[0]
    assert grad[2].abs().sum() == 0
    assert torch.autograd.grad(flat[:end].sum(), module.embed.weight)[0][2].abs().sum() > 0


def test_tied_weights_and_weight_drop_parametrization():
    module = make_module(weight_dropout=0.5)
    assert module.decoder.weight is module.embed.weight
    assert "layers.0.parametrizations.weight_hh_l0.original" in dict(module.named_parameters())


def test_deepcopy_after_a_weight_dropped_training_step_keeps_the_weights_tied():
    module = make_module(weight_dropout=0.5).train()
    module(IDS, bptt=3)[0].sum().backward()  # the RNNs now hold dropped, non-leaf weights
    clone = copy.deepcopy(module)
    assert clone.training and clone.decoder.weight is clone.embed.weight
    assert clone.embed.weight is not module.embed.weight
    with torch.no_grad():
        torch.testing.assert_close(clone.eval()(IDS, bptt=3)[0], module.eval()(IDS, bptt=3)[0], rtol=0, atol=0)


@pytest.mark.parametrize(
    "options,message",
    [
        ({"proj_size": 0, "hidden_size": 16}, "tie_weights"),
        ({"cell": "gru", "proj_size": 4}, "proj_size"),
        ({"weight_dropout": 1.0}, "weight_dropout"),
        ({"embed_size": 0, "tie_weights": False}, "embed_size"),
    ],
)
def test_bad_options_raise_errors_naming_them(options, message):
    with pytest.raises(ValueError, match=message):
        LMOptions(**{"embed_size": 8, "hidden_size": 8, **options})


def test_bad_call_arguments_raise():
    module = make_module()
    with pytest.raises(ValueError, match="bptt"):
        module(IDS, bptt=0)
    with pytest.raises(ValueError, match="dropout"):
        module(IDS, bptt=3, output_dropout=1.5)
