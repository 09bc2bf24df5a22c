"""Similarity between vectors: pairwise scores, exact top-k search and word analogies.

Everything here takes plain arrays. Input conventions, checked on entry:

* Vectors are rows: a single vector is (D,), a batch is (N, D).
* Integer, float16 and float64 input is **accepted and converted to float32 once** (a copy);
  float32 C-contiguous input is used as is, never copied. Results are float32.
* NaN or infinite values, a dimension mismatch, ``k < 0``, a non-numeric dtype (bool,
  complex, object, strings) all raise ``ValueError`` naming the argument.
* A zero vector has cosine 0 with everything (it is left at zero by :func:`normalize`).

Metrics::

    dot(q, d)       = q . d
    cosine(q, d)    = q . d / (|q| |d|)
    euclidean(q, d) = |q - d|            (top-k returns the *smallest* distances)

:func:`topk` is exact and bounded in memory (see :mod:`minembed.kernels.similarity`): it
never builds the whole (Q, M) score matrix. Build an :class:`ExactIndex` once when the
same database is searched many times: the checks and norms of the database are done once.
"""
from __future__ import annotations

import numpy as np

from ..kernels import similarity as _k
from ..kernels.validate import as_index_array

METRICS = _k.METRICS


# ----------------------------------------------------------------------------- checking
def as_vectors(x, name: str = "vectors", check_finite: bool = True) -> np.ndarray:
    """``x`` as a float32 C-contiguous (N, D) or (D,) array (a copy only when needed).

    Raises ValueError for a non-numeric dtype, more than 2 dimensions, or (by default)
    any NaN / inf, naming the first bad row.
    """
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must hold real numbers (int or float), got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (one vector) or 2-D (one vector per row), got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if check_finite:
        _check_finite(arr, name)
    return arr


def _check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Row norms (float64) of a float32 array, raising ValueError at the first non-finite row."""
    mat = arr.reshape(1, -1) if arr.ndim == 1 else arr
    norms, bad = _k.row_norms_checked(mat)
    if bad >= 0:
        where = "" if arr.ndim == 1 else f" in row {bad}"
        raise ValueError(f"{name} contains NaN or infinite values{where}")
    return norms


def _pair(a, b) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    a = as_vectors(a, "a")
    b = as_vectors(b, "b")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"dimension mismatch: a has vectors of size {a.shape[-1]}, b of size {b.shape[-1]}")
    return np.atleast_2d(a), np.atleast_2d(b), a.ndim == 1, b.ndim == 1


def _shape_result(s: np.ndarray, a1: bool, b1: bool):
    if a1 and b1:
        return s[0, 0]
    if a1:
        return s[0]
    if b1:
        return s[:, 0]
    return s


# ---------------------------------------------------------------------------- pairwise
def normalize(x) -> np.ndarray:
    """Rows scaled to unit length (float32 copy); zero rows stay zero. (D,) or (N, D)."""
    x = as_vectors(x, "x")
    mat = np.atleast_2d(x)
    norms = np.linalg.norm(mat.astype(np.float64), axis=1, keepdims=True)
    out = (mat / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return out[0] if x.ndim == 1 else out


def dot(a, b) -> np.ndarray:
    """Pairwise inner products: (N, D), (M, D) -> (N, M); a (D,) side drops its axis."""
    a, b, a1, b1 = _pair(a, b)
    return _shape_result(a @ b.T, a1, b1)


def cosine(a, b) -> np.ndarray:
    """Pairwise cosine similarity in [-1, 1]: (N, D), (M, D) -> (N, M); zero vectors give 0."""
    a, b, a1, b1 = _pair(a, b)
    return _shape_result(normalize(a) @ normalize(b).T, a1, b1)


def euclidean(a, b) -> np.ndarray:
    """Pairwise Euclidean distances: (N, D), (M, D) -> (N, M), computed as
    ``sqrt(max(|a|^2 + |b|^2 - 2 a.b, 0))`` (one matrix product; accurate to ~1e-3 relative for
    nearly equal vectors, where cancellation eats the float32 digits)."""
    a, b, a1, b1 = _pair(a, b)
    a2 = (a.astype(np.float64) ** 2).sum(1)[:, None]
    b2 = (b.astype(np.float64) ** 2).sum(1)[None, :]
    d2 = np.maximum(a2 + b2 - 2.0 * (a @ b.T), 0.0)
    return _shape_result(np.sqrt(d2).astype(np.float32), a1, b1)


# ------------------------------------------------------------------------------- top-k
def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, got {k!r}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return int(k)


def _exclude_csr(exclude, n_q: int, n_db: int, single: bool):
    if exclude is None:
        return None, None
    if single:
        exclude = [exclude]
    ptr, ids = _k.exclude_to_csr(exclude, n_q)
    return ptr, as_index_array(ids, n_db, "excluded id")


class ExactIndex:
    """A database prepared for repeated exact searches (checked once, norms computed once).

    >>> index = ExactIndex(vectors, metric="cosine")
    >>> ids, scores = index.search(queries, k=10, exclude=[[3], [], [7, 9]])

    The database is converted to float32 once and kept (not copied when it already is
    C-contiguous float32); for cosine the rows are *not* normalised in a copy, their inverse
    norms are kept instead, so the index costs 4 bytes per row on top of the data.
    The database array is referenced, not copied: after changing it in place, build a new index
    (the kept norms and the finiteness check would be stale).
    """

    def __init__(self, database, metric: str = "cosine"):
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        db = as_vectors(database, "database", check_finite=False)
        if db.ndim != 2:
            raise ValueError(f"database must be 2-D (one vector per row), got shape {db.shape}")
        norms = _check_finite(db, "database")
        self.database, self.metric = db, metric
        if metric == "cosine":
            self.aux = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0).astype(np.float32)
        elif metric == "euclidean":
            self.aux = (0.5 * norms * norms).astype(np.float32)
        else:
            self.aux = np.zeros(db.shape[0], dtype=np.float32)

    def __len__(self) -> int:
        return self.database.shape[0]

    @property
    def dim(self) -> int:
        return self.database.shape[1]

    def search(self, queries, k: int, exclude=None) -> tuple[np.ndarray, np.ndarray]:
        """The k best database rows for each query, exact, best first.

        Args:
            queries: (D,) one query or (Q, D) a batch.
            k: how many results (>= 0); at most ``len(database)`` are returned.
            exclude: ids never to return. For a single query: a sequence of ids. For a batch: a
                list of Q sequences, or a (Q, E) int array in which -1 means "no id".

        Returns:
            ``(indices, scores)``: int64 and float32, shape (min(k, M),) for one query, (Q, min(k, M))
            for a batch. Sorted by score descending (euclidean: distance ascending), equal scores
            by lower index. Where exclusions leave fewer than k rows, the tail is index -1 with
            score -inf (euclidean: +inf).
        """
        q = as_vectors(queries, "queries")
        single = q.ndim == 1
        q = np.atleast_2d(q)
        if q.shape[1] != self.dim:
            raise ValueError(f"dimension mismatch: queries have size {q.shape[1]}, database rows {self.dim}")
        k = _check_k(k)
        ptr, ids = _exclude_csr(exclude, q.shape[0], len(self), single)
        if self.metric == "cosine":
            q = normalize(q)
        idx, scores = _k.topk_blocked(q, self.database, k, self.metric, aux=self.aux, exclude_ptr=ptr,
                                      exclude_ids=ids)
        return (idx[0], scores[0]) if single else (idx, scores)


def topk(queries, database, k: int, metric: str = "cosine", exclude=None) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of ``database`` for each query: ``ExactIndex(database, metric).search(...)``.

    queries (D,) or (Q, D); database (M, D); metric ``"cosine"`` (default), ``"dot"`` or
    ``"euclidean"``. See :meth:`ExactIndex.search` for ``exclude`` and the results.
    Memory stays bounded: the database plus one 16 MB score block plus the results.
    """
    return ExactIndex(database, metric).search(queries, k, exclude=exclude)


