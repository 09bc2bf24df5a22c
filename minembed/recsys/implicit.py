"""Implicit feedback (clicks, plays, "rated at all"): weighted ALS (Hu, Koren & Volinsky), BPR, most popular.

With implicit data there are no negative examples: an empty cell may be dislike or never-seen. The
models therefore learn to *rank*: :class:`ImplicitALS` fits every cell (observed = 1, empty = 0) with
more confidence in the observed ones; :class:`BPR` learns that an observed item should score above a
random unobserved one. Scored by precision@k, NDCG@k, ... on held-out interactions, beside
:class:`MostPopular` (:mod:`minembed.space.ranking`). Parameter names follow the ``implicit`` library.
"""
from __future__ import annotations

import time

import numpy as np

from ..kernels import als as _als
from ..kernels import mf as _mf
from ..kernels.blas import blas_threads
from ..kernels.validate import check_positive_int
from .base import Recommender, check_factors, check_nonneg, to_csr


class ImplicitALS(Recommender):
    """Weighted matrix factorisation for implicit feedback, solved by alternating least squares.

    Preference ``p_ui = 1`` where user u interacted with item i (strength ``r_ui``: a count, or a rating
    taken as one), else 0; confidence ``c_ui = 1 + alpha r_ui``. Minimises over all cells::

        sum_ui c_ui (p_ui - x_u . y_i)^2 + regularization (sum_u |x_u|^2 + sum_i |y_i|^2)

    Each half-iteration solves every user (then item) vector's normal equations (see
    :mod:`minembed.kernels.als`): ``solver="cg"`` with ``cg_steps`` conjugate-gradient steps from the
    previous vector (the ``implicit`` library's method; fast), or ``"cholesky"`` exactly (the readable
    reference; tested to reach the same factors). ``alpha`` differs from ``implicit``'s: there the
    confidence is ``alpha r_ui`` itself, here it is HKV's ``1 + alpha r_ui``.

    Defaults: 64 factors and 15 iterations as in ``benchmarks/bench_recsys.py``; ``regularization=20`` and
    ``alpha=0.25`` were chosen on MovieLens 100k (precision@10 rose from 0.35 at 0.05 / 1.0): strong
    regularisation pulls rarely seen items towards zero, which ranks the well-known ones first.

    BLAS threads: the solver calls no BLAS (the Gram matrix and the solves are Numba loops), so the
    ``OPENBLAS_NUM_THREADS=1`` advice of ``implicit`` is not needed; ``workers`` threads split the users.
    """

    _SETTINGS = ("factors", "regularization", "alpha", "iterations", "solver", "cg_steps", "calculate_training_loss",
                 "seed", "workers")

    def __init__(self, factors: int = 64, regularization: float = 20.0, alpha: float = 0.25, iterations: int = 15,
                 solver: str = "cg", cg_steps: int = 3, calculate_training_loss: bool = False, seed=0,
                 workers: int = 1):
        super().__init__()
        self.calculate_training_loss = bool(calculate_training_loss)
        self.factors = check_factors(factors)
        self.regularization = check_nonneg(regularization, "regularization")
        self.alpha = check_nonneg(alpha, "alpha")
        self.iterations = check_positive_int(iterations, "iterations")
        if solver not in ("cg", "cholesky"):
            raise ValueError(f"solver must be 'cg' or 'cholesky', got {solver!r}")
        if solver == "cholesky" and self.regularization <= 0:
            raise ValueError("solver='cholesky' needs regularization > 0")
        self.solver = solver
        self.cg_steps = check_positive_int(cg_steps, "cg_steps")
        self.seed = seed
        self.workers = check_positive_int(workers, "workers")

    def fit(self, data, n_users=None, n_items=None):
        """Train on ``data``: :class:`~minembed.datasets.Ratings` (ratings become strengths), ``(users, items)``
        (strength 1) or ``(users, items, strengths)``; repeated pairs add up. Returns self."""
        users, items, values = self._prepare(data, n_users, n_items, implicit=True)
        by_user = to_csr(users, items, values, self.n_users, self.n_items)
        by_item = to_csr(items, users, values, self.n_items, self.n_users)
        rng = self._rng()
        # small random start, as implicit does: CG refines from here, so it must not be all zeros
        X = (0.01 * rng.standard_normal((self.n_users, self.factors))).astype(np.float32)
        Y = (0.01 * rng.standard_normal((self.n_items, self.factors))).astype(np.float32)
        start = time.perf_counter()
        with blas_threads(1):
            for it in range(self.iterations):
                _als.implicit_rows(X, Y, *by_user, self.regularization, self.alpha, self.solver, self.cg_steps,
                                   self.workers)
                _als.implicit_rows(Y, X, *by_item, self.regularization, self.alpha, self.solver, self.cg_steps,
                                   self.workers)
                loss = _weighted_loss(X, Y, by_user, self.regularization, self.alpha) \
                    if self.calculate_training_loss else None
                self._record(it + 1, loss, start)
        self.user_factors, self.item_factors = X, Y
        return self

    def loss(self, data) -> float:
        """The weighted loss above (including the regularisation) on ``data``, per cell of the full matrix:
        dense, so for small data (tests, the lesson)."""
        self._check_fitted()
        users, items, values, *_ = _dense_inputs(data, self.n_users, self.n_items)
        C = np.ones((self.n_users, self.n_items))
        Pm = np.zeros((self.n_users, self.n_items))
        np.add.at(C, (users, items), self.alpha * values)
        Pm[users, items] = 1.0
        X, Y = self.user_factors.astype(np.float64), self.item_factors.astype(np.float64)
        fit = (C * (Pm - X @ Y.T) ** 2).sum()
        return float((fit + self.regularization * ((X ** 2).sum() + (Y ** 2).sum())) / C.size)


