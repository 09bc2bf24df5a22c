"""Image retrieval with embeddings: nearest neighbours by cosine similarity, k-NN accuracy,
and a picture grid of queries and what they retrieved.

Cosine similarity of two vectors is the dot product of their unit-length versions, so
after normalising every row once, "the k most similar database rows of every query" is a
matrix product followed by a partial sort of each row. :func:`minembed.similarity.topk`
does exactly that, block by block, keeping only a k-sized heap per query (lesson 04).
"""
from __future__ import annotations

import numpy as np

from ..similarity import topk


def _cosine_topk(queries: np.ndarray, database: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The one place retrieval searches: for each query row, the ``k`` database rows of highest
    cosine similarity, best first. (Q, D), (M, D) -> (indices (Q, k) int64, similarities (Q, k)).

    It is the exact top-k of :mod:`minembed.similarity` (blocked score matrices folded into
    per-query heaps, so 10k queries over 60k images never hold a 10k x 60k matrix).
    """
    return topk(queries, database, k, metric="cosine")


def _check_pair(queries, database) -> tuple[np.ndarray, np.ndarray]:
    q, db = np.asarray(queries), np.asarray(database)
    if q.ndim != 2 or db.ndim != 2 or q.shape[1] != db.shape[1]:
        raise ValueError(f"queries (Q, D) and database (M, D) must be matrices of the same width, got "
                         f"{q.shape} and {db.shape}")
    for name, a in (("queries", q), ("database", db)):
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"{name} must be float vectors, got dtype {a.dtype}")
    # NaN / inf are caught by minembed.similarity.topk, which names the row, in its one pass.
    if len(db) == 0:
        raise ValueError("the database is empty")
    return q, db


def nearest_neighbors(queries, database, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar rows of ``database`` for each query, best first.

    queries (Q, D), database (M, D) float -> (indices (Q, k) int64 into database, similarities (Q, k)).
    ``k`` is capped at M. A zero vector has similarity 0 to everything.
    """
    q, db = _check_pair(queries, database)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return _cosine_topk(q, db, min(int(k), len(db)))


def knn_predict(train_emb, train_labels, queries, k: int = 5) -> np.ndarray:
    """Majority vote of the labels of the ``k`` nearest (cosine) training embeddings: (Q,) int64.

    Ties between classes with the same number of votes go to the class whose voters have the
    larger total similarity (a tie-break worth less than one vote, so it never overrides a count).
    """
    labels = np.asarray(train_labels)
    q, db = _check_pair(queries, train_emb)
    if labels.shape != (len(db),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"train_labels must be (M,) = ({len(db)},) integers, got {labels.shape} {labels.dtype}")
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


def plot_neighbors(query_images, database_images, indices, similarities=None, query_labels=None,
                   database_labels=None, path=None, title: str | None = None):
    """A grid: one row per query, the query image first, then its neighbours (best first).

    query_images (Q, H, W), database_images (M, H, W), indices (Q, k) from
    :func:`nearest_neighbors`. Neighbours whose label differs from the query's are framed in
    red. Returns the matplotlib Figure (saved to ``path`` when given).
    """
    import matplotlib.pyplot as plt

    qi, dbi, idx = np.asarray(query_images), np.asarray(database_images), np.asarray(indices)
    if qi.ndim == 4:
        qi = qi[:, 0]
    if dbi.ndim == 4:
        dbi = dbi[:, 0]
    if idx.ndim != 2 or len(idx) != len(qi):
        raise ValueError(f"indices must be (Q, k) with Q = {len(qi)} queries, got {idx.shape}")
    n_q, k = idx.shape
    fig, axes = plt.subplots(n_q, k + 1, figsize=(1.2 * (k + 1), 1.25 * n_q), squeeze=False)
    for r in range(n_q):
        ax = axes[r, 0]
        ax.imshow(qi[r], cmap="gray_r")
        ax.set_title("query" if query_labels is None else f"query: {query_labels[r]}", fontsize=8)
        for spine in ax.spines.values():
            spine.set_edgecolor("tab:blue")
            spine.set_linewidth(2)
        for c in range(k):
            ax = axes[r, c + 1]
            j = idx[r, c]
            ax.imshow(dbi[j], cmap="gray_r")
            text = [] if database_labels is None else [str(database_labels[j])]
            if similarities is not None:
                text.append(f"{similarities[r, c]:.2f}")
            ax.set_title(" ".join(text), fontsize=8)
            if query_labels is not None and database_labels is not None and database_labels[j] != query_labels[r]:
                for spine in ax.spines.values():
                    spine.set_edgecolor("red")
                    spine.set_linewidth(2)
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
