r"""t-SNE inner loops: perplexity calibration and the exact gradient, each beside its NumPy reference.

t-SNE (van der Maaten & Hinton 2008) places N points :math:`y_i` in 2-D so that a Student-t similarity
between them,

.. math::

    w_{ij} = \frac{1}{1 + \lVert y_i - y_j \rVert^2}, \qquad q_{ij} = \frac{w_{ij}}{Z}, \qquad
    Z = \sum_{k \ne l} w_{kl},

matches the Gaussian affinities :math:`p_{ij}` of the original points. It minimises
:math:`\mathrm{KL}(P \,\Vert\, Q)`, whose gradient is

.. math::

    \frac{\partial C}{\partial y_i} &= 4 \sum_j (p_{ij} - q_{ij})\, w_{ij}\, (y_i - y_j) \\
    &= 4 \Big[ \sum_j p_{ij} w_{ij} (y_i - y_j) - \frac{1}{Z} \sum_j w_{ij}^2 (y_i - y_j) \Big].

The second form needs Z, which depends on every pair, but splits into two sums that one pass
over j can accumulate together with row i's share of Z. The kernel does exactly that: one pass
over all :math:`N^2` pairs per iteration, parallel over rows i, nothing of size N x N allocated.
"""
from __future__ import annotations

import math

import numpy as np

from .jit import FASTMATH, jit, jit_enabled, prange


# -------------------------------------------------------------------- perplexity search
def calibrate_affinities_reference(d2: np.ndarray, perplexity: float, tol: float = 1e-5,
                                   max_iter: int = 100) -> np.ndarray:
    """Row-conditional Gaussian affinities p_{j|i} with perplexity ``exp(H_i)`` = ``perplexity``.

    d2 (N, N) squared distances (float64). For each row a binary search on the precision
    beta_i = 1 / (2 sigma_i^2) makes the entropy ``H_i = -sum_j p_{j|i} log p_{j|i}`` (nats)
    equal ``log(perplexity)``: H falls as beta grows. Returns P (N, N), rows summing to 1,
    zero diagonal.
    """
    n = d2.shape[0]
    target = math.log(perplexity)
    out = np.zeros_like(d2)
    for i in range(n):
        row = np.delete(d2[i], i)
        row = row - row.min()  # shifting distances leaves p unchanged and keeps exp() in range
        beta, lo, hi = 1.0, 0.0, np.inf
        for _ in range(max_iter):
            p = np.exp(-row * beta)
            s = p.sum()
            h = math.log(s) + beta * (row * p).sum() / s
            if abs(h - target) < tol:
                break
            if h > target:  # too flat: sharpen
                lo = beta
                beta = beta * 2 if hi == np.inf else (beta + hi) / 2
            else:
                hi = beta
                beta = (beta + lo) / 2
        out[i, np.arange(n) != i] = p / s
    return out


@jit(nogil=True, cache=True, parallel=True)
def _calibrate_kernel(d2, target, tol, max_iter, out):
    n = d2.shape[0]
    for i in prange(n):
        m = np.inf
        for j in range(n):
            if j != i and d2[i, j] < m:
                m = d2[i, j]
        beta = 1.0
        lo = 0.0
        hi = np.inf
        s = 0.0
        for _ in range(max_iter):
            s = 0.0
            sdp = 0.0
            for j in range(n):
                if j != i:
                    r = d2[i, j] - m
                    p = math.exp(-r * beta)
                    out[i, j] = p
                    s += p
                    sdp += r * p
            h = math.log(s) + beta * sdp / s
            if abs(h - target) < tol:
                break
            if h > target:
                lo = beta
                beta = beta * 2.0 if hi == np.inf else (beta + hi) / 2.0
            else:
                hi = beta
                beta = (beta + lo) / 2.0
        for j in range(n):
            out[i, j] = 0.0 if j == i else out[i, j] / s


def calibrate_affinities(d2: np.ndarray, perplexity: float, tol: float = 1e-5, max_iter: int = 100) -> np.ndarray:
    """Compiled :func:`calibrate_affinities_reference` (same contract). d2 must be (N, N) float64, N >= 2."""
    d2 = np.ascontiguousarray(d2, dtype=np.float64)
    if d2.ndim != 2 or d2.shape[0] != d2.shape[1] or d2.shape[0] < 2:
        raise ValueError(f"d2 must be a square (N, N) matrix with N >= 2, got shape {d2.shape}")
    if not 1.0 <= perplexity < d2.shape[0]:
        raise ValueError(f"perplexity must be in [1, N) = [1, {d2.shape[0]}), got {perplexity}")
    if not jit_enabled():
        return calibrate_affinities_reference(d2, perplexity, tol, max_iter)
    out = np.zeros_like(d2)
    _calibrate_kernel(d2, math.log(perplexity), tol, max_iter, out)
    return out


