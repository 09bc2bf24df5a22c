"""Ratings of items by users: MovieLens 100k (never bundled), any ratings file, and generated low-rank data.

Everything comes back as a :class:`Ratings`: one row per (user, item, rating) with users and items
numbered ``0..n_users-1`` and ``0..n_items-1`` (row indices of the factor tables), plus the original
ids (``user_keys``, ``item_keys``) and, for movies, titles and genres.

MovieLens 100k (GroupLens, 100,000 ratings 1-5 of 1,682 movies by 943 users) may not be redistributed,
so minembed does not ship it. :func:`load_movielens_100k` reads it from

* an installed ``recbole`` package, whose wheel contains it (``recbole/dataset_example/ml-100k``).
  Install it *without* its dependencies (no PyTorch is pulled in, nothing of it is imported here)::

      pip install --no-deps recbole==1.2.1

* or a folder you downloaded from https://grouplens.org/datasets/movielens/100k/ (``u.data``, ``u.item``),
  or a folder holding recbole's ``ml-100k.inter`` / ``ml-100k.item``.
"""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..rng import make_rng

HOW_TO_GET_MOVIELENS = (
    "MovieLens 100k is not bundled with minembed (its licence does not allow redistribution). Get it one of two "
    "ways: (1) `pip install --no-deps recbole==1.2.1` (its wheel contains ml-100k; --no-deps keeps PyTorch "
    "out and minembed never imports recbole), then call load_movielens_100k() again; or (2) download "
    "https://files.grouplens.org/datasets/movielens/ml-100k.zip, unzip it and call "
    "load_movielens_100k('path/to/ml-100k')."
)

# The 19 genre flags of u.item, in file order (u.genre).
ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
                 "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
                 "War", "Western")


@dataclass
class Ratings:
    """Interactions as three aligned arrays (a sparse ``(n_users, n_items)`` matrix in COO form).

    user (N,) int64 in [0, n_users); item (N,) int64 in [0, n_items); rating (N,) float32;
    timestamp (N,) int64 or None. ``user_keys[u]`` / ``item_keys[i]`` are the ids of the source
    (MovieLens user and movie ids); ``item_names`` and ``item_genres`` describe items when known.
    """

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    n_users: int
    n_items: int
    timestamp: np.ndarray | None = None
    user_keys: list = field(default_factory=list)
    item_keys: list = field(default_factory=list)
    item_names: list | None = None
    item_genres: list | None = None
    source: str = ""

    def __post_init__(self):
        if not self.user_keys:
            self.user_keys = list(range(self.n_users))
        if not self.item_keys:
            self.item_keys = list(range(self.n_items))

    def __len__(self) -> int:
        return len(self.rating)

    def __repr__(self) -> str:
        return (f"Ratings({len(self):,} ratings, {self.n_users:,} users x {self.n_items:,} items"
                + (f", from {self.source}" if self.source else "") + ")")

    def subset(self, rows) -> Ratings:
        """The ratings at positions ``rows`` (a train or test split), same users, items and keys."""
        rows = np.asarray(rows)
        return Ratings(self.user[rows], self.item[rows], self.rating[rows], self.n_users, self.n_items,
                       None if self.timestamp is None else self.timestamp[rows], self.user_keys, self.item_keys,
                       self.item_names, self.item_genres, self.source)

    def to_dense(self, fill=np.nan) -> np.ndarray:
        """The (n_users, n_items) float32 matrix, ``fill`` where nobody rated (for pictures, small sets)."""
        dense = np.full((self.n_users, self.n_items), fill, dtype=np.float32)
        dense[self.user, self.item] = self.rating
        return dense


# ------------------------------------------------------------------------------------ reading files
def _index(raw: list) -> tuple[np.ndarray, list]:
    """Map raw ids to 0..n-1 in sorted order of the ids (numbers sort as numbers)."""
    keys = sorted(set(raw))
    where = {k: i for i, k in enumerate(keys)}
    return np.fromiter((where[r] for r in raw), dtype=np.int64, count=len(raw)), keys


def _parse_id(text: str, what: str, path, lineno: int):
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{path}, line {lineno}: {what} id {text!r} is not an integer") from None
    if value < 0:
        raise ValueError(f"{path}, line {lineno}: {what} id {value} is negative")
    return value


