"""Building logic above single layers: the encoder, the tagger and classifier heads,
wide & deep. ``spacy_rnn.architectures`` registers thin wrappers around these."""
