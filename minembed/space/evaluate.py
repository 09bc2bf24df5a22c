"""Scores of an embedding space: correlations with human judgements, k-NN accuracy.

* :func:`pearson_r`, :func:`spearman_rho`, :func:`t_test_pvalue` — the statistics of word-pair
  evaluation (WordSim-353: does the model's similarity rank pairs as people do?).
* :func:`knn_predict`, :func:`knn_accuracy` — label a query by the majority of its ``k`` nearest
  (cosine) labelled neighbours: how well an embedding separates classes, with no training.
"""
from __future__ import annotations

import math

import numpy as np

from .search import check_query_database, nearest_neighbors


# ------------------------------------------------------------------------- statistics
def pearson_r(x, y) -> float:
    """Pearson correlation of two 1-D arrays (float64)."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    den = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y / den) if den > 0 else float("nan")


def rankdata(a) -> np.ndarray:
    """Ranks 1..n; tied values share the mean of the ranks they span (scipy's "average")."""
    a = np.asarray(a)
    order = np.argsort(a, kind="stable")
    sorted_a = a[order]
    starts = np.concatenate([[True], sorted_a[1:] != sorted_a[:-1]])
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.concatenate([first[1:], [len(a)]]) - 1
    mean_rank = (first + last) / 2.0 + 1.0
    ranks = np.empty(len(a))
    ranks[order] = mean_rank[group]
    return ranks


def spearman_rho(x, y) -> float:
    """Spearman rank correlation: Pearson's r of the ranks."""
    return pearson_r(rankdata(x), rankdata(y))


def t_test_pvalue(r: float, n: int) -> float:
    """Two-sided p-value of a correlation r over n pairs (t = r sqrt((n-2)/(1-r^2)), n-2 dof)."""
    df = n - 2
    if df <= 0 or not math.isfinite(r):
        return float("nan")
    if abs(r) >= 1.0:
        return 0.0
    t2 = r * r * df / (1.0 - r * r)
    return _betainc(df / 2.0, 0.5, df / (df + t2))


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) by its continued fraction (modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _betainc(b, a, 1.0 - x)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    tiny = 1e-300
    f, c, d = 1.0, 1.0, 0.0
    for i in range(0, 400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / (c if abs(c) > tiny else tiny)
        f *= c * d
        if abs(1.0 - c * d) < 1e-14:
            break
    return math.exp(log_front) * (f - 1.0) / a


# ------------------------------------------------------------------------ k-NN labels
def knn_predict(train_emb, train_labels, queries, k: int = 5) -> np.ndarray:
    """Majority vote of the labels of the ``k`` nearest (cosine) training embeddings: (Q,) int64.

    Ties between classes with the same number of votes go to the class whose voters have the
    larger total similarity (a tie-break worth less than one vote, so it never overrides a count).
    """
    labels = np.asarray(train_labels)
    q, db = check_query_database(queries, train_emb)
    if labels.shape != (len(db),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"train_labels must be (M,) = ({len(db)},) integers, got {labels.shape} {labels.dtype}")
    if len(labels) and labels.min() < 0:  # a -1 would silently vote for the last class
        i = int(np.argmax(labels < 0))
        raise ValueError(f"train_labels[{i}] = {labels[i]}: class labels must be >= 0")
    idx, sims = nearest_neighbors(q, db, k)
    votes = labels[idx].astype(np.int64)                                  # (Q, k)
    n_classes = int(labels.max()) + 1
    score = np.zeros((len(q), n_classes))
    rows = np.repeat(np.arange(len(q)), votes.shape[1])
    np.add.at(score, (rows, votes.ravel()), 1.0 + sims.ravel().astype(np.float64) / (2.0 * votes.shape[1] + 1))
    return score.argmax(axis=1)


def knn_accuracy(train_emb, train_labels, test_emb, test_labels, k: int = 5) -> float:
    """Fraction of test embeddings whose k-NN vote (:func:`knn_predict`) equals their label."""
    test_labels = np.asarray(test_labels)
    pred = knn_predict(train_emb, train_labels, test_emb, k)
    if test_labels.shape != pred.shape:
        raise ValueError(f"test_labels must have shape {pred.shape}, got {test_labels.shape}")
    return float((pred == test_labels).mean())
