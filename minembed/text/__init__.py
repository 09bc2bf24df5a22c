"""Text: tokenizing, vocabularies, word2vec, fastText and word vectors, and text models."""
from ..nn.train import Callback  # the one callback protocol (nn.train.fit, Word2Vec): kept importable here
from ..space.vectors import WordVectors  # noqa: E402  (kept here: it was first a text class)
from .bert import TinyBERT
from .bpe import BPETokenizer
from .cooccurrence import Cooccurrence, count_cooccurrences
from .fasttext import FastText
from .glove import GloVe
from .tokenize import TokenizedLines, tokenize
from .vocab import Vocab
from .word2vec import Word2Vec

__all__ = ["BPETokenizer", "Vocab", "tokenize", "TokenizedLines", "Word2Vec", "WordVectors", "Callback", "GloVe",
           "Cooccurrence", "count_cooccurrences", "FastText", "TinyBERT"]
