"""Scores of recommendations: rating errors, k-fold splits, and ranking metrics with seen items filtered.

Two questions a recommender answers, two kinds of score:

* **Explicit ratings** ("how many stars?"): :func:`rmse` and :func:`mae` of predicted against held-out
  ratings, averaged over the folds of :func:`kfold_splits` (:func:`cross_validate`).
* **Top-k lists** ("what to show?"): for each user with held-out items ``T_u`` and a list
  ``L_u = (l_1, ..., l_k)`` that never contains an item the user had in training (the seen items are
  filtered *before* ranking, :func:`top_k_items`), with ``hit_j = [l_j in T_u]``::

      precision@k = sum_j hit_j / k
      recall@k    = sum_j hit_j / |T_u|
      NDCG@k      = sum_j hit_j / log2(j + 1)  /  sum_{j <= min(k, |T_u|)} 1 / log2(j + 1)     (j = 1..k)
      AP@k        = sum_j hit_j * precision@j  /  min(k, |T_u|)                                  (MAP@k: mean of AP@k)

  each averaged over the users with at least one held-out item (:func:`ranking_metrics`). A
  most-popular list (:func:`most_popular_scores`, seen items filtered too) is the baseline every
  model must beat: with no personalisation at all it is already hard to beat on MovieLens.

The metric definitions follow the usual textbook ones; ``implicit``'s ``precision_at_k`` divides the
hits by ``min(k, |T_u|)`` summed over users instead (:func:`ranking_metrics` gives it as
``"precision_implicit"`` to compare with figures printed by that library).
"""
from __future__ import annotations

import numpy as np

from ..kernels.validate import as_index_array, check_positive_int
from ..rng import make_rng
from .search import ExactIndex, as_vectors


# -------------------------------------------------------------------------------------- rating errors
def _pair_arrays(predicted, actual) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if p.shape != a.shape:
        raise ValueError(f"predicted and actual must have the same length, got {p.size} and {a.size}")
    if p.size == 0:
        raise ValueError("no ratings to score (empty arrays)")
    if not (np.isfinite(p).all() and np.isfinite(a).all()):
        raise ValueError("predicted or actual ratings contain NaN or infinite values")
    return p, a


def rmse(predicted, actual) -> float:
    """Root mean squared error ``sqrt(mean((p - a)^2))`` (float64)."""
    p, a = _pair_arrays(predicted, actual)
    return float(np.sqrt(np.mean((p - a) ** 2)))


def mae(predicted, actual) -> float:
    """Mean absolute error ``mean(|p - a|)`` (float64)."""
    p, a = _pair_arrays(predicted, actual)
    return float(np.mean(np.abs(p - a)))


