"""What every recommender shares: checked input, user and item tables, recommend, similar items, save/load.

A model learns a table of user vectors ``(n_users, D)`` and one of item vectors ``(n_items, D)``; the score
of an item for a user is a dot product (plus biases, for the models that have them). Users and items
are *row indices* ``0..n-1`` (:class:`minembed.datasets.Ratings` numbers them so; its ``user_keys`` and
``item_keys`` keep the ids of the source, and :attr:`Recommender.item_vectors` is keyed by them).

Ranking goes through the shared exact search (:func:`minembed.space.ranking.top_k_items`, an
:class:`~minembed.space.search.ExactIndex` with the user's training items excluded), and
:meth:`Recommender.similar_items` through :class:`~minembed.space.KeyedVectors`-style cosine search.

A user with no training interactions has no vector worth the name (it stays at its start, or at 0);
:meth:`Recommender.recommend` then falls back to the most popular items and says so in
``model.last_fallback`` (documented behaviour, tested), rather than ranking by noise.
"""
from __future__ import annotations

import json
import math
import time

import numpy as np

from ..io import load_npz, save_npz
from ..kernels.validate import check_positive_int
from ..rng import make_rng
from ..space.ranking import top_k_items
from ..space.search import ExactIndex
from ..space.vectors import KeyedVectors


# ------------------------------------------------------------------------------------- checked input
def as_interactions(data, n_users=None, n_items=None, implicit=False):
    """``data`` as ``(users int64, items int64, values float32, n_users, n_items, user_keys, item_keys)``.

    ``data``: a :class:`~minembed.datasets.Ratings`, or ``(users, items)`` (implicit: every value 1), or
    ``(users, items, values)``. Ids must be integers >= 0 and below ``n_users`` / ``n_items`` when those
    are given (else the largest id + 1). Values must be finite (and >= 0 for implicit feedback).
    Every problem raises naming the array, the position and the value; nothing is dropped.
    """
    user_keys = item_keys = None
    if hasattr(data, "user") and hasattr(data, "rating"):
        users, items, values = data.user, data.item, data.rating
        n_users = data.n_users if n_users is None else n_users
        n_items = data.n_items if n_items is None else n_items
        user_keys, item_keys = list(data.user_keys), list(data.item_keys)
    elif isinstance(data, (tuple, list)) and len(data) in (2, 3):
        users, items = data[0], data[1]
        values = data[2] if len(data) == 3 else np.ones(np.shape(users), np.float32)
    else:
        raise TypeError("data must be a minembed.datasets.Ratings or a tuple (users, items[, ratings]), got "
                        f"{type(data).__name__}")
    users, items = np.asarray(users), np.asarray(items)
    values = np.asarray(values)
    for name, a in (("user ids", users), ("item ids", items)):
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
        if a.size and (a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer)):
            if not (np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a))):
                raise TypeError(f"{name} must be integers, got dtype {a.dtype}")
    if not len(users) == len(items) == len(values):
        raise ValueError(f"users, items and ratings must have one length, got {len(users)}, {len(items)}, "
                         f"{len(values)}")
    if len(users) == 0:
        raise ValueError("the rating matrix is empty: no (user, item) pairs to learn from")
    users, items = users.astype(np.int64), items.astype(np.int64)
    if not np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_:
        raise TypeError(f"ratings must be numbers, got dtype {values.dtype}")
    values = values.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise ValueError(f"rating at position {bad[0]} is {values[bad[0]]} (NaN or infinite; {len(bad)} such)")
    if implicit and (values < 0).any():
        p = int(np.flatnonzero(values < 0)[0])
        raise ValueError(f"implicit feedback must be >= 0 (a count, a rating); position {p} has {values[p]}")
    for name, ids, n in (("user", users, n_users), ("item", items, n_items)):
        if ids.min() < 0:
            p = int(np.flatnonzero(ids < 0)[0])
            raise ValueError(f"{name} id {ids[p]} at position {p} is negative (ids are row indices >= 0)")
        if n is not None and ids.max() >= n:
            p = int(np.flatnonzero(ids >= n)[0])
            raise ValueError(f"{name} id {ids[p]} at position {p} is unknown: there are n_{name}s={n} "
                             f"(ids 0..{n - 1})")
    n_users = int(users.max()) + 1 if n_users is None else int(n_users)
    n_items = int(items.max()) + 1 if n_items is None else int(n_items)
    return users, items, values, n_users, n_items, user_keys, item_keys


def to_csr(rows, cols, values, n_rows: int, n_cols: int, duplicates: str = "sum"):
    """CSR ``(indptr, indices, data)`` with sorted, unique columns per row. Repeated (row, col) pairs are
    summed (``duplicates="sum"``: implicit counts add up, as ``scipy.sparse`` does) or refused (``"error"``)."""
    key = rows * max(n_cols, 1) + cols
    order = np.argsort(key, kind="stable")
    key, values = key[order], values[order]
    first = np.r_[True, key[1:] != key[:-1]]
    if not first.all():
        if duplicates == "error":
            k = int(key[np.flatnonzero(~first)[0]])
            raise ValueError(f"(user {k // n_cols}, item {k % n_cols}) is rated more than once")
        values = np.add.reduceat(values, np.flatnonzero(first)).astype(np.float32)
        key = key[first]
    r = key // max(n_cols, 1)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    return indptr, (key % max(n_cols, 1)).astype(np.int64), np.ascontiguousarray(values, dtype=np.float32)


