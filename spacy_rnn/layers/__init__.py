from .rnn import PackedRNN, RNNShim, rnn, rnn_output_width

__all__ = ["PackedRNN", "RNNShim", "rnn", "rnn_output_width"]