def kfold_splits(n: int, n_splits: int = 5, seed=0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` (train, test) index pairs over ``range(n)``: one shuffle, then consecutive folds whose
    sizes differ by at most one; every index is in exactly one test fold (Surprise's ``KFold`` does the same)."""
    n_splits = check_positive_int(n_splits, "n_splits")
    if n_splits < 2 or n < n_splits:
        raise ValueError(f"need 2 <= n_splits <= n, got n_splits={n_splits}, n={n}")
    order = make_rng(seed=seed).permutation(n)
    bounds = np.linspace(0, n, n_splits + 1).round().astype(np.int64)
    folds = []
    for f in range(n_splits):
        test = np.sort(order[bounds[f]:bounds[f + 1]])
        train = np.sort(np.concatenate([order[:bounds[f]], order[bounds[f + 1]:]]))
        folds.append((train, test))
    return folds


def train_test_split(n: int, test_size: float = 0.2, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """One random split of ``range(n)``: (train indices, test indices), each sorted."""
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    order = make_rng(seed=seed).permutation(n)
    n_test = int(round(test_size * n))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def cross_validate(make_model, data, n_splits: int = 5, seed=0) -> dict:
    """k-fold RMSE and MAE: for each fold, ``model = make_model()``, ``model.fit(train)``, then
    ``model.predict(test.user, test.item)`` against ``test.rating``.

    ``data`` is anything with ``len()``, ``.subset(rows)`` and ``user``/``item``/``rating`` arrays
    (:class:`minembed.datasets.Ratings`). Returns ``{"rmse": [...], "mae": [...], "fit_seconds": [...]}``
    per fold, plus their means as ``"mean_rmse"``, ``"mean_mae"``.
    """
    import time

    out = {"rmse": [], "mae": [], "fit_seconds": []}
    for train_rows, test_rows in kfold_splits(len(data), n_splits, seed):
        train, test = data.subset(train_rows), data.subset(test_rows)
        model = make_model()
        start = time.perf_counter()
        model.fit(train)
        out["fit_seconds"].append(time.perf_counter() - start)
        pred = model.predict(test.user, test.item)
        out["rmse"].append(rmse(pred, test.rating))
        out["mae"].append(mae(pred, test.rating))
    out["mean_rmse"] = float(np.mean(out["rmse"]))
    out["mean_mae"] = float(np.mean(out["mae"]))
    return out


# ----------------------------------------------------------------------------------- seen items (CSR)
def interactions_csr(users, items, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indptr (n_users + 1,), indices)``: the items of user u are ``indices[indptr[u]:indptr[u + 1]]``,
    sorted, each once. Ids are checked against ``n_users`` / ``n_items`` (IndexError naming the bad one)."""
    u = as_index_array(np.asarray(users).ravel(), n_users, "user id")
    i = as_index_array(np.asarray(items).ravel(), n_items, "item id")
    if len(u) != len(i):
        raise ValueError(f"users and items must have the same length, got {len(u)} and {len(i)}")
    pairs = np.unique(u * n_items + i)
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs // n_items, minlength=n_users), out=indptr[1:])
    return indptr, (pairs % n_items).astype(np.int64)


# -------------------------------------------------------------------------------------- top-k lists
def top_k_items(user_vectors, item_vectors, k: int, seen=None, users=None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items with the highest score ``user . item`` for each user, through the shared exact search.

    user_vectors (U, D), item_vectors (I, D); ``seen`` = ``(indptr, indices)`` from :func:`interactions_csr`
    over all U users (or None): those items are never returned (the usual protocol: a user's training
    items are not recommendations). ``users`` (Q,) picks rows of ``user_vectors`` (default: all).
    Returns ``(items (Q, min(k, I)) int64, scores float32)``, best first; a -1 / -inf tail where a user
    has seen nearly everything. A score such as a bias is added by augmenting the vectors: ``[u, 1]``
    against ``[v, b_i]``.
    """
    k = check_positive_int(k, "k")
    uv = as_vectors(user_vectors, "user_vectors")
    iv = as_vectors(item_vectors, "item_vectors")
    if uv.ndim != 2 or iv.ndim != 2 or uv.shape[1] != iv.shape[1]:
        raise ValueError(f"user_vectors (U, D) and item_vectors (I, D) must share D, got {uv.shape}, {iv.shape}")
    rows = np.arange(len(uv)) if users is None else as_index_array(np.atleast_1d(users), len(uv), "user")
    exclude = None
    if seen is not None:
        indptr, indices = seen
        if len(indptr) != len(uv) + 1:
            raise ValueError(f"seen has {len(indptr) - 1} users, user_vectors {len(uv)}")
        exclude = [indices[indptr[u]:indptr[u + 1]] for u in rows]
    return ExactIndex(iv, metric="dot").search(uv[rows], min(k, len(iv)), exclude=exclude)


def most_popular_scores(items, n_items: int) -> np.ndarray:
    """(n_items,) float32: how many training interactions each item has (the popularity baseline's score)."""
    i = as_index_array(np.asarray(items).ravel(), n_items, "item id")
    return np.bincount(i, minlength=n_items).astype(np.float32)


def most_popular_top_k(train_users, train_items, n_users: int, n_items: int, k: int,
                       users=None) -> tuple[np.ndarray, np.ndarray]:
    """The most-popular baseline: every user gets the most interacted-with items they have not seen.
    Computed as :func:`top_k_items` with 1-D "vectors": users all 1, items their popularity."""
    pop = most_popular_scores(train_items, n_items)[:, None]
    seen = interactions_csr(train_users, train_items, n_users, n_items)
    return top_k_items(np.ones((n_users, 1), np.float32), pop, k, seen=seen, users=users)


# ---------------------------------------------------------------------------------- ranking metrics
def ranking_metrics(recommended, test_users, test_items, k: int, users=None) -> dict:
    """precision@k, recall@k, NDCG@k and MAP@k of top-k lists against held-out interactions (see the module docstring).

    recommended (U, >= k) int item ids, best first (-1 = no item); row r belongs to user ``users[r]``
    (default: row r is user r). ``test_users`` / ``test_items`` (N,) held-out pairs (duplicates count once).
    Users with no held-out item are left out of the means; ``"users"`` says how many were averaged.
    """
    k = check_positive_int(k, "k")
    rec = np.asarray(recommended)
    if rec.ndim != 2 or rec.shape[1] < k:
        raise ValueError(f"recommended must be (users, >= k={k}) item ids, got shape {rec.shape}")
    rec = rec[:, :k]
    rows = np.arange(len(rec)) if users is None else np.asarray(users, dtype=np.int64)
    if len(rows) != len(rec):
        raise ValueError(f"{len(rows)} users for {len(rec)} lists")
    n_items = int(max(rec.max(initial=-1), np.max(test_items, initial=-1))) + 1
    n_users = int(max(rows.max(initial=-1), np.max(test_users, initial=-1))) + 1
    indptr, indices = interactions_csr(test_users, test_items, n_users, max(n_items, 1))
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    sums = dict(precision=0.0, recall=0.0, ndcg=0.0, map=0.0)
    hits_total, denom_total, counted = 0, 0, 0
    for r, u in enumerate(rows):
        truth = indices[indptr[u]:indptr[u + 1]]
        if len(truth) == 0:
            continue
        hit = np.isin(rec[r], truth) & (rec[r] >= 0)
        n_hit = int(hit.sum())
        best = min(k, len(truth))
        sums["precision"] += n_hit / k
        sums["recall"] += n_hit / len(truth)
        sums["ndcg"] += float(discount[hit].sum() / discount[:best].sum())
        sums["map"] += float((np.cumsum(hit) / np.arange(1, k + 1))[hit].sum() / best)
        hits_total += n_hit
        denom_total += best
        counted += 1
    if counted == 0:
        raise ValueError("no user in the lists has a held-out item: nothing to score")
    out = {name: value / counted for name, value in sums.items()}
    out["precision_implicit"] = hits_total / denom_total
    out["users"] = counted
    return out