def read_ratings(path, sep: str | None = None, skip_header: bool | None = None, encoding: str = "utf-8"):
    """Read ``user item rating [timestamp]`` lines (whitespace, tab or ``sep`` separated).

    Ids must be non-negative integers, ratings finite numbers. A header line (``user_id:token ...``
    as recbole writes it) is skipped when ``skip_header`` is True, or None and the first field is
    not a number. Returns ``(users, items, ratings, timestamps or None)`` as raw-id lists/arrays.
    Any malformed line raises ``ValueError`` naming the file and the line number; nothing is skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ratings file at {str(path)!r}")
    users, items, ratings, stamps = [], [], [], []
    n_fields = None
    with open(path, encoding=encoding) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            parts = line.split(sep) if sep else line.split()
            if lineno == 1 and (skip_header or (skip_header is None and not parts[0].strip().isdigit())):
                continue
            if len(parts) not in (3, 4) or (n_fields is not None and len(parts) != n_fields):
                raise ValueError(f"{path}, line {lineno}: expected 'user item rating [timestamp]' (the same number "
                                 f"of fields on every line), got {line.rstrip()!r}")
            n_fields = len(parts)
            users.append(_parse_id(parts[0].strip(), "user", path, lineno))
            items.append(_parse_id(parts[1].strip(), "item", path, lineno))
            try:
                r = float(parts[2])
            except ValueError:
                raise ValueError(f"{path}, line {lineno}: rating {parts[2].strip()!r} is not a number") from None
            if not math.isfinite(r):
                raise ValueError(f"{path}, line {lineno}: rating {parts[2].strip()!r} is not finite")
            ratings.append(r)
            if len(parts) == 4:
                try:
                    stamps.append(int(float(parts[3])))
                except ValueError:
                    raise ValueError(f"{path}, line {lineno}: timestamp {parts[3].strip()!r} is not a "
                                     "number") from None
    if not ratings:
        raise ValueError(f"{path} holds no ratings")
    return users, items, np.asarray(ratings, dtype=np.float32), (np.asarray(stamps, np.int64) if stamps else None)


def load_ratings(path, sep: str | None = None, skip_header: bool | None = None) -> Ratings:
    """A ratings file (see :func:`read_ratings`) as :class:`Ratings`; ids renumbered 0.. in sorted order."""
    users, items, ratings, stamps = read_ratings(path, sep=sep, skip_header=skip_header)
    u, user_keys = _index(users)
    i, item_keys = _index(items)
    return Ratings(u, i, ratings, len(user_keys), len(item_keys), stamps, user_keys, item_keys, source=str(path))


def _read_items_grouplens(path: Path):
    """u.item: ``id|title|release date|video date|url|19 genre flags`` in Latin-1."""
    names, genres = {}, {}
    with open(path, encoding="latin-1") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("|")
            if len(parts) != 5 + len(ML100K_GENRES) or any(f not in ("0", "1") for f in parts[5:]):
                raise ValueError(f"{path}, line {lineno}: expected 'id|title|date|video date|url|19 genre flags'")
            key = _parse_id(parts[0], "item", path, lineno)
            names[key] = parts[1]
            genres[key] = [g for g, f in zip(ML100K_GENRES, parts[5:], strict=True) if f == "1"]
    return names, genres


def _read_items_recbole(path: Path):
    """ml-100k.item: a header, then ``id<TAB>title<TAB>year<TAB>genres separated by spaces``."""
    names, genres = {}, {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if lineno == 1 or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                raise ValueError(f"{path}, line {lineno}: expected 'id<TAB>title<TAB>year<TAB>genres'")
            key = _parse_id(parts[0], "item", path, lineno)
            names[key] = parts[1] + (f" ({parts[2]})" if parts[2] else "")
            genres[key] = parts[3].split()
    return names, genres


def movielens_100k_path() -> Path | None:
    """The ml-100k folder inside an installed ``recbole`` (found without importing it), or None."""
    try:
        spec = importlib.util.find_spec("recbole")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        folder = Path(root) / "dataset_example" / "ml-100k"
        if (folder / "ml-100k.inter").is_file():
            return folder
    return None


def load_movielens_100k(path=None) -> Ratings:
    """MovieLens 100k as :class:`Ratings` (100,000 ratings 1-5; 943 users, 1,682 movies), with titles and genres.

    ``path``: None to read the copy inside an installed ``recbole``; or a folder holding GroupLens'
    ``u.data`` + ``u.item`` or recbole's ``ml-100k.inter`` + ``ml-100k.item``; or one of those ratings files.
    Users and movies are renumbered 0.. in the order of their MovieLens ids (``user_keys``/``item_keys``
    keep the ids). When nothing is found, ``FileNotFoundError`` says how to get it.
    """
    if path is None:
        folder = movielens_100k_path()
        if folder is None:
            raise FileNotFoundError(HOW_TO_GET_MOVIELENS)
        path = folder
    path = Path(path)
    if path.is_dir():
        for data, item, reader in (("u.data", "u.item", _read_items_grouplens),
                                   ("ml-100k.inter", "ml-100k.item", _read_items_recbole)):
            if (path / data).is_file():
                ratings_file, item_file, item_reader = path / data, path / item, reader
                break
        else:
            raise FileNotFoundError(f"{path} holds neither u.data (GroupLens' ml-100k) nor ml-100k.inter (recbole). "
                                    + HOW_TO_GET_MOVIELENS)
    elif path.is_file():
        ratings_file = path
        grouplens = path.name == "u.data"
        item_file = path.with_name("u.item" if grouplens else path.stem + ".item")
        item_reader = _read_items_grouplens if grouplens else _read_items_recbole
    else:
        raise FileNotFoundError(f"no MovieLens folder or file at {str(path)!r}. " + HOW_TO_GET_MOVIELENS)
    data = load_ratings(ratings_file)
    data.source = str(ratings_file)
    if item_file.is_file():
        names, genres = item_reader(item_file)
        data.item_names = [names.get(k, str(k)) for k in data.item_keys]
        data.item_genres = [genres.get(k, []) for k in data.item_keys]
    return data


# ------------------------------------------------------------------------------------- generated data
def make_low_rank_ratings(n_users: int = 300, n_items: int = 200, rank: int = 4, density: float = 0.2,
                          noise: float = 0.1, scale: tuple[float, float] = (1.0, 5.0), seed=0,
                          popularity: float = 1.0, selection: float = 0.0) -> tuple[Ratings, np.ndarray]:
    """Ratings drawn from a planted low-rank matrix, for tests and lessons that need no download.

    ``true = mu + b_u + b_i + P Q^T`` with ``P (n_users, rank)``, ``Q (n_items, rank)`` standard normal
    scaled by ``1/sqrt(rank)`` (so each product has unit variance), biases of standard deviation 0.3 and
    ``mu`` the middle of ``scale``. A fraction ``density`` of the cells is observed, items chosen with
    probability proportional to ``r_i ** (-popularity / 2)`` for a random ranking ``r`` of the items
    (``popularity=0``: uniform; higher: a longer tail of rarely rated items, as in real data), times
    ``exp(selection * p_u . q_i)``: with ``selection > 0`` users rate more of what they like (as people rate what
    they chose to watch), so *which* items a user rated carries taste too (implicit feedback). Every
    user and item gets at least one rating. Observed values are ``true + noise * N(0, 1)`` clipped
    to ``scale``. Returns ``(Ratings, true (n_users, n_items) float32)``.
    """
    if n_users < 1 or n_items < 1 or rank < 1:
        raise ValueError(f"n_users, n_items and rank must be >= 1, got {n_users}, {n_items}, {rank}")
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density}")
    rng = make_rng(seed=seed)
    p = rng.standard_normal((n_users, rank)) / math.sqrt(rank)
    q = rng.standard_normal((n_items, rank))
    mu = 0.5 * (scale[0] + scale[1])
    true = mu + 0.3 * rng.standard_normal((n_users, 1)) + 0.3 * rng.standard_normal((1, n_items)) + p @ q.T
    weights = (np.arange(1, n_items + 1) ** -(popularity * 0.5))[rng.permutation(n_items)]
    weights /= weights.sum()
    per_user = max(1, int(round(density * n_items)))
    rows, cols = [], []
    for u in range(n_users):
        k = max(1, min(n_items, int(rng.poisson(per_user))))
        w = weights
        if selection:
            w = weights * np.exp(selection * (q @ p[u]))
            w /= w.sum()
        cols.append(rng.choice(n_items, size=k, replace=False, p=w))
        rows.append(np.full(k, u))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    missing = np.setdiff1d(np.arange(n_items), cols)  # every item rated at least once
    rows = np.concatenate([rows, rng.integers(0, n_users, len(missing))])
    cols = np.concatenate([cols, missing])
    pairs = np.unique(rows * n_items + cols)
    rows, cols = pairs // n_items, pairs % n_items
    values = np.clip(true[rows, cols] + noise * rng.standard_normal(len(rows)), *scale).astype(np.float32)
    order = rng.permutation(len(rows))  # not sorted by user: like a log of events
    data = Ratings(rows[order].astype(np.int64), cols[order].astype(np.int64), values[order], n_users, n_items,
                   source=f"make_low_rank_ratings(rank={rank}, seed={seed})")
    return data, true.astype(np.float32)
