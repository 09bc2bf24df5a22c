"""Embedding layers: a table of vectors looked up by integer id.

Looking up row ``i`` of a table ``W`` (V, D) is the same as multiplying the one-hot
vector ``e_i`` by ``W`` — without ever building the one-hot vector. The backward pass
of ``y = e_i W`` with respect to ``W`` is ``e_i^T dy``: the upstream gradient lands
in row ``i`` and nowhere else. Over a batch, rows that repeat add up, so the whole
backward is one *scatter-add* (:func:`minembed.kernels.scatter_add_rows`).
"""
from __future__ import annotations

import numpy as np

from ..kernels import gather_rows, scatter_add_rows, segment_max_rows
from ..kernels.validate import as_index_array
from ..rng import make_rng
from .module import Module, Parameter, RowSparseGrad


class _TableLayer(Module):
    """What Embedding and EmbeddingBag share: the table, id checks, max_norm and the
    gradient bookkeeping (dense, or row-sparse for huge tables)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, sparse, rng, seed,
                 dtype, weight=None):
        if num_embeddings < 0 or embedding_dim < 0:
            raise ValueError(f"need num_embeddings >= 0 and embedding_dim >= 0, got {num_embeddings}, {embedding_dim}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx {padding_idx} is out of range for {num_embeddings} embeddings")
            padding_idx %= num_embeddings  # -1 means the last row, as in PyTorch
        if max_norm is not None and max_norm <= 0:
            raise ValueError(f"max_norm must be positive, got {max_norm}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type, self.sparse = padding_idx, max_norm, norm_type, sparse
        if weight is None:
            # N(0, 1) like PyTorch: a lookup feeds the next layer directly, so unit scale is right.
            weight = make_rng(rng, seed).standard_normal((num_embeddings, embedding_dim)).astype(dtype)
            if padding_idx is not None:
                weight[padding_idx] = 0.0
        self.weight = Parameter(weight)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, **options):
        """A layer whose table is a copy of ``embeddings`` (V, D), frozen unless ``freeze=False``.

        ``options`` are the constructor's keyword arguments (``padding_idx``, ``max_norm``,
        ``sparse``, and ``mode`` for EmbeddingBag).
        """
        table = np.array(embeddings, copy=True)
        if table.ndim != 2:
            raise ValueError(f"pretrained embeddings must be 2-D (V, D), got shape {table.shape}")
        if not np.issubdtype(table.dtype, np.floating):
            table = table.astype(np.float32)
        layer = cls(table.shape[0], table.shape[1], _weight=table, **options)
        layer.weight.requires_grad = not freeze
        return layer

    def _check_ids(self, ids) -> np.ndarray:
        return as_index_array(ids, self.num_embeddings, what="embedding index")

    def _renorm_rows(self, flat_ids: np.ndarray) -> None:
        """max_norm: shrink, in place, each looked-up row whose norm exceeds max_norm."""
        rows = np.unique(flat_ids)
        norms = np.linalg.norm(self.weight.data[rows], ord=self.norm_type, axis=1)
        too_long = norms > self.max_norm
        scale = self.max_norm / (norms[too_long] + 1e-7)  # same 1e-7 guard as PyTorch
        self.weight.data[rows[too_long]] *= scale[:, None].astype(self.weight.data.dtype)

    def _lookup(self, flat_ids: np.ndarray, renorm: bool = True) -> np.ndarray:
        if renorm and self.max_norm is not None and flat_ids.size:
            self._renorm_rows(flat_ids)
        return gather_rows(self.weight.data, flat_ids)

    def _add_row_grads(self, flat_ids: np.ndarray, rows: np.ndarray) -> None:
        """dW[flat_ids[i]] += rows[i] for every i (padding rows excluded), dense or row-sparse."""
        w = self.weight
        if not w.requires_grad:
            return
        rows = np.ascontiguousarray(rows, dtype=w.data.dtype)
        if self.padding_idx is not None:
            keep = flat_ids != self.padding_idx
            flat_ids, rows = flat_ids[keep], rows[keep]
        if self.sparse:
            uniq, inverse = np.unique(flat_ids, return_inverse=True)
            values = np.zeros((len(uniq), self.embedding_dim), dtype=w.data.dtype)
            scatter_add_rows(values, inverse.ravel(), rows)
            if isinstance(w.grad, RowSparseGrad):  # a second backward before the step: merge
                both_ids = np.concatenate([w.grad.indices, uniq])
                both_rows = np.concatenate([w.grad.values, values])
                uniq, inverse = np.unique(both_ids, return_inverse=True)
                values = np.zeros((len(uniq), self.embedding_dim), dtype=w.data.dtype)
                scatter_add_rows(values, inverse.ravel(), both_rows)
            elif w.grad is not None:
                w.add_rows(flat_ids, rows)
                return
            w.grad = RowSparseGrad(uniq, values, w.data.shape)
        else:
            # Into the kept array (see Parameter): zero_grad() then clears only these rows.
            w.add_rows(flat_ids, rows)


class Embedding(_TableLayer):
    """A lookup table: ids (...) int -> vectors (..., D).

    Args:
        num_embeddings: V, the number of rows (vocabulary size).
        embedding_dim: D, the length of each vector.
        padding_idx: a row that always stays as it is: it receives no gradient
            (initialised to zeros, as in PyTorch). Negative values count from the end.
        max_norm: if set, every row that is looked up and whose ``norm_type``-norm exceeds
            ``max_norm`` is rescaled *in place* to that norm before it is returned.
        sparse: if True, ``weight.grad`` is a :class:`RowSparseGrad` holding only the rows
            that were looked up, so an optimizer step costs O(rows used), not O(V).
        rng / seed: where the N(0, 1) initial weights come from.

    Backward: ``dW[ids[n]] += dy[n]`` for every position n (a scatter-add); returns None,
    since integer ids have no gradient.

    Empty sizes are allowed, as in PyTorch: ``Embedding(V, 0)`` returns (..., 0) vectors and a
    (V, 0) gradient; ``Embedding(0, D)`` is an empty table, so the only valid input is an
    empty id array (giving (0, D)); any id into it raises ``IndexError``.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, sparse: bool = False, *,
                 rng=None, seed=None, dtype=np.float32, _weight=None):
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, sparse, rng, seed,
                         dtype, _weight)

    def forward(self, ids):
        ids = self._check_ids(ids)
        self._ids = ids.ravel()
        self._shape = ids.shape
        return self._lookup(self._ids).reshape(*ids.shape, self.embedding_dim)

    def backward(self, dy):
        expected = (*self._shape, self.embedding_dim)
        if dy.shape != expected:
            raise ValueError(f"Embedding.backward expects dy of shape {expected}, got {dy.shape}")
        self._add_row_grads(self._ids, dy.reshape(len(self._ids), self.embedding_dim))  # (not -1: D may be 0)
        return None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s + (", sparse=True" if self.sparse else "")


