"""IVF-Flat search: scan the inverted lists a query probes, keep its k best rows in a heap.

An inverted-file index cuts the space into ``nlist`` Voronoi cells (one per k-means centroid) and
stores the rows of each cell together: list ``l`` is rows ``list_ptr[l] : list_ptr[l + 1]`` of
``data`` (contiguous, so a scan reads memory in order). A query is compared with the centroids
first, then only with the rows of its ``nprobe`` nearest cells, exactly ("Flat": full vectors,
no compression). The rows of the other cells are never read: about ``nprobe / nlist`` of the work
of exact search, and a true neighbour is missed only when it lies in a cell that was not probed.

Scores (larger is better), as in :mod:`minembed.kernels.similarity`:

* ``mode`` 0, dot: ``q . d``;   cosine is the dot product of unit rows and a unit query;
* ``mode`` 2, euclidean: ``q . d - |d|^2 / 2`` (``aux`` holds ``|d|^2 / 2``), which ranks rows as
  ``-|q - d|^2 / 2`` does; the caller turns the winners into distances.

Filters: ``mask[j]`` says whether row j may be returned. With a mask, ``probe`` lists *every*
cell in order of nearness and the scan goes past the first ``nprobe`` cells until it has seen k
allowed rows, so a selective filter still gives k results when k allowed rows exist.

Ties are broken by the lower row number (the heap orders (score, row) pairs). ``search_reference``
is the same computation in NumPy, one query at a time.
"""
from __future__ import annotations

import numpy as np

from .jit import FASTMATH, jit, prange
from .similarity import _sift_down, _worse


def search_reference(queries, data, aux, list_ptr, probe, nprobe, mode, k, mask=None):
    """(rows (Q, k) int64, keys (Q, k) float32): best first, padded with -1 / -inf."""
    n_q = queries.shape[0]
    rows = np.full((n_q, k), -1, dtype=np.int64)
    keys = np.full((n_q, k), -np.inf, dtype=np.float32)
    for i in range(n_q):
        cand, seen = [], 0
        for p, cell in enumerate(probe[i]):
            if p >= nprobe and seen >= k:
                break
            members = np.arange(list_ptr[cell], list_ptr[cell + 1])
            if mask is not None:
                members = members[mask[members].astype(bool)]
            seen += members.size
            cand.append(members)
        cand = np.concatenate(cand) if cand else np.zeros(0, np.int64)
        score = (data[cand].astype(np.float64) @ queries[i].astype(np.float64)).astype(np.float32)
        if mode == 2:
            score = score - aux[cand]
        order = np.lexsort((cand, -score))[:k]   # score descending, then row ascending
        rows[i, :order.size] = cand[order]
        keys[i, :order.size] = score[order]
    return rows, keys


@jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)
def search_kernel(queries, data, aux, list_ptr, probe, nprobe, mode, mask, use_mask, heap_s, heap_i):
    """search_reference compiled, queries in parallel. heap_s (Q, k) must come filled with -inf and
    heap_i with -1; on return each row is sorted best first."""
    n_q = queries.shape[0]
    dim = queries.shape[1]
    k = heap_s.shape[1]
    for qi in prange(n_q):
        hs = heap_s[qi]
        hi = heap_i[qi]
        seen = 0
        for p in range(probe.shape[1]):
            if p >= nprobe and seen >= k:
                break
            cell = probe[qi, p]
            for j in range(list_ptr[cell], list_ptr[cell + 1]):
                if use_mask and mask[j] == 0:
                    continue
                seen += 1
                s = np.float32(0.0)
                for t in range(dim):
                    s += data[j, t] * queries[qi, t]
                if mode == 2:
                    s -= aux[j]
                if _worse(hs[0], hi[0], s, j):
                    hs[0] = s
                    hi[0] = j
                    _sift_down(hs, hi, 0, k)
        # heap-sort in place: the worst pair goes to the end of the shrinking heap
        for end in range(k - 1, 0, -1):
            s0 = hs[0]
            i0 = hi[0]
            hs[0] = hs[end]
            hi[0] = hi[end]
            hs[end] = s0
            hi[end] = i0
            _sift_down(hs, hi, 0, end)