def check_factors(factors) -> int:
    """``factors`` (the embedding size) as an int >= 1, else ValueError naming it."""
    return check_positive_int(factors, "factors")


def check_nonneg(value, name: str) -> float:
    """``value`` as a finite float >= 0 (a regularisation, a learning rate), else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or \
            not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


# ------------------------------------------------------------------------------------------ the base
class Recommender:
    """Base class: subclasses set ``user_factors``, ``item_factors`` (and biases) in :meth:`fit`.

    Attributes after ``fit``: ``user_factors (n_users, D)`` and ``item_factors (n_items, D)`` float32,
    ``n_users``, ``n_items``, ``user_keys``, ``item_keys``, ``history`` (a dict of per-epoch lists:
    ``epoch``, ``train_loss``, ``seconds``), ``item_popularity`` (training interactions per item) and
    ``item_names`` (titles, when the data had them; saved with the model).
    """

    _SETTINGS: tuple = ()
    _ARRAYS: tuple = ("user_factors", "item_factors")

    def __init__(self):
        self.user_factors = None
        self.item_factors = None
        self.history = {"epoch": [], "train_loss": [], "seconds": []}
        self.last_fallback = False
        self.item_names = None

    # ----------------------------------------------------------------------- set-up shared by fits
    def _prepare(self, data, n_users=None, n_items=None, implicit=False):
        users, items, values, n_users, n_items, ukeys, ikeys = as_interactions(data, n_users, n_items, implicit)
        self.n_users, self.n_items = n_users, n_items
        self.item_names = list(data.item_names) if getattr(data, "item_names", None) else None
        self.user_keys = ukeys if ukeys is not None else list(range(n_users))
        self.item_keys = ikeys if ikeys is not None else list(range(n_items))
        self._seen = to_csr(users, items, values, n_users, n_items)[:2]
        self.item_popularity = np.bincount(items, minlength=n_items).astype(np.float32)
        self.history = {"epoch": [], "train_loss": [], "seconds": []}
        return users, items, values

    def _record(self, epoch: int, loss: float, start: float) -> None:
        self.history["epoch"].append(epoch)
        self.history["train_loss"].append(None if loss is None else float(loss))
        self.history["seconds"].append(time.perf_counter() - start)

    def _rng(self):
        return make_rng(seed=self.seed)

    def _check_fitted(self):
        if self.user_factors is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit() first")

    # ------------------------------------------------------------------------------ scoring
    def _scoring_tables(self):
        """(user side (U, D'), item side (I, D'), per-user offset (U,) or None): score = u . i + offset."""
        return self.user_factors, self.item_factors, None

    def _check_user(self, user) -> int:
        if isinstance(user, (bool, np.bool_)) or not isinstance(user, (int, np.integer)):
            raise TypeError(f"user must be an integer row index, got {user!r}")
        if not 0 <= user < self.n_users:
            raise IndexError(f"user {user} is unknown: this model has users 0..{self.n_users - 1}")
        return int(user)

    def _check_item(self, item) -> int:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"item must be an integer row index, got {item!r}")
        if not 0 <= item < self.n_items:
            raise IndexError(f"item {item} is unknown: this model has items 0..{self.n_items - 1}")
        return int(item)

    def has_interactions(self, user: int) -> bool:
        """True when ``user`` had at least one training interaction."""
        indptr = self._seen[0]
        return bool(indptr[user + 1] > indptr[user])

    def recommend(self, user, k: int = 10, filter_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best items for ``user`` (a row index), best first: ``(items int64, scores float32)``.

        ``filter_seen`` leaves out the items the user had in training. Fewer than ``k`` come back only
        when fewer are left. A user with no training interactions gets the most popular items (scores:
        their training counts) and ``self.last_fallback`` is set True; otherwise it is False.
        """
        self._check_fitted()
        user = self._check_user(user)
        k = check_positive_int(k, "k")
        seen = self._seen if filter_seen else None
        self.last_fallback = not self.has_interactions(user)
        if self.last_fallback:
            items, scores = top_k_items(np.ones((self.n_users, 1), np.float32), self.item_popularity[:, None], k,
                                        seen=seen, users=[user])
        else:
            uv, iv, offset = self._scoring_tables()
            items, scores = top_k_items(uv, iv, k, seen=seen, users=[user])
            if offset is not None:
                scores = scores + offset[user]
        items, scores = items[0], scores[0]
        keep = items >= 0
        return items[keep], scores[keep].astype(np.float32)

    def recommend_all(self, k: int = 10, users=None, filter_seen: bool = True) -> np.ndarray:
        """Top-k item ids for many users at once, (Q, k) int64 (-1 where fewer items are left): for evaluation.
        Users without training interactions get the popular items, as in :meth:`recommend`."""
        self._check_fitted()
        k = check_positive_int(k, "k")
        users = np.arange(self.n_users) if users is None else np.asarray(users, dtype=np.int64)
        seen = self._seen if filter_seen else None
        uv, iv, _ = self._scoring_tables()
        items, _ = top_k_items(uv, iv, k, seen=seen, users=users)
        cold = np.flatnonzero(np.diff(self._seen[0])[users] == 0)
        if len(cold):
            pop, _ = top_k_items(np.ones((self.n_users, 1), np.float32), self.item_popularity[:, None], k,
                                 seen=seen, users=users[cold])
            items[cold] = pop
        return items

    def similar_items(self, item, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items whose vectors have the highest cosine with ``item``'s (itself left out):
        ``(items int64, cosines float32)``, best first."""
        self._check_fitted()
        item = self._check_item(item)
        k = check_positive_int(k, "k")
        index = ExactIndex(self.item_factors, metric="cosine")
        items, scores = index.search(self.item_factors[item], min(k, self.n_items - 1), exclude=[item])
        keep = items >= 0
        return items[keep], scores[keep]

    @property
    def user_vectors(self) -> KeyedVectors:
        """User vectors as :class:`~minembed.space.KeyedVectors`, keyed by ``user_keys``."""
        self._check_fitted()
        return KeyedVectors(self.user_keys, self.user_factors)

    @property
    def item_vectors(self) -> KeyedVectors:
        """Item vectors as :class:`~minembed.space.KeyedVectors`, keyed by ``item_keys`` (MovieLens ids),
        so ``model.item_vectors.most_similar(key)`` works as for words."""
        self._check_fitted()
        return KeyedVectors(self.item_keys, self.item_factors, counts=self.item_popularity.astype(np.int64))

    # -------------------------------------------------------------------------------- saving
    def save(self, path) -> None:
        """One ``.npz`` (no pickle), written atomically: every learned array, the training interactions'
        structure (for ``filter_seen``), and a JSON ``meta`` with the class, its settings, keys and history."""
        self._check_fitted()
        meta = {"format": f"minembed.recsys.{type(self).__name__}", "version": 1,
                "settings": {k: getattr(self, k) for k in self._SETTINGS},
                "n_users": self.n_users, "n_items": self.n_items, "user_keys": self.user_keys,
                "item_keys": self.item_keys, "item_names": self.item_names, "history": self.history,
                "extra": self._extra_meta()}
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        save_npz(path, meta=np.array(json.dumps(meta)), seen_indptr=self._seen[0], seen_indices=self._seen[1],
                 item_popularity=self.item_popularity, **arrays)

    def _extra_meta(self) -> dict:
        return {}

    def _set_extra_meta(self, extra: dict) -> None:
        pass

    @classmethod
    def load(cls, path):
        """A model written by :meth:`save`. Everything is read and checked before the model is built, so a
        bad file raises ``ValueError`` naming it and nothing is half-loaded."""
        arrays = load_npz(path)
        try:
            meta = json.loads(str(arrays["meta"][()]))
            want = f"minembed.recsys.{cls.__name__}"
            if not isinstance(meta, dict) or meta.get("format") != want or meta.get("version") != 1:
                raise ValueError(f"its header is not a version-1 {want} header (got {meta.get('format')!r})")
            model = cls(**meta["settings"])
            nu, ni = int(meta["n_users"]), int(meta["n_items"])
            if len(meta["user_keys"]) != nu or len(meta["item_keys"]) != ni:
                raise ValueError("the number of keys does not match n_users / n_items")
            loaded = {}
            for name in cls._ARRAYS:
                a = arrays[name]
                rows = nu if name.startswith("user") else ni
                if a.dtype != np.float32 or a.shape[0] != rows or not np.isfinite(a).all():
                    raise ValueError(f"{name} must be finite float32 with {rows} rows, got {a.dtype} {a.shape}")
                loaded[name] = a
            indptr, indices = arrays["seen_indptr"], arrays["seen_indices"]
            if indptr.shape != (nu + 1,) or indptr[-1] != len(indices) or (len(indices) and indices.max() >= ni):
                raise ValueError("the saved training interactions do not match the tables")
            pop = arrays["item_popularity"]
            if pop.shape != (ni,):
                raise ValueError("item_popularity has the wrong shape")
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
            raise ValueError(f"{path} is not a readable minembed {cls.__name__} file: {err}") from None
        for name, a in loaded.items():
            setattr(model, name, a)
        model.n_users, model.n_items = nu, ni
        model.user_keys, model.item_keys = list(meta["user_keys"]), list(meta["item_keys"])
        model._seen = (indptr.astype(np.int64), indices.astype(np.int64))
        model.item_popularity = pop.astype(np.float32)
        model.history = meta["history"]
        names = meta.get("item_names")
        model.item_names = list(names) if names and len(names) == ni else None
        model._set_extra_meta(meta["extra"])
        return model

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._SETTINGS[:4])
        state = f", fitted on {self.n_users} users x {self.n_items} items" if self.user_factors is not None else ""
        return f"{type(self).__name__}({settings}{state})"
