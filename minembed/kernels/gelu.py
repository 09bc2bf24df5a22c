"""The exact GELU and its derivative in one pass: ``y = x Phi(x)`` and ``y' = Phi(x) + x phi(x)``.

``Phi(x) = (1 + erf(x / sqrt 2)) / 2`` is the normal CDF and ``phi(x) = exp(-x^2/2) / sqrt(2 pi)``
its density. The forward computes both ``y`` and ``y'`` per element, so the backward is a
single multiplication ``dx = dy * y'``. NumPy needs about ten passes (and ``erf`` is not
even a NumPy function); the reference below is the formula, with ``math.erf`` per element.

float64 arrays use ``math.erf``. float32 arrays use the Abramowitz & Stegun formula 7.1.26,
``erf(z) = 1 - (a1 t + ... + a5 t^5) exp(-z^2)`` with ``t = 1 / (1 + p z)`` (z >= 0), whose
absolute error is below 1.5e-7 — about float32's own rounding of Phi near 1 — and whose
``exp(-z^2)`` with ``z = x / sqrt 2`` is the same ``exp(-x^2 / 2)`` the density needs: one
``exp`` per element instead of an ``erf`` and an ``exp``, and that one through
:mod:`minembed.kernels.fastexp`, so that the whole loop runs on vector registers (~1.6x faster).

NaN and inf give what the formula gives in float64 (NaN stays NaN, GELU(inf) = inf): the kernel's
fast-math flags (:data:`minembed.kernels.jit.FASTMATH`) do not let LLVM assume them away.
"""
from __future__ import annotations

import math

import numpy as np

from .fastexp import CHUNK, exp_chunk
from .jit import FASTMATH, jit, jit_enabled

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu_with_derivative_reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, dy/dx) of the exact GELU, element-wise, same shape and dtype as ``x``."""
    erf = np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64) * _INV_SQRT2)
    cdf = 0.5 * (1.0 + erf)
    pdf = np.exp(-0.5 * x.astype(np.float64) ** 2) * _INV_SQRT_2PI
    return (x * cdf).astype(x.dtype), (cdf + x * pdf).astype(x.dtype)


_P, _A1, _A2, _A3, _A4, _A5 = 0.3275911, 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429


@jit(nogil=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def _gelu_float32_kernel(x, y, dydx):
    # float32 constants throughout and no branch, so that LLVM keeps the loop in single precision and
    # vectorises it: the exps go a chunk at a time through fastexp.exp_chunk (math.exp is one C call per
    # element), erf's sign is a select instead of math.copysign, and error_model="numpy" drops Numba's
    # ZeroDivisionError test before the division.
    half, one, zero = np.float32(0.5), np.float32(1.0), np.float32(0.0)
    p = np.float32(_P * _INV_SQRT2)
    a1, a2, a3, a4, a5 = np.float32(_A1), np.float32(_A2), np.float32(_A3), np.float32(_A4), np.float32(_A5)
    inv_sqrt_2pi = np.float32(_INV_SQRT_2PI)
    e = np.empty(CHUNK, np.float32)
    bits = np.empty(CHUNK, np.int32)
    for lo in range(0, x.shape[0], CHUNK):
        m = min(CHUNK, x.shape[0] - lo)
        for i in range(m):
            e[i] = -half * x[lo + i] * x[lo + i]
        exp_chunk(e[:m], e[:m], bits)                 # exp(-z^2) with z = |v| / sqrt 2
        for i in range(m):
            v = x[lo + i]
            t = one / (one + p * abs(v))
            half_erf = half - half * t * (a1 + t * (a2 + t * (a3 + t * (a4 + t * a5)))) * e[i]   # erf(|z|) / 2
            cdf = half + (half_erf if v >= zero else -half_erf)                               # erf is odd
            y[lo + i] = v * cdf
            dydx[lo + i] = cdf + v * e[i] * inv_sqrt_2pi


@jit(nogil=True, cache=True)
def _gelu_kernel(x, y, dydx):
    for i in range(x.shape[0]):
        v = x[i]
        cdf = 0.5 * (1.0 + math.erf(v * _INV_SQRT2))
        y[i] = v * cdf
        dydx[i] = cdf + v * math.exp(-0.5 * v * v) * _INV_SQRT_2PI


def gelu_with_derivative(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact GELU of a float32/float64 array of any shape: returns (y, dy/dx), both shaped like ``x``."""
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
        raise TypeError(f"gelu needs a float32/float64 array, got {getattr(x, 'dtype', type(x).__name__)}")
    if not jit_enabled() or x.size == 0:
        return gelu_with_derivative_reference(x)
    flat = np.ascontiguousarray(x).reshape(-1)
    y, dydx = np.empty_like(flat), np.empty_like(flat)
    (_gelu_float32_kernel if x.dtype == np.float32 else _gelu_kernel)(flat, y, dydx)
    return y.reshape(x.shape), dydx.reshape(x.shape)
