"""A bag-of-words text classifier (the fastText idea): average the word vectors of a
line, then a linear layer scores each class. The word vectors are learned by backprop."""
from __future__ import annotations

import numpy as np

from ..kernels.validate import as_index_array
from ..nn import Adam, CrossEntropyLoss, EmbeddingBag, Linear, Module
from ..nn.train import History
from ..nn.train import fit as train_loop
from ..rng import make_rng
from .vocab import Vocab


def encode_lines(lines, vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Lines of space-separated tokens -> (flat ids (N,) int64, offsets (B,) int64) for EmbeddingBag.
    Out-of-vocabulary tokens are skipped; a line with none left becomes an empty bag."""
    encoded = [vocab.encode(line.split()) for line in lines]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    flat = np.concatenate(encoded).astype(np.int64) if encoded else np.zeros(0, np.int64)
    return flat, offsets


class Bags:
    """N bags of token ids stored flat, as :class:`~minembed.nn.EmbeddingBag` takes them.

    ``ids (T,)`` int64 holds every bag's ids one after another; bag ``i`` is
    ``ids[offsets[i]:offsets[i + 1]]`` (the last one runs to the end). ``bags[rows]`` picks bags
    (an int array of bag numbers) and returns their ``(ids, offsets)``, so the training loop can
    draw mini-batches of lines as it draws rows of an image array.
    """

    def __init__(self, ids, offsets):
        self.ids = as_index_array(ids, np.iinfo(np.int64).max, "token id")
        self.offsets = as_index_array(offsets, len(self.ids) + 1, "offset")
        if self.offsets.ndim != 1 or (len(self.offsets) and self.offsets[0] != 0) or np.any(np.diff(self.offsets) < 0):
            raise ValueError("offsets must be a 1-D non-decreasing array starting at 0")
        self.lengths = np.diff(np.append(self.offsets, len(self.ids)))

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, rows) -> tuple[np.ndarray, np.ndarray]:
        rows = as_index_array(rows, len(self), "bag")
        lengths = self.lengths[rows]
        new_offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        # position j of new bag b comes from ids[offsets[rows[b]] + j]
        shift = np.repeat(self.offsets[rows] - new_offsets, lengths)
        return self.ids[np.arange(int(lengths.sum())) + shift], new_offsets


class BagOfWordsClassifier(Module):
    r"""ids + offsets -> class logits (B, num_classes).

    ``EmbeddingBag(V, D, mode=mode)`` gives one D-vector per line; ``Linear(D, C)`` scores it:

    .. math:: \text{logits}_b = W\,\operatorname{pool}\{e_t : t \in \text{bag}_b\} + c,

    where pool is the mean (the default, fastText's choice: a line's length does not change the scale of
    its vector), the sum, or the element-wise max of the bag's word vectors (``mode`` as in
    :class:`~minembed.nn.EmbeddingBag`).
    """

    def __init__(self, vocab_size: int, embed_dim: int, num_classes: int, *, mode: str = "mean",
                 seed: int | None = None):
        if mode not in ("mean", "sum", "max"):
            raise ValueError(f"mode must be 'mean', 'sum' or 'max', got {mode!r}")
        rng = make_rng(seed=seed)
        self.embedding = EmbeddingBag(vocab_size, embed_dim, mode=mode, rng=rng)
        # Small initial vectors: the classifier starts near 'all classes equally likely'.
        self.embedding.weight.data *= 0.1
        self.head = Linear(embed_dim, num_classes, rng=rng)
        self.history = History()  # every fit call adds its epochs (callbacks see them as they come)

    def forward(self, ids, offsets):
        return self.head.forward(self.embedding.forward(ids, offsets))

    def backward(self, dlogits):
        return self.embedding.backward(self.head.backward(dlogits))

    def predict(self, bags: Bags) -> np.ndarray:
        """The highest-scoring class of each bag: (N,) int64."""
        return self.forward(bags.ids, bags.offsets).argmax(axis=1)

    def accuracy(self, bags: Bags, labels) -> float:
        """Fraction of bags whose predicted class equals its label."""
        return float((self.predict(bags) == np.asarray(labels)).mean())

    def fit(self, bags: Bags, labels, epochs: int = 4, batch_size: int = 64, lr: float = 0.01, seed: int = 0,
            bags_test: Bags | None = None, labels_test=None, progress: bool = True, callbacks=()) -> dict:
        """Adam on shuffled mini-batches of bags (:func:`minembed.nn.train.fit`); returns ``self.history``."""
        labels = np.asarray(labels)
        if labels.shape != (len(bags),) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be ({len(bags)},) integers, one per bag, got {labels.shape} {labels.dtype}")
        num_classes = self.head.weight.data.shape[0]
        outside = np.flatnonzero((labels < 0) | (labels >= num_classes))
        if len(outside):  # checked before the first step, not when its batch comes up
            i = int(outside[0])
            raise ValueError(f"labels must be class ids in [0, {num_classes}): labels[{i}] = {labels[i]}")
        if (bags_test is None) != (labels_test is None):
            raise ValueError("pass both bags_test and labels_test, or neither")
        evaluate = None if bags_test is None else (lambda: self.accuracy(bags_test, labels_test))
        self.history = train_loop(self, bags, labels, loss_fn=CrossEntropyLoss(),
                                  optimizer=Adam(self.parameters(), lr=lr), epochs=epochs, batch_size=batch_size,
                                  seed=seed, evaluate=evaluate, history=self.history, progress=progress,
                                  callbacks=callbacks, desc="classifier epoch")
        return self.history
