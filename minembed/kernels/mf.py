"""Matrix-factorisation SGD loops: biased MF on ratings (Funk SVD) and BPR on implicit feedback.

Biased MF (what Surprise calls SVD; Funk 2006, Koren et al. 2009)
-----------------------------------------------------------------
A rating is predicted as ``r^_ui = mu + b_u + b_i + p_u . q_i`` (global mean, user bias, item bias, the
dot product of two ``D``-vectors). Each observed rating, in a shuffled order, takes one step down the
gradient of ``(r_ui - r^_ui)^2 + reg (b_u^2 + b_i^2 + |p_u|^2 + |q_i|^2)`` (factor 2 folded into lr)::

    e    = r_ui - r^_ui
    b_u += lr_b (e - reg_b b_u)             b_i += lr_b (e - reg_b b_i)
    p_u += lr (e q_i - reg p_u)             q_i += lr (e p_u - reg q_i)     (both with the old p_u, q_i)

BPR (Rendle et al. 2009)
------------------------
For a user u, an item i they interacted with and an item j they did not, the model should score i
above j: ``x_uij = p_u . (q_i - q_j) + b_i - b_j``. One step raises ``log sigma(x_uij)`` minus an L2
penalty. With ``g = sigma(-x_uij) = 1 - sigma(x_uij)``::

    p_u += lr (g (q_i - q_j) - reg p_u)
    q_i += lr (g p_u - reg q_i)             q_j += lr (-g p_u - reg q_j)
    b_i += lr (g - reg b_i)                 b_j += lr (-g - reg b_j)

A sample is one interaction (u, i) drawn uniformly, and j drawn uniformly from the items until one
is found that u has not interacted with (``implicit``'s ``verify_negative_samples``); an epoch is as
many samples as there are interactions. Random numbers come from a 64-bit LCG (Knuth's MMIX
constants), the same in the reference and the kernel, so the two make the same draws.

Each loop has a plain Python/NumPy reference (the definition, the test oracle, what ``MINEMBED_JIT=0``
runs) and a Numba kernel beside it; ``tests/test_kernels_mf.py`` holds them equal.
"""
from __future__ import annotations

import math

import numpy as np

from .jit import FASTMATH, jit, jit_enabled, prange

_MULT = np.uint64(6364136223846793005)
_INC = np.uint64(1442695040888963407)
_SHIFT = np.uint64(33)


# =============================================================================================== SGD MF
def sgd_epoch_reference(users, items, ratings, order, P, Q, bu, bi, mu, lr, reg, lr_bias, reg_bias,
                        biased=True) -> float:
    """One epoch of biased-MF SGD over the ratings in ``order`` (the readable definition).

    users/items (N,) int64, ratings (N,) float32, order (M,) int64 positions; P (U, D), Q (I, D), bu (U,),
    bi (I,) float32 updated in place. Returns the sum of squared errors *before* each step (float64).
    With ``biased=False`` the biases stay untouched (and should be zero: the model is ``mu + p.q``).
    """
    sse = 0.0
    for n in order:
        u, i = users[n], items[n]
        e = float(ratings[n]) - (mu + float(bu[u]) + float(bi[i]) + float(P[u] @ Q[i]))
        sse += e * e
        if biased:
            bu[u] += lr_bias * (e - reg_bias * bu[u])
            bi[i] += lr_bias * (e - reg_bias * bi[i])
        pu = P[u].copy()
        P[u] += lr * (e * Q[i] - reg * pu)
        Q[i] += lr * (e * pu - reg * Q[i])
    return sse


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _sgd_epoch(users, items, ratings, order, P, Q, bu, bi, mu, lr, reg, lr_bias, reg_bias, biased):
    dim = P.shape[1]
    sse = 0.0
    for t in range(order.shape[0]):
        n = order[t]
        u = users[n]
        i = items[n]
        dot = np.float32(0.0)
        for d in range(dim):
            dot += P[u, d] * Q[i, d]
        e = ratings[n] - (mu + bu[u] + bi[i] + dot)
        sse += np.float64(e) * e
        if biased:
            bu[u] += lr_bias * (e - reg_bias * bu[u])
            bi[i] += lr_bias * (e - reg_bias * bi[i])
        for d in range(dim):
            pu = P[u, d]
            qi = Q[i, d]
            P[u, d] = pu + lr * (e * qi - reg * pu)
            Q[i, d] = qi + lr * (e * pu - reg * qi)
    return sse


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _predict(users, items, P, Q, bu, bi, mu, out):
    dim = P.shape[1]
    for n in range(users.shape[0]):
        u = users[n]
        i = items[n]
        s = mu + bu[u] + bi[i]
        for d in range(dim):
            s += P[u, d] * Q[i, d]
        out[n] = s


