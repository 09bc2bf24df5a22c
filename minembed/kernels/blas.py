"""How many threads NumPy's BLAS (OpenBLAS) uses, changeable at run time.

Small matrix products — a tiny transformer multiplies (2176, 64) by (64, 192) — gain little
from a second BLAS thread, and on a busy machine they can lose a lot: OpenBLAS's threads
busy-wait for each other, and when another process holds a core a single product waits for
a whole scheduler time slice (we measured 10x slower steps with 2 threads than with 1 on a
loaded 2-core machine). ``OPENBLAS_NUM_THREADS=1`` fixes this but must be set before NumPy
is imported; :func:`blas_threads` does it at run time through OpenBLAS's own C function,
found in the library NumPy ships with. When that library cannot be found (another BLAS,
an unusual install) every function here is a no-op and :func:`get_blas_threads` returns None.
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os

import numpy as np

_SYMBOLS = [("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
            ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
            ("openblas_set_num_threads", "openblas_get_num_threads")]
_FUNCS: tuple | None = None
_SEARCHED = False


def _find():
    global _FUNCS, _SEARCHED
    if _SEARCHED:
        return _FUNCS
    _SEARCHED = True
    root = os.path.dirname(os.path.dirname(np.__file__))
    candidates = sorted(glob.glob(os.path.join(root, "numpy.libs", "*openblas*")) +
                        glob.glob(os.path.join(os.path.dirname(np.__file__), ".dylibs", "*openblas*")))
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)   # already loaded by NumPy: dlopen returns that same copy
        except OSError:
            continue
        for set_name, get_name in _SYMBOLS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                _FUNCS = (setter, getter)
                return _FUNCS
    return None


def get_blas_threads() -> int | None:
    """Threads OpenBLAS uses now, or None if NumPy's OpenBLAS was not found."""
    funcs = _find()
    return None if funcs is None else int(funcs[1]())


def set_blas_threads(n: int) -> None:
    """Make OpenBLAS use ``n >= 1`` threads from now on (no-op if it was not found)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"number of BLAS threads must be a positive integer, got {n!r}")
    funcs = _find()
    if funcs is not None:
        funcs[0](n)


@contextlib.contextmanager
def blas_threads(n: int | None):
    """``with blas_threads(1): ...`` — use ``n`` BLAS threads inside the block, then restore.
    ``n=None`` leaves the setting alone."""
    before = get_blas_threads() if n is not None else None
    if n is not None:
        set_blas_threads(n)
    try:
        yield
    finally:
        if before is not None:
            set_blas_threads(before)
