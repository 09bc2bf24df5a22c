"""IVF-Flat: an inverted-file index for approximate nearest-neighbour search (faiss's ``IndexIVFFlat``).

>>> index = IVFIndex(vectors, nlist=256, metric="euclidean", seed=0)   # k-means, then add
>>> ids, distances = index.search(queries, k=10, nprobe=8)

* **Train**: k-means (:class:`minembed.space.cluster.KMeans`; spherical k-means for cosine) cuts the
  space into ``nlist`` cells, one per centroid. At most ``256 * nlist`` rows (drawn with the seed)
  train it, as faiss does: more rows barely move the centroids and cost time.
* **Add**: each vector goes to the list of its nearest centroid (largest inner product for dot);
  the lists are stored contiguously (one array, rows of list l at ``list_ptr[l]:list_ptr[l+1]``),
  so adding after training re-sorts the rows once per call.
* **Search**: the ``nprobe`` nearest centroids of each query (an exact top-k over the centroids),
  then an exact scan of those lists only (:mod:`minembed.kernels.ivf`, queries in parallel). Recall
  grows with ``nprobe``; ``nprobe = nlist`` is exact search. faiss's default ``nprobe = 1`` gives poor
  recall (its users' most common complaint); the default here is 8.
* **Delete**: rows are removed from their lists at once (no graph to repair). :meth:`replace` is
  delete + add with the same ids.
* **Filters**: as :class:`~minembed.space.HNSWIndex` (a function of the ids, an array of ids, a bool
  mask by id). Lists beyond the ``nprobe`` nearest are scanned, nearest first, until k allowed rows were
  seen, so a selective filter still gives k results; one allowing nothing raises ValueError.
* **Files**: :meth:`save` / :meth:`load`, one ``.npz``, another index type or version refused.
"""
from __future__ import annotations

import numpy as np

from ..io import save_npz
from ..kernels import ivf as _k
from ..kernels.jit import jit_enabled
from ..rng import make_rng
from .ann import (
    allowed_labels,
    check_count,
    check_k,
    check_metric,
    check_new_ids,
    empty_results,
    lookup_ids,
    need,
    prepare_vectors,
    read_index_file,
    save_header,
)
from .search import ExactIndex

POINTS_PER_CENTROID = 256  # training rows per list at most (faiss's max_points_per_centroid)


