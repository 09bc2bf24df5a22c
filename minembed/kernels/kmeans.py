"""k-means building blocks: the assignment/update pass of Lloyd's algorithm and k-means++ trials.

Both passes need squared Euclidean distances between N rows and a few centres. Written out::

    |x - c|^2 = |x|^2 - 2 x.c + |c|^2

so the only O(N k D) part is the matrix of inner products ``X @ C.T``, which BLAS computes fast.
The references build that whole (N, k) matrix in float64: readable, and the test oracle. The
kernel path never does: it walks X in blocks of ``block_rows`` rows, lets BLAS fill one (B, k)
float32 block of inner products (a buffer reused for every block), and hands it to a Numba kernel
that, for each row of the block, finds the nearest centre and (Lloyd's update) adds the row into
that centre's float64 sum. The block of X is then still in cache for the sum. Memory: X, the
centres, one (B, k) block per thread, and N labels and distances.

Lloyd's pass (:func:`assign`): for each row i::

    labels[i] = argmin_j  |c_j|^2 - 2 x_i.c_j        (ties: the lower j)
    dist[i]   = max(|x_i|^2 + that minimum, 0)        (squared distance, rounding clipped at 0)
    sums[labels[i]] += x_i ;  counts[labels[i]] += 1   (only with update=True)

The new centres are ``sums / counts``; :mod:`minembed.space.cluster` handles empty clusters.

k-means++ (:func:`kmeanspp_trials`): ``closest[i]`` is the squared distance from row i to its
nearest centre chosen so far. For L candidate rows, each candidate's *potential* is the total
``sum_i min(closest[i], |x_i - cand_l|^2)`` it would leave; the caller keeps the candidate with
the lowest one (L = 1 is Arthur and Vassilvitskii's k-means++; L = 2 + ln k the greedy variant).
The kernel returns the potentials and the (N, L) float32 distances, so the caller can update
``closest`` with the winner's column without another pass over X.

Threads: the rows are cut into ``n_threads`` contiguous ranges, each worked by a plain Python
thread (BLAS products and the kernels release the GIL) with its own buffer and its own sums;
the sums are added in thread order, so a given thread count always gives the same result. Call
with BLAS limited to one thread (:func:`minembed.kernels.blas.blas_threads`), or each thread's
products will start BLAS threads of their own.

Inputs are checked for dtype, shape and contiguity here (Numba does no bounds checks); finiteness is
the caller's job (:mod:`minembed.space.cluster` refuses NaN and inf before anything runs).
"""
from __future__ import annotations

import numpy as np

from .jit import jit, jit_enabled
from .threads import split_rows
from .validate import check_float_matrix

# Rows per block: the block of X (B * D floats) and of inner products (B * k floats) stay near
# 256 KB each, so the kernel reads them from L2 right after BLAS wrote them.
_BLOCK_FLOATS = 1 << 16


