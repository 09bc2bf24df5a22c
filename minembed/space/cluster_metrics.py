"""How good is a clustering? Inertia (no labels needed), and agreement with known labels (NMI, ARI).

Both label scores start from the *contingency table* ``n[i, j]``: how many points have true class i
and cluster j (row sums ``a_i``, column sums ``b_j``, N points). Cluster ids are arbitrary: renaming
clusters changes neither score.

* Normalised mutual information (scikit-learn's default, the arithmetic mean)::

      MI  = sum_ij n_ij/N * log(N n_ij / (a_i b_j))       H(U) = -sum_i a_i/N log(a_i/N)
      NMI = MI / ((H(U) + H(V)) / 2)

  1 when the clustering is the classes renamed, 0 when it tells nothing about them (independent).
  Both partitions a single group: 1 (they agree); only one of them a single group: 0.

* Adjusted Rand index: of the N(N-1)/2 pairs of points, count those both partitions put together
  (``tp``), apart (``tn``), or disagree on (``fp``, ``fn``); the Rand index ``(tp + tn) / pairs`` is
  then corrected for chance, so random labels score about 0 (it can be negative) and equal
  partitions 1::

      ARI = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn))
"""
from __future__ import annotations

import numpy as np


def _labels(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per point), got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name} contains NaN or infinite labels (position {bad})")
    return arr


def contingency_table(labels_true, labels_pred) -> np.ndarray:
    """``n[i, j]``: points of class i (sorted unique true labels) in cluster j (sorted unique predictions)."""
    t, p = _labels(labels_true, "labels_true"), _labels(labels_pred, "labels_pred")
    if t.shape != p.shape:
        raise ValueError(f"labels_true and labels_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    _, ti = np.unique(t, return_inverse=True)
    _, pi = np.unique(p, return_inverse=True)
    nt, np_ = (ti.max() + 1, pi.max() + 1) if t.size else (0, 0)
    return np.bincount(ti * np_ + pi, minlength=nt * np_).reshape(nt, np_).astype(np.int64)


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def mutual_info_score(labels_true, labels_pred) -> float:
    """Mutual information (nats) between two labellings of the same points."""
    n = contingency_table(labels_true, labels_pred).astype(np.float64)
    total = n.sum()
    if total == 0:
        return 0.0
    a, b = n.sum(1, keepdims=True), n.sum(0, keepdims=True)
    nz = n > 0
    return float(max((n[nz] / total * np.log(total * n[nz] / (a @ b)[nz])).sum(), 0.0))


def normalized_mutual_info_score(labels_true, labels_pred) -> float:
    """NMI with the arithmetic mean of the two entropies (scikit-learn's default); in [0, 1]."""
    n = contingency_table(labels_true, labels_pred)
    if n.shape[0] == n.shape[1] <= 1:   # both one group (or no points): the partitions agree
        return 1.0
    h_true, h_pred = _entropy(n.sum(1)), _entropy(n.sum(0))
    mi = mutual_info_score(labels_true, labels_pred)
    if mi == 0.0:
        return 0.0
    return float(min(mi / ((h_true + h_pred) / 2.0), 1.0))


def pair_confusion_matrix(labels_true, labels_pred) -> np.ndarray:
    """2 x 2 counts of point pairs: [[tn, fp], [fn, tp]] (ordered pairs, as scikit-learn counts them)."""
    n = contingency_table(labels_true, labels_pred)
    total = int(n.sum())
    sq = int((n.astype(np.int64) ** 2).sum())
    a, b = n.sum(1).astype(np.int64), n.sum(0).astype(np.int64)
    tp = sq - total
    fp = int((b ** 2).sum()) - sq
    fn = int((a ** 2).sum()) - sq
    tn = total * total - fp - fn - sq
    return np.array([[tn, fp], [fn, tp]], dtype=np.int64)


def adjusted_rand_score(labels_true, labels_pred) -> float:
    """Adjusted Rand index: 1 for equal partitions, about 0 for random labels, can be negative."""
    (tn, fp), (fn, tp) = pair_confusion_matrix(labels_true, labels_pred).tolist()
    if fn == 0 and fp == 0:   # the same partition (also: fewer than two points)
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


def inertia(x, labels, centers=None) -> float:
    """``sum_i |x_i - c_{labels_i}|^2`` (float64). ``centers`` (k, D), or None: each cluster's mean."""
    x64 = np.asarray(x, dtype=np.float64)
    lab = np.asarray(labels)
    if x64.ndim != 2 or lab.shape != (x64.shape[0],):
        raise ValueError(f"x must be (N, D) and labels (N,), got {x64.shape} and {lab.shape}")
    if not np.issubdtype(lab.dtype, np.integer) or (lab.size and lab.min() < 0):
        raise ValueError("labels must be non-negative integers (cluster ids)")
    if centers is None:
        k = int(lab.max()) + 1 if lab.size else 0
        sums = np.zeros((k, x64.shape[1]))
        np.add.at(sums, lab, x64)
        centers = sums / np.maximum(np.bincount(lab, minlength=k), 1)[:, None]
    centers = np.asarray(centers, dtype=np.float64)
    if lab.size and lab.max() >= centers.shape[0]:
        raise ValueError(f"label {int(lab.max())} has no centre (there are {centers.shape[0]})")
    return float(((x64 - centers[lab]) ** 2).sum())