class IVFIndex:
    """Inverted lists of full vectors around k-means centroids. See the module docstring.

    Args:
        vectors: (N, D): when given, the index is trained on them and they are added (ids 0..N-1 or ``ids``).
        nlist: number of cells (k-means centroids). nprobe: default cells scanned per query (8, or nlist if fewer).
        metric: ``"cosine"`` (default), ``"dot"`` / ``"ip"``, ``"euclidean"`` / ``"l2"``.
        seed: k-means initialisation and the training sample. max_iter: k-means iterations.
    """

    KIND, VERSION = "IVFIndex", 1

    def __init__(self, vectors=None, nlist: int = 256, metric: str = "cosine", nprobe: int | None = None, seed: int = 0,
                 max_iter: int = 20, ids=None):
        self.metric = check_metric(metric)
        self.nlist = check_count(nlist, "nlist", 1)
        nprobe = min(8, self.nlist) if nprobe is None else nprobe
        self.nprobe = check_count(nprobe, "nprobe", 1, self.nlist, f"nlist={self.nlist}")
        self.seed = check_count(seed, "seed", 0)
        self.max_iter = check_count(max_iter, "max_iter", 1)
        self.dim: int | None = None
        self.centroids: np.ndarray | None = None
        self._clear(0)
        if vectors is not None:
            self.train(vectors)
            self.add(vectors, ids=ids)

    def _clear(self, dim: int) -> None:
        self._data = np.zeros((0, dim), dtype=np.float32)
        self._aux = np.zeros(0, dtype=np.float32)
        self._labels = np.zeros(0, dtype=np.int64)
        self._list_ptr = np.zeros(self.nlist + 1, dtype=np.int64)
        self._row_of: dict[int, int] = {}
        self._next_id = 0

    @property
    def is_trained(self) -> bool:
        return self.centroids is not None

    def __len__(self) -> int:
        return self._labels.shape[0]

    def __contains__(self, id_) -> bool:
        return int(id_) in self._row_of

    @property
    def ids(self) -> np.ndarray:
        return self._labels.copy()

    @property
    def list_sizes(self) -> np.ndarray:
        """Rows per list, (nlist,)."""
        return np.diff(self._list_ptr)

    def __repr__(self) -> str:
        return (f"IVFIndex({len(self)} items, dim={self.dim}, metric={self.metric!r}, nlist={self.nlist}, "
                f"nprobe={self.nprobe}, trained={self.is_trained})")

    # ----------------------------------------------------------------------------- train
    def train(self, vectors) -> IVFIndex:
        """Learn the ``nlist`` centroids from (N, D) vectors, N >= nlist. Only before any add."""
        from .cluster import KMeans  # the other helper's k-means: the one k-means of minembed

        if len(self):
            raise ValueError("the index already holds vectors: train before adding (or make a new index)")
        x, _ = prepare_vectors(vectors, None, self.metric)
        if x.shape[0] < self.nlist:
            raise ValueError(f"training needs at least nlist={self.nlist} vectors, got {x.shape[0]}")
        cap = POINTS_PER_CENTROID * self.nlist
        if x.shape[0] > cap:
            x = x[np.sort(make_rng(seed=self.seed).choice(x.shape[0], cap, replace=False))]
        km = KMeans(self.nlist, seed=self.seed, max_iter=self.max_iter,
                    metric="cosine" if self.metric == "cosine" else "euclidean").fit(x)
        centroids = np.ascontiguousarray(km.cluster_centers_, dtype=np.float32)
        self.dim = x.shape[1]
        self.centroids = centroids
        self._clear(self.dim)
        return self

    def _quantizer(self) -> ExactIndex:
        # cosine: unit centroids and unit rows, so the inner product is the cosine
        return ExactIndex(self.centroids, "euclidean" if self.metric == "euclidean" else "dot")

    # ------------------------------------------------------------------------------- add
    def add(self, vectors, ids=None) -> np.ndarray:
        """Put (N, D) vectors (or one (D,)) into the lists of their nearest centroids; returns their ids.
        Everything is checked before anything changes."""
        if not self.is_trained:
            raise ValueError("the index is not trained: call train(vectors) first (or pass vectors to IVFIndex)")
        x, _ = prepare_vectors(vectors, self.dim, self.metric)
        n = x.shape[0]
        new_ids = (np.arange(self._next_id, self._next_id + n, dtype=np.int64) if ids is None
                   else check_new_ids(ids, n, self._row_of))
        if n == 0:
            return new_ids
        cells = self._quantizer().search(x, 1)[0][:, 0]
        old_cells = np.repeat(np.arange(self.nlist), self.list_sizes)
        self._store(np.concatenate([self._data, x]), np.concatenate([self._labels, new_ids]),
                    np.concatenate([old_cells, cells]))
        self._next_id = max(self._next_id, int(new_ids.max()) + 1)
        return new_ids

    def _store(self, data, labels, cells) -> None:
        """Sort rows by cell (stable: the order within a list is the order of adding) and index them."""
        order = np.argsort(cells, kind="stable")
        self._data = np.ascontiguousarray(data[order])
        self._labels = labels[order]
        counts = np.bincount(cells, minlength=self.nlist)
        self._list_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        sq = (self._data.astype(np.float64) ** 2).sum(1)
        self._aux = (0.5 * sq).astype(np.float32) if self.metric == "euclidean" else np.zeros(len(labels), np.float32)
        self._row_of = {int(i): j for j, i in enumerate(self._labels.tolist())}

    # ---------------------------------------------------------------------------- search
    def search(self, queries, k: int, nprobe: int | None = None, filter=None) -> tuple[np.ndarray, np.ndarray]:
        """The (approximately) k best items for each query, best first.

        Args:
            queries: (D,) or (Q, D). k: 1 <= k <= len(self).
            nprobe: lists scanned per query, 1 <= nprobe <= nlist (default ``self.nprobe``).
            filter: only items it allows are returned (see the module docstring).

        Returns:
            ``(ids, scores)`` as :meth:`HNSWIndex.search`: (Q, k) or (k,); distances for euclidean.
        """
        if len(self) == 0:
            raise ValueError("the index is empty: add vectors before searching")
        q, single = prepare_vectors(queries, self.dim, self.metric, "queries")
        k = check_k(k, len(self))
        nprobe = self.nprobe if nprobe is None else check_count(nprobe, "nprobe", 1, self.nlist,
                                                                 f"the nlist={self.nlist} lists")
        mask, use_mask = np.ones(len(self), dtype=np.uint8), False
        if filter is not None:
            mask = allowed_labels(filter, self._labels).astype(np.uint8)
            use_mask = True
            if not mask.any():
                raise ValueError("the filter allows none of the items in the index")
        # with a filter, every list in order of nearness: the scan goes on past nprobe until k allowed rows
        probe = self._quantizer().search(q, self.nlist if use_mask else nprobe)[0]
        mode = 2 if self.metric == "euclidean" else 0
        if jit_enabled():
            keys = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
            rows = np.full((q.shape[0], k), -1, dtype=np.int64)
            _k.search_kernel(q, self._data, self._aux, self._list_ptr, probe, nprobe, mode, mask, use_mask, keys, rows)
        else:
            rows, keys = _k.search_reference(q, self._data, self._aux, self._list_ptr, probe, nprobe, mode, k,
                                             mask if use_mask else None)
        ids, scores = empty_results(q.shape[0], k, self.metric)
        found = rows >= 0
        ids[found] = self._labels[rows[found]]
        if mode == 2:
            qsq = (q.astype(np.float64) ** 2).sum(1)[:, None]
            dist = np.sqrt(np.maximum(qsq - 2.0 * keys, 0.0)).astype(np.float32)
            scores[found] = dist[found]
        else:
            scores[found] = keys[found]
        return (ids[0], scores[0]) if single else (ids, scores)

    # ------------------------------------------------------------------------ delete, replace
    def delete(self, ids) -> None:
        """Remove items from their lists. An id not in the index raises KeyError and nothing changes."""
        rows = lookup_ids(ids, self._row_of)
        keep = np.ones(len(self), dtype=bool)
        keep[rows] = False
        cells = np.repeat(np.arange(self.nlist), self.list_sizes)
        next_id = self._next_id
        self._store(self._data[keep], self._labels[keep], cells[keep])
        self._next_id = next_id

    def replace(self, ids, vectors) -> None:
        """New vectors for existing ids (delete + add with the same ids; everything checked first)."""
        x, _ = prepare_vectors(vectors, self.dim, self.metric)
        rows = lookup_ids(ids, self._row_of)
        if rows.size != x.shape[0]:
            raise ValueError(f"got {rows.size} ids for {x.shape[0]} vectors")
        labels = self._labels[rows].copy()
        self.delete(labels)
        self.add(x, ids=labels)

    # ------------------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Centroids, lists and ids in one ``.npz`` (no pickle), written atomically."""
        if not self.is_trained:
            raise ValueError("an untrained index has nothing to save")
        params = np.array([self.nlist, self.nprobe, self.seed, self.max_iter, self._next_id], dtype=np.int64)
        save_npz(path, **save_header(self.KIND, self.VERSION, self.metric), params=params, centroids=self.centroids,
                 data=self._data, labels=self._labels, list_ptr=self._list_ptr)

    @classmethod
    def load(cls, path) -> IVFIndex:
        """An index saved by :meth:`save`; a damaged or foreign file raises ValueError naming it."""
        a = read_index_file(path, cls.KIND, cls.VERSION)
        params = need(a, path, "params", np.int64, 1)
        if params.shape != (5,):
            raise ValueError(f"{path}: 'params' should hold 5 numbers, got {params.shape[0]}")
        nlist, nprobe, seed, max_iter, next_id = (int(v) for v in params)
        centroids = need(a, path, "centroids", np.float32, 2)
        data = need(a, path, "data", np.float32, 2)
        labels = need(a, path, "labels", np.int64, 1)
        ptr = need(a, path, "list_ptr", np.int64, 1)
        n = data.shape[0]
        if (centroids.shape[0] != nlist or data.shape[1] != centroids.shape[1] or labels.shape != (n,)
                or ptr.shape != (nlist + 1,) or ptr[0] != 0 or ptr[-1] != n or (np.diff(ptr) < 0).any()):
            raise ValueError(f"{path}: damaged IVF file: the lists, centroids and ids do not fit together")
        if not (np.isfinite(centroids).all() and np.isfinite(data).all()):
            raise ValueError(f"{path}: damaged IVF file: a vector holds NaN or inf")
        if np.unique(labels).size != n or (n and labels.min() < 0):
            raise ValueError(f"{path}: damaged IVF file: the ids are not distinct non-negative integers")
        index = cls(nlist=nlist, metric=str(a["metric"]), nprobe=nprobe, seed=seed, max_iter=max_iter)
        index.dim, index.centroids = centroids.shape[1], centroids
        index._store(data, labels, np.repeat(np.arange(nlist), np.diff(ptr)))
        index._next_id = next_id
        return index
