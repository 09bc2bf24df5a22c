"""Losses: the scalar at the top of the graph, where backpropagation starts.

A loss is called like a module, ``value = loss(logits, targets)``, and returns a
Python float. ``loss.backward()`` returns ``dL/dlogits`` (scaled by the optional
upstream ``dloss``, 1.0 by default).
"""
from __future__ import annotations

import numpy as np

from .functional import as_float_array, log_softmax, sigmoid
from .module import Module

_REDUCTIONS = ("mean", "sum")


def _check_reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


class CrossEntropyLoss(Module):
    """Softmax cross-entropy with integer class targets.

    logits (N, C) or (..., C) float; targets (N,) or (...,) int in ``[0, C)`` or
    ``ignore_index``. Per element ``l = -log softmax(z)[t]``; ``reduction="mean"``
    averages over the targets that are not ignored. The gradient is the classic

        dL/dz = (softmax(z) - onehot(t)) / n_counted      (zero rows for ignored targets)

    If every target is ignored the loss is 0.0 with a zero gradient (PyTorch returns
    NaN there; a NaN that then reaches the optimizer helps nobody).
    """

    def __init__(self, ignore_index: int = -100, reduction: str = "mean"):
        self.ignore_index = ignore_index
        self.reduction = _check_reduction(reduction)

    def forward(self, logits, targets) -> float:
        z = as_float_array(logits, "logits")
        t = np.asarray(targets)
        if z.ndim < 1 or t.shape != z.shape[:-1]:
            raise ValueError(f"logits (..., C) and targets (...) must agree: got {z.shape} and {t.shape}")
        if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.integer):
            raise TypeError(f"targets must be integer class ids, got dtype {t.dtype}")
        n_classes = z.shape[-1]
        z2, t1 = z.reshape(-1, n_classes), t.reshape(-1).astype(np.int64)
        keep = t1 != self.ignore_index
        bad = keep & ((t1 < 0) | (t1 >= n_classes))
        if bad.any():
            raise IndexError(f"target {t1[bad][0]} is out of range for {n_classes} classes")
        logp = log_softmax(z2)
        rows = np.flatnonzero(keep)
        per_element = -logp[rows, t1[rows]]
        self._count = len(rows) if self.reduction == "mean" else 1
        self._cache = (logp, t1, rows, z.shape)
        if len(rows) == 0:
            return 0.0
        total = float(per_element.sum(dtype=np.float64))
        return total / self._count

    def backward(self, dloss: float = 1.0):
        logp, t1, rows, shape = self._cache
        grad = np.exp(logp)
        grad[rows, t1[rows]] -= 1.0
        grad[t1 == self.ignore_index] = 0.0
        grad *= dloss / max(self._count, 1)
        return grad.reshape(shape)


class BCEWithLogitsLoss(Module):
    """Binary cross-entropy on raw scores ``z`` with targets ``y`` in [0, 1] (same shape).

    ``l = -[y log s(z) + (1 - y) log(1 - s(z))] = max(z, 0) - z y + log(1 + exp(-|z|))``,
    the right-hand form being the one that never overflows. ``dL/dz = s(z) - y``.
    """

    def __init__(self, reduction: str = "mean"):
        self.reduction = _check_reduction(reduction)

    def forward(self, logits, targets) -> float:
        z = as_float_array(logits, "logits")
        y = np.asarray(targets, dtype=z.dtype)
        if y.shape != z.shape:
            raise ValueError(f"logits and targets must have the same shape: got {z.shape} and {y.shape}")
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError("BCE targets must lie in [0, 1]")
        per_element = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        self._count = max(z.size, 1) if self.reduction == "mean" else 1
        self._cache = (z, y)
        return float(per_element.sum(dtype=np.float64)) / self._count

    def backward(self, dloss: float = 1.0):
        z, y = self._cache
        return (sigmoid(z) - y) * (dloss / self._count)
