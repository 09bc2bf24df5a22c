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


class NTXentLoss(Module):
    """Contrastive loss of SimCLR ("normalized temperature-scaled cross-entropy", an InfoNCE loss with the
    other examples of the batch as negatives). No labels: the pairs are the data.

    ``z`` (2N, D): rows ``i`` and ``i + N`` are embeddings of two views (augmentations) of example ``i``.
    With ``u_i = z_i / ||z_i||`` and the similarities ``s_ij = u_i . u_j / tau`` (``j != i``), each row is a
    classification among the 2N - 1 others whose right answer is its partner ``p(i)``::

        l_i = -s_{i,p(i)} + log sum_{j != i} exp(s_ij)          L = mean_i l_i  (or the sum)

    Backward, by hand. With ``P_ij = softmax_j(s_i.)`` over ``j != i`` (0 on the diagonal) and
    ``G = (P - onehot(p)) / 2N`` = dL/ds::

        dL/dU = (G + G^T) U / tau                                   (s = U U^T / tau is symmetric)
        dL/dz_i = (du_i - u_i (u_i . du_i)) / ||z_i||              (the normalisation's Jacobian)

    Numerically safe at small temperatures: the log-sum-exp subtracts each row's largest off-diagonal
    score (and adds the rest with ``log1p``), and the diagonal is -inf, so exp never overflows, ``s_ii``
    never counts and a tiny loss is not rounded to 0 (tau = 0.01 puts scores in [-100, 100]). Computed
    in float64; the gradient has ``z``'s dtype. A zero row of ``z`` (no direction) raises ``ValueError``, and
    so does a batch of one example (z of 2 rows: no negatives, nothing to learn).

    ``targets`` is accepted and ignored, so the loss fits the ``loss_fn(outputs, y)`` call of
    :func:`minembed.nn.train.fit` (pass any (2N,) or (N,) array as ``y``).
    """

    def __init__(self, temperature: float = 0.1, reduction: str = "mean"):
        if not (isinstance(temperature, (int, float)) and temperature > 0 and np.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
        self.temperature = float(temperature)
        self.reduction = _check_reduction(reduction)

    def forward(self, z, targets=None) -> float:
        z = as_float_array(z, "z")
        if z.ndim != 2 or z.shape[0] < 2 or z.shape[0] % 2:
            raise ValueError(f"NTXentLoss expects (2N, D) embeddings, two views per example (N >= 1), "
                             f"got shape {z.shape}")
        if z.shape[0] == 2:
            raise ValueError("NTXentLoss needs a batch of at least 2 examples (z of at least 4 rows): with one "
                             "example the only other row is its own partner, so there are no negatives to push "
                             "away and the loss is 0 whatever the encoder does")
        if not np.isfinite(z).all():
            raise ValueError("NTXentLoss: z has NaN or infinite values")
        z64 = z.astype(np.float64)
        norms = np.linalg.norm(z64, axis=1)
        if (norms == 0).any():
            raise ValueError(f"NTXentLoss: row {int(np.argmin(norms))} of z is all zeros (no direction to compare)")
        u = z64 / norms[:, None]
        m = len(z) // 2
        s = (u @ u.T) / self.temperature
        np.fill_diagonal(s, -np.inf)
        partner = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
        rows = np.arange(2 * m)
        top = s.argmax(axis=1)
        logp = s - s[rows, top][:, None]                   # <= 0, and 0 at each row's largest score
        rest = np.exp(logp)
        rest[rows, top] = 0.0
        # log sum exp = max + log1p(sum of the others): log1p keeps a loss of 1e-43 (tau = 0.01, a
        # well-separated batch) instead of rounding 1 + 1e-43 to 1 and the loss to 0.
        logp -= np.log1p(rest.sum(axis=1))[:, None]
        per_row = -logp[rows, partner]
        self._count = 2 * m if self.reduction == "mean" else 1
        self._cache = (u, norms, np.exp(logp), partner, z.dtype)
        return float(per_row.sum()) / self._count

    def backward(self, dloss: float = 1.0):
        u, norms, p, partner, dtype = self._cache
        g = p.copy()                                       # exp(-inf) = 0 on the diagonal already
        g[np.arange(len(u)), partner] -= 1.0
        g *= dloss / self._count
        du = (g + g.T) @ u / self.temperature
        dz = (du - u * np.sum(u * du, axis=1, keepdims=True)) / norms[:, None]
        return dz.astype(dtype)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
