"""Character-level word vectors: byte embeddings and a packed RNN over each word.

``CharRNN.forward(chars, lengths, index)``::

    chars: (sum(lengths),) byte ids of the distinct words, word after word
      -> byte embeddings (nM) -> PackedRNN -> per word: the forward RNN's last state and,
         when bidirectional, the backward RNN's first state
    -> (len(index), hidden_size or 2 * hidden_size): row ``index[t]`` for each token t
"""

from typing import List

import numpy
import torch

from .rnn import PackedRNN, RNNOptions

N_BYTES = 256


class CharRNN(torch.nn.Module):
    """Byte embeddings + packed RNN; a word's vector is the forward RNN's last state and,
    when bidirectional, the backward RNN's first state."""

    def __init__(self, nM: int, hidden_size: int, cell: str = "lstm", bidirectional: bool = True):
        super().__init__()
        self.embed = torch.nn.Embedding(N_BYTES, nM)
        self.rnn = PackedRNN(nM, RNNOptions(cell, hidden_size, bidirectional=bidirectional))
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional

    def forward(
        self, chars: torch.Tensor, lengths: List[int], index: torch.Tensor, dropout: float = 0.0
    ) -> torch.Tensor:
        states = self.rnn(self.embed(chars), lengths, dropout)  # (sum(lengths), H or 2H)
        ends = torch.as_tensor(numpy.cumsum(lengths), device=states.device)
        words = states[ends - 1, : self.hidden_size]
        if self.bidirectional:
            starts = ends - torch.as_tensor(lengths, device=states.device)
            words = torch.cat([words, states[starts, self.hidden_size :]], dim=1)
        return words[index]