# ------------------------------------------------------------------------------ gradient
def tsne_gradient_reference(y: np.ndarray, p: np.ndarray, exaggeration: float = 1.0) -> tuple[np.ndarray, float]:
    """Gradient of KL(exaggeration * P || Q) w.r.t. y (N, c), from full (N, N) matrices; also returns Z."""
    diff = y[:, None, :] - y[None, :, :]  # (N, N, c)
    w = 1.0 / (1.0 + (diff ** 2).sum(-1))
    np.fill_diagonal(w, 0.0)
    z = w.sum()
    grad = 4.0 * (((exaggeration * p - w / z) * w)[:, :, None] * diff).sum(1)
    return grad, z


@jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)
def _tsne_gradient_kernel(y, p, exaggeration, attract, repel, zrow):
    n, c = y.shape
    for i in prange(n):
        z = 0.0
        for t in range(c):
            attract[i, t] = 0.0
            repel[i, t] = 0.0
        for j in range(n):
            if j == i:
                continue
            d2 = 0.0
            for t in range(c):
                dt = y[i, t] - y[j, t]
                d2 += dt * dt
            w = 1.0 / (1.0 + d2)
            z += w
            pw = exaggeration * p[i, j] * w
            ww = w * w
            for t in range(c):
                dt = y[i, t] - y[j, t]
                attract[i, t] += pw * dt
                repel[i, t] += ww * dt
        zrow[i] = z


def _tsne_gradient_2d(y0, y1, p, exaggeration, attract, repel, zrow):
    # The 2-D case with the coordinates as two contiguous columns and no branch in the inner
    # loop, so LLVM vectorises it: the j == i term needs no test, since there d = 0 adds
    # nothing to either sum (p_ii = 0) and exactly w = 1 to z, which is taken off after.
    n = y0.shape[0]
    for i in prange(n):
        a0 = 0.0
        a1 = 0.0
        r0 = 0.0
        r1 = 0.0
        z = 0.0
        yi0 = y0[i]
        yi1 = y1[i]
        pi = p[i]
        for j in range(n):
            d0 = yi0 - y0[j]
            d1 = yi1 - y1[j]
            w = 1.0 / (1.0 + d0 * d0 + d1 * d1)
            z += w
            pw = pi[j] * w
            ww = w * w
            a0 += pw * d0
            a1 += pw * d1
            r0 += ww * d0
            r1 += ww * d1
        attract[i, 0] = exaggeration * a0
        attract[i, 1] = exaggeration * a1
        repel[i, 0] = r0
        repel[i, 1] = r1
        zrow[i] = z - 1.0


# Two compiled versions of the same loop: with few points a parallel region costs more than it
# saves (and on a busy machine its barrier can wait a whole scheduler slice for the other thread).
_tsne_gradient_kernel_2d = jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)(_tsne_gradient_2d)
_tsne_gradient_kernel_2d_serial = jit(nogil=True, cache=True, fastmath=FASTMATH)(_tsne_gradient_2d)
_PARALLEL_MIN_POINTS = 600


def tsne_gradient(y: np.ndarray, p: np.ndarray, exaggeration: float = 1.0) -> tuple[np.ndarray, float]:
    """dKL/dy (N, c) and Z, in one pass over the pairs without N x N temporaries.

    y (N, c) float64, p (N, N) float64 symmetric joint affinities (sum 1, zero diagonal).
    """
    if y.ndim != 2 or p.shape != (y.shape[0], y.shape[0]):
        raise ValueError(f"expected y (N, c) and p (N, N); got y {y.shape} and p {p.shape}")
    if not jit_enabled():
        return tsne_gradient_reference(y, p, exaggeration)
    y = np.ascontiguousarray(y, dtype=np.float64)
    p = np.ascontiguousarray(p, dtype=np.float64)
    attract = np.empty_like(y)
    repel = np.empty_like(y)
    zrow = np.empty(y.shape[0])
    if y.shape[1] == 2:
        kernel = _tsne_gradient_kernel_2d if y.shape[0] >= _PARALLEL_MIN_POINTS else _tsne_gradient_kernel_2d_serial
        kernel(np.ascontiguousarray(y[:, 0]), np.ascontiguousarray(y[:, 1]), p,
                                 float(exaggeration), attract, repel, zrow)
    else:
        _tsne_gradient_kernel(y, p, float(exaggeration), attract, repel, zrow)
    z = zrow.sum()
    return 4.0 * (attract - repel / z), z


def kl_divergence(y: np.ndarray, p: np.ndarray) -> float:
    """KL(P || Q) = sum_{i != j} p_ij log(p_ij / q_ij), the t-SNE objective (NumPy, (N, N) temporaries)."""
    d2 = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    w = 1.0 / (1.0 + d2)
    np.fill_diagonal(w, 0.0)
    q = w / w.sum()
    mask = p > 0
    return float((p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-300))).sum())