def default_block_rows(d: int, k: int) -> int:
    """Rows per block for D-dimensional data and k centres: about 64k floats per buffer, 16..4096 rows."""
    return int(min(4096, max(16, _BLOCK_FLOATS // max(d, k, 1))))


# ------------------------------------------------------------------------------ references
def assign_reference(x: np.ndarray, centers: np.ndarray, update: bool = False):
    """Nearest centre of every row, from the whole (N, k) distance matrix in float64.

    x (N, D) and centers (k, D) float. Returns ``(labels (N,) int64, dist (N,) float64)``, dist the
    squared distance to the chosen centre; with ``update=True`` also ``(sums (k, D) float64,
    counts (k,) int64)``, the sum and number of the rows given to each centre.
    """
    x64, c64 = x.astype(np.float64), centers.astype(np.float64)
    d2 = (x64 * x64).sum(1)[:, None] - 2.0 * (x64 @ c64.T) + (c64 * c64).sum(1)[None, :]
    labels = np.argmin(d2, axis=1).astype(np.int64)            # argmin keeps the first of equal values
    dist = np.maximum(d2[np.arange(x.shape[0]), labels], 0.0)
    if not update:
        return labels, dist
    sums = np.zeros(c64.shape, dtype=np.float64)
    np.add.at(sums, labels, x64)
    counts = np.bincount(labels, minlength=centers.shape[0]).astype(np.int64)
    return labels, dist, sums, counts


def kmeanspp_trials_reference(x: np.ndarray, candidates: np.ndarray, closest: np.ndarray):
    """Potentials (L,) float64 and distances (N, L) of L candidate centres; see the module docstring."""
    x64, c64 = x.astype(np.float64), candidates.astype(np.float64)
    d2 = (x64 * x64).sum(1)[:, None] - 2.0 * (x64 @ c64.T) + (c64 * c64).sum(1)[None, :]
    d2 = np.maximum(d2, 0.0)
    return np.minimum(d2, closest[:, None]).sum(0), d2.astype(np.float32)


# ---------------------------------------------------------------------------------- kernels
@jit(nogil=True, cache=True)
def _assign_block(x, start, dots, xsq, csq, labels, dist, sums, counts, update):
    """Rows start .. start + B of x; dots (B, k) = x[start:start + B] @ centers.T."""
    b, k = dots.shape
    d = x.shape[1]
    for i in range(b):
        best = np.inf
        bj = 0
        for j in range(k):
            key = csq[j] - 2.0 * np.float64(dots[i, j])
            if key < best:
                best = key
                bj = j
        r = start + i
        labels[r] = bj
        dd = xsq[r] + best
        dist[r] = dd if dd > 0.0 else 0.0
        if update:
            counts[bj] += 1
            for t in range(d):
                sums[bj, t] += x[r, t]


@jit(nogil=True, cache=True)
def _trials_block(start, dots, xsq, csq, closest, pots, out):
    """Candidates' distances for rows start .. start + B (dots = x-block @ candidates.T) and their potentials."""
    b, n_cand = dots.shape
    for i in range(b):
        r = start + i
        for j in range(n_cand):
            dd = xsq[r] + csq[j] - 2.0 * np.float64(dots[i, j])
            if dd < 0.0:
                dd = 0.0
            out[r, j] = dd
            pots[j] += dd if dd < closest[r] else closest[r]


# ----------------------------------------------------------------------------------- drivers
def _run_split(n: int, n_threads: int, work):
    """Call ``work(lo, hi, t)`` on up to ``n_threads`` contiguous row ranges of at least 1,024 rows
    (thread 0 in this thread, the others on the shared pool of :mod:`minembed.kernels.threads`)."""
    return split_rows(n, work, threads=n_threads, min_rows=1024)


def _check(x, centers, what, xsq):
    check_float_matrix(x, "x")
    check_float_matrix(centers, what)
    if centers.dtype != x.dtype:
        raise TypeError(f"{what} must have the dtype of x ({x.dtype}), got {centers.dtype}")
    if centers.shape[1] != x.shape[1]:
        raise ValueError(f"{what} have dimension {centers.shape[1]}, x has {x.shape[1]}")
    if centers.shape[0] < 1:
        raise ValueError(f"{what} must hold at least one row")
    if xsq is not None and (not isinstance(xsq, np.ndarray) or xsq.dtype != np.float64 or xsq.shape != (x.shape[0],)
                            or not xsq.flags.c_contiguous):
        raise ValueError(f"x_sqnorms must be a C-contiguous float64 array of shape ({x.shape[0]},)")


def row_sqnorms(x: np.ndarray) -> np.ndarray:
    """``|x_i|^2`` of every row, accumulated in float64: (N,) float64."""
    return np.einsum("ij,ij->i", x, x, dtype=np.float64)


def assign(x: np.ndarray, centers: np.ndarray, x_sqnorms: np.ndarray | None = None, update: bool = False,
           block_rows: int | None = None, n_threads: int = 1):
    """Blocked, bounded-memory :func:`assign_reference` (same contract and return values).

    x (N, D) and centers (k, D): C-contiguous float32 or float64 of one dtype; ``x_sqnorms`` (N,)
    float64, the rows' squared norms when the caller keeps them between calls (computed otherwise).
    Nearest-centre choices agree with the reference except between centres whose distances tie to
    rounding (the products here are in x's dtype).
    """
    _check(x, centers, "centers", x_sqnorms)
    if not jit_enabled():
        return assign_reference(x, centers, update)
    n, d = x.shape
    k = centers.shape[0]
    xsq = row_sqnorms(x) if x_sqnorms is None else x_sqnorms
    csq = row_sqnorms(centers)
    ct = np.ascontiguousarray(centers.T)
    rows = block_rows or default_block_rows(d, k)
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float64)

    def work(lo, hi, t):
        sums = np.zeros((k, d), dtype=np.float64) if update else np.zeros((1, 1), dtype=np.float64)
        counts = np.zeros(k if update else 1, dtype=np.int64)
        buf = np.empty((rows, k), dtype=x.dtype)
        for s in range(lo, hi, rows):
            e = min(s + rows, hi)
            dots = buf[: e - s]
            np.dot(x[s:e], ct, out=dots)
            _assign_block(x, s, dots, xsq, csq, labels, dist, sums, counts, update)
        return sums, counts

    parts = _run_split(n, n_threads, work)
    if not update:
        return labels, dist
    sums, counts = parts[0]
    for s2, c2 in parts[1:]:
        sums += s2
        counts += c2
    return labels, dist, sums, counts


def kmeanspp_trials(x: np.ndarray, candidates: np.ndarray, closest: np.ndarray,
                    x_sqnorms: np.ndarray | None = None, block_rows: int | None = None, n_threads: int = 1):
    """Blocked :func:`kmeanspp_trials_reference`: ``(potentials (L,) float64, distances (N, L) float32)``.

    ``closest`` (N,) float64: squared distance of each row to its nearest centre so far.
    """
    _check(x, candidates, "candidates", x_sqnorms)
    if not isinstance(closest, np.ndarray) or closest.dtype != np.float64 or closest.shape != (x.shape[0],):
        raise ValueError(f"closest must be a float64 array of shape ({x.shape[0]},)")
    if not jit_enabled():
        return kmeanspp_trials_reference(x, candidates, closest)
    n, d = x.shape
    n_cand = candidates.shape[0]
    xsq = row_sqnorms(x) if x_sqnorms is None else x_sqnorms
    csq = row_sqnorms(candidates)
    ct = np.ascontiguousarray(candidates.T)
    rows = block_rows or default_block_rows(d, n_cand)
    out = np.empty((n, n_cand), dtype=np.float32)
    closest = np.ascontiguousarray(closest)

    def work(lo, hi, t):
        pots = np.zeros(n_cand, dtype=np.float64)
        buf = np.empty((rows, n_cand), dtype=x.dtype)
        for s in range(lo, hi, rows):
            e = min(s + rows, hi)
            dots = buf[: e - s]
            np.dot(x[s:e], ct, out=dots)
            _trials_block(s, dots, xsq, csq, closest, pots, out)
        return pots

    parts = _run_split(n, n_threads, work)
    return np.sum(parts, axis=0), out
