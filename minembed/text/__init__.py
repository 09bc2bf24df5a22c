"""Text: vocabularies, and (built on them) word embeddings and text models."""
from .vocab import Vocab

__all__ = ["Vocab"]
