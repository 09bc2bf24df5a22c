"""The one place that decides whether compiled kernels run.

``MINEMBED_JIT=0`` in the environment (read once, at import) makes every public
kernel function run its plain NumPy/Python reference instead, and makes
:func:`jit` return the undecorated Python function, so the whole library can be
stepped through in a debugger.

Kernel pattern used everywhere in :mod:`minembed.kernels`::

    def op_reference(...):          # the readable definition and the test oracle
        ...

    @jit(nogil=True, cache=True)
    def _op_kernel(...):            # same contract, explicit loops, no Python objects
        ...

    def op(...):                    # public: validate in Python, then dispatch
        check(...)
        (_op_kernel if jit_enabled() else op_reference)(...)

Numba does no bounds checking, so the public function must validate every index
before the kernel sees it.
"""
from __future__ import annotations

import os

import numba

_JIT = os.environ.get("MINEMBED_JIT", "1").strip().lower() not in ("0", "false", "no", "off")


# Fast-math flags for kernels that sum in a loop: ``reassoc`` lets LLVM reorder (and so
# vectorise) sums, ``contract`` fuse multiply-adds, ``afn``/``arcp`` use faster exp and
# reciprocals, ``nsz`` ignore the sign of zero. Not ``nnan``/``ninf`` (which ``fastmath=True``
# includes): they let LLVM assume no NaN or inf ever occurs, so a NaN input becomes undefined
# behaviour instead of a NaN output. One example: Numba guards ``1 / d`` with ``if d == 0: raise
# ZeroDivisionError``; under ``nnan`` LLVM may fold that test to true for d = NaN, and the GELU
# of a float32 NaN raised ZeroDivisionError. Numba's cache does not see this constant: after
# editing it, touch the kernel files (or clear ``__pycache__``) so they compile again.
FASTMATH = {"reassoc", "contract", "afn", "arcp", "nsz"}


def jit_enabled() -> bool:
    """True unless the environment variable ``MINEMBED_JIT`` is ``0`` (or false/no/off)."""
    return _JIT


def jit(*args, **options):
    """``numba.njit`` when JIT is on; the identity decorator when ``MINEMBED_JIT=0``.

    Use as ``@jit`` or ``@jit(parallel=True, cache=True)``.
    """
    if args and callable(args[0]) and not options:
        return jit()(args[0])

    def decorate(func):
        if not _JIT:
            return func
        return numba.njit(**options)(func)

    return decorate


def set_num_threads(n: int) -> None:
    """Set how many threads parallel (``prange``) kernels use; ``1 <= n <= numba.config.NUMBA_NUM_THREADS``."""
    limit = numba.config.NUMBA_NUM_THREADS
    if not isinstance(n, (int,)) or isinstance(n, bool) or not 1 <= n <= limit:
        raise ValueError(f"number of threads must be an integer in [1, {limit}], got {n!r}")
    numba.set_num_threads(n)


def get_num_threads() -> int:
    """How many threads parallel kernels use now."""
    return numba.get_num_threads()
