"""HNSW: a graph index for approximate nearest-neighbour search (Malkov & Yashunin, 2016).

>>> index = HNSWIndex(vectors, metric="euclidean", M=16, ef_construction=200, seed=0)
>>> ids, distances = index.search(queries, k=10, ef=64)

How it works is told in :mod:`minembed.kernels.hnsw` (the graph, the heuristic, the searches);
this module keeps the arrays, checks every input, and adds what the kernels do not know about:
ids, deletion, filters, files.

* **Cost.** A search visits about ``ef * M * log(N)`` nodes instead of N: at N = 60,000 and ef = 64
  a few thousand distances instead of 60,000. Building inserts the nodes one after the other (each
  insertion searches the graph built so far), so it is serial; searching many queries runs in
  parallel (Numba ``prange``, one chunk of queries per thread).
* **M** links per node and layer (``2 M`` on layer 0): more links, better recall, more memory
  (``8 M`` bytes per node) and slower insertion. **ef_construction**: the candidate list while
  building (quality of the graph). **ef**: the candidate list while searching (at least k):
  the knob that trades speed for recall after the index is built.
* **Metrics.** ``"euclidean"`` (``"l2"``) ranks by squared distance and returns distances;
  ``"cosine"`` stores unit-length copies and returns cosines; ``"dot"`` (``"ip"``) returns inner
  products. A graph built on inner products of vectors of very different lengths navigates less
  well (the "distance" is not a metric): prefer cosine unless the lengths mean something.
* **Ids.** Items get ids 0, 1, 2, ... in the order they are added, or the ``ids`` you give (any
  distinct integers >= 0). Results are ids.
* **Deleting.** :meth:`delete` only marks items: they stay in the graph as stepping stones (removing
  a node would cut paths through it) and are never returned. When more than
  ``max_deleted_fraction`` of the nodes are marked, the graph is rebuilt from the live items.
  :meth:`replace` is delete + add with the same ids.
* **Filters.** ``search(..., filter=...)``: a function of the ids, an array of allowed ids or a
  boolean mask by id. Filtered-out items are walked through but not returned, and the search goes
  on until it has ``ef`` allowed items, so a selective filter still gives k results; when so few
  items are allowed that scanning them is cheaper (fewer than ``2 sqrt(ef N)``), they are searched
  exactly instead. A filter that allows nothing raises ValueError; one that allows fewer than k
  items pads the results with id -1 (score -inf, or distance +inf).
* **Files.** :meth:`save` writes one ``.npz`` (atomically); :meth:`load` refuses any other file,
  naming it, including an index of another type or version.
* One search at a time per index object (a lock makes a second thread wait): the visited arrays
  of the parallel search are kept between calls and reused.
"""
from __future__ import annotations

import math
import threading

import numpy as np

from ..io import save_npz
from ..kernels import hnsw as _k
from ..kernels.jit import get_num_threads, jit_enabled
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

_KERNEL_METRIC = {"euclidean": _k.L2, "cosine": _k.IP, "dot": _k.IP}


