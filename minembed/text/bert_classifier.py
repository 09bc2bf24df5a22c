"""Reusing a pretrained TinyBERT for a task: pooled sentence vector -> linear head, frozen or fine-tuned.

::

    ids (B, T) ──TinyBERT──▶ h (B, T, D) ──pool over real tokens──▶ s (B, D) ──Linear──▶ logits (B, C)

Frozen (``finetune=False``): the encoder only supplies features; backward stops at the pool and
only the head learns (a linear probe). Fine-tuned: the gradient flows on through the pool into
every block and embedding. The pools' backward passes::

    cls   dh[:, 0] = ds                                         (the other tokens get nothing)
    mean  dh[b, t] = ds[b] * keep[b, t] / n_b                   (n_b real tokens in sentence b)
    max   dh[b, t*, d] = ds[b, d] at the winning token t* of each feature d
"""
from __future__ import annotations

import numpy as np

from ..kernels.blas import blas_threads as _blas_threads
from ..kernels.validate import check_positive_int
from ..nn.linear import Linear
from ..nn.losses import CrossEntropyLoss
from ..nn.module import Module
from ..nn.optim import Adam
from ..nn.train import History
from ..nn.train import fit as train_loop
from .bert import POOLINGS, TinyBERT, check_ids, pool


def pool_backward(ds: np.ndarray, h: np.ndarray, keep: np.ndarray, pooling: str) -> np.ndarray:
    """Gradient of :func:`~minembed.text.bert.pool` at ``h`` (B, T, D): ds (B, D) -> dh (B, T, D)."""
    dh = np.zeros_like(h, dtype=ds.dtype)
    if pooling == "cls":
        dh[:, 0] = ds
    elif pooling == "mean":
        w = keep.astype(ds.dtype)
        dh[...] = ds[:, None, :] * (w / np.maximum(w.sum(axis=1, keepdims=True), 1))[..., None]
    else:  # max: the first token reaching the maximum gets the gradient (as np.argmax picks it)
        win = np.where(keep[..., None], h, -np.inf).argmax(axis=1)        # (B, D)
        b, d = np.indices(win.shape)
        dh[b, win, d] = ds
    return dh


class BertClassifier(Module):
    """``TinyBERT`` + pooling + ``Linear(D, num_classes)``: ids (B, T) -> logits (B, C).

    ``finetune=False`` freezes the encoder (its parameters get ``requires_grad=False``, the optimizer
    skips them, backward stops at the pool), so only the head trains.
    """

    def __init__(self, bert: TinyBERT, num_classes: int, pooling: str = "mean", finetune: bool = True, *,
                 rng=None, seed=None):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.bert = bert
        self.pooling, self.finetune = pooling, finetune
        self.head = Linear(bert.dim, check_positive_int(num_classes, "num_classes"), rng=rng, seed=seed,
                           dtype=bert.dtype)
        for p in bert.parameters():
            p.requires_grad = finetune
        self.history = History()
        self._cache = None

    def forward(self, ids):
        ids = check_ids(ids, self.bert.vocab_size, self.bert.max_len)
        keep = ids != self.bert.pad_id
        h = self.bert.forward(ids)
        self._cache = (h, keep)
        return self.head.forward(pool(h, keep, self.pooling))

    def backward(self, dlogits):
        h, keep = self._cache
        ds = self.head.backward(dlogits)
        if self.finetune:
            self.bert.backward(pool_backward(ds, h, keep, self.pooling))
        return None

    def predict(self, ids, batch_size: int = 256) -> np.ndarray:
        """Class ids (N,) for padded ids (N, T)."""
        was = self.training
        self.eval()
        try:
            return np.concatenate([self.forward(ids[i:i + batch_size]).argmax(axis=1)
                                   for i in range(0, len(ids), batch_size)]) if len(ids) else np.zeros(0, np.int64)
        finally:
            self.train(was)

    def fit(self, ids, labels, epochs: int = 3, batch_size: int = 32, lr: float = 1e-3, ids_test=None,
            labels_test=None, seed: int = 0, progress: bool = False, blas_threads: int | None = 1) -> History:
        """Train with Adam and cross-entropy by :func:`minembed.nn.train.fit` (only the head when frozen)."""
        ids = check_ids(ids, self.bert.vocab_size, self.bert.max_len)
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(ids),):
            raise ValueError(f"{len(ids)} sequences but labels of shape {labels.shape}")
        n_classes = self.head.out_features
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ValueError(f"labels must lie in 0..{n_classes - 1}, found {labels.min()}..{labels.max()}")
        opt = Adam([p for p in self.parameters() if p.requires_grad], lr=lr)
        evaluate = None
        if ids_test is not None:
            evaluate = lambda: float((self.predict(ids_test) == np.asarray(labels_test)).mean())  # noqa: E731
        with _blas_threads(blas_threads):
            return train_loop(self, ids, labels, loss_fn=CrossEntropyLoss(), optimizer=opt, epochs=epochs,
                              batch_size=batch_size, seed=seed, evaluate=evaluate, history=self.history,
                              progress=progress, desc="classifier epoch")