def topk_reference(queries, database, k: int, metric: str = "cosine", exclude=None):
    """The same answer as :func:`topk` from the full (Q, M) score matrix (for checking and teaching)."""
    q = np.atleast_2d(as_vectors(queries, "queries"))
    db = as_vectors(database, "database")
    single = np.ndim(queries) == 1
    if exclude is not None and single:
        exclude = [exclude]
    idx, scores = _k.topk_reference(q, db, _check_k(k), metric, exclude)
    return (idx[0], scores[0]) if single else (idx, scores)


# ---------------------------------------------------------------------------- analogies
# ------------------------------------------------------------------------ retrieval
def check_query_database(queries, database) -> tuple[np.ndarray, np.ndarray]:
    """queries (Q, D) and database (M, D) as arrays, after checking they are float matrices of the same
    width and that the database is not empty (ValueError / TypeError naming the problem)."""
    q, db = np.asarray(queries), np.asarray(database)
    if q.ndim != 2 or db.ndim != 2 or q.shape[1] != db.shape[1]:
        raise ValueError(f"queries (Q, D) and database (M, D) must be matrices of the same width, got "
                         f"{q.shape} and {db.shape}")
    for name, a in (("queries", q), ("database", db)):
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"{name} must be float vectors, got dtype {a.dtype}")
    # NaN / inf are caught by topk, which names the row, in its one pass.
    if len(db) == 0:
        raise ValueError("the database is empty")
    return q, db


