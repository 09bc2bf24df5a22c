"""Image retrieval, seen: a grid of query images and the images their embeddings retrieved.

The search itself is :func:`minembed.space.search.nearest_neighbors` (exact cosine top-k) and the
k-NN scores are in :mod:`minembed.space.evaluate`; they work on any vectors, not only images.
"""
from __future__ import annotations

import numpy as np


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
