from .tagger import RNNTagger

__all__ = ["RNNTagger"]
