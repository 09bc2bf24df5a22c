"""Explicit feedback (star ratings): biased matrix factorisation by SGD (Funk SVD) and by alternating least squares.

Both predict ``r^_ui = mu + b_u + b_i + p_u . q_i`` and are scored by RMSE on held-out ratings
(:func:`minembed.space.ranking.cross_validate`). Predictions are clipped to the range of the training
ratings (1..5 on MovieLens), as Surprise does.
"""
from __future__ import annotations

import time

import numpy as np

from ..kernels import als as _als
from ..kernels import mf as _mf
from ..kernels.blas import blas_threads
from ..kernels.validate import check_positive_int
from .base import Recommender, check_factors, check_nonneg, to_csr


class _RatingModel(Recommender):
    _ARRAYS = ("user_factors", "item_factors", "user_bias", "item_bias")

    def _scoring_tables(self):
        # score = mu + b_u + [p_u, 1] . [q_i, b_i]: the per-user part is added after ranking
        ones = np.ones((self.n_users, 1), np.float32)
        uv = np.hstack([self.user_factors, ones])
        iv = np.hstack([self.item_factors, self.item_bias[:, None]])
        return uv, iv, (self.global_mean + self.user_bias).astype(np.float32)

    def predict(self, users, items, clip: bool = True) -> np.ndarray:
        """Predicted ratings for pairs: users (N,), items (N,) row indices -> (N,) float32.
        Unknown (out-of-range or negative) ids raise ``IndexError`` naming the first."""
        self._check_fitted()
        users = np.atleast_1d(np.asarray(users))
        items = np.atleast_1d(np.asarray(items))
        for name, ids, n in (("user", users, self.n_users), ("item", items, self.n_items)):
            if ids.dtype == np.bool_ or not np.issubdtype(ids.dtype, np.integer):
                raise TypeError(f"{name} ids must be integers, got dtype {ids.dtype}")
            if ids.size and (ids.min() < 0 or ids.max() >= n):
                bad = ids[(ids < 0) | (ids >= n)][0]
                raise IndexError(f"{name} {bad} is unknown: this model has {name}s 0..{n - 1}")
        pred = _mf.predict(users, items, self.user_factors, self.item_factors, self.user_bias, self.item_bias,
                           self.global_mean)
        return np.clip(pred, *self.rating_range) if clip else pred

    def _extra_meta(self) -> dict:
        return {"global_mean": self.global_mean, "rating_range": list(self.rating_range)}

    def _set_extra_meta(self, extra: dict) -> None:
        self.global_mean = float(extra["global_mean"])
        self.rating_range = tuple(float(x) for x in extra["rating_range"])

    def _start(self, data, n_users, n_items):
        users, items, values = self._prepare(data, n_users, n_items)
        self.global_mean = float(values.astype(np.float64).mean())
        self.rating_range = (float(values.min()), float(values.max()))
        return users, items, values


class FunkSVD(_RatingModel):
    """Biased matrix factorisation trained by SGD: Surprise's ``SVD`` (same parameter names), from scratch.

    ``r^_ui = mu + b_u + b_i + p_u . q_i``; each epoch visits every training rating once in a fresh
    shuffled order and steps (see :mod:`minembed.kernels.mf`)::

        e = r_ui - r^_ui;  b_u += lr (e - reg b_u);  p_u += lr (e q_i - reg p_u);  q_i += lr (e p_u - reg q_i)

    Args:
        n_factors: D, the embedding size (>= 1). n_epochs: passes over the ratings.
        biased: learn ``mu``, ``b_u``, ``b_i`` (False: ``r^ = p . q``, Surprise's ``biased=False``).
        init_mean, init_std_dev: factors start as ``N(init_mean, init_std_dev^2)``; biases at 0.
        lr_all, reg_all: learning rate and L2 weight of every parameter; ``lr_bias``/``reg_bias`` override
            them for the biases.
        lr_decay: the learning rate is multiplied by this after every epoch (1.0 = constant, as in Surprise).
        seed: the start and every epoch's order (``[seed, epoch]``). workers: 1 gives the same bits for a
            seed; more run lock-free (Hogwild) threads on parts of each epoch, not reproducible bit for bit.

    Defaults differ from Surprise's (100 factors, 20 epochs, lr 0.005, reg 0.02, constant): on MovieLens
    100k (5-fold) 50 factors, 30 epochs, lr 0.01 decaying by 0.95 per epoch and reg 0.05 reach RMSE ~0.92
    instead of ~0.935, in less time (``benchmarks/bench_recsys.py`` prints both settings).
    """

    _SETTINGS = ("n_factors", "n_epochs", "biased", "init_mean", "init_std_dev", "lr_all", "reg_all", "lr_bias",
                 "reg_bias", "lr_decay", "seed", "workers")

    def __init__(self, n_factors: int = 50, n_epochs: int = 30, biased: bool = True, init_mean: float = 0.0,
                 init_std_dev: float = 0.1, lr_all: float = 0.01, reg_all: float = 0.05, lr_bias=None,
                 reg_bias=None, lr_decay: float = 0.95, seed=0, workers: int = 1):
        super().__init__()
        self.n_factors = check_positive_int(n_factors, "n_factors")
        self.n_epochs = check_positive_int(n_epochs, "n_epochs")
        self.biased = bool(biased)
        self.init_mean = float(init_mean)
        self.init_std_dev = check_nonneg(init_std_dev, "init_std_dev")
        self.lr_all = check_nonneg(lr_all, "lr_all")
        self.reg_all = check_nonneg(reg_all, "reg_all")
        self.lr_bias = None if lr_bias is None else check_nonneg(lr_bias, "lr_bias")
        self.reg_bias = None if reg_bias is None else check_nonneg(reg_bias, "reg_bias")
        self.lr_decay = check_nonneg(lr_decay, "lr_decay")
        self.seed = seed
        self.workers = check_positive_int(workers, "workers")

    def fit(self, data, n_users=None, n_items=None):
        """Train on ``data`` (:class:`~minembed.datasets.Ratings` or ``(users, items, ratings)``); returns self.
        ``history``: per epoch the training RMSE measured during the pass (``train_loss``) and seconds."""
        users, items, values = self._start(data, n_users, n_items)
        rng = self._rng()
        d = self.n_factors
        P = (self.init_mean + self.init_std_dev * rng.standard_normal((self.n_users, d))).astype(np.float32)
        Q = (self.init_mean + self.init_std_dev * rng.standard_normal((self.n_items, d))).astype(np.float32)
        bu = np.zeros(self.n_users, np.float32)
        bi = np.zeros(self.n_items, np.float32)
        mu = self.global_mean if self.biased else 0.0
        lr, lr_b = self.lr_all, self.lr_all if self.lr_bias is None else self.lr_bias
        reg_b = self.reg_all if self.reg_bias is None else self.reg_bias
        start = time.perf_counter()
        for epoch in range(self.n_epochs):
            order = np.random.default_rng([int(rng.integers(2**63)), epoch]).permutation(len(values))
            sse = self._epoch(users, items, values, order, P, Q, bu, bi, mu, lr, lr_b, reg_b)
            self._record(epoch + 1, np.sqrt(sse / len(values)), start)
            lr, lr_b = lr * self.lr_decay, lr_b * self.lr_decay
        self.user_factors, self.item_factors, self.user_bias, self.item_bias = P, Q, bu, bi
        self.global_mean = mu
        return self

    def _epoch(self, users, items, values, order, P, Q, bu, bi, mu, lr, lr_b, reg_b):
        if self.workers == 1:
            return _mf.sgd_epoch(users, items, values, order, P, Q, bu, bi, mu, lr, self.reg_all, lr_b, reg_b,
                                 self.biased)
        from concurrent.futures import ThreadPoolExecutor  # the kernel releases the GIL (nogil)

        parts = np.array_split(order, self.workers)
        with ThreadPoolExecutor(self.workers) as pool:
            sses = pool.map(lambda part: _mf.sgd_epoch(users, items, values, part, P, Q, bu, bi, mu, lr,
                                                       self.reg_all, lr_b, reg_b, self.biased), parts)
            return float(sum(sses))