def _check_tables(P, Q, bu, bi):
    for name, a, nd in (("P", P, 2), ("Q", Q, 2), ("bu", bu, 1), ("bi", bi, 1)):
        if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.ndim != nd or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float32 array with {nd} dimension(s)")
    if P.shape[1] != Q.shape[1] or bu.shape[0] != P.shape[0] or bi.shape[0] != Q.shape[0]:
        raise ValueError(f"table shapes disagree: P {P.shape}, Q {Q.shape}, bu {bu.shape}, bi {bi.shape}")


def _check_triples(users, items, ratings, n_users, n_items):
    from .validate import as_index_array

    users = as_index_array(users, n_users, "user id")
    items = as_index_array(items, n_items, "item id")
    ratings = np.ascontiguousarray(ratings, dtype=np.float32)
    if not users.shape == items.shape == ratings.shape or users.ndim != 1:
        raise ValueError(f"users, items and ratings must be 1-D of one length, got {users.shape}, {items.shape}, "
                         f"{ratings.shape}")
    return users, items, ratings


def sgd_epoch(users, items, ratings, order, P, Q, bu, bi, mu, lr, reg, lr_bias=None, reg_bias=None,
              biased=True) -> float:
    """Checked entry point of one SGD epoch (see :func:`sgd_epoch_reference`); the kernel unless ``MINEMBED_JIT=0``.
    ``lr_bias`` / ``reg_bias`` default to ``lr`` / ``reg``. Float32 tables; the error is float64 in the reference
    and float32 in the kernel's arithmetic, so the two agree to float32 rounding."""
    from .validate import as_index_array

    _check_tables(P, Q, bu, bi)
    users, items, ratings = _check_triples(users, items, ratings, P.shape[0], Q.shape[0])
    order = as_index_array(order, len(ratings), "order")
    lr_bias = lr if lr_bias is None else lr_bias
    reg_bias = reg if reg_bias is None else reg_bias
    args = (float(mu), float(lr), float(reg), float(lr_bias), float(reg_bias), bool(biased))
    if not jit_enabled():
        return sgd_epoch_reference(users, items, ratings, order, P, Q, bu, bi, *args)
    # float32 scalars: the arithmetic stays in float32, so the factor loops vectorise at full width
    f32 = tuple(np.float32(a) for a in args[:5])
    return float(_sgd_epoch(users, items, ratings, order, P, Q, bu, bi, *f32, args[5]))


def predict_reference(users, items, P, Q, bu, bi, mu) -> np.ndarray:
    """``mu + bu[u] + bi[i] + P[u] . Q[i]`` for each pair, (N,) float32."""
    return (mu + bu[users] + bi[items] + np.einsum("nd,nd->n", P[users], Q[items])).astype(np.float32)


def predict(users, items, P, Q, bu, bi, mu) -> np.ndarray:
    """Checked :func:`predict_reference` (the kernel avoids the two (N, D) gathers)."""
    _check_tables(P, Q, bu, bi)
    users, items, _ = _check_triples(users, items, np.zeros(np.shape(users), np.float32), P.shape[0], Q.shape[0])
    if not jit_enabled():
        return predict_reference(users, items, P, Q, bu, bi, mu)
    out = np.empty(len(users), dtype=np.float32)
    _predict(users, items, P, Q, bu, bi, float(mu), out)
    return out