def nearest_neighbors(queries, database, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar rows of ``database`` for each query, best first.

    queries (Q, D), database (M, D) float -> (indices (Q, k) int64 into database, similarities (Q, k)).
    ``k`` is capped at M. A zero vector has similarity 0 to everything.
    """
    q, db = check_query_database(queries, database)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return topk(q, db, min(int(k), len(db)), metric="cosine")


def _ids(x, n: int, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be integer row ids, got dtype {arr.dtype}")
    return as_index_array(arr, n, name)


def analogy_targets(normed: np.ndarray, a, b, c) -> np.ndarray:
    """The 3CosAdd query of "a is to b as c is to ?": ``b - a + c`` over unit rows, scaled to unit
    length. normed (V, D) unit rows, a/b/c (Q,) row ids -> (Q, D) float32. The best answer ``d``
    maximises ``cos(d, b - a + c)``; KeyedVectors' evaluation and :func:`analogy` both ask this."""
    return normalize(normed[b] - normed[a] + normed[c])


def analogy(vectors, a, b, c, k: int = 1, method: str = "add", exclude_inputs: bool = True,
            normalized: bool = False, eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Answer "a is to b as c is to ?" for one or many questions, exactly.

    Args:
        vectors: (V, D) word vectors (rows are words).
        a, b, c: row ids, scalars or (Q,) arrays (king - man + woman: a=man, b=king, c=woman).
        k: answers per question.
        method: ``"add"`` (3CosAdd, Mikolov et al. 2013): ``argmax_d cos(d, b - a + c)`` on unit
            vectors, the score being that cosine (gensim's ``most_similar(positive=[b, c],
            negative=[a])``). ``"mul"`` (3CosMul, Levy & Goldberg 2014):
            ``argmax_d cos'(d, b) cos'(d, c) / (cos'(d, a) + eps)`` with ``cos' = (1 + cos) / 2``
            in [0, 1] and ``eps = 1e-6`` (gensim's ``most_similar_cosmul``).
        exclude_inputs: never answer a, b or c (the usual evaluation protocol).
        normalized: pass True when the rows already have unit length (saves one copy of V x D).

    Returns:
        ``(indices, scores)``: (k,) for scalar ids, (Q, k) for arrays; best first.
    """
    vecs = as_vectors(vectors, "vectors", check_finite=not normalized)
    if vecs.ndim != 2:
        raise ValueError(f"vectors must be 2-D (V, D), got shape {vecs.shape}")
    single = np.ndim(a) == 0 and np.ndim(b) == 0 and np.ndim(c) == 0
    n = vecs.shape[0]
    a, b, c = (np.atleast_1d(_ids(x, n, nm)) for x, nm in ((a, "a"), (b, "b"), (c, "c")))
    if not a.shape == b.shape == c.shape or a.ndim != 1:
        raise ValueError(f"a, b and c must be scalars or 1-D arrays of one length, got {a.shape}, {b.shape}, {c.shape}")
    k = _check_k(k)
    normed = vecs if normalized else normalize(vecs)
    exclude = np.stack([a, b, c], axis=1) if exclude_inputs else None
    if method == "add":
        idx, scores = ExactIndex(normed, "dot").search(analogy_targets(normed, a, b, c), k, exclude=exclude)
    elif method == "mul":
        idx, scores = cosmul_topk(normed, np.stack([b, c], 1), a[:, None], k, exclude=exclude, eps=eps)
    else:
        raise ValueError(f"method must be 'add' or 'mul', got {method!r}")
    return (idx[0], scores[0]) if single else (idx, scores)


def cosmul_topk(normed, positive, negative, k: int, exclude=None, eps: float = 1e-6, query_vectors=None):
    """3CosMul top-k for general word lists: unit rows ``normed`` (V, D), ``positive`` (Q, P) and
    ``negative`` (Q, N) row ids. Scores ``prod_p cos'(d, p) / (prod_n cos'(d, n) + eps)``.
    Returns (indices (Q, min(k, V)), scores), best first; ``exclude`` as in :meth:`ExactIndex.search`.

    ``query_vectors`` (W, D) unit rows: take the positive/negative ids from this table instead of
    ``normed`` — for candidates restricted to the first rows of a vocabulary (``normed = table[:n]``)
    while the question words may lie beyond them.
    """
    normed = as_vectors(normed, "normed", check_finite=False)
    if normed.ndim != 2:
        raise ValueError(f"normed must be 2-D (V, D), got shape {normed.shape}")
    source = normed if query_vectors is None else as_vectors(query_vectors, "query_vectors", check_finite=False)
    if source.ndim != 2 or source.shape[1] != normed.shape[1]:
        raise ValueError(f"query_vectors must be (W, {normed.shape[1]}), got shape {source.shape}")
    n = source.shape[0]
    pos = np.atleast_2d(_ids(positive, n, "positive id"))
    neg = _ids(np.asarray(negative, dtype=np.int64) if np.size(negative) == 0 else negative, n, "negative id")
    neg = neg.reshape(pos.shape[0], neg.size // max(pos.shape[0], 1))
    k = _check_k(k)
    ptr, ids = _exclude_csr(exclude, pos.shape[0], normed.shape[0], False)
    if ptr is None:
        ptr, ids = np.zeros(pos.shape[0] + 1, np.int64), np.zeros(0, np.int64)
    return _k.topk_cosmul(normed, pos, neg, k, ptr, ids, eps=eps, query_table=None if query_vectors is None else source)
