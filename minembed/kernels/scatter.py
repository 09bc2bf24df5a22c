"""Row gather and row scatter-add: the forward and backward of an embedding lookup.

Forward of ``Y = W[idx]`` copies rows (a *gather*). Its backward adds each row of
``dY`` into the row of ``dW`` it came from (a *scatter-add*)::

    dW[idx[i], :] += dY[i, :]      for every i, duplicates accumulating

``np.add.at`` is the readable NumPy definition. It is slow because it handles one
element at a time through a generic ufunc loop; the Numba kernel below does the
same arithmetic with plain loops that the compiler turns into SIMD row additions.

Threads: the work is memory-bound (each index moves a whole row), so a second thread
helps only by adding memory bandwidth. The threaded scatter splits the *table rows*
between threads: two threads never write the same memory even when ``idx`` repeats a
row, and every row gets its additions in index order, so the result is bit-identical
to the serial loop. It is opt-in (``parallel=True``): the serial loop already runs near
the memory bandwidth (65,536 x 128 float32 rows in ~2.6 ms, ~13 GB/s of dY), and on
cores busy with other work the threaded one measured ~1.8x slower in wall time and 2x
in CPU time (a barrier waits for a descheduled thread; OpenMP threads spin meanwhile).
Sorting the ids first would help the table's cache a little (~2.2 ms on sorted ids) but
the sort costs more than it saves. The gather threads large inputs by default.
"""
from __future__ import annotations

import numpy as np

from .jit import get_num_threads, jit, jit_enabled, prange
from .threads import inside_split
from .validate import as_index_array, check_float_matrix

# Below this many elements moved, starting threads costs more than it saves.
_PARALLEL_MIN_ELEMENTS = 1 << 16


def _use_threads(parallel: bool | None, n_elements: int) -> bool:
    if parallel is None:
        # not inside a range of kernels.threads.split_rows: that thread's sibling may be launching too
        return n_elements >= _PARALLEL_MIN_ELEMENTS and get_num_threads() > 1 and not inside_split()
    return bool(parallel)