# ================================================================================================ BPR
def _lcg(seed):
    """The LCG as a Python iterator of 31-bit numbers: ``state = state * 6364136223846793005 + 1442695040888963407``."""
    state = int(seed) % 2**64
    while True:
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        yield state >> 33


def _sorted_contains(indices, lo, hi, value) -> bool:
    k = lo + int(np.searchsorted(indices[lo:hi], value))
    return k < hi and indices[k] == value


def bpr_epoch_reference(indptr, indices, row_of, P, Q, bq, n_samples, lr, reg, seed) -> tuple[float, int]:
    """``n_samples`` BPR steps (see the module docstring), the readable definition.

    indptr (U+1,), indices (nnz,) sorted item ids per user (CSR), row_of (nnz,) the user of each entry;
    P (U, D), Q (I, D), bq (I,) float32 updated in place; ``seed`` starts the LCG. A user who has every
    item is skipped (no negative exists). Returns (sum of -log sigma(x_uij), samples used).
    """
    rand = _lcg(seed)
    n_items, nnz = Q.shape[0], len(indices)
    loss, used = 0.0, 0
    for _ in range(n_samples):
        s = next(rand) % nnz
        u, i = row_of[s], indices[s]
        lo, hi = indptr[u], indptr[u + 1]
        if hi - lo >= n_items:
            continue
        j = next(rand) % n_items
        while _sorted_contains(indices, lo, hi, j):
            j = next(rand) % n_items
        pu, qi, qj = P[u].copy(), Q[i].copy(), Q[j].copy()
        x = float(pu @ (qi - qj)) + float(bq[i]) - float(bq[j])
        g = 1.0 / (1.0 + math.exp(x)) if x > -30 else 1.0   # sigma(-x)
        loss += math.log1p(math.exp(-x)) if x > -30 else -x
        P[u] += lr * (g * (qi - qj) - reg * pu)
        Q[i] += lr * (g * pu - reg * qi)
        Q[j] += lr * (-g * pu - reg * qj)
        bq[i] += lr * (g - reg * bq[i])
        bq[j] += lr * (-g - reg * bq[j])
        used += 1
    return loss, used


@jit(nogil=True, cache=True, inline="always")
def _next(state):
    state = state * _MULT + _INC
    return state, np.int64(state >> _SHIFT)


