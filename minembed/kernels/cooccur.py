"""Word-word co-occurrence counting for GloVe: a plain dictionary reference and the Numba kernels.

The windowing rules (those of the reference C implementation, stanfordnlp/GloVe ``cooccur.c``)
----------------------------------------------------------------------------------------------
The corpus is a list of sentences of word ids (out-of-vocabulary tokens already removed, so they
take no place in a window). For every word at position ``p`` of a sentence and every word at
``q = p - d`` with ``1 <= d <= window`` in the *same* sentence (windows never cross a sentence,
i.e. a line)::

    X[ids[q], ids[p]] += 1 / d          (the left context of ids[p])
    X[ids[p], ids[q]] += 1 / d          (symmetric: ids[q] sees ids[p] on its right)

so ``X`` is symmetric, a word next to itself adds to the diagonal twice, and a pair ``d`` apart
weighs ``1/d`` (``distance_weighting=False``: 1). Counts are summed in float64, as the C code does.

Memory: a dense block for frequent pairs, sorted runs for the rest
-------------------------------------------------------------------
Ids are frequency ranks (0 = the most frequent word), so frequent pairs have small ids. Pair
``(a, b)`` is *dense* when ``(a + 1) * (b + 1) <= max_product``: row ``a`` of a packed float64
table holds columns ``0 .. row_len[a] - 1`` with ``row_len[a] = min(V, max_product // (a + 1))``
(the C code's rule; it is symmetric, so ``(b, a)`` is dense exactly when ``(a, b)`` is). Every
other pair is appended to a buffer as ``(key = a * V + b, value)``. When the buffer is full it is
sorted by key and equal keys are summed: a *run*. Runs are merged two by two (a linear merge,
summing equal keys) into one sorted run, and finally the dense table's non-zero entries (also
in key order) are merged in. How much memory this takes is set by ``max_product`` and the buffer
length; runs that do not fit in memory go to temporary files (see ``minembed.text.cooccurrence``).

In this file: :func:`cooccurrence_reference`, the definition (a dict of pairs, one sentence
after another); :func:`dense_layout`; :func:`count_block` (checked entry point of the kernel
``_count_block`` that adds one block of sentences to the dense table and the buffer, or its
plain-Python twin when ``MINEMBED_JIT=0``); :func:`reduce_run` (sort + sum a buffer);
:func:`merge_runs` (two sorted runs -> one). ``tests/test_kernels_cooccur.py`` holds them equal
to the reference on random corpora.
"""
from __future__ import annotations

import numpy as np

from .jit import jit, jit_enabled


# ------------------------------------------------------------------------------ the definition
def cooccurrence_reference(sentences, window: int, distance_weighting: bool = True) -> dict[tuple[int, int], float]:
    """``{(a, b): X[a, b]}`` for every non-zero count, built one pair at a time (the test oracle).

    ``sentences``: an iterable of sequences of int word ids. See the module docstring for the rules.
    """
    counts: dict[tuple[int, int], float] = {}
    for sentence in sentences:
        ids = [int(w) for w in sentence]
        for p, target in enumerate(ids):
            for q in range(max(0, p - window), p):
                d = p - q
                weight = 1.0 / d if distance_weighting else 1.0
                context = ids[q]
                counts[(context, target)] = counts.get((context, target), 0.0) + weight
                counts[(target, context)] = counts.get((target, context), 0.0) + weight
    return counts


