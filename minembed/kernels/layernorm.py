"""Layer normalisation over the rows of a matrix, forward and backward, each in one pass.

For a row ``x`` of D numbers::

    mean = sum(x) / D     var = sum((x - mean)^2) / D     inv = 1 / sqrt(var + eps)
    xhat = (x - mean) * inv                    y = xhat * w + b

and, given ``dy`` (``g = dy * w``)::

    dx = inv * (g - mean(g) - xhat * mean(g * xhat))     dw = sum_rows dy * xhat     db = sum_rows dy

NumPy needs about eight passes over memory for the forward and ten for the backward (one
per operation, each with a temporary array); the kernels below make one or two passes per
row and accumulate in float64. The ``*_reference`` functions are the NumPy definitions.
"""
from __future__ import annotations

import math

import numpy as np

from .jit import jit, jit_enabled


def layer_norm_rows_reference(x, weight, bias, eps):
    """x (N, D), weight/bias (D,) -> (y, xhat (N, D), inv_std (N,))."""
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    inv_std = 1.0 / np.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
    xhat = centered * inv_std
    return xhat * weight + bias, xhat, inv_std[:, 0]


def layer_norm_rows_backward_reference(dy, xhat, inv_std, weight):
    """dy, xhat (N, D), inv_std (N,), weight (D,) -> (dx (N, D), dweight (D,), dbias (D,))."""
    g = dy * weight
    dx = inv_std[:, None] * (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True))
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


@jit(nogil=True, cache=True, fastmath={"reassoc", "contract", "arcp"})
def _layer_norm_rows_kernel(x, weight, bias, eps, y, xhat, inv_std):
    n, d = x.shape
    for i in range(n):
        s = 0.0
        for j in range(d):
            s += x[i, j]
        mean = s / d
        ss = 0.0
        for j in range(d):
            c = x[i, j] - mean
            ss += c * c
        inv = 1.0 / math.sqrt(ss / d + eps)
        inv_std[i] = inv
        for j in range(d):
            h = (x[i, j] - mean) * inv
            xhat[i, j] = h
            y[i, j] = h * weight[j] + bias[j]


@jit(nogil=True, cache=True, fastmath={"reassoc", "contract", "arcp"})
def _layer_norm_rows_backward_kernel(dy, xhat, inv_std, weight, dx, dweight, dbias):
    n, d = dy.shape
    dw = np.zeros(d)          # float64 accumulators
    db = np.zeros(d)
    for i in range(n):
        sg = 0.0
        sgx = 0.0
        for j in range(d):
            g = dy[i, j] * weight[j]
            sg += g
            sgx += g * xhat[i, j]
            dw[j] += dy[i, j] * xhat[i, j]
            db[j] += dy[i, j]
        mg = sg / d
        mgx = sgx / d
        inv = inv_std[i]
        for j in range(d):
            dx[i, j] = inv * (dy[i, j] * weight[j] - mg - xhat[i, j] * mgx)
    for j in range(d):
        dweight[j] = dw[j]
        dbias[j] = db[j]


def _check(name, a, dtype, shape):
    if not isinstance(a, np.ndarray) or a.dtype != dtype or a.shape != shape:
        got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"{name} must be a {np.dtype(dtype)} array of shape {shape}, got {got}")
    return np.ascontiguousarray(a)


def layer_norm_rows(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float):
    """Normalise each row of the float32/float64 matrix ``x`` (N, D); returns (y, xhat, inv_std (N,))."""
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype not in (np.float32, np.float64):
        raise ValueError(f"x must be a float32/float64 matrix, got {getattr(x, 'dtype', type(x))} "
                         f"{getattr(x, 'shape', '')}")
    n, d = x.shape
    x = np.ascontiguousarray(x)
    weight = _check("weight", weight, x.dtype, (d,))
    bias = _check("bias", bias, x.dtype, (d,))
    if not jit_enabled():
        return layer_norm_rows_reference(x, weight, bias, x.dtype.type(eps))
    y, xhat, inv_std = np.empty_like(x), np.empty_like(x), np.empty(n, x.dtype)
    _layer_norm_rows_kernel(x, weight, bias, float(eps), y, xhat, inv_std)
    return y, xhat, inv_std


def layer_norm_rows_backward(dy: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, weight: np.ndarray):
    """Gradients of :func:`layer_norm_rows`: returns (dx (N, D), dweight (D,), dbias (D,))."""
    if not isinstance(xhat, np.ndarray) or xhat.ndim != 2 or xhat.dtype not in (np.float32, np.float64):
        raise ValueError("xhat must be the float matrix returned by layer_norm_rows")
    n, d = xhat.shape
    dtype = xhat.dtype
    dy = _check("dy", np.asarray(dy, dtype=dtype), dtype, (n, d))
    xhat = np.ascontiguousarray(xhat)
    inv_std = _check("inv_std", inv_std, dtype, (n,))
    weight = _check("weight", weight, dtype, (d,))
    if not jit_enabled():
        return layer_norm_rows_backward_reference(dy, xhat, inv_std, weight)
    dx, dweight, dbias = np.empty_like(dy), np.empty(d, dtype), np.empty(d, dtype)
    _layer_norm_rows_backward_kernel(dy, xhat, inv_std, weight, dx, dweight, dbias)
    return dx, dweight, dbias
