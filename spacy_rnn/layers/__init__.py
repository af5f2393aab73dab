"""thinc layers, one per module: each wraps a torch module of ``spacy_rnn.modules`` or
works on thinc arrays and spaCy docs directly."""
