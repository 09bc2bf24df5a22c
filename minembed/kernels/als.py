"""Alternating least squares: each half-step solves one small ridge regression per user (or item).

Hold the item table ``Y (I, D)`` fixed; every user's vector is then a least-squares problem of its own.

Explicit ratings (ALS-WR, Zhou et al. 2008), with biases
--------------------------------------------------------
User u rated items ``R_u`` with ``r_ui``. With ``y~_i = [y_i, 1]`` (the 1 carries the user's bias) and the
target ``t_ui = r_ui - mu - b_i``, the unknown ``z = [x_u, b_u]`` minimises
``sum_i (t_ui - z . y~_i)^2 + lam n_u |z|^2`` (the penalty grows with the number of ratings ``n_u``)::

    (sum_i y~_i y~_i^T + lam n_u I) z = sum_i t_ui y~_i          a (D+1) x (D+1) system per user

Implicit feedback (Hu, Koren & Volinsky 2008)
---------------------------------------------
Every (user, item) cell counts: preference ``p_ui = 1`` where there was an interaction of strength
``r_ui``, else 0, trusted with confidence ``c_ui = 1 + alpha r_ui`` (1 for the empty cells). The user's
vector minimises ``sum_i c_ui (p_ui - x . y_i)^2 + lam |x|^2`` over *all* items, whose normal equations are::

    (Y^T Y + Y_u^T (C_u - I) Y_u + lam I) x = Y_u^T C_u p_u      only u's items appear in the correction

``Y^T Y`` (the same for every user) is computed once per half-step, so a user costs ``O(n_u D^2 + D^3)``
with a Cholesky solve (:func:`implicit_rows_cholesky_reference`, the readable definition), or
``O(steps (n_u D + D^2))`` with a few steps of conjugate gradient started from the previous vector
(:func:`implicit_rows_cg`, as the ``implicit`` library does: 3 steps per half-step are enough because
the start is already close). The product ``A p`` never builds ``A``::

    A p = (Y^T Y + lam I) p + sum_{i in R_u} (c_ui - 1) (y_i . p) y_i

No BLAS is called inside these kernels (the Gram matrix is a Numba loop too), so their speed does not
depend on how many threads OpenBLAS would have started; threads come only from ``workers`` (``prange``
over users: each user's solve is independent, so the result is the same for any number of threads).
"""
from __future__ import annotations

import numpy as np

from .jit import FASTMATH, jit, jit_enabled, prange


