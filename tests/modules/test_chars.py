"""spacy_rnn.modules.chars: byte embeddings and a packed RNN per word."""

import torch

from spacy_rnn.modules.chars import CharRNN


def test_a_word_vector_is_the_final_state_of_each_direction():
    torch.manual_seed(0)
    module = CharRNN(nM=4, hidden_size=3).eval()
    words = [list(b"tag"), list(b"ging!")]
    chars = torch.tensor(words[0] + words[1])
    index = torch.tensor([1, 0, 1])  # tokens: "ging!", "tag", "ging!"
    with torch.no_grad():
        Y = module(chars, [3, 5], index)
        out, _ = module.rnn.rnn(module.embed(torch.tensor(words[1]))[None])
    assert Y.shape == (3, 6)
    torch.testing.assert_close(Y[0], torch.cat([out[0, -1, :3], out[0, 0, 3:]]))
    torch.testing.assert_close(Y[0], Y[2])