class ExplicitALS(_RatingModel):
    """Biased matrix factorisation by alternating least squares (ALS-WR, Zhou et al. 2008).

    Same model as :class:`FunkSVD`; instead of stepping, each half-iteration solves every user's
    ``[p_u, b_u]`` exactly given the items (a (D+1)-dimensional ridge regression, penalty
    ``regularization * n_u``), then every item's ``[q_i, b_i]`` given the users (:mod:`minembed.kernels.als`).
    ``mu`` is the training mean and stays fixed. No learning rate to tune; each iteration costs
    ``O(nnz D^2 + (U + I) D^3)``.

    Args: factors (>= 1), iterations, regularization (> 0), seed (the start), workers (threads over
    users/items; each row's solve is independent, so any number gives the same factors).
    """

    _SETTINGS = ("factors", "iterations", "regularization", "seed", "workers")

    def __init__(self, factors: int = 10, iterations: int = 15, regularization: float = 0.1, seed=0,
                 workers: int = 1):
        super().__init__()
        self.factors = check_factors(factors)
        self.iterations = check_positive_int(iterations, "iterations")
        self.regularization = check_nonneg(regularization, "regularization")
        if self.regularization <= 0:
            raise ValueError(f"regularization must be > 0 for explicit ALS, got {regularization!r}")
        self.seed = seed
        self.workers = check_positive_int(workers, "workers")

    def fit(self, data, n_users=None, n_items=None):
        """Train on ``data`` (:class:`~minembed.datasets.Ratings` or ``(users, items, ratings)``); returns self.
        A (user, item) pair rated twice is refused. ``history["train_loss"]``: training RMSE per iteration."""
        users, items, values = self._start(data, n_users, n_items)
        by_user = to_csr(users, items, values, self.n_users, self.n_items, duplicates="error")
        by_item = to_csr(items, users, values, self.n_items, self.n_users, duplicates="error")
        rng = self._rng()
        P = (0.1 * rng.standard_normal((self.n_users, self.factors))).astype(np.float32)
        Q = (0.1 * rng.standard_normal((self.n_items, self.factors))).astype(np.float32)
        bu = np.zeros(self.n_users, np.float32)
        bi = np.zeros(self.n_items, np.float32)
        mu = self.global_mean
        start = time.perf_counter()
        with blas_threads(1):  # the kernels call no BLAS; keep NumPy's training-loss product on one thread too
            for it in range(self.iterations):
                _als.explicit_rows(P, bu, Q, bi, *by_user, mu, self.regularization, self.workers)
                _als.explicit_rows(Q, bi, P, bu, *by_item, mu, self.regularization, self.workers)
                pred = _mf.predict(users, items, P, Q, bu, bi, mu)
                self._record(it + 1, float(np.sqrt(np.mean((pred - values) ** 2))), start)
        self.user_factors, self.item_factors, self.user_bias, self.item_bias = P, Q, bu, bi
        return self
