"""The embedding space: everything that *uses* vectors, whoever made them.

Producers (``minembed.text``, ``minembed.vision``, ...) train models and hand over vectors; this
package searches, compares, scores, stores and draws them:

* :mod:`~minembed.space.vectors` — :class:`KeyedVectors`: keys (words, item ids, image ids) -> rows.
* :mod:`~minembed.space.subwords` — :class:`FastTextKeyedVectors`: vectors for unseen words from n-grams.
* :mod:`~minembed.space.search` — exact top-k, :class:`ExactIndex`, analogies (3CosAdd, 3CosMul).
* :mod:`~minembed.space.hnsw` — :class:`HNSWIndex`, approximate search on a layered graph.
* :mod:`~minembed.space.ivf` — :class:`IVFIndex`, approximate search in k-means cells (inverted lists).
* :mod:`~minembed.space.ann` — what the indexes share (checks, filters, files, :func:`load_index`).
* :mod:`~minembed.space.evaluate` — word-pair correlations, k-NN accuracy.
* :mod:`~minembed.space.ranking` — RMSE/MAE with k-fold splits, precision/recall/NDCG/MAP@k of recommendations.
* :mod:`~minembed.space.formats` — word2vec text/binary files, Embedding Projector TSV.
* :mod:`~minembed.space.maps` — PCA, t-SNE, labelled plots.
* :mod:`~minembed.space.cluster` — :class:`KMeans` (k-means++, Lloyd, spherical/cosine).
* :mod:`~minembed.space.cluster_metrics` — inertia, NMI, adjusted Rand index.

It imports only ``minembed.kernels``, ``minembed.io``, ``minembed.progress`` and ``minembed.rng``
(a test reads the imports), so any producer can use it and it never depends on one.
"""
from . import ann, cluster, cluster_metrics, evaluate, formats, hnsw, ivf, maps, ranking, search, subwords, vectors
from .ann import load_index
from .cluster import KMeans
from .hnsw import HNSWIndex
from .ivf import IVFIndex
from .search import ExactIndex, analogy, nearest_neighbors, topk
from .subwords import FastTextKeyedVectors
from .vectors import KeyedVectors, WordVectors

__all__ = ["KeyedVectors", "WordVectors", "ExactIndex", "HNSWIndex", "IVFIndex", "load_index", "topk", "analogy",
           "nearest_neighbors", "search", "vectors", "evaluate", "formats", "maps", "ranking", "hnsw", "ivf", "ann",
           "KMeans", "cluster", "cluster_metrics"]
__all__ += ["FastTextKeyedVectors", "subwords"]