# ------------------------------------------------------------------------------ the dense block
def dense_layout(vocab_size: int, max_product: int) -> tuple[np.ndarray, np.ndarray]:
    """``(row_start (V + 1,) int64, row_len (V,) int64)`` of the packed dense table: pair ``(a, b)``
    is stored at ``row_start[a] + b`` when ``b < row_len[a] = min(V, max_product // (a + 1))``,
    i.e. when ``(a + 1) * (b + 1) <= max_product``. ``row_start[V]`` is the table's length."""
    if vocab_size < 0 or max_product < 0:
        raise ValueError(f"vocab_size and max_product must be >= 0, got {vocab_size} and {max_product}")
    ranks = np.arange(1, vocab_size + 1, dtype=np.int64)
    row_len = np.minimum(vocab_size, max_product // ranks)
    row_start = np.zeros(vocab_size + 1, dtype=np.int64)
    np.cumsum(row_len, out=row_start[1:])
    return row_start, row_len


def max_product_for(vocab_size: int, entries: int) -> int:
    """The largest ``max_product`` whose dense table has at most ``entries`` entries (bisection)."""
    lo, hi = 0, vocab_size * vocab_size
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if dense_layout(vocab_size, mid)[0][-1] <= entries:
            lo = mid
        else:
            hi = mid - 1
    return lo


# ------------------------------------------------------------------------------ one block of sentences
def _count_block_python(ids, offsets, window, weighting, dense, row_start, row_len, keys, vals, vocab_size):
    """The kernel's loop in plain Python (what ``MINEMBED_JIT=0`` runs): same pairs, same order."""
    n = 0
    for s in range(len(offsets) - 1):
        start, end = int(offsets[s]), int(offsets[s + 1])
        for p in range(start, end):
            b = int(ids[p])
            for q in range(p - 1, max(start, p - window) - 1, -1):
                a = int(ids[q])
                w = 1.0 / (p - q) if weighting else 1.0
                lo, hi = min(a, b), max(a, b)
                if a == b:
                    w = 2.0 * w
                if hi < row_len[lo]:
                    dense[row_start[lo] + hi] += w
                else:
                    keys[n], vals[n] = lo * vocab_size + hi, w
                    n += 1
    return n


@jit(nogil=True, cache=True, error_model="numpy")  # 1 / (p - q): p > q, no zero-division guard needed
def _count_block(ids, offsets, window, weighting, dense, row_start, row_len, keys, vals, vocab_size):
    """Add every pair of the sentences ``offsets`` delimits to ``dense`` or append it to the buffer
    (upper triangle only, see :func:`count_block`); returns how many buffer entries were written
    (the caller made the buffer big enough)."""
    n = 0
    for s in range(offsets.shape[0] - 1):
        start, end = offsets[s], offsets[s + 1]
        for p in range(start, end):
            b = np.int64(ids[p])
            first = max(start, p - window)
            for q in range(p - 1, first - 1, -1):
                a = np.int64(ids[q])
                w = 1.0 / (p - q) if weighting else 1.0
                lo, hi = min(a, b), max(a, b)
                if a == b:
                    w = 2.0 * w  # X[a, a] gets the pair from both sides
                if hi < row_len[lo]:  # (lo + 1)(hi + 1) <= max_product
                    dense[row_start[lo] + hi] += w
                else:
                    keys[n] = lo * vocab_size + hi
                    vals[n] = w
                    n += 1
    return n


def pairs_per_sentence(offsets: np.ndarray, window: int) -> np.ndarray:
    """How many (left context, word) pairs each sentence has: the sum over positions p of min(p, window)."""
    lengths = np.diff(np.asarray(offsets, dtype=np.int64))
    full = np.minimum(lengths, window)
    return full * (full - 1) // 2 + np.maximum(lengths - window, 0) * window


def buffer_entries_needed(offsets: np.ndarray, window: int) -> int:
    """An upper bound of the buffer entries the sentences of ``offsets`` can write: one per pair."""
    return int(pairs_per_sentence(offsets, window).sum())


def count_block(ids, offsets, window: int, distance_weighting: bool, dense, row_start, row_len, keys, vals) -> int:
    """Checked entry point: count one block of sentences (``ids`` int32 in [0, V), ``offsets``
    int64 from 0 to len(ids)) into ``dense`` (float64, ``row_start[-1]`` entries; see
    :func:`dense_layout`) and the buffer ``keys`` int64 / ``vals`` float64, which must hold
    :func:`buffer_entries_needed` entries. Returns the number of buffer entries written.

    Only the upper triangle is counted: words ``a, b`` add the pair's weight to ``(min, max)`` once
    (twice when ``a == b``), as ``X[a, b]`` and ``X[b, a]`` receive the same weights;
    :func:`symmetric_entries` writes out both halves at the end. Half the writes of counting both."""
    v = len(row_len)
    ids = np.ascontiguousarray(ids)
    offsets = np.ascontiguousarray(offsets)
    if ids.dtype != np.int32 or offsets.dtype != np.int64:
        raise TypeError(f"ids must be int32 and offsets int64, got {ids.dtype} and {offsets.dtype}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= v):
        raise IndexError(f"word ids must be in [0, {v}), got {int(ids.min())}..{int(ids.max())}")
    if len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(ids) or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing from 0 to len(ids)")
    if isinstance(window, bool) or int(window) < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if row_start.dtype != np.int64 or row_len.dtype != np.int64 or row_start.shape != (v + 1,):
        raise ValueError("row_start and row_len must come from dense_layout (int64)")
    if dense.dtype != np.float64 or dense.shape != (row_start[-1],) or not dense.flags.c_contiguous:
        raise ValueError(f"dense must be a contiguous float64 array of {row_start[-1]} entries")
    need = buffer_entries_needed(offsets, int(window))
    if keys.dtype != np.int64 or vals.dtype != np.float64 or len(keys) < need or len(vals) < need:
        raise ValueError(f"the buffer must be int64 keys and float64 vals of at least {need} entries")
    kernel = _count_block if jit_enabled() else _count_block_python
    return int(kernel(ids, offsets, int(window), bool(distance_weighting), dense, row_start, row_len, keys, vals, v))


# ------------------------------------------------------------------------------ runs
def reduce_run(keys: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A buffer as a run: its keys sorted, each once, with the sum of its values (float64)."""
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    first = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    return k[first], np.add.reduceat(vals[order], first)


def merge_runs_reference(ka, va, kb, vb):
    """Two sorted runs (keys unique within each) as one, equal keys summed: the readable version."""
    keys = np.concatenate([ka, kb])
    vals = np.concatenate([va, vb])
    return reduce_run(keys, vals)


@jit(nogil=True, cache=True)
def _merge_runs(ka, va, kb, vb, ko, vo):
    i = j = n = 0
    while i < ka.shape[0] and j < kb.shape[0]:
        if ka[i] < kb[j]:
            ko[n], vo[n] = ka[i], va[i]
            i += 1
        elif kb[j] < ka[i]:
            ko[n], vo[n] = kb[j], vb[j]
            j += 1
        else:
            ko[n], vo[n] = ka[i], va[i] + vb[j]
            i += 1
            j += 1
        n += 1
    while i < ka.shape[0]:
        ko[n], vo[n] = ka[i], va[i]
        i += 1
        n += 1
    while j < kb.shape[0]:
        ko[n], vo[n] = kb[j], vb[j]
        j += 1
        n += 1
    return n


def merge_runs(ka, va, kb, vb, out_keys=None, out_vals=None) -> int | tuple[np.ndarray, np.ndarray]:
    """Merge two sorted runs, summing equal keys. With ``out_keys``/``out_vals`` (at least
    ``len(ka) + len(kb)`` entries; e.g. memory-mapped files) it writes there and returns the number
    of entries; otherwise it returns the merged ``(keys, vals)`` arrays."""
    for name, k, v in (("a", ka, va), ("b", kb, vb)):
        if k.dtype != np.int64 or v.dtype != np.float64 or k.shape != v.shape or k.ndim != 1:
            raise ValueError(f"run {name} must be int64 keys and float64 values of one length")
    total = len(ka) + len(kb)
    own = out_keys is None
    if own:
        out_keys, out_vals = np.empty(total, np.int64), np.empty(total, np.float64)
    if len(out_keys) < total or len(out_vals) < total or out_keys.dtype != np.int64 or out_vals.dtype != np.float64:
        raise ValueError(f"the output must be int64 keys and float64 values of at least {total} entries")
    if jit_enabled():
        n = int(_merge_runs(ka, va, kb, vb, out_keys, out_vals))
    else:
        k, v = merge_runs_reference(np.asarray(ka), np.asarray(va), np.asarray(kb), np.asarray(vb))
        n = len(k)
        out_keys[:n], out_vals[:n] = k, v
    return (out_keys[:n], out_vals[:n]) if own else n


@jit(nogil=True, cache=True)
def _dense_upper(dense, row_start, row_len, keys, vals):
    n = 0
    v = row_len.shape[0]
    for a in range(v):
        for b in range(a, row_len[a]):
            x = dense[row_start[a] + b]
            if x != 0.0:
                keys[n] = a * v + b
                vals[n] = x
                n += 1
    return n


def dense_entries(dense: np.ndarray, row_start: np.ndarray, row_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-zero upper-triangle entries of the dense table as a run: ``(keys a * V + b, counts)``
    with ``a <= b``, in key order."""
    v = len(row_len)
    if not jit_enabled():
        pos = np.flatnonzero(dense)
        rows = np.searchsorted(row_start, pos, side="right") - 1
        cols = pos - row_start[rows]
        upper = cols >= rows
        return (rows * v + cols)[upper], dense[pos][upper]
    n = np.count_nonzero(dense)
    keys, vals = np.empty(n, np.int64), np.empty(n, np.float64)
    n = _dense_upper(dense, row_start, row_len, keys, vals)
    return keys[:n], vals[:n]


# ------------------------------------------------------------------------------ both halves
def symmetric_entries_reference(keys, vals, vocab_size):
    """``(rows, cols, counts)`` of the whole symmetric matrix from its upper triangle (keys ``a * V + b``,
    ``a <= b``), sorted by (row, col): each off-diagonal entry twice."""
    rows, cols = keys // vocab_size, keys % vocab_size
    off = rows != cols
    all_rows = np.concatenate([rows, cols[off]])
    all_cols = np.concatenate([cols, rows[off]])
    all_vals = np.concatenate([vals, vals[off]])
    order = np.lexsort((all_cols, all_rows))
    return all_rows[order].astype(np.int32), all_cols[order].astype(np.int32), all_vals[order]


@jit(nogil=True, cache=True)
def _symmetric_entries(keys, vals, vocab_size, start, rows, cols, out):
    # keys come in row-major order, so row r first receives its mirrored entries (r, a), a < r, in
    # increasing a, then its own (r, b), b >= r, in increasing b: every row ends up sorted.
    cursor = start.copy()
    for k in range(keys.shape[0]):
        a = keys[k] // vocab_size
        b = keys[k] - a * vocab_size
        i = cursor[a]
        rows[i], cols[i], out[i] = a, b, vals[k]
        cursor[a] += 1
        if a != b:
            i = cursor[b]
            rows[i], cols[i], out[i] = b, a, vals[k]
            cursor[b] += 1


def symmetric_entries(keys, vals, vocab_size: int):
    """Checked entry point of :func:`symmetric_entries_reference`: one linear pass instead of a sort."""
    if keys.dtype != np.int64 or vals.dtype != np.float64 or keys.shape != vals.shape:
        raise ValueError("keys must be int64 and vals float64 of one length")
    rows_up, cols_up = keys // vocab_size, keys % vocab_size
    if len(keys) and (keys.min() < 0 or keys.max() >= vocab_size * vocab_size or np.any(np.diff(keys) <= 0)
                      or np.any(rows_up > cols_up)):
        raise ValueError("keys must be sorted, unique and of the upper triangle (row <= col) of a V x V matrix")
    if not jit_enabled():
        return symmetric_entries_reference(keys, vals, vocab_size)
    off = rows_up != cols_up
    per_row = np.bincount(rows_up, minlength=vocab_size) + np.bincount(cols_up[off], minlength=vocab_size)
    start = np.zeros(vocab_size, np.int64)
    np.cumsum(per_row[:-1], out=start[1:])
    n = int(per_row.sum())
    rows, cols, out = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.float64)
    _symmetric_entries(keys, vals, vocab_size, start, rows, cols, out)
    return rows, cols, out
