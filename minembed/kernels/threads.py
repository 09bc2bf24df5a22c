"""Work split over threads by contiguous ranges: the one thread pool, and the one setting of how many threads.

Plain Python threads are enough for NumPy and Numba work: a BLAS product and a ``nogil`` kernel release
the GIL while they compute, so T threads each given a range of rows keep T cores busy. Each thread then
runs its BLAS calls on one thread (:mod:`minembed.kernels.blas`): OpenBLAS's own threads busy-wait
between calls and would fight ours for the cores. Every core does one thing at a time; nothing spins.

How many threads is decided by whoever runs the work, for a block of code::

    with compute_threads(2):      # up to 2 ranges at a time, BLAS on 1 thread meanwhile
        pretrain(...)

and code that can split asks :func:`get_compute_threads` and calls :func:`split_rows`. Outside such a
block everything runs in the calling thread, as if this module did not exist. Work is never split twice:
inside a range's work :func:`get_compute_threads` is 1 and :func:`inside_split` is True (Numba's own
parallel kernels must not be started there either: some of its threading layers abort when two Python
threads launch parallel kernels at once).
"""
from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .blas import blas_threads

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_THREADS = 1                      # set by compute_threads; 1 = no splitting
_LOCAL = threading.local()        # .inside: this thread is running a split's work


def get_compute_threads() -> int:
    """The number of threads :func:`split_rows` uses here: 1 outside :func:`compute_threads` and
    inside another split's work."""
    return 1 if inside_split() else _THREADS


def inside_split() -> bool:
    """True while this thread runs one range of a :func:`split_rows`."""
    return getattr(_LOCAL, "inside", False)


@contextlib.contextmanager
def compute_threads(n: int | None):
    """``with compute_threads(n): ...`` — split row-wise work over ``n`` threads inside the block, with
    BLAS held to one thread (when ``n > 1``), then restore both. ``None`` leaves everything alone."""
    global _THREADS
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"number of compute threads must be a positive integer, got {n!r}")
    before = _THREADS
    _THREADS = int(n)
    try:
        with blas_threads(1 if n > 1 else None):
            yield
    finally:
        _THREADS = before


def pool(threads: int) -> ThreadPoolExecutor:
    """The shared pool, with at least ``threads - 1`` workers (the caller's thread is the other one)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < threads - 1:
            _POOL = ThreadPoolExecutor(max(1, threads - 1), thread_name_prefix="minembed")
        return _POOL


def _run(work, lo, hi, t):
    _LOCAL.inside = True
    try:
        return work(lo, hi, t)
    finally:
        _LOCAL.inside = False


def split_bounds(n: int, parts: int) -> list[int]:
    """``parts + 1`` boundaries cutting ``range(n)`` into ``parts`` contiguous ranges as even as can be
    (the first ``n % parts`` ranges one longer)."""
    size, extra = divmod(n, parts)
    return [t * size + min(t, extra) for t in range(parts + 1)]


def split_rows(n: int, work, *, threads: int | None = None, min_rows: int = 1) -> list:
    """Call ``work(lo, hi, t)`` on contiguous ranges ``[lo, hi)`` covering ``range(n)``, range ``t`` on
    thread ``t`` (range 0 in the calling thread); return the T results in order.

    ``threads``: how many ranges (default: :func:`get_compute_threads`), fewer when a range would hold
    fewer than ``min_rows`` rows, and 1 inside another split's work. An exception in any range is
    raised here after every range has finished.
    """
    want = get_compute_threads() if threads is None else (1 if inside_split() else int(threads))
    t_count = max(1, min(want, n // max(1, min_rows)))
    if t_count == 1:
        return [work(0, n, 0)]
    bounds = split_bounds(n, t_count)
    futures = [pool(t_count).submit(_run, work, bounds[t], bounds[t + 1], t) for t in range(1, t_count)]
    try:
        first = _run(work, bounds[0], bounds[1], 0)
    finally:
        rest = [f.exception() for f in futures]         # wait for all before anything else happens
    for err in rest:
        if err is not None:
            raise err
    return [first] + [f.result() for f in futures]
