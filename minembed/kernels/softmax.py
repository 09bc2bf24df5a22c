"""Row softmax and its backward, fused: one pass over memory instead of five NumPy passes.

For each row ``s`` (the attention scores of one query)::

    p_j  = exp(s_j - max s) / sum_k exp(s_k - max s)
    ds_j = p_j * (dp_j - sum_k dp_k p_k)                 (the softmax Jacobian applied to dp)

The NumPy references are the definitions and the test oracles; the Numba kernels do the
same arithmetic row by row on one thread: the rows are short (T = 17 tokens), and a thread
pool costs more to wake than the work takes, especially on a busy machine.
"""
from __future__ import annotations

import math

import numpy as np

from .jit import jit, jit_enabled


def softmax_rows_reference(s: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable (max subtracted first); same shape and dtype."""
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_rows_backward_reference(p: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """``ds = p * (dp - sum(dp * p, last axis))``: the gradient at the scores given ``p`` and ``dL/dp``."""
    return p * (dp - (dp * p).sum(axis=-1, keepdims=True))


@jit(nogil=True, cache=True, fastmath={"reassoc", "contract", "arcp"})
def _softmax_rows_kernel(s, out):
    n, t = s.shape
    for i in range(n):
        m = s[i, 0]
        for j in range(1, t):
            if s[i, j] > m:
                m = s[i, j]
        total = 0.0
        for j in range(t):
            e = math.exp(s[i, j] - m)
            out[i, j] = e
            total += e
        inv = 1.0 / total
        for j in range(t):
            out[i, j] *= inv


@jit(nogil=True, cache=True, fastmath={"reassoc", "contract", "arcp"})
def _softmax_rows_backward_kernel(p, dp, out):
    n, t = p.shape
    for i in range(n):
        dot = 0.0
        for j in range(t):
            dot += dp[i, j] * p[i, j]
        for j in range(t):
            out[i, j] = p[i, j] * (dp[i, j] - dot)


def _as_rows(a: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")
    if a.ndim < 1 or a.shape[-1] == 0:
        raise ValueError(f"{name} needs a non-empty last axis, got shape {a.shape}")
    return np.ascontiguousarray(a).reshape(-1, a.shape[-1])


def softmax_rows(s: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of a float32/float64 array of any shape (..., T)."""
    rows = _as_rows(s, "scores")
    if not jit_enabled():
        return softmax_rows_reference(s)
    out = np.empty_like(rows)
    _softmax_rows_kernel(rows, out)
    return out.reshape(s.shape)


def softmax_rows_backward(p: np.ndarray, dp: np.ndarray) -> np.ndarray:
    """Gradient with respect to the scores, given the softmax output ``p`` and ``dL/dp`` (same shape)."""
    if np.shape(p) != np.shape(dp):
        raise ValueError(f"p and dp must have the same shape, got {np.shape(p)} and {np.shape(dp)}")
    rows_p = _as_rows(p, "p")
    rows_dp = _as_rows(np.asarray(dp, dtype=p.dtype), "dp")
    if not jit_enabled():
        return softmax_rows_backward_reference(p, np.asarray(dp, dtype=p.dtype))
    out = np.empty_like(rows_p)
    _softmax_rows_backward_kernel(rows_p, rows_dp, out)
    return out.reshape(p.shape)
