"""spacy_rnn.modules.rnn: the packed PyTorch RNN and its options."""

import pytest
import torch

from spacy_rnn.modules.rnn import PackedRNN, RNNOptions


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_each_sequence_reads_only_its_own_tokens(cell):
    torch.manual_seed(0)
    module = PackedRNN(5, RNNOptions(cell, 4, num_layers=2, bidirectional=True)).eval()
    lengths = [3, 7, 1]
    X = torch.randn(sum(lengths), 5)
    with torch.no_grad():
        Y = module(X, lengths)
        start = 0
        for n in lengths:
            alone, _ = module.rnn(X[start : start + n][None])  # a batch of one, no padding
            torch.testing.assert_close(Y[start : start + n], alone[0])
            start += n
    assert Y.shape == (11, module.output_size) == (11, 8)


def test_dropout_argument_drops_inputs_and_outputs_in_training_only():
    torch.manual_seed(0)
    module = PackedRNN(4, RNNOptions("gru", 6))
    X = torch.ones(20, 4)
    train_out = module(X, [20], dropout=0.5)
    assert (train_out == 0).float().mean() > 0.2
    module.eval()
    torch.testing.assert_close(module(X, [20], dropout=0.5), module(X, [20]))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"cell": "lstmx"}, "Unknown RNN cell 'lstmx'"),
        ({"cell": "gru", "proj_size": 2}, "proj_size is only supported for cell='lstm'"),
        ({"cell": "lstm", "proj_size": 6}, "proj_size must be in"),
        ({"cell": "lstm", "num_layers": 0}, "num_layers must be a positive integer"),
        ({"cell": "lstm", "dropout": 1.5}, "dropout must be in"),
        ({"cell": "lstm", "hidden_size": True}, "hidden_size must be a positive integer"),
    ],
)
def test_bad_options_raise_errors_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RNNOptions(**{"hidden_size": 6, **kwargs})


def test_input_size_is_checked_and_saved_configs_rebuild_the_module():
    with pytest.raises(ValueError, match="input_size must be a positive integer"):
        PackedRNN(0, RNNOptions())
    module = PackedRNN.from_config(
        3, cell="lstm", hidden_size=4, num_layers=1, bidirectional=False, dropout=0.0, proj_size=0, bias=True
    )
    assert module.rnn.input_size == 3 and module.output_size == 4


@pytest.mark.parametrize("lengths", [[1], [3, 7, 1], [4, 4, 2, 4, 1, 9], [5] * 6])
def test_packed_positions_give_pack_sequences_order(lengths):
    from torch.nn.utils.rnn import pack_sequence

    from spacy_rnn.modules.rnn import packed_positions

    X = torch.arange(sum(lengths), dtype=torch.float32)[:, None]
    reference = pack_sequence(torch.split(X, lengths), enforce_sorted=False)
    batch_sizes, to_packed, from_packed = packed_positions(lengths)
    assert batch_sizes.tolist() == reference.batch_sizes.tolist()
    if len(set(lengths)) == len(lengths):  # no ties: the order is the same row for row
        torch.testing.assert_close(X[from_packed], reference.data, atol=0, rtol=0)
    assert sorted(from_packed.tolist()) == list(range(sum(lengths)))
    assert (from_packed[to_packed] == torch.arange(sum(lengths))).all()
    step_starts = torch.cumsum(batch_sizes, 0) - batch_sizes
    start = 0
    for n in lengths:  # row t of a sequence sits in step t
        steps = torch.searchsorted(step_starts, to_packed[start : start + n], right=True) - 1
        assert steps.tolist() == list(range(n))
        start += n


@pytest.mark.parametrize("lengths", [[], [3, 0, 2]])
def test_packed_positions_reject_empty_sequences(lengths):
    from spacy_rnn.modules.rnn import packed_positions

    with pytest.raises(ValueError, match="at least one row"):
        packed_positions(lengths)
