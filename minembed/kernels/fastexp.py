"""``exp`` of float32 numbers in a form the compiler can vectorise, for the GELU kernel's loop.

Inside a Numba loop ``math.exp(x)`` becomes a call into the C library, one element at a time, and the loop
around it cannot use the CPU's vector registers. Written out with only multiplications, additions, a
rounding and an integer shift, the same loop runs 8 or 16 elements per instruction::

    e^x = 2^k * e^r       k = round(x / ln 2),   r = x - k ln 2   (so |r| <= ln(2) / 2 = 0.347)

* ``e^r`` by its Taylor series to r^6 / 6!: the first term left out is below 0.347^7 / 7! = 1.2e-7 of
  the result, about one float32 rounding step (6e-8).
* ``r = x - k ln 2`` loses the digits of ``x`` that ``k ln 2`` cancels, so ``ln 2`` is split Cody-Waite
  style into a part with few significant bits (``k * LN2_HI`` is exact for ``|k| < 512``) plus a small rest.
* ``2^k`` is made, not computed: a float32 is ``2^(e - 127) * 1.m``, so the integer ``(k + 127) << 23`` read
  as a float32 is exactly ``2^k``. The loop writes those integers into a scratch array, and a second loop
  reads the same memory as float32 (``bits.view(np.float32)``) and multiplies.

Edges: below x = -87.33 the result would be a subnormal float (< 1.2e-38); it is 0 here. Above x = 88.72
it overflows to inf, as it should; NaN stays NaN. Relative error against float64 ``exp``: below 3e-7
(tested), a few float32 rounding steps. :func:`exp_reference` is NumPy's exp with the same edges.

NumPy's own ``np.exp`` on a whole array is already vectorised; this is for loops that need an exp per
element among other work, such as the GELU and its derivative in one pass.
"""
from __future__ import annotations

import numpy as np

from .jit import jit, jit_enabled

_INV_LN2 = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)                  # = 355/512: k * _LN2_HI is exact
_LN2_LO = np.float32(-2.12194440e-4)               # ln 2 - _LN2_HI
CHUNK = 256                                         # elements per pass: the scratch stays in the L1 cache


def exp_reference(x: np.ndarray) -> np.ndarray:
    """``e^x`` element-wise, float32: NumPy's exp, with the kernel's 0 below -87.33 (no subnormals)."""
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore", under="ignore"):
        return np.where(x < np.float32(-87.33), np.float32(0.0), np.exp(x))


@jit(nogil=True, cache=True, fastmath={"contract"})
def exp_chunk(x, out, bits):
    """``out[:n] = e^x[:n]`` for float32 ``x``, ``out`` (n = len(x) <= len(bits)), int32 scratch ``bits``.
    ``out`` may be ``x`` itself. A helper for other kernels' loops: no checks."""
    n = x.shape[0]
    two_to_k = bits.view(np.float32)
    one, half = np.float32(1.0), np.float32(0.5)
    c2, c3, c4 = np.float32(1 / 2), np.float32(1 / 6), np.float32(1 / 24)
    c5, c6 = np.float32(1 / 120), np.float32(1 / 720)
    for i in range(n):
        v = x[i]
        k = np.floor(v * _INV_LN2 + half)
        k = min(max(k, np.float32(-126.0)), np.float32(128.0))       # 2^-126: the smallest normal float
        r = (v - k * _LN2_HI) - k * _LN2_LO
        p = one + r * (one + r * (c2 + r * (c3 + r * (c4 + r * (c5 + r * c6)))))
        top = min(k, np.float32(127.0))        # 2^128 is not a float32: there, 2^127 * (2 p) instead
        p *= k - top + one
        # below -87.33: 0; NaN in, NaN out (v != v only for NaN)
        out[i] = v if v != v else (np.float32(0.0) if v < np.float32(-87.33) else p)
        bits[i] = (np.int32(top) + np.int32(127)) << np.int32(23)
    for i in range(n):
        out[i] *= two_to_k[i]


@jit(nogil=True, cache=True)
def _exp_kernel(x, out):
    bits = np.empty(CHUNK, np.int32)
    for lo in range(0, x.shape[0], CHUNK):
        hi = min(lo + CHUNK, x.shape[0])
        exp_chunk(x[lo:hi], out[lo:hi], bits)


def exp(x: np.ndarray) -> np.ndarray:
    """``e^x`` of a float32 array of any shape (a float32 array of that shape), through :func:`exp_chunk`."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float32:
        raise TypeError(f"exp needs a float32 array, got {getattr(x, 'dtype', type(x).__name__)}")
    if not jit_enabled() or x.size == 0:
        return exp_reference(x)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    _exp_kernel(flat, out)
    return out.reshape(x.shape)