class HNSWIndex:
    """A hierarchical navigable small-world graph over vectors. See the module docstring.

    Args:
        vectors: (N, D) to add at once (optional: :meth:`add` later).
        metric: ``"cosine"`` (default), ``"dot"`` / ``"ip"`` or ``"euclidean"`` / ``"l2"``.
        M: links per node and layer (2 M on layer 0), >= 2. ef_construction: candidates while building.
        ef: default candidates while searching (raised to k when smaller).
        seed: the random levels (the only randomness): same seed and same adds, same graph.
        ids: ids of ``vectors`` (default 0..N-1).
        max_deleted_fraction: rebuild the graph when more than this share of the nodes is deleted.
    """

    KIND, VERSION = "HNSWIndex", 1

    def __init__(self, vectors=None, metric: str = "cosine", M: int = 16, ef_construction: int = 200,
                 ef: int = 64, seed: int = 0, ids=None, max_deleted_fraction: float = 0.5):
        self.metric = check_metric(metric)
        self.M = check_count(M, "M", 2)
        self.ef_construction = check_count(ef_construction, "ef_construction", 1)
        self.ef = check_count(ef, "ef", 1)
        self.seed = check_count(seed, "seed", 0)
        if not 0.0 < float(max_deleted_fraction) <= 1.0:
            raise ValueError(f"max_deleted_fraction must be in (0, 1], got {max_deleted_fraction!r}")
        self.max_deleted_fraction = float(max_deleted_fraction)
        self.dim: int | None = None
        self._lock = threading.Lock()
        self._reset(0, 0)
        if vectors is not None:
            self.add(vectors, ids=ids)

    # ------------------------------------------------------------------------------ state
    def _reset(self, dim: int, cap: int) -> None:
        m = self.M
        self._n = 0                     # nodes in the graph (live + deleted)
        self._n_up = 0                  # rows of links_up in use
        self._adds = 0                  # add() calls so far: each draws its levels from [seed, adds]
        self._data = np.zeros((cap, dim), dtype=np.float32)
        self._levels = np.zeros(cap, dtype=np.int32)
        self._links0 = np.zeros((cap, 2 * m), dtype=np.int32)
        self._count0 = np.zeros(cap, dtype=np.int32)
        self._upper_ptr = np.full(cap, -1, dtype=np.int64)
        self._links_up = np.zeros((0, m), dtype=np.int32)
        self._count_up = np.zeros(0, dtype=np.int32)
        self._state = np.array([-1, 0], dtype=np.int64)
        self._labels = np.zeros(cap, dtype=np.int64)
        self._deleted = np.zeros(cap, dtype=bool)
        self._n_deleted = 0
        self._node_of: dict[int, int] = {}
        self._next_id = 0
        self._visited = None            # (threads, cap) int32 tags and (threads,) epochs, kept between searches
        self._epoch = None

    def __len__(self) -> int:
        """Live items (deleted ones not counted)."""
        return self._n - self._n_deleted

    def __contains__(self, id_) -> bool:
        return int(id_) in self._node_of

    @property
    def ids(self) -> np.ndarray:
        """The ids of the live items, in the order they were added."""
        live = ~self._deleted[:self._n]
        return self._labels[:self._n][live].copy()

    @property
    def max_level(self) -> int:
        return int(self._state[1]) if self._n else -1

    def __repr__(self) -> str:
        return (f"HNSWIndex({len(self)} items, dim={self.dim}, metric={self.metric!r}, M={self.M}, "
                f"ef_construction={self.ef_construction}, ef={self.ef}, levels={self.max_level + 1})")

    def layer(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        """The graph of one layer, for looking at it: ``(ids, links)`` -- the ids of the items on that layer
        (level >= ``level``; deleted ones included, they still route) and their links as (E, 2) id pairs
        (``links[e] = (a, b)``: a links to b; links are directed, usually both ways)."""
        level = check_count(level, "level", 0, max(self.max_level, 0), f"the top level {self.max_level}")
        nodes = np.flatnonzero(self._levels[:self._n] >= level)
        pairs = []
        for node in nodes.tolist():
            if level == 0:
                row = self._links0[node, :self._count0[node]]
            else:
                r = self._upper_ptr[node] + level - 1
                row = self._links_up[r, :self._count_up[r]]
            pairs.extend((node, int(nb)) for nb in row)
        links = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        return self._labels[nodes].copy(), self._labels[links] if links.size else links

    def _grow(self, n_more: int, rows_more: int) -> None:
        need_cap, cap = self._n + n_more, self._data.shape[0]
        if need_cap > cap:
            new = max(need_cap, 2 * cap, 16)
            for name, fill in (("_data", 0), ("_levels", 0), ("_links0", 0), ("_count0", 0), ("_upper_ptr", -1),
                               ("_labels", 0), ("_deleted", False)):
                old = getattr(self, name)
                arr = np.full((new,) + old.shape[1:], fill, dtype=old.dtype)
                arr[:self._n] = old[:self._n]
                setattr(self, name, arr)
            self._visited = None
        need_rows = self._n_up + rows_more
        if need_rows > self._links_up.shape[0]:
            new = max(need_rows, 2 * self._links_up.shape[0], 16)
            links = np.zeros((new, self.M), dtype=np.int32)
            counts = np.zeros(new, dtype=np.int32)
            links[:self._n_up] = self._links_up[:self._n_up]
            counts[:self._n_up] = self._count_up[:self._n_up]
            self._links_up, self._count_up = links, counts

    def _graph(self):
        return (self._links0, self._count0, self._upper_ptr, self._links_up, self._count_up)

    # ------------------------------------------------------------------------------- add
    def add(self, vectors, ids=None) -> np.ndarray:
        """Insert (N, D) vectors (or one (D,)); returns their ids. Vectors are checked (NaN, dimension) and
        ids (distinct, new) before anything changes, so a refused add leaves the index as it was."""
        x, _ = prepare_vectors(vectors, self.dim, self.metric)
        n = x.shape[0]
        new_ids = (np.arange(self._next_id, self._next_id + n, dtype=np.int64) if ids is None
                   else check_new_ids(ids, n, self._node_of))
        if n == 0:
            return new_ids
        if self.dim is None:
            self.dim = x.shape[1]
            self._reset(self.dim, 0)
        # Levels: floor(-ln U / ln M), U in (0, 1]; one stream per add() call, so a saved and loaded
        # index that gets the same adds builds the same graph.
        u = 1.0 - make_rng(seed=[self.seed, self._adds]).random(n)
        levels = np.floor(-np.log(u) / math.log(self.M)).astype(np.int32)
        self._adds += 1
        self._grow(n, int(levels.sum()))
        start, end = self._n, self._n + n
        self._data[start:end] = x
        self._levels[start:end] = levels
        self._labels[start:end] = new_ids
        ptr = self._n_up + np.concatenate([[0], np.cumsum(levels[:-1])]).astype(np.int64)
        self._upper_ptr[start:end] = np.where(levels > 0, ptr, -1)
        self._n_up += int(levels.sum())
        self._n = end
        with self._lock:
            self._insert(start, end)
        for j, i in enumerate(new_ids.tolist()):
            self._node_of[i] = start + j
        self._next_id = max(self._next_id, int(new_ids.max()) + 1)
        return new_ids

    def _insert(self, start: int, end: int) -> None:
        metric = _KERNEL_METRIC[self.metric]
        args = (self._data, start, end, self._levels, *self._graph(), self._state, self.M, self.ef_construction, metric)
        if jit_enabled():
            _k.insert_kernel(*args, np.zeros((1, self._data.shape[0]), dtype=np.int32), np.zeros(1, dtype=np.int64))
        else:
            _k.insert_reference(*args)

    # ---------------------------------------------------------------------------- search
    def search(self, queries, k: int, ef: int | None = None, filter=None) -> tuple[np.ndarray, np.ndarray]:
        """The (approximately) k best items for each query, best first.

        Args:
            queries: (D,) one query or (Q, D).
            k: results per query, 1 <= k <= len(self).
            ef: candidates kept during the search (default ``self.ef``; raised to k).
            filter: only items it allows are returned (see the module docstring).

        Returns:
            ``(ids, scores)``: int64 and float32, (Q, k) or (k,) for one query; cosines or inner products
            (largest first) or Euclidean distances (smallest first); id -1 pads when a filter allowed fewer
            than k items.
        """
        if len(self) == 0:
            raise ValueError("the index is empty: add vectors before searching")
        q, single = prepare_vectors(queries, self.dim, self.metric, "queries")
        k = check_k(k, len(self))
        ef = max(k, self.ef if ef is None else check_count(ef, "ef", 1))
        n = self._n
        mask = ~self._deleted[:n]
        use_mask = self._n_deleted > 0
        if filter is not None:
            mask = mask & allowed_labels(filter, self._labels[:n])
            use_mask = True
            n_allowed = int(mask.sum())
            if n_allowed == 0:
                raise ValueError("the filter allows none of the items in the index")
            if n_allowed <= 2 * math.sqrt(ef * n):
                ids, scores = self._search_exact(q, k, np.flatnonzero(mask))
                return (ids[0], scores[0]) if single else (ids, scores)
        nodes, dists = self._search_graph(q, k, ef, mask, use_mask)
        ids = np.where(nodes >= 0, self._labels[np.maximum(nodes, 0)], -1)
        if self.metric == "euclidean":
            scores = np.sqrt(np.maximum(dists, 0.0)).astype(np.float32)
        else:
            scores = np.where(nodes >= 0, -dists, -np.inf).astype(np.float32)
        return (ids[0], scores[0]) if single else (ids, scores)

    def _search_graph(self, q, k, ef, mask, use_mask):
        metric = _KERNEL_METRIC[self.metric]
        if not jit_enabled():
            return _k.search_reference(self._data, q, k, ef, self._levels, *self._graph(), self._state, metric,
                                       mask if use_mask else None)
        ids = np.full((q.shape[0], k), -1, dtype=np.int64)
        dists = np.full((q.shape[0], k), np.inf, dtype=np.float32)
        chunks = max(1, min(get_num_threads(), q.shape[0]))
        with self._lock:
            cap = self._data.shape[0]
            if self._visited is None or self._visited.shape[0] < chunks or self._visited.shape[1] != cap:
                self._visited = np.zeros((max(chunks, get_num_threads()), cap), dtype=np.int32)
                self._epoch = np.zeros(self._visited.shape[0], dtype=np.int64)
            _k.search_kernel(self._data, q, k, ef, *self._graph(), self._state, metric,
                             mask.astype(np.uint8), use_mask, self._visited[:chunks], self._epoch[:chunks], ids, dists)
        return ids, dists

    def _search_exact(self, q, k, nodes):
        """Exact top-k among ``nodes`` (a selective filter): ids and scores, padded to k."""
        metric = "euclidean" if self.metric == "euclidean" else "dot"  # cosine rows are stored unit length
        found, scores = ExactIndex(self._data[nodes], metric).search(q, min(k, nodes.size))
        ids, out = empty_results(q.shape[0], k, self.metric)
        ids[:, :found.shape[1]] = self._labels[nodes[found]]
        out[:, :found.shape[1]] = scores
        return ids, out

    # ----------------------------------------------------------------- delete, replace, rebuild
    def delete(self, ids) -> None:
        """Mark items as deleted (never returned again). An id not in the index raises KeyError and
        nothing is deleted. Rebuilds the graph when too many nodes are marked (max_deleted_fraction)."""
        nodes = lookup_ids(ids, self._node_of)
        self._deleted[nodes] = True
        self._n_deleted += nodes.size
        for i in np.atleast_1d(np.asarray(ids)).ravel().tolist():
            del self._node_of[i]
        if self._n_deleted > self.max_deleted_fraction * self._n:
            self.rebuild()

    def replace(self, ids, vectors) -> None:
        """New vectors for existing ids: delete + add with the same ids (everything checked first)."""
        x, _ = prepare_vectors(vectors, self.dim, self.metric)
        nodes = lookup_ids(ids, self._node_of)
        if nodes.size != x.shape[0]:
            raise ValueError(f"got {nodes.size} ids for {x.shape[0]} vectors")
        labels = self._labels[nodes].copy()
        self.delete(labels)
        self.add(x, ids=labels)

    def rebuild(self) -> None:
        """A new graph from the live items only (same ids, same settings): what deletion leaves behind."""
        live = np.flatnonzero(~self._deleted[:self._n])
        data, labels, adds, next_id = self._data[live].copy(), self._labels[live].copy(), self._adds, self._next_id
        self._reset(self.dim, len(live))
        self._adds = adds
        if len(live):
            self.add(data, ids=labels)
        self._next_id = max(self._next_id, next_id)

    # ------------------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Everything in one ``.npz`` (no pickle), written atomically."""
        n, r = self._n, self._n_up
        params = np.array([self.M, self.ef_construction, self.ef, self.seed, self._adds, self._next_id,
                           -1 if self.dim is None else self.dim], dtype=np.int64)
        save_npz(path, **save_header(self.KIND, self.VERSION, self.metric), params=params,
                 max_deleted_fraction=np.array(self.max_deleted_fraction), data=self._data[:n],
                 levels=self._levels[:n], links0=self._links0[:n], count0=self._count0[:n],
                 upper_ptr=self._upper_ptr[:n], links_up=self._links_up[:r], count_up=self._count_up[:r],
                 state=self._state, labels=self._labels[:n], deleted=self._deleted[:n])

    @classmethod
    def load(cls, path) -> HNSWIndex:
        """An index saved by :meth:`save`. Every array is checked (types, shapes, link ranges) before the
        kernels may read it: a damaged or foreign file raises ValueError naming the file."""
        a = read_index_file(path, cls.KIND, cls.VERSION)
        params = need(a, path, "params", np.int64, 1)
        if params.shape != (7,):
            raise ValueError(f"{path}: 'params' should hold 7 numbers, got {params.shape[0]}")
        m, ef_c, ef, seed, adds, next_id, dim = (int(v) for v in params)
        index = cls(metric=str(a["metric"]), M=m, ef_construction=ef_c, ef=ef, seed=seed,
                    max_deleted_fraction=float(need(a, path, "max_deleted_fraction", np.float64, 0)))
        data = need(a, path, "data", np.float32, 2)
        n = data.shape[0]
        arrays = {name: need(a, path, name, dt, nd) for name, dt, nd in (
            ("levels", np.int32, 1), ("links0", np.int32, 2), ("count0", np.int32, 1), ("upper_ptr", np.int64, 1),
            ("links_up", np.int32, 2), ("count_up", np.int32, 1), ("state", np.int64, 1), ("labels", np.int64, 1),
            ("deleted", np.bool_, 1))}
        _check_graph(path, data, arrays, m, dim)
        index.dim = None if dim < 0 else dim
        index._reset(max(dim, 0), 0)
        index._data, index._n, index._adds, index._next_id = data, n, adds, next_id
        for name, arr in arrays.items():
            setattr(index, "_" + name, arr)
        index._n_up = arrays["links_up"].shape[0]
        index._n_deleted = int(arrays["deleted"].sum())
        index._node_of = {int(i): j for j, i in enumerate(arrays["labels"].tolist()) if not arrays["deleted"][j]}
        return index


def _check_graph(path, data, a, m, dim) -> None:
    """Every index the kernels will follow is in range (Numba does no bounds checks)."""
    n = data.shape[0]
    r = a["links_up"].shape[0]

    def bad(what):
        raise ValueError(f"{path}: damaged HNSW file: {what}")

    if n and data.shape[1] != dim:
        bad(f"vectors of dimension {data.shape[1]} but the header says {dim}")
    if not np.isfinite(data).all():
        bad("a vector holds NaN or inf")
    for name in ("levels", "count0", "upper_ptr", "labels", "deleted"):
        if a[name].shape != (n,):
            bad(f"{name!r} has shape {a[name].shape}, expected ({n},)")
    if a["links0"].shape != (n, 2 * m) or a["links_up"].shape[1:] != (m,) or a["count_up"].shape != (r,):
        bad("the link tables do not match M and the number of vectors")
    if a["state"].shape != (2,):
        bad("'state' should hold the entry point and its level")
    levels, ptr = a["levels"], a["upper_ptr"]
    if n and (levels.min() < 0 or int(levels.sum()) != r):
        bad("the levels do not match the upper link table")
    if n and ((ptr[levels > 0] < 0).any() or (ptr[levels > 0] + levels[levels > 0] > r).any()):
        bad("an upper-layer pointer is out of range")
    if (a["count0"] < 0).any() or (a["count0"] > 2 * m).any() or (a["count_up"] < 0).any() or (a["count_up"] > m).any():
        bad("a link count is out of range")
    for links, counts in ((a["links0"], a["count0"]), (a["links_up"], a["count_up"])):
        used = np.arange(links.shape[1])[None, :] < counts[:, None]
        if used.any() and (links[used].min() < 0 or links[used].max() >= n):
            bad("a link points outside the graph")
    entry, top = (int(v) for v in a["state"])
    if n and not (0 <= entry < n and levels[entry] == top == levels.max()):
        bad("the entry point is not a node of the top level")
    if not n and entry != -1:
        bad("an empty graph with an entry point")
    if np.unique(a["labels"]).size != n or (n and a["labels"].min() < 0):
        bad("the ids are not distinct non-negative integers")
