"""A bag-of-words text classifier (the fastText idea): average the word vectors of a
line, then a linear layer scores each class. The word vectors are learned by backprop."""
from __future__ import annotations

import numpy as np

from ..nn import EmbeddingBag, Linear, Module
from .vocab import Vocab


def encode_lines(lines, vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Lines of space-separated tokens -> (flat ids (N,) int64, offsets (B,) int64) for EmbeddingBag.
    Out-of-vocabulary tokens are skipped; a line with none left becomes an empty bag."""
    encoded = [vocab.encode(line.split()) for line in lines]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    flat = np.concatenate(encoded).astype(np.int64) if encoded else np.zeros(0, np.int64)
    return flat, offsets


class BagOfWordsClassifier(Module):
    """ids + offsets -> class logits (B, n_classes).

    ``EmbeddingBag(V, D, mode="mean")`` gives one D-vector per line; ``Linear(D, C)`` scores it.
    """

    def __init__(self, vocab_size: int, dim: int, n_classes: int, *, seed: int | None = None):
        rng = np.random.default_rng(seed)
        self.embedding = EmbeddingBag(vocab_size, dim, mode="mean", rng=rng)
        # Small initial vectors: the classifier starts near 'all classes equally likely'.
        self.embedding.weight.data *= 0.1
        self.head = Linear(dim, n_classes, rng=rng)

    def forward(self, ids, offsets):
        return self.head.forward(self.embedding.forward(ids, offsets))

    def backward(self, dlogits):
        return self.embedding.backward(self.head.backward(dlogits))
