"""Losses: the scalar at the top of the graph, where backpropagation starts.

A loss is called like a module, ``value = loss(logits, targets)``, and returns a
Python float. ``loss.backward()`` returns ``dL/dlogits`` (scaled by the optional
upstream ``dloss``, 1.0 by default).
"""
from __future__ import annotations

import numpy as np

from ..kernels.threads import split_rows
from .functional import as_float_array, sigmoid
from .module import Module

_REDUCTIONS = ("mean", "sum")


def _check_reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


# --------------------------------------------------------------- shared by the contrastive losses
def _unit_rows(z: np.ndarray, loss: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``u = z / ||z||`` row by row, in float64, and the norms (N,). A zero row has no direction to
    compare: ``ValueError`` naming the loss, the array and the row."""
    z64 = z.astype(np.float64)
    norms = np.linalg.norm(z64, axis=1)
    if (norms == 0).any():
        raise ValueError(f"{loss}: row {int(np.argmin(norms))} of {name} is all zeros (no direction to compare)")
    return z64 / norms[:, None], norms


def _unit_rows_backward(du: np.ndarray, u: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """dL/dz from dL/du for ``u = z / ||z||``: ``(du - u (u . du)) / ||z||`` (the normalisation's Jacobian)."""
    return (du - u * np.sum(u * du, axis=1, keepdims=True)) / norms[:, None]


def _log_softmax_rows(s: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax`` of scores (R, C) that may hold ``-inf`` (left out), safe for any scale.

    ``log sum exp = max + log1p(sum of the others)``: subtracting each row's largest score keeps
    every exp <= 1 (no overflow at a logit scale of 100 or a temperature of 0.01), and log1p keeps
    a loss of 1e-43 (a well-separated batch) instead of rounding 1 + 1e-43 to 1 and the loss to 0.
    """
    rows = np.arange(len(s))
    top = s.argmax(axis=1)
    logp = s - s[rows, top][:, None]                       # <= 0, and 0 at each row's largest score
    rest = np.exp(logp)
    rest[rows, top] = 0.0
    logp -= np.log1p(rest.sum(axis=1))[:, None]
    return logp


class CrossEntropyLoss(Module):
    """Softmax cross-entropy with integer class targets.

    logits (N, C) or (..., C) float; targets (N,) or (...,) int in ``[0, C)`` or
    ``ignore_index``. Per element ``l = -log softmax(z)[t]``; ``reduction="mean"``
    averages over the targets that are not ignored. The gradient is the classic

        dL/dz = (softmax(z) - onehot(t)) / n_counted      (zero rows for ignored targets)

    If every target is ignored the loss is 0.0 with a zero gradient (PyTorch returns
    NaN there; a NaN that then reaches the optimizer helps nobody).

    Computed with ``m = max z`` per row, ``e = exp(z - m)`` and ``s = sum e``: the loss is
    ``m + log s - z[t]`` and the backward reuses ``e``: ``softmax(z) = e / s``, so each element
    is exponentiated once. An MLM head's logits are large (M x V = 600 x 4096 per batch), so
    the rows are cut over the compute threads (:func:`~minembed.kernels.threads.compute_threads`).
    """

    def __init__(self, ignore_index: int = -100, reduction: str = "mean"):
        self.ignore_index = ignore_index
        self.reduction = _check_reduction(reduction)

    @staticmethod
    def _exp_shifted(z2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(e, s, lse) of (N, C) scores: ``e = exp(z - max z)`` per row, ``s = sum e`` and
        ``lse = max z + log s = log sum exp z`` (N,)."""
        e = np.empty_like(z2)
        sums, lse = np.empty(len(z2), dtype=z2.dtype), np.empty(len(z2), dtype=z2.dtype)

        def rows(lo, hi, _t):
            top = z2[lo:hi].max(axis=1, keepdims=True)
            block = np.subtract(z2[lo:hi], top, out=e[lo:hi])
            np.exp(block, out=block)
            sums[lo:hi] = block.sum(axis=1)
            lse[lo:hi] = top[:, 0] + np.log(sums[lo:hi])

        split_rows(len(z2), rows, min_rows=64)
        return e, sums, lse

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
        e, sums, lse = self._exp_shifted(z2)
        rows = np.flatnonzero(keep)
        per_element = lse[rows] - z2[rows, t1[rows]]      # -log softmax(z)[t]
        self._count = len(rows) if self.reduction == "mean" else 1
        self._cache = (e, sums, t1, rows, z.shape)
        if len(rows) == 0:
            return 0.0
        total = float(per_element.sum(dtype=np.float64))
        return total / self._count

    def backward(self, dloss: float = 1.0):
        e, sums, t1, rows, shape = self._cache
        scale = dloss / max(self._count, 1)
        grad = np.empty_like(e)
        per_row = (scale / sums)[:, None].astype(e.dtype)

        def softmax_over_n(lo, hi, _t):                         # softmax(z) / n = e / s / n
            np.multiply(e[lo:hi], per_row[lo:hi], out=grad[lo:hi])

        split_rows(len(e), softmax_over_n, min_rows=64)
        grad[rows, t1[rows]] -= scale                           # - onehot(t) / n
        grad[t1 == self.ignore_index] = 0.0
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
        u, norms = _unit_rows(z, "NTXentLoss", "z")
        m = len(z) // 2
        s = (u @ u.T) / self.temperature
        np.fill_diagonal(s, -np.inf)
        partner = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
        rows = np.arange(2 * m)
        logp = _log_softmax_rows(s)
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
        return _unit_rows_backward(du, u, norms).astype(dtype)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


class ClipLoss(Module):
    """CLIP's symmetric InfoNCE loss for two modalities: image i goes with text i, every other text of the
    batch is a negative for it, and the other way round.

    ``outputs = (image_embeds, text_embeds, logit_scale)``: image_embeds (N, D) and text_embeds (N, D)
    with row ``i`` of each describing the same example, and ``logit_scale`` ``s`` > 0 (a float; CLIP
    learns ``log s``, see :class:`minembed.vision.TinyCLIP`). With ``u_i``, ``v_j`` the rows scaled to
    unit length, the batch's similarity matrix and the two cross-entropies are::

        S_ij = s u_i . v_j                                        (N, N)  image i vs text j
        l^img_i = -S_ii + log sum_j exp(S_ij)                     softmax over a row: which text?
        l^txt_j = -S_jj + log sum_i exp(S_ij)                     softmax over a column: which image?
        L = (mean_i l^img_i + mean_j l^txt_j) / 2                 (``reduction="sum"``: sums, halved)

    Backward, by hand. With ``P`` the row softmax of ``S``, ``Q`` the column softmax and ``n`` = N
    (mean) or 1 (sum), ``G = dL/dS = (P + Q - 2 I) / (2 n)``, and::

        dL/dU = s G V          dL/dV = s G^T U          dL/ds = sum_ij G_ij (u_i . v_j) = sum(G * S) / s

    then each side through the normalisation's Jacobian, as in :class:`NTXentLoss` (whose code for
    the unit rows and the safe log-softmax this loss shares). Safe at CLIP's largest scale (100,
    scores in [-100, 100]) and beyond: every log-sum-exp subtracts its row's (column's) largest
    score. Computed in float64; the gradients have the embeddings' dtype.

    ``backward(dloss)`` returns ``(d_image_embeds, d_text_embeds, d_logit_scale)`` (the last a float).

    Bad input: a batch of one pair (N = 1) is a ``ValueError`` -- with no other example there is no
    negative, both softmaxes are over a single score, the loss is 0 whatever the embeddings and
    nothing is learned. ``logit_scale`` <= 0 (or NaN, inf) is a ``ValueError``: it is ``1 / temperature``
    and a temperature must be > 0. ``targets`` is accepted and ignored (the pairs are the labels),
    so the loss fits the ``loss_fn(outputs, y)`` call of :func:`minembed.nn.train.fit`.
    """

    def __init__(self, reduction: str = "mean"):
        self.reduction = _check_reduction(reduction)

    def forward(self, outputs, targets=None) -> float:
        if not (isinstance(outputs, (tuple, list)) and len(outputs) == 3):
            raise TypeError("ClipLoss expects outputs = (image_embeds, text_embeds, logit_scale), "
                            f"got {type(outputs).__name__}")
        x, t, scale = outputs
        x, t = as_float_array(x, "image_embeds"), as_float_array(t, "text_embeds")
        if x.ndim != 2 or x.shape != t.shape:
            raise ValueError(f"ClipLoss expects image_embeds and text_embeds of one shape (N, D), got {x.shape} "
                             f"and {t.shape}")
        if len(x) < 2:
            raise ValueError(f"ClipLoss needs a batch of at least 2 image-text pairs, got {len(x)}: with one pair "
                             "there are no negatives (the only text is the right one), the loss is 0 whatever "
                             "the embeddings and nothing is learned")
        scale = float(np.asarray(scale, dtype=np.float64).reshape(()))
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"logit_scale must be a finite number > 0 (it is 1 / temperature), got {scale!r}")
        for name, a in (("image_embeds", x), ("text_embeds", t)):
            if not np.isfinite(a).all():
                raise ValueError(f"ClipLoss: {name} has NaN or infinite values")
        u, nu = _unit_rows(x, "ClipLoss", "image_embeds")
        v, nv = _unit_rows(t, "ClipLoss", "text_embeds")
        s = scale * (u @ v.T)
        logp_rows = _log_softmax_rows(s)                   # image -> which text
        logp_cols = _log_softmax_rows(s.T)                 # text -> which image
        n = len(x)
        total = -(np.trace(logp_rows) + np.trace(logp_cols)) / 2
        self._count = n if self.reduction == "mean" else 1
        self._cache = (u, nu, v, nv, s, scale, np.exp(logp_rows), np.exp(logp_cols).T, x.dtype, t.dtype)
        return float(total) / self._count + 0.0            # + 0.0: a perfect batch gives 0.0, not -0.0

    def backward(self, dloss: float = 1.0):
        u, nu, v, nv, s, scale, p, q, xdtype, tdtype = self._cache
        g = p + q
        g[np.diag_indices_from(g)] -= 2.0
        g *= dloss / (2 * self._count)
        du = scale * (g @ v)
        dv = scale * (g.T @ u)
        dscale = float(np.sum(g * s)) / scale
        return (_unit_rows_backward(du, u, nu).astype(xdtype), _unit_rows_backward(dv, v, nv).astype(tdtype),
                dscale)