def _weighted_loss(X, Y, csr, reg, alpha) -> float:
    """The HKV loss per cell without the dense matrix: ``sum_all s^2`` is ``sum((X^T X) * (Y^T Y))`` and the
    observed cells correct it: ``+ c (1 - s)^2 - s^2`` (s = x_u . y_i). O(nnz D + (U + I) D^2)."""
    indptr, indices, values = csr
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    rows = np.repeat(np.arange(len(X)), np.diff(indptr))
    s = np.einsum("nd,nd->n", X64[rows], Y64[indices])
    c = 1.0 + alpha * values
    total = float(((X64.T @ X64) * (Y64.T @ Y64)).sum() + (c * (1 - s) ** 2 - s * s).sum())
    total += reg * float((X64 ** 2).sum() + (Y64 ** 2).sum())
    return total / (len(X) * len(Y))


def _dense_inputs(data, n_users, n_items):
    from .base import as_interactions

    return as_interactions(data, n_users, n_items, implicit=True)


class BPR(Recommender):
    """Bayesian personalised ranking (Rendle et al. 2009): SGD on ``log sigma(x_ui - x_uj)`` with sampled negatives.

    Score ``x_ui = p_u . q_i + b_i``. Each epoch draws as many (u, i, j) triples as there are interactions:
    (u, i) a random interaction, j a random item u never interacted with; one step raises
    ``log sigma(x_ui - x_uj)`` minus ``regularization`` times the squared norms (:mod:`minembed.kernels.mf`).

    Args: factors (>= 1), learning_rate, regularization, iterations (epochs), seed, workers (1:
    reproducible bits; more: lock-free threads). ``history["train_loss"]``: mean ``-log sigma`` per epoch.
    """

    _SETTINGS = ("factors", "learning_rate", "regularization", "iterations", "seed", "workers")
    _ARRAYS = ("user_factors", "item_factors", "item_bias")

    def __init__(self, factors: int = 64, learning_rate: float = 0.05, regularization: float = 0.002,
                 iterations: int = 60, seed=0, workers: int = 1):
        super().__init__()
        self.factors = check_factors(factors)
        self.learning_rate = check_nonneg(learning_rate, "learning_rate")
        self.regularization = check_nonneg(regularization, "regularization")
        self.iterations = check_positive_int(iterations, "iterations")
        self.seed = seed
        self.workers = check_positive_int(workers, "workers")

    def fit(self, data, n_users=None, n_items=None):
        """Train on ``data`` (any strength counts as one interaction; repeated pairs count once). Returns self."""
        users, items, values = self._prepare(data, n_users, n_items, implicit=True)
        indptr, indices = self._seen
        rng = self._rng()
        P = (0.1 * rng.standard_normal((self.n_users, self.factors))).astype(np.float32)
        Q = (0.1 * rng.standard_normal((self.n_items, self.factors))).astype(np.float32)
        bq = np.zeros(self.n_items, np.float32)
        start = time.perf_counter()
        for it in range(self.iterations):
            seed = int(rng.integers(2**63))
            loss, used = _mf.bpr_epoch(indptr, indices, P, Q, bq, len(indices), self.learning_rate,
                                       self.regularization, seed, self.workers)
            self._record(it + 1, loss / max(used, 1), start)
        self.user_factors, self.item_factors, self.item_bias = P, Q, bq
        return self

    def _scoring_tables(self):
        uv = np.hstack([self.user_factors, np.ones((self.n_users, 1), np.float32)])
        iv = np.hstack([self.item_factors, self.item_bias[:, None]])
        return uv, iv, None


class MostPopular(Recommender):
    """The baseline: every user gets the items with the most training interactions that they have not seen.
    No vectors of its own (``user_factors``/``item_factors`` are 1-D stand-ins: ones and the counts)."""

    _SETTINGS = ()

    def fit(self, data, n_users=None, n_items=None):
        self._prepare(data, n_users, n_items, implicit=True)
        self.user_factors = np.ones((self.n_users, 1), np.float32)
        self.item_factors = self.item_popularity[:, None].copy()
        return self

    def similar_items(self, item, k: int = 10):
        raise NotImplementedError("MostPopular has no item vectors: similar items are not defined")


def ratings_as_implicit(data, min_rating: float = 0.0):
    """Keep the ratings ``>= min_rating`` as implicit interactions of strength = the rating (a helper for
    MovieLens, where "rated at all" is the usual implicit signal)."""
    keep = np.flatnonzero(data.rating >= min_rating)
    return data.subset(keep)


__all__ = ["ImplicitALS", "BPR", "MostPopular", "ratings_as_implicit"]