# ============================================================================================ references
def cholesky_solve_reference(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``A x = b`` for symmetric positive definite A: ``A = L L^T``, then ``L y = b``, then ``L^T x = y``."""
    L = np.linalg.cholesky(A.astype(np.float64))
    n = len(b)
    y = np.zeros(n)
    for a in range(n):  # forward substitution
        y[a] = (b[a] - L[a, :a] @ y[:a]) / L[a, a]
    x = np.zeros(n)
    for a in range(n - 1, -1, -1):  # back substitution
        x[a] = (y[a] - L[a + 1:, a] @ x[a + 1:]) / L[a, a]
    return x


def gram_reference(Y: np.ndarray, reg: float) -> np.ndarray:
    """``Y^T Y + reg I`` (D, D) in float64."""
    Y64 = Y.astype(np.float64)
    return Y64.T @ Y64 + reg * np.eye(Y.shape[1])


def implicit_rows_cholesky_reference(X, Y, indptr, indices, values, reg, alpha) -> None:
    """Every row u of X (in place) set to the exact solution of its implicit normal equations (module docstring)."""
    YtY = gram_reference(Y, reg)
    for u in range(X.shape[0]):
        items = indices[indptr[u]:indptr[u + 1]]
        c = 1.0 + alpha * values[indptr[u]:indptr[u + 1]].astype(np.float64)
        Yu = Y[items].astype(np.float64)
        A = YtY + Yu.T @ ((c - 1.0)[:, None] * Yu)
        b = Yu.T @ c                                      # Y_u^T C_u p_u with p_u = 1 on u's items
        X[u] = cholesky_solve_reference(A, b)


def implicit_rows_cg_reference(X, Y, indptr, indices, values, reg, alpha, steps) -> None:
    """``steps`` conjugate-gradient iterations per row of X, started from the row itself (in place)."""
    YtY = gram_reference(Y, reg)
    for u in range(X.shape[0]):
        items = indices[indptr[u]:indptr[u + 1]]
        c = 1.0 + alpha * values[indptr[u]:indptr[u + 1]].astype(np.float64)
        Yu = Y[items].astype(np.float64)

        def A_times(p, Yu=Yu, c=c):
            return YtY @ p + Yu.T @ ((c - 1.0) * (Yu @ p))

        x = X[u].astype(np.float64)
        r = Yu.T @ c - A_times(x)                         # residual b - A x
        p = r.copy()
        rs = r @ r
        for _ in range(steps):
            if rs < 1e-20:
                break
            Ap = A_times(p)
            step = rs / (p @ Ap)
            x += step * p
            r -= step * Ap
            rs_new = r @ r
            p = r + (rs_new / rs) * p
            rs = rs_new
        X[u] = x


def explicit_rows_reference(X, xb, Y, yb, indptr, indices, values, mu, reg) -> None:
    """Every row u of X and its bias xb[u] (in place): the biased ALS-WR ridge solve of the module docstring.
    A row with no ratings gets zeros."""
    d = X.shape[1]
    for u in range(X.shape[0]):
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            X[u], xb[u] = 0.0, 0.0
            continue
        items = indices[lo:hi]
        Yt = np.hstack([Y[items].astype(np.float64), np.ones((hi - lo, 1))])   # y~_i = [y_i, 1]
        t = values[lo:hi].astype(np.float64) - mu - yb[items]
        z = cholesky_solve_reference(Yt.T @ Yt + reg * (hi - lo) * np.eye(d + 1), Yt.T @ t)
        X[u], xb[u] = z[:d], z[d]


# ============================================================================================== kernels
@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _gram(Y, reg, out):
    d = Y.shape[1]
    for a in range(d):
        for b in range(d):
            out[a, b] = 0.0
    for n in range(Y.shape[0]):
        for a in range(d):
            ya = Y[n, a]
            for b in range(a, d):
                out[a, b] += ya * Y[n, b]
    for a in range(d):
        out[a, a] += reg
        for b in range(a):
            out[a, b] = out[b, a]


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _cholesky_solve(A, b, n):
    """In place: A (n, n) becomes its Cholesky factor L (lower triangle), b becomes the solution x.
    Returns False if A is not positive definite."""
    for j in range(n):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if s <= 0.0:
            return False
        ljj = np.sqrt(s)
        A[j, j] = ljj
        for i in range(j + 1, n):
            t = A[i, j]
            for k in range(j):
                t -= A[i, k] * A[j, k]
            A[i, j] = t / ljj
    for i in range(n):  # L y = b
        t = b[i]
        for k in range(i):
            t -= A[i, k] * b[k]
        b[i] = t / A[i, i]
    for i in range(n - 1, -1, -1):  # L^T x = y
        t = b[i]
        for k in range(i + 1, n):
            t -= A[k, i] * b[k]
        b[i] = t / A[i, i]
    return True


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _cg_rows(X, Y, YtY, indptr, indices, values, alpha, steps, first, stop, stride):
    d = X.shape[1]
    r = np.empty(d, dtype=np.float32)
    p = np.empty(d, dtype=np.float32)
    ap = np.empty(d, dtype=np.float32)
    for u in range(first, stop, stride):
        # r = b - A x = sum_i c_i y_i - (YtY + lam I) x - sum_i (c_i - 1)(y_i . x) y_i
        for a in range(d):
            s = np.float32(0.0)
            for b in range(d):
                s += YtY[a, b] * X[u, b]
            r[a] = -s
        for k in range(indptr[u], indptr[u + 1]):
            i = indices[k]
            c = 1.0 + alpha * values[k]
            yx = np.float32(0.0)
            for a in range(d):
                yx += Y[i, a] * X[u, a]
            w = np.float32(c - (c - 1.0) * yx)
            for a in range(d):
                r[a] += w * Y[i, a]
        rs = np.float32(0.0)
        for a in range(d):
            p[a] = r[a]
            rs += r[a] * r[a]
        for _ in range(steps):
            if rs < 1e-20:
                break
            for a in range(d):
                s = np.float32(0.0)
                for b in range(d):
                    s += YtY[a, b] * p[b]
                ap[a] = s
            for k in range(indptr[u], indptr[u + 1]):
                i = indices[k]
                yp = np.float32(0.0)
                for a in range(d):
                    yp += Y[i, a] * p[a]
                w = np.float32(alpha * values[k] * yp)           # (c - 1) (y_i . p)
                for a in range(d):
                    ap[a] += w * Y[i, a]
            pap = np.float32(0.0)
            for a in range(d):
                pap += p[a] * ap[a]
            step = rs / pap
            rs_new = np.float32(0.0)
            for a in range(d):
                X[u, a] += step * p[a]
                r[a] -= step * ap[a]
                rs_new += r[a] * r[a]
            beta = rs_new / rs
            for a in range(d):
                p[a] = r[a] + beta * p[a]
            rs = rs_new


@jit(nogil=True, cache=True, fastmath=FASTMATH, parallel=True)
def _cg_rows_parallel(X, Y, YtY, indptr, indices, values, alpha, steps, workers):
    for t in prange(workers):  # thread t solves users t, t + workers, ...: independent, so any split gives the same X
        _cg_rows(X, Y, YtY, indptr, indices, values, alpha, steps, t, X.shape[0], workers)


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _cholesky_rows(X, Y, YtY, indptr, indices, values, alpha, first, stop, stride):
    d = X.shape[1]
    A = np.empty((d, d), dtype=np.float64)
    b = np.empty(d, dtype=np.float64)
    ok = True
    for u in range(first, stop, stride):
        for a in range(d):
            b[a] = 0.0
            for c_ in range(d):
                A[a, c_] = YtY[a, c_]
        for k in range(indptr[u], indptr[u + 1]):
            i = indices[k]
            cm1 = alpha * values[k]
            for a in range(d):
                ya = Y[i, a]
                b[a] += (1.0 + cm1) * ya
                w = cm1 * ya
                for c_ in range(a + 1):
                    A[a, c_] += w * Y[i, c_]
        for a in range(d):
            for c_ in range(a + 1, d):
                A[a, c_] = A[c_, a]
        if not _cholesky_solve(A, b, d):
            ok = False
        for a in range(d):
            X[u, a] = b[a]
    return ok


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _explicit_rows(X, xb, Y, yb, indptr, indices, values, mu, reg, first, stop, stride):
    d = X.shape[1]
    n = d + 1
    A = np.empty((n, n), dtype=np.float64)
    b = np.empty(n, dtype=np.float64)
    ok = True
    for u in range(first, stop, stride):
        lo = indptr[u]
        hi = indptr[u + 1]
        if hi == lo:
            for a in range(d):
                X[u, a] = 0.0
            xb[u] = 0.0
            continue
        for a in range(n):
            b[a] = 0.0
            for c_ in range(n):
                A[a, c_] = 0.0
        for k in range(lo, hi):
            i = indices[k]
            t = values[k] - mu - yb[i]
            for a in range(d):
                ya = Y[i, a]
                b[a] += t * ya
                for c_ in range(a + 1):
                    A[a, c_] += ya * Y[i, c_]
                A[d, a] += ya           # the bias column: y~_i[d] = 1
            A[d, d] += 1.0
            b[d] += t
        lam = reg * (hi - lo)
        for a in range(n):
            A[a, a] += lam
            for c_ in range(a + 1, n):
                A[a, c_] = A[c_, a]
        if not _cholesky_solve(A, b, n):
            ok = False
        for a in range(d):
            X[u, a] = b[a]
        xb[u] = b[d]
    return ok


@jit(nogil=True, cache=True, fastmath=FASTMATH, parallel=True)
def _explicit_rows_parallel(X, xb, Y, yb, indptr, indices, values, mu, reg, workers, oks):
    for t in prange(workers):
        oks[t] = _explicit_rows(X, xb, Y, yb, indptr, indices, values, mu, reg, t, X.shape[0], workers)


@jit(nogil=True, cache=True, fastmath=FASTMATH, parallel=True)
def _cholesky_rows_parallel(X, Y, YtY, indptr, indices, values, alpha, workers, oks):
    for t in prange(workers):
        oks[t] = _cholesky_rows(X, Y, YtY, indptr, indices, values, alpha, t, X.shape[0], workers)


# ========================================================================================= entry points
def _check(X, Y, indptr, indices, values):
    from .mf import check_csr

    for name, a in (("X", X), ("Y", Y)):
        if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.ndim != 2 or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float32 (rows, D) array")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same width, got {X.shape} and {Y.shape}")
    indptr, indices = check_csr(indptr, indices, X.shape[0], Y.shape[0])
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.shape != indices.shape:
        raise ValueError(f"one value per entry: {len(values)} values, {len(indices)} entries")
    if not np.isfinite(values).all():
        raise ValueError("values contain NaN or infinite numbers")
    return indptr, indices, values


def _workers(workers) -> int:
    from .validate import check_positive_int

    return check_positive_int(workers, "workers")


def implicit_rows(X, Y, indptr, indices, values, reg: float, alpha: float, solver: str = "cg", steps: int = 3,
                  workers: int = 1) -> None:
    """One implicit-ALS half-step: every row of ``X`` (U, D) re-solved against ``Y`` (I, D), in place.

    indptr/indices: the CSR of each row's items (sorted, unique); values (nnz,) interaction strengths
    ``r_ui`` (confidence ``1 + alpha r_ui``). ``solver="cg"``: ``steps`` conjugate-gradient iterations from
    the current rows (float32); ``"cholesky"``: the exact solution (float64 inside). The references run
    when ``MINEMBED_JIT=0``.
    """
    indptr, indices, values = _check(X, Y, indptr, indices, values)
    workers = _workers(workers)
    if solver not in ("cg", "cholesky"):
        raise ValueError(f"solver must be 'cg' or 'cholesky', got {solver!r}")
    if (values < 0).any() or alpha < 0:
        raise ValueError("implicit feedback needs values >= 0 and alpha >= 0 (confidence 1 + alpha r >= 1)")
    if not jit_enabled():
        if solver == "cg":
            implicit_rows_cg_reference(X, Y, indptr, indices, values, reg, alpha, steps)
        else:
            implicit_rows_cholesky_reference(X, Y, indptr, indices, values, reg, alpha)
        return
    if solver == "cg":
        YtY = np.empty((Y.shape[1], Y.shape[1]), dtype=np.float32)
        _gram(Y, np.float32(reg), YtY)
        if workers == 1:
            _cg_rows(X, Y, YtY, indptr, indices, values, np.float32(alpha), int(steps), 0, X.shape[0], 1)
        else:
            _cg_rows_parallel(X, Y, YtY, indptr, indices, values, np.float32(alpha), int(steps), workers)
        return
    YtY = np.empty((Y.shape[1], Y.shape[1]), dtype=np.float64)
    _gram(Y.astype(np.float64), float(reg), YtY)
    oks = np.ones(workers, dtype=np.bool_)
    if workers == 1:
        oks[0] = _cholesky_rows(X, Y, YtY, indptr, indices, values, float(alpha), 0, X.shape[0], 1)
    else:
        _cholesky_rows_parallel(X, Y, YtY, indptr, indices, values, float(alpha), workers, oks)
    if not oks.all():
        raise FloatingPointError("a normal-equation matrix was not positive definite (reg must be > 0)")


def explicit_rows(X, xb, Y, yb, indptr, indices, values, mu: float, reg: float, workers: int = 1) -> None:
    """One explicit (biased ALS-WR) half-step: rows of ``X`` (U, D) and biases ``xb`` (U,) re-solved against
    ``Y`` (I, D) and ``yb`` (I,), in place. ``values`` are the ratings of the CSR entries."""
    indptr, indices, values = _check(X, Y, indptr, indices, values)
    workers = _workers(workers)
    for name, a, n in (("xb", xb, X.shape[0]), ("yb", yb, Y.shape[0])):
        if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.shape != (n,):
            raise ValueError(f"{name} must be a float32 array of shape ({n},)")
    if not reg > 0:
        raise ValueError(f"reg must be > 0 for explicit ALS, got {reg}")
    if not jit_enabled():
        explicit_rows_reference(X, xb, Y, yb, indptr, indices, values, mu, reg)
        return
    oks = np.ones(workers, dtype=np.bool_)
    if workers == 1:
        oks[0] = _explicit_rows(X, xb, Y, yb, indptr, indices, values, float(mu), float(reg), 0, X.shape[0], 1)
    else:
        _explicit_rows_parallel(X, xb, Y, yb, indptr, indices, values, float(mu), float(reg), workers, oks)
    if not oks.all():
        raise FloatingPointError("a normal-equation matrix was not positive definite")