# ----------------------------------------------------------------------------- gather
def gather_rows_reference(table: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``table[idx]``: (V, D), (N,) int64 -> (N, D)."""
    return np.take(table, idx, axis=0)


@jit(nogil=True, cache=True)
def _gather_rows_kernel(table, idx, out):
    for i in range(idx.shape[0]):
        r = idx[i]
        for j in range(table.shape[1]):
            out[i, j] = table[r, j]


@jit(nogil=True, cache=True, parallel=True)
def _gather_rows_parallel(table, idx, out):
    for i in prange(idx.shape[0]):
        r = idx[i]
        for j in range(table.shape[1]):
            out[i, j] = table[r, j]


def gather_rows(table: np.ndarray, idx, parallel: bool | None = None) -> np.ndarray:
    """Copy rows ``table[idx[i]]`` into a new (N, D) array, after checking every index.

    Raises ``IndexError`` naming the first index outside ``[0, V)``. ``parallel=True``
    splits the output rows between Numba's threads; None decides by size.
    """
    check_float_matrix(table, "table")
    idx = as_index_array(idx, table.shape[0])
    if idx.ndim != 1:
        raise ValueError(f"idx must be 1-D, got shape {idx.shape}")
    if not jit_enabled():
        return gather_rows_reference(table, idx)
    out = np.empty((idx.shape[0], table.shape[1]), dtype=table.dtype)
    (_gather_rows_parallel if _use_threads(parallel, out.size) else _gather_rows_kernel)(table, idx, out)
    return out


# ------------------------------------------------------------------------ scatter-add
def scatter_add_rows_reference(table: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> None:
    """``table[idx[i]] += rows[i]`` for every i, repeated indices accumulating (in place)."""
    np.add.at(table, idx, rows)


@jit(nogil=True, cache=True)
def _scatter_add_rows_serial(table, idx, rows):
    for i in range(idx.shape[0]):
        r = idx[i]
        for j in range(rows.shape[1]):
            table[r, j] += rows[i, j]


@jit(nogil=True, cache=True)
def _scatter_add_rows_owned(table, idx, rows, t, threads, block):
    """The serial loop restricted to the rows thread ``t`` owns: those with ``(r // block) % threads == t``."""
    for i in range(idx.shape[0]):
        r = idx[i]
        if (r // block) % threads == t:
            for j in range(rows.shape[1]):
                table[r, j] += rows[i, j]


@jit(nogil=True, cache=True, parallel=True)
def _scatter_add_rows_parallel(table, idx, rows, threads):
    # Thread t owns every threads-th block of table rows and walks all of idx, adding only
    # the rows it owns. No two threads ever write the same row, so repeated indices need no
    # locks, and every row receives its additions in index order (the result is
    # bit-identical to the serial loop). Interleaved blocks, not one contiguous range per
    # thread: word ids are Zipf-distributed with the frequent ids first, so with ranges
    # thread 0 would get ~94% of a 100k vocabulary's additions. A block spans >= 64 bytes
    # (a cache line) so that two threads seldom write the same line. The loop body is a
    # separate function so that it is compiled like the serial kernel (vectorised).
    block = max(1, 64 // max(1, rows.shape[1] * rows.itemsize))
    for t in prange(threads):
        _scatter_add_rows_owned(table, idx, rows, t, threads, block)


@jit(nogil=True, cache=True)
def _scatter_add_rows_over_stale(table, idx, rows, stale):
    # Same sums as zeroing the stale rows first and then adding (0 + x == x), in one pass: a
    # stale row's first addition overwrites it instead. A training step's batch shares most
    # rows with the step before (frequent words), so this skips most of the zeroing's writes.
    for i in range(idx.shape[0]):
        r = idx[i]
        if stale[r]:
            stale[r] = False
            for j in range(rows.shape[1]):
                table[r, j] = rows[i, j]
        else:
            for j in range(rows.shape[1]):
                table[r, j] += rows[i, j]
    _zero_marked_rows_kernel(table, stale)  # stale rows this batch did not touch


def scatter_add_rows(table: np.ndarray, idx, rows: np.ndarray, parallel: bool = False, stale=None) -> None:
    """In place: ``table[idx[i], :] += rows[i, :]`` for i in range(N); duplicates accumulate.

    Shapes: table (V, D) float, idx (N,) int, rows (N, D) with table's dtype.
    Raises ``IndexError`` for an index outside ``[0, V)`` before any memory is written.
    ``parallel=True`` splits the table rows between Numba's threads (same bits as serial;
    see the module docstring for why the serial loop is the default).
    ``stale`` (V,) bool, optional: rows of ``table`` that hold old values to be read as zeros;
    the result is that of :func:`zero_marked_rows` first (``stale`` is cleared too), but the
    serial kernel overwrites a stale row at its first addition instead of zeroing it before.
    """
    check_float_matrix(table, "table")
    idx = as_index_array(idx, table.shape[0])
    rows = np.ascontiguousarray(rows, dtype=table.dtype)
    if idx.ndim != 1 or rows.ndim != 2 or rows.shape != (idx.shape[0], table.shape[1]):
        raise ValueError(
            f"expected idx (N,) and rows (N, {table.shape[1]}); got idx {idx.shape} and rows {rows.shape}"
        )
    if stale is not None:
        _check_marks(table, stale)
        if jit_enabled() and not parallel:
            _scatter_add_rows_over_stale(table, idx, rows, stale)
            return
        zero_marked_rows(table, stale)
    if not jit_enabled():
        scatter_add_rows_reference(table, idx, rows)
    elif parallel and get_num_threads() > 1:
        _scatter_add_rows_parallel(table, idx, rows, get_num_threads())
    else:
        _scatter_add_rows_serial(table, idx, rows)


# ------------------------------------------------------------------------ zero marked rows
def zero_marked_rows_reference(table: np.ndarray, marked: np.ndarray) -> None:
    """In place: ``table[r, :] = 0`` for every row r with ``marked[r]``, then ``marked[:] = False``.

    table (V, D) float, marked (V,) bool. This is how a kept gradient buffer is cleared after a
    training step: only the rows the scatter-adds wrote since the last clearing, not all V rows.
    """
    table[marked] = 0
    marked[:] = False


@jit(nogil=True, cache=True)
def _zero_marked_rows_kernel(table, marked):
    # One pass over the (V,) flags, then a contiguous row write per marked row; no index list,
    # so a row that was written many times is cleared once.
    for r in range(marked.shape[0]):
        if marked[r]:
            for j in range(table.shape[1]):
                table[r, j] = 0
            marked[r] = False


def _check_marks(table: np.ndarray, marked) -> None:
    if not isinstance(marked, np.ndarray) or marked.dtype != np.bool_ or marked.shape != (table.shape[0],):
        got = f"{marked.dtype} {marked.shape}" if isinstance(marked, np.ndarray) else type(marked).__name__
        raise TypeError(f"row marks must be a bool array of shape ({table.shape[0]},), got {got}")
    if not marked.flags.c_contiguous or not marked.flags.writeable:
        raise ValueError("row marks must be C-contiguous and writeable")


def zero_marked_rows(table: np.ndarray, marked: np.ndarray) -> None:
    """Checked front end of :func:`zero_marked_rows_reference` (same contract)."""
    check_float_matrix(table, "table")
    _check_marks(table, marked)
    if not jit_enabled():
        zero_marked_rows_reference(table, marked)
    else:
        _zero_marked_rows_kernel(table, marked)


# ------------------------------------------------------------------------ segment max
def segment_max_rows_reference(rows: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise max over each segment ``rows[offsets[b]:offsets[b+1]]``.

    rows (N, D), offsets (B+1,) non-decreasing with offsets[0] = 0 and offsets[-1] = N.
    Returns (out (B, D), argmax (B, D) int64): argmax holds the row of ``rows`` that won,
    or -1 for an empty segment (whose output is 0, as in PyTorch's EmbeddingBag).
    """
    n_seg = offsets.shape[0] - 1
    out = np.zeros((n_seg, rows.shape[1]), dtype=rows.dtype)
    arg = np.full((n_seg, rows.shape[1]), -1, dtype=np.int64)
    for b in range(n_seg):
        lo, hi = offsets[b], offsets[b + 1]
        if hi > lo:
            winner = rows[lo:hi].argmax(axis=0)  # first maximum wins ties
            arg[b] = lo + winner
            out[b] = rows[lo + winner, np.arange(rows.shape[1])]
    return out, arg


@jit(nogil=True, cache=True, parallel=True)
def _segment_max_rows_kernel(rows, offsets, out, arg):
    for b in prange(offsets.shape[0] - 1):
        lo = offsets[b]
        hi = offsets[b + 1]
        if hi == lo:
            continue
        for j in range(rows.shape[1]):
            best = rows[lo, j]
            best_i = lo
            for i in range(lo + 1, hi):
                if rows[i, j] > best:  # strict: the first maximum wins, like argmax
                    best = rows[i, j]
                    best_i = i
            out[b, j] = best
            arg[b, j] = best_i


def segment_max_rows(rows: np.ndarray, offsets) -> tuple[np.ndarray, np.ndarray]:
    """Checked front end of :func:`segment_max_rows_reference` (same contract)."""
    check_float_matrix(rows, "rows")
    # Bounds are indices too: a float offset is refused (not truncated), one past N is allowed.
    offsets = as_index_array(offsets, rows.shape[0] + 1, what="offset")
    if offsets.ndim != 1 or offsets.shape[0] < 1 or offsets[0] != 0 or offsets[-1] != rows.shape[0]:
        raise ValueError(f"offsets must run from 0 to {rows.shape[0]}, got {offsets}")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing")
    if not jit_enabled():
        return segment_max_rows_reference(rows, offsets)
    out = np.zeros((offsets.shape[0] - 1, rows.shape[1]), dtype=rows.dtype)
    arg = np.full((offsets.shape[0] - 1, rows.shape[1]), -1, dtype=np.int64)
    _segment_max_rows_kernel(rows, offsets, out, arg)
    return out, arg
