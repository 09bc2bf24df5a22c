"""Element-wise special functions NumPy lacks (``erf`` for the exact GELU)."""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .jit import jit, jit_enabled


def erf_reference(x: np.ndarray) -> np.ndarray:
    """The error function, one ``math.erf`` call per element (slow, obviously right)."""
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


@jit(nogil=True, cache=True, parallel=True)
def _erf_kernel(flat_in, flat_out):
    for i in prange(flat_in.shape[0]):
        flat_out[i] = math.erf(flat_in[i])


def erf(x: np.ndarray) -> np.ndarray:
    """``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt``, element-wise, same shape and float dtype."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"erf needs a float array, got {x.dtype}")
    if not jit_enabled() or x.size == 0:
        return erf_reference(x)
    flat = np.ascontiguousarray(x).ravel()
    out = np.empty_like(flat)
    _erf_kernel(flat, out)
    return out.reshape(x.shape)