class EmbeddingBag(_TableLayer):
    """Look up a *bag* of ids and reduce it to one vector (sum, mean or max), without
    materialising the (B, L, D) intermediate a plain Embedding would need.

    Inputs, as in PyTorch:
      * ``ids`` (B, L) int: B bags of L ids each (``offsets`` must be None); or
      * ``ids`` (N,) int with ``offsets`` (B,) int: bag b is ``ids[offsets[b]:offsets[b+1]]``
        (the last runs to N). ``offsets[0]`` must be 0 and offsets non-decreasing. With
        ``include_last_offset=True`` offsets has B+1 entries, the last equal to N.
        Stricter than PyTorch, which silently ignores ids: empty offsets with non-empty ids,
        or a last offset below N with ``include_last_offset=True``, raise ``ValueError``
        (PyTorch 2.13 even crashes on ``offsets=[0]`` with non-empty ids there).
      * ``per_sample_weights`` (same shape as ids), ``mode="sum"`` only: ``sum_i w_i W[id_i]``.
        Its dtype must be the table's (``TypeError`` otherwise, as PyTorch refuses a float64
        weight on a float32 table): a silent cast would round the weights or hide a mix-up.

    Output (B, D). Ids equal to ``padding_idx`` are left out of their bag (not counted in
    the mean), with or without ``include_last_offset``. An empty bag, or one holding only
    padding ids, gives a zero vector (in every mode, max included). Backward routes ``dy[b]`` to every row
    of bag b (times ``w_i`` for sum, ``1/count`` for mean, only to the winning row per
    column for max). The gradient with respect to ``per_sample_weights`` is left in
    ``self.per_sample_weights_grad``: ``dL/dw_i = dy[bag(i)] . W[id_i]``.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, mode: str = "mean",
                 padding_idx: int | None = None, max_norm: float | None = None, norm_type: float = 2.0,
                 sparse: bool = False, include_last_offset: bool = False, *, rng=None, seed=None,
                 dtype=np.float32, _weight=None):
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"mode must be 'sum', 'mean' or 'max', got {mode!r}")
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, sparse, rng, seed,
                         dtype, _weight)
        self.mode, self.include_last_offset = mode, include_last_offset
        self.per_sample_weights_grad = None

    def _bounds(self, ids: np.ndarray, offsets) -> np.ndarray:
        """Bag boundaries as an int64 array of B+1 positions into the flat ids."""
        if ids.ndim == 2:
            if offsets is not None:
                raise ValueError("offsets must be None when ids is 2-D (B, L)")
            n_bags, length = ids.shape
            return np.arange(n_bags + 1, dtype=np.int64) * length
        if ids.ndim != 1:
            raise ValueError(f"EmbeddingBag ids must be 1-D (with offsets) or 2-D (B, L), got shape {ids.shape}")
        if offsets is None:
            raise ValueError("1-D ids need offsets saying where each bag starts")
        offsets = np.asarray(offsets)
        if offsets.ndim != 1 or offsets.dtype == np.bool_ or not np.issubdtype(offsets.dtype, np.integer):
            raise TypeError(f"offsets must be a 1-D integer array, got shape {offsets.shape} dtype {offsets.dtype}")
        offsets = offsets.astype(np.int64)
        n = ids.shape[0]
        if len(offsets) == 0 and n > 0:
            # PyTorch returns zero bags here and ignores every id; we refuse to drop input silently.
            raise ValueError(f"offsets is empty but ids has {n} entries: give offsets[0] = 0 for the first bag")
        if self.include_last_offset and len(offsets) == 0:
            raise ValueError("with include_last_offset=True, offsets holds B+1 bounds: give at least [0] (no bags)")
        bounds = offsets if self.include_last_offset else np.append(offsets, n)
        if len(offsets) and offsets[0] != 0:
            raise ValueError(f"offsets[0] must be 0 (the first bag starts at the first id), got {offsets[0]}")
        if len(offsets) and offsets.max() > n:
            b = int(np.argmax(offsets > n))
            raise ValueError(f"offsets point past the input: offsets[{b}]={offsets[b]}, but ids has only {n} entries")
        steps = np.diff(bounds)
        if (steps < 0).any():
            b = int(np.flatnonzero(steps < 0)[0])
            raise ValueError(
                f"offsets must be non-decreasing: offsets[{b}]={bounds[b]} > offsets[{b + 1}]={bounds[b + 1]}"
            )
        if bounds[-1] != n:
            raise ValueError(f"offsets point past the input or leave ids unused: last bound {bounds[-1]}, ids has {n}")
        return bounds

    def forward(self, ids, offsets=None, per_sample_weights=None):
        ids = self._check_ids(ids)
        bounds = self._bounds(ids, offsets)
        flat = ids.ravel()
        weights = None
        if per_sample_weights is not None:
            if self.mode != "sum":
                raise ValueError(f"per_sample_weights only works with mode='sum', not {self.mode!r}")
            weights = np.asarray(per_sample_weights)
            if weights.dtype != self.weight.data.dtype:
                raise TypeError(f"per_sample_weights has dtype {weights.dtype} but the table is "
                                f"{self.weight.data.dtype}: convert them with .astype(np.{self.weight.data.dtype})")
            if weights.shape != ids.shape:
                raise ValueError(f"per_sample_weights must have the ids' shape {ids.shape}, got {weights.shape}")
            weights = weights.ravel()
        if self.max_norm is not None and flat.size:
            # Like PyTorch, every id of the input is renormalised, padding ids included.
            self._renorm_rows(flat)
        keep = None
        if self.padding_idx is not None:  # drop padding ids and move the bag bounds to match
            keep = flat != self.padding_idx
            bounds = np.concatenate([[0], np.cumsum(keep)])[bounds]
            flat = flat[keep]
            weights = None if weights is None else weights[keep]
        n_bags = len(bounds) - 1
        counts = np.diff(bounds)
        bag_of = np.repeat(np.arange(n_bags), counts)
        rows = self._lookup(flat, renorm=False)
        self._cache = (flat, weights, bag_of, counts, rows if weights is not None else None, keep, ids.shape)
        out = np.zeros((n_bags, self.embedding_dim), dtype=self.weight.data.dtype)
        if self.mode == "max":
            out, self._argmax = segment_max_rows(rows, bounds)
            return out
        scatter_add_rows(out, bag_of, rows if weights is None else rows * weights[:, None])
        if self.mode == "mean":
            out /= np.maximum(counts, 1)[:, None].astype(out.dtype)
        return out

    def backward(self, dy):
        flat, weights, bag_of, counts, rows, keep, ids_shape = self._cache
        if dy.shape != (len(counts), self.embedding_dim):
            expected = (len(counts), self.embedding_dim)
            raise ValueError(f"EmbeddingBag.backward expects dy of shape {expected}, got {dy.shape}")
        if self.mode == "max":
            per_item = np.zeros((len(flat), self.embedding_dim), dtype=dy.dtype)
            won = self._argmax >= 0  # each (item, column) wins at most one bag
            per_item[self._argmax[won], np.nonzero(won)[1]] = dy[won]
        else:
            per_item = dy[bag_of]
            if self.mode == "mean":
                per_item = per_item / counts[bag_of, None].astype(dy.dtype)
        if weights is not None:
            grad_w = (per_item * rows).sum(axis=1)
            if keep is not None:  # padding ids were dropped; their weights get zero gradient
                full = np.zeros(keep.shape, dtype=grad_w.dtype)
                full[keep] = grad_w
                grad_w = full
            self.per_sample_weights_grad = grad_w.reshape(ids_shape)
            per_item = per_item * weights[:, None]
        self._add_row_grads(flat, per_item)
        return None

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
