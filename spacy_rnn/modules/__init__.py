"""Pure PyTorch modules: no thinc, no spaCy. The thinc layers in ``spacy_rnn.layers``
wrap them through the shims in ``spacy_rnn.shims``."""