@jit(nogil=True, cache=True)
def _contains(indices, lo, hi, value):
    end = hi
    while lo < hi:  # binary search in the sorted items of one user, indices[lo:end]
        mid = (lo + hi) >> 1
        if indices[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == value


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _bpr_epoch(indptr, indices, row_of, P, Q, bq, n_samples, lr, reg, seed):
    dim = P.shape[1]
    n_items = Q.shape[0]
    nnz = indices.shape[0]
    state = np.uint64(seed)
    loss = 0.0
    used = 0
    for _ in range(n_samples):
        state, r = _next(state)
        s = r % nnz
        u = row_of[s]
        i = indices[s]
        lo = indptr[u]
        hi = indptr[u + 1]
        if hi - lo >= n_items:
            continue
        state, r = _next(state)
        j = r % n_items
        while _contains(indices, lo, hi, j):
            state, r = _next(state)
            j = r % n_items
        x = bq[i] - bq[j]
        for d in range(dim):
            x += P[u, d] * (Q[i, d] - Q[j, d])
        if x > -30.0:
            g = 1.0 / (1.0 + math.exp(x))
            loss += math.log1p(math.exp(-x))
        else:
            g = 1.0
            loss += -x
        for d in range(dim):
            pu = P[u, d]
            qi = Q[i, d]
            qj = Q[j, d]
            P[u, d] = pu + lr * (g * (qi - qj) - reg * pu)
            Q[i, d] = qi + lr * (g * pu - reg * qi)
            Q[j, d] = qj + lr * (-g * pu - reg * qj)
        bq[i] += lr * (g - reg * bq[i])
        bq[j] += lr * (-g - reg * bq[j])
        used += 1
    return loss, used


@jit(nogil=True, cache=True, fastmath=FASTMATH, parallel=True)
def _bpr_epoch_parallel(indptr, indices, row_of, P, Q, bq, n_samples, lr, reg, seeds, losses, counts):
    # Hogwild: each thread draws its own samples from its own LCG and updates the shared tables without locks
    # (rows of different threads rarely meet). Results then depend on thread timing, as word2vec's threads do.
    workers = seeds.shape[0]
    per = (n_samples + workers - 1) // workers
    for t in prange(workers):
        n = min(per, n_samples - t * per)
        lo_, k = _bpr_epoch(indptr, indices, row_of, P, Q, bq, max(n, 0), lr, reg, seeds[t])
        losses[t] = lo_
        counts[t] = k


def check_csr(indptr, indices, n_rows: int, n_cols: int, what: str = "interactions"):
    """Check a CSR structure (int64, indptr from 0 to nnz, ids in range, sorted and unique in each row);
    returns int64 contiguous copies when needed. Raises ValueError/IndexError naming ``what``."""
    from .validate import as_index_array

    indptr = np.ascontiguousarray(indptr, dtype=np.int64)
    indices = as_index_array(np.ascontiguousarray(indices), n_cols, f"{what} column id")
    if indptr.shape != (n_rows + 1,) or indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise ValueError(f"{what}: indptr must be {n_rows + 1} non-decreasing offsets from 0 to {len(indices)}")
    if len(indices) > 1:
        step = np.diff(indices)
        starts = indptr[1:-1][(indptr[1:-1] > 0) & (indptr[1:-1] < len(indices))] - 1
        ok = step > 0
        ok[starts] = True  # a new row may start lower
        if not ok.all():
            raise ValueError(f"{what}: column ids must be sorted and unique within each row")
    return indptr, indices


def bpr_epoch(indptr, indices, P, Q, bq, n_samples, lr, reg, seed, workers: int = 1) -> tuple[float, int]:
    """Checked entry point of :func:`bpr_epoch_reference`; ``workers > 1`` runs Hogwild threads, each with its
    own stream (``seed + t``): not reproducible bit for bit, like any lock-free SGD."""
    for name, a, nd in (("P", P, 2), ("Q", Q, 2), ("bq", bq, 1)):
        if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.ndim != nd or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float32 array with {nd} dimension(s)")
    if P.shape[1] != Q.shape[1] or bq.shape[0] != Q.shape[0]:
        raise ValueError(f"table shapes disagree: P {P.shape}, Q {Q.shape}, bq {bq.shape}")
    indptr, indices = check_csr(indptr, indices, P.shape[0], Q.shape[0])
    if len(indices) == 0:
        raise ValueError("BPR needs at least one interaction")
    row_of = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(indptr))
    seed = int(seed) % 2**64
    if not jit_enabled():
        return bpr_epoch_reference(indptr, indices, row_of, P, Q, bq, int(n_samples), float(lr), float(reg), seed)
    if workers == 1:
        loss, used = _bpr_epoch(indptr, indices, row_of, P, Q, bq, int(n_samples), float(lr), float(reg),
                                np.uint64(seed))
        return float(loss), int(used)
    seeds = np.array([(seed + 0x9E3779B97F4A7C15 * t) % 2**64 for t in range(workers)], dtype=np.uint64)
    losses = np.zeros(workers)
    counts = np.zeros(workers, dtype=np.int64)
    _bpr_epoch_parallel(indptr, indices, row_of, P, Q, bq, int(n_samples), float(lr), float(reg), seeds, losses,
                        counts)
    return float(losses.sum()), int(counts.sum())
