"""k-means clustering: k-means++ seeding, Lloyd's iterations, and a spherical (cosine) variant.

The problem: split N vectors into k groups, each summed up by its mean (its *centre*), so that the
total squared distance of every vector to its own centre, the *inertia*, is as small as possible::

    inertia = sum_i |x_i - c_{label(i)}|^2

Lloyd's algorithm alternates the two steps that each lower it:

* **assign**: give every point the label of its nearest centre (for fixed centres, best labels);
* **update**: move every centre to the mean of its points (for fixed labels, the mean minimises the
  squared distances: the gradient ``sum_i 2 (c - x_i)`` vanishes there).

Neither step can raise the inertia, so it stops at a local minimum, which depends on the start.

Seeding (``init``):

* ``"k-means++"`` (Arthur & Vassilvitskii 2007): the first centre is a random point; each next one is
  drawn with probability proportional to its squared distance to the nearest centre chosen so far
  (D^2 sampling). One pass over the data per centre.
* ``"greedy-k-means++"``: at each step draw ``n_local_trials`` (default ``2 + int(ln k)``) candidates
  the same way and keep the one that lowers the total most. This is what scikit-learn's
  ``init="k-means++"`` does. The candidates are scored together in one pass over the data, so it costs
  little more than plain k-means++ when the data does not fit in cache.
* ``"random"``: k distinct points drawn uniformly. An array (k, D): those centres.
* ``init_size``: seed on a random subsample of that many points (scikit-learn's MiniBatchKMeans has
  the same option), for when even one pass per centre over all the data is too slow.

``metric="cosine"`` is *spherical* k-means (Dhillon & Modha 2001): points are scaled to unit length,
every centre is the normalised mean of its points, and the nearest centre is the one of largest
cosine. For unit vectors ``|x - c|^2 = 2 - 2 cos(x, c)``, so the same kernels serve both;
``inertia_`` is then ``sum_i (1 - cos(x_i, c_label(i)))``. Zero vectors have no direction and are
refused.

Stopping: after ``max_iter`` iterations, when no label changed, or when the centres moved by at
most ``tol`` in total (``sum_j |c_j(new) - c_j(old)|^2 <= tol * mean per-feature variance of X``,
scikit-learn's rule). ``labels_`` and ``inertia_`` always belong to the final ``cluster_centers_``.

Empty clusters: when a centre ends an assignment step with no point, it is moved onto the point
farthest from its own centre (taken from a cluster that keeps at least one point), the next empty
one onto the next farthest, and so on; that point changes cluster. This is scikit-learn's rule too.
If the data has fewer distinct points than k, some centres coincide and a ``RuntimeWarning`` says so.

Memory: X as float32, the centres, one block of (rows x k) inner products per thread, N labels and
distances; never an (N, k) matrix (see :mod:`minembed.kernels.kmeans`).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..kernels import kmeans as _k
from ..kernels.blas import blas_threads
from ..kernels.validate import check_positive_int
from ..rng import make_rng
from .search import as_vectors

INITS = ("k-means++", "greedy-k-means++", "random")
CLUSTER_METRICS = ("euclidean", "cosine")


def _threads(n_threads):
    if n_threads is None:
        if not _k.jit_enabled():
            return 1
        from ..kernels.jit import get_num_threads
        return get_num_threads()
    return check_positive_int(n_threads, "n_threads")


def _prepare(x, metric: str, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """``x`` as float32 (N, D), unit rows for cosine, and its squared row norms (float64)."""
    x = as_vectors(x, name)          # float32, C-contiguous; NaN/inf refused naming the row
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (one vector per row), got shape {x.shape}")
    xsq = _k.row_sqnorms(x)
    if metric == "cosine":
        zero = np.flatnonzero(xsq == 0)
        if zero.size:
            raise ValueError(f"{name} row {zero[0]} is a zero vector: cosine k-means needs a direction for every row")
        x = (x / np.sqrt(xsq)[:, None]).astype(np.float32)
        xsq = _k.row_sqnorms(x)
    return x, xsq


def kmeans_plusplus(x, n_clusters: int, *, n_local_trials: int | None = 1, seed=None, rng=None,
                    x_sqnorms: np.ndarray | None = None, n_threads: int | None = 1):
    """k-means++ seeding: ``(centers (k, D) float32, indices (k,) int64)``, the chosen rows of ``x``.

    ``n_local_trials=1`` is plain k-means++; ``None`` means ``2 + int(ln k)`` candidates per step, the
    greedy variant (scikit-learn's ``kmeans_plusplus``). x (N, D), finite (converted to float32).
    Step t draws its candidates with probability ``closest / closest.sum()``
    where ``closest`` is every point's squared distance to its nearest centre so far.
    """
    rng = make_rng(rng, seed)
    x = as_vectors(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D (one vector per row), got shape {x.shape}")
    n = x.shape[0]
    k = check_positive_int(n_clusters, "n_clusters")
    if k > n:
        raise ValueError(f"n_clusters={k} is larger than the number of points ({n})")
    trials = 2 + int(math.log(k)) if n_local_trials is None else check_positive_int(n_local_trials, "n_local_trials")
    xsq = _k.row_sqnorms(x) if x_sqnorms is None else x_sqnorms
    threads = _threads(n_threads)
    indices = np.empty(k, dtype=np.int64)
    indices[0] = rng.integers(n)
    _, d0 = _k.kmeanspp_trials(x, x[indices[:1]], np.full(n, np.inf), xsq, n_threads=threads)
    closest = d0[:, 0].astype(np.float64)
    coincide = False
    for c in range(1, k):
        cum = np.cumsum(closest)
        total = cum[-1]
        if total <= 0:   # every point sits on a centre already: fewer distinct points than k
            coincide = True
            cand = rng.integers(n, size=trials)
        else:
            cand = np.minimum(np.searchsorted(cum, rng.random(trials) * total, side="right"), n - 1)
        pots, dists = _k.kmeanspp_trials(x, x[cand], closest, xsq, n_threads=threads)
        best = int(np.argmin(pots))
        indices[c] = cand[best]
        np.minimum(closest, dists[:, best], out=closest)
    if coincide:
        warnings.warn(f"the data has fewer than n_clusters={k} distinct points: some centres coincide",
                      RuntimeWarning, stacklevel=2)
    return x[indices].copy(), indices


def _relocate_empty(x, labels, dist, sums, counts):
    """Move each empty cluster onto the farthest point of a cluster that keeps >= 1 point (in place)."""
    empty = np.flatnonzero(counts == 0)
    if empty.size == 0:
        return
    order = np.argsort(-dist, kind="stable")
    e = 0
    for i in order:
        if e == empty.size or dist[i] <= 0:
            break
        old = labels[i]
        if counts[old] <= 1:
            continue
        new = empty[e]
        counts[old] -= 1
        sums[old] -= x[i]
        counts[new] = 1
        sums[new] = x[i]
        labels[i] = new
        dist[i] = 0.0
        e += 1


def _lloyd(x, xsq, centers, metric, max_iter, tol, threads):
    """Lloyd's iterations from ``centers``; returns (centers, labels, inertia, n_iter)."""
    labels_prev = None
    strict = False
    n_iter = 0
    for it in range(max_iter):
        labels, dist, sums, counts = _k.assign(x, centers, xsq, update=True, n_threads=threads)
        _relocate_empty(x, labels, dist, sums, counts)
        new = sums / np.maximum(counts, 1)[:, None]
        new[counts == 0] = centers[counts == 0]   # fewer distinct points than k: keep the old centre
        if metric == "cosine":
            norms = np.linalg.norm(new, axis=1, keepdims=True)
            new = np.where(norms > 0, new / np.where(norms > 0, norms, 1), centers)
        new = new.astype(np.float32)
        shift = float(((new.astype(np.float64) - centers) ** 2).sum())
        centers = new
        n_iter = it + 1
        if labels_prev is not None and np.array_equal(labels, labels_prev):
            strict = True   # same labels as the step before: these centres are the previous ones
            break
        labels_prev = labels
        if shift <= tol:
            break
    if not strict:
        labels, dist = _k.assign(x, centers, xsq, n_threads=threads)
    inertia = float(dist.sum()) / (2.0 if metric == "cosine" else 1.0)
    return centers, labels, inertia, n_iter


class KMeans:
    """k-means with scikit-learn's names: ``KMeans(n_clusters).fit(X)``, then ``cluster_centers_``,
    ``labels_``, ``inertia_``, ``n_iter_``; ``predict(X)`` labels new points.

    Parameters
    ----------
    n_clusters : int >= 1, the number of centres k (at most the number of points).
    init : ``"k-means++"``, ``"greedy-k-means++"``, ``"random"`` or an array (k, D) of centres.
    n_init : int >= 1, independent seedings; the run with the lowest inertia is kept (an array
        ``init`` runs once).
    max_iter : int >= 1, Lloyd iterations per run.
    tol : float >= 0, relative tolerance on the centres' movement (see the module docstring).
    seed, rng : where randomness comes from (:func:`minembed.rng.make_rng`); ``seed=0`` by default.
    metric : ``"euclidean"`` or ``"cosine"`` (spherical k-means: unit centres, largest cosine).
    init_size : int or None, seed on a random subsample of this many points (None: all of them).
    n_local_trials : candidates per step of ``"greedy-k-means++"`` (None: ``2 + int(ln k)``).
    n_threads : threads for the passes over the data (None: Numba's thread count). BLAS runs with
        one thread inside ``fit``/``predict``; the rows are split between threads instead.

    Shapes: X (N, D) real numbers (converted to float32 once); ``cluster_centers_`` (k, D) float32,
    ``labels_`` (N,) int64, ``inertia_`` float.
    """

    def __init__(self, n_clusters: int = 8, *, init="k-means++", n_init: int = 1, max_iter: int = 300,
                 tol: float = 1e-4, seed=0, rng=None, metric: str = "euclidean", init_size: int | None = None,
                 n_local_trials: int | None = None, n_threads: int | None = None):
        self.n_clusters = check_positive_int(n_clusters, "n_clusters")
        if isinstance(init, str):
            if init not in INITS:
                raise ValueError(f"init must be one of {INITS} or an array (k, D), got {init!r}")
        else:
            init = as_vectors(init, "init")
            if init.ndim != 2 or init.shape[0] != self.n_clusters:
                raise ValueError(f"an init array must have shape (n_clusters={self.n_clusters}, D), got {init.shape}")
        self.init = init
        self.n_init = check_positive_int(n_init, "n_init")
        self.max_iter = check_positive_int(max_iter, "max_iter")
        if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not tol >= 0 \
                or not math.isfinite(tol):
            raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
        self.tol = float(tol)
        if metric not in CLUSTER_METRICS:
            raise ValueError(f"metric must be one of {CLUSTER_METRICS}, got {metric!r}")
        self.metric = metric
        self.init_size = None if init_size is None else check_positive_int(init_size, "init_size")
        self.n_local_trials = None if n_local_trials is None else check_positive_int(n_local_trials, "n_local_trials")
        self.n_threads = None if n_threads is None else check_positive_int(n_threads, "n_threads")
        if rng is not None and seed not in (None, 0):
            raise ValueError("pass either rng or seed, not both")
        make_rng(rng)   # checks its type now
        self.rng, self.seed = rng, (None if rng is not None else seed)

    # ----------------------------------------------------------------------------- fitting
    def _seed_centers(self, x, xsq, threads, rng):
        k = self.n_clusters
        if not isinstance(self.init, str):
            if self.init.shape[1] != x.shape[1]:
                raise ValueError(f"init has dimension {self.init.shape[1]}, X has {x.shape[1]}")
            c = self.init.copy()
            if self.metric == "cosine":
                c, _ = _prepare(c, "cosine", "init")
            return c
        sub, subsq = x, xsq
        if self.init_size is not None and self.init_size < x.shape[0]:
            pick = np.sort(rng.choice(x.shape[0], size=max(self.init_size, k), replace=False))
            sub, subsq = x[pick], xsq[pick]
        if self.init == "random":
            return sub[rng.choice(sub.shape[0], size=k, replace=False)].copy()
        trials = 1 if self.init == "k-means++" else self.n_local_trials
        centers, _ = kmeans_plusplus(sub, k, n_local_trials=trials, rng=rng, x_sqnorms=subsq, n_threads=threads)
        return centers

    def fit(self, X, y=None):
        """Cluster the rows of X (N, D); returns self. ``y`` is ignored (scikit-learn's signature)."""
        x, xsq = _prepare(X, self.metric)
        n = x.shape[0]
        if self.n_clusters > n:
            raise ValueError(f"n_clusters={self.n_clusters} is larger than the number of points in X ({n})")
        threads = _threads(self.n_threads)
        # scikit-learn's tolerance: relative to the mean variance of the features.
        tol = self.tol * float(x.astype(np.float64).var(axis=0).mean()) if n > 1 else 0.0
        rng = make_rng(self.rng, self.seed)   # a seed gives the same clustering at every fit
        best = None
        runs = 1 if not isinstance(self.init, str) else self.n_init
        with blas_threads(1):
            for _ in range(runs):
                centers = self._seed_centers(x, xsq, threads, rng)
                result = _lloyd(x, xsq, centers, self.metric, self.max_iter, tol, threads)
                if best is None or result[2] < best[2]:
                    best = result
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        self.n_features_in_ = x.shape[1]
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """``fit(X).labels_``: (N,) int64."""
        return self.fit(X).labels_

    # ---------------------------------------------------------------------------- using it
    def _check_fitted(self, X, name="X"):
        if not hasattr(self, "cluster_centers_"):
            raise RuntimeError("this KMeans is not fitted yet: call fit(X) first")
        arr = np.asarray(X)
        if arr.ndim == 2 and arr.shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {arr.shape[1]} features per row, but this KMeans was fitted on "
                             f"{self.n_features_in_}")
        x, xsq = _prepare(X, self.metric, name)
        return x, xsq

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre (largest cosine for ``metric="cosine"``) of every row: (N,) int64."""
        x, xsq = self._check_fitted(X)
        with blas_threads(1):
            labels, _ = _k.assign(x, self.cluster_centers_, xsq, n_threads=_threads(self.n_threads))
        return labels

    def score(self, X, y=None) -> float:
        """Minus the inertia of X under the fitted centres (scikit-learn's sign: larger is better)."""
        x, xsq = self._check_fitted(X)
        with blas_threads(1):
            _, dist = _k.assign(x, self.cluster_centers_, xsq, n_threads=_threads(self.n_threads))
        return -float(dist.sum()) / (2.0 if self.metric == "cosine" else 1.0)

    def transform(self, X) -> np.ndarray:
        """Distance of every row to every centre: (N, k) float32 (Euclidean; ``1 - cos`` for cosine).

        This one does build an (N, k) array: it is the result asked for.
        """
        x, xsq = self._check_fitted(X)
        c = self.cluster_centers_.astype(np.float64)
        d2 = xsq[:, None] - 2.0 * (x.astype(np.float64) @ c.T) + (c * c).sum(1)[None, :]
        d2 = np.maximum(d2, 0.0)
        return (d2 / 2.0 if self.metric == "cosine" else np.sqrt(d2)).astype(np.float32)

    def __repr__(self):
        return (f"KMeans(n_clusters={self.n_clusters}, init={self.init if isinstance(self.init, str) else 'array'!r}, "
                f"n_init={self.n_init}, max_iter={self.max_iter}, tol={self.tol}, metric={self.metric!r})")
