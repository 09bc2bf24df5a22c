"""What every approximate index shares: metric names, checks of k and queries, filters, file headers.

The search contract of :class:`~minembed.space.ExactIndex`, :class:`~minembed.space.IVFIndex` and
:class:`~minembed.space.HNSWIndex` is one::

    ids, scores = index.search(queries, k)     # (Q, k) each, best first; (k,) for one (D,) query

``scores`` are similarities (cosine, dot: larger first) or distances (euclidean: smaller first).
The approximate indexes refuse ``k < 1`` and ``k`` larger than the number of items they hold
(``ExactIndex`` returns at most that many instead: it is exact and cheap to ask).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import load_npz
from .search import as_vectors, normalize

# hnswlib's and faiss's names on the right: the same metrics.
METRIC_NAMES = {"cosine": "cosine", "dot": "dot", "ip": "dot", "euclidean": "euclidean", "l2": "euclidean"}


def check_metric(metric) -> str:
    """``metric`` by its minembed name ("ip" is "dot", "l2" is "euclidean")."""
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {sorted(METRIC_NAMES)}, got {metric!r}")
    return METRIC_NAMES[metric]


def check_count(value, name: str, low: int = 1, high: int | None = None, what: str = "") -> int:
    """An integer in [low, high] (``what`` says what high is), else ValueError naming ``name`` and the value."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name}={value} is larger than {what or high}")
    return int(value)


def check_k(k, n_items: int) -> int:
    """``k`` between 1 and the number of items in the index."""
    return check_count(k, "k", 1, n_items, f"the {n_items} items in the index")


def prepare_vectors(vectors, dim: int | None, metric: str, name: str = "vectors") -> tuple[np.ndarray, bool]:
    """(N, D) float32 rows (unit length for cosine) and whether one (D,) vector was given. NaN/inf and a
    dimension other than ``dim`` (when known) raise ValueError naming ``name``."""
    arr = as_vectors(vectors, name)
    single = arr.ndim == 1
    arr = np.atleast_2d(arr)
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} have dimension {arr.shape[1]}, the index holds vectors of dimension {dim}")
    if metric == "cosine":
        arr = normalize(arr)
    return arr, single


def check_new_ids(ids, n: int, taken) -> np.ndarray:
    """``ids`` for ``n`` new items as int64: integers >= 0, no repeats, none already in ``taken`` (a set)."""
    arr = np.asarray(ids)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64).ravel()
    if arr.shape[0] != n:
        raise ValueError(f"got {arr.shape[0]} ids for {n} vectors")
    if arr.size and arr.min() < 0:
        raise ValueError(f"ids must be >= 0, got {int(arr.min())}")
    uniq, counts = np.unique(arr, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"id {int(uniq[counts > 1][0])} is given twice")
    clash = [int(i) for i in arr if int(i) in taken][:1]
    if clash:
        raise ValueError(f"id {clash[0]} is already in the index (delete it first, or use replace)")
    return arr


def lookup_ids(ids, position_of: dict) -> np.ndarray:
    """Positions of existing ``ids``; an id not in the index raises KeyError naming it."""
    arr = np.atleast_1d(np.asarray(ids))
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {arr.dtype}")
    out = np.empty(arr.size, dtype=np.int64)
    for j, i in enumerate(arr.ravel().tolist()):
        if i not in position_of:
            raise KeyError(f"id {i} is not in the index")
        out[j] = position_of[i]
    if np.unique(out).size != out.size:
        raise ValueError("an id is given twice")
    return out


def allowed_labels(filter, labels: np.ndarray) -> np.ndarray:
    """Which of ``labels`` (the ids of the items, (N,) int64) a filter lets through: a bool (N,) array.

    ``filter`` is one of
      * a callable ``f(ids) -> bool array``, called once with all the ids (vectorised, not per id);
      * an array of allowed ids (integers);
      * a boolean mask indexed by id: ``mask[id]`` (ids beyond its end are not allowed).
    """
    if callable(filter):
        keep = np.asarray(filter(labels.copy()))
        if keep.shape != labels.shape or keep.dtype != np.bool_:
            raise ValueError(f"the filter function must return a bool array of shape {labels.shape} (one per id "
                             f"it is given), got dtype {keep.dtype} and shape {keep.shape}")
        return keep
    arr = np.asarray(filter)
    if arr.dtype == np.bool_:
        if arr.ndim != 1:
            raise ValueError(f"a boolean filter must be 1-D (indexed by id), got shape {arr.shape}")
        keep = np.zeros(labels.shape, dtype=bool)
        inside = labels < arr.shape[0]
        keep[inside] = arr[labels[inside]]
        return keep
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"filter must be a function, a bool mask by id or an array of ids, got dtype {arr.dtype}")
    return np.isin(labels, arr.ravel())


def empty_results(n_q: int, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Results filled with the padding: id -1, score -inf (euclidean: distance +inf)."""
    pad = np.inf if metric == "euclidean" else -np.inf
    return np.full((n_q, k), -1, dtype=np.int64), np.full((n_q, k), pad, dtype=np.float32)


# ------------------------------------------------------------------------------------ files
def save_header(kind: str, version: int, metric: str) -> dict:
    """The arrays every saved index file starts with: its format (``minembed.<kind>``), version and metric."""
    return {"format": np.array(f"minembed.{kind}"), "version": np.array(version, dtype=np.int64),
            "metric": np.array(metric)}


def read_index_file(path, kind: str, version: int) -> dict:
    """The arrays of an index file, after checking it holds a ``kind`` index of ``version``. Another
    index type, another version or any other .npz raises ValueError naming the file."""
    path = Path(path)
    arrays = load_npz(path)
    fmt = str(arrays["format"]) if "format" in arrays else None
    if fmt is None or not fmt.startswith("minembed."):
        raise ValueError(f"{path} is not a minembed index file (no 'format' entry naming one)")
    if fmt != f"minembed.{kind}":
        other = fmt.split(".", 1)[1]
        raise ValueError(f"{path} holds a {other}, not a {kind}: load it with {other}.load")
    found = int(arrays["version"]) if "version" in arrays else None
    if found != version:
        raise ValueError(f"{path} is a {kind} file of version {found}; this minembed reads version {version}")
    if "metric" not in arrays or str(arrays["metric"]) not in ("cosine", "dot", "euclidean"):
        raise ValueError(f"{path}: the metric entry is missing or unknown")
    return arrays


def need(arrays: dict, path, name: str, dtype, ndim: int) -> np.ndarray:
    """``arrays[name]``, checked to exist with the given dtype kind and number of dimensions."""
    if name not in arrays:
        raise ValueError(f"{path}: the entry {name!r} is missing")
    arr = arrays[name]
    if arr.ndim != ndim or arr.dtype != np.dtype(dtype):
        raise ValueError(f"{path}: the entry {name!r} should be {ndim}-D {np.dtype(dtype)}, "
                         f"got {arr.ndim}-D {arr.dtype}")
    return arr if arr.ndim == 0 else np.ascontiguousarray(arr)


def load_index(path):
    """An :class:`~minembed.space.HNSWIndex` or :class:`~minembed.space.IVFIndex` from its file, whichever it is."""
    from .hnsw import HNSWIndex
    from .ivf import IVFIndex

    arrays = load_npz(path)
    fmt = str(arrays["format"]) if "format" in arrays else ""
    kinds = {f"minembed.{cls.KIND}": cls for cls in (HNSWIndex, IVFIndex)}
    if fmt not in kinds:
        raise ValueError(f"{path} is not a minembed HNSWIndex or IVFIndex file")
    return kinds[fmt].load(path)
