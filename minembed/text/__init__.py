"""Text: tokenizing, vocabularies, word2vec and word vectors, and text models."""
from .tokenize import TokenizedLines, tokenize
from .vectors import WordVectors
from .vocab import Vocab
from .word2vec import Callback, Word2Vec

__all__ = ["Vocab", "tokenize", "TokenizedLines", "Word2Vec", "WordVectors", "Callback"]
