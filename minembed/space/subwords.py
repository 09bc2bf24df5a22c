"""FastTextKeyedVectors: word vectors that can also build a vector for a word they never saw.

A fastText model keeps one row per vocabulary word (``vectors_vocab``) and ``bucket`` rows shared
by all character n-grams (``vectors_ngrams``; n-gram ``g`` lives in row ``ft_hash(g) % bucket``,
see :mod:`minembed.kernels.subwords`). A word's vector is the mean of its own row and its n-gram
rows::

    vectors[w] = (vectors_vocab[w] + sum_g vectors_ngrams[bucket(g)]) / (1 + #n-grams of w)

and a word outside the vocabulary gets the mean of its n-gram rows alone. So::

    wv["running"]          # stored (composed at the end of training)
    wv["runnning"]         # not stored: composed now from <ru run unn nnn ... ng>
    "runnning" in wv       # False: ``in`` says whether the word is in the vocabulary

Differences from gensim's ``FastTextKeyedVectors`` on purpose: ``in`` reports vocabulary
membership (gensim says True for any word once it has buckets); an unseen word with no n-gram at
all (shorter than ``min_n - 2`` characters) raises ``KeyError`` instead of returning the zero
vector, which has no direction to rank by. Like gensim, a model without n-grams (``max_n = 0``)
raises ``KeyError`` naming the word.
"""
from __future__ import annotations

import json

import numpy as np

from ..io import load_npz, save_npz
from ..kernels.subwords import compose_vectors, ngram_buckets
from .vectors import KeyedVectors


class FastTextKeyedVectors(KeyedVectors):
    """Vocabulary vectors plus n-gram buckets.

    ``index_to_key`` (V words); ``vectors_vocab (V, D)`` float32, each word's own row;
    ``vectors_ngrams (B, D)`` float32 with ``B = bucket`` rows (``(0, D)`` when ``max_n = 0``);
    ``min_n``, ``max_n`` the n-gram lengths; ``counts`` optional. ``buckets`` may pass the
    words' n-gram buckets (``offsets (V + 1,)``, ``ids``) when the caller already computed them.
    ``vectors`` (V, D) are the composed vectors, recomputed by :meth:`adjust_vectors` (training
    calls it); the tables are kept by reference, so a model's training updates them in place.
    """

    def __init__(self, index_to_key, vectors_vocab, vectors_ngrams, min_n: int = 3, max_n: int = 6,
                 bucket: int = 2_000_000, counts=None, buckets=None):
        vectors_vocab = np.asarray(vectors_vocab)
        vectors_ngrams = np.asarray(vectors_ngrams)
        if vectors_vocab.dtype != np.float32 or vectors_ngrams.dtype != np.float32:
            raise TypeError("vectors_vocab and vectors_ngrams must be float32")
        if vectors_ngrams.ndim != 2 or vectors_vocab.ndim != 2 or vectors_ngrams.shape[1] != vectors_vocab.shape[1]:
            raise ValueError(f"vectors_vocab {vectors_vocab.shape} and vectors_ngrams {vectors_ngrams.shape} must "
                             "be 2-D with the same number of columns")
        check_ngram_settings(min_n, max_n, bucket)
        rows = bucket if max_n else 0
        if vectors_ngrams.shape[0] != rows:
            raise ValueError(f"vectors_ngrams must have {rows} rows (bucket={bucket}, max_n={max_n}), "
                             f"got {vectors_ngrams.shape[0]}")
        if not np.isfinite(vectors_ngrams).all():
            raise ValueError("vectors_ngrams has NaN or infinite values")
        self.min_n, self.max_n, self.bucket = int(min_n), int(max_n), int(bucket)
        words = list(index_to_key)
        if buckets is None:
            buckets = self._buckets_of(words)
        self.ngram_offsets, self.ngram_ids = buckets
        self.vectors_vocab = vectors_vocab
        self.vectors_ngrams = vectors_ngrams
        if len(self.ngram_offsets) != len(words) + 1:
            raise ValueError("buckets must hold the n-gram buckets of every word")
        super().__init__(words, self._composed(), counts=counts)  # checks vectors_vocab (V rows, finite)

    # ------------------------------------------------------------------ n-grams
    def _buckets_of(self, words):
        if self.max_n == 0:
            return np.zeros(len(words) + 1, np.int64), np.zeros(0, np.int32)
        return ngram_buckets(words, self.min_n, self.max_n, self.bucket)

    def ngram_buckets(self, word: str) -> np.ndarray:
        """The bucket rows of ``word``'s n-grams, in fastText's order (int32)."""
        return self._buckets_of([word])[1]

    def _composed(self) -> np.ndarray:
        return compose_vectors(self.vectors_vocab, self.vectors_ngrams, self.ngram_offsets, self.ngram_ids)

    def adjust_vectors(self) -> None:
        """Recompute ``vectors`` from the two tables (gensim's name); call after changing them."""
        self.vectors = self._composed()
        self.clear_norms()

    def vector_for_unseen(self, key) -> np.ndarray:
        """The mean of the n-gram rows of a word outside the vocabulary; ``KeyError`` naming the word
        when the model has no n-grams (``max_n = 0``) or the word has none."""
        if not isinstance(key, str):
            raise self._missing(key)
        if self.max_n == 0:
            raise KeyError(f"word {key!r} is not in the vocabulary, and this model has no character n-grams "
                           "(max_n=0) to build its vector from")
        offsets, ids = self._buckets_of([key])
        if len(ids) == 0:
            raise KeyError(f"word {key!r} is not in the vocabulary and has no character n-grams of length "
                           f"{self.min_n}..{self.max_n} (with its '<' '>' marks) to build a vector from")
        return compose_vectors(None, self.vectors_ngrams, offsets, ids)[0]

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """``.npz`` (no pickle), written atomically: ``words``, the composed ``vectors`` (so
        :meth:`KeyedVectors.load` can read the file too, without n-grams), ``vectors_vocab``,
        ``vectors_ngrams``, ``counts`` and a JSON ``subwords`` header with min_n, max_n, bucket."""
        arrays = {"words": np.array(self.index_to_key, dtype=str), "vectors": self.vectors,
                  "vectors_vocab": self.vectors_vocab, "vectors_ngrams": self.vectors_ngrams,
                  "subwords": np.array(json.dumps({"format": "minembed.FastTextKeyedVectors", "version": 1,
                                                   "min_n": self.min_n, "max_n": self.max_n,
                                                   "bucket": self.bucket}))}
        if self.counts is not None:
            arrays["counts"] = self.counts
        save_npz(path, **arrays)

    @classmethod
    def load(cls, path) -> FastTextKeyedVectors:
        """Read what :meth:`save` wrote; ``ValueError`` naming the file for anything else."""
        data = load_npz(path)
        try:
            for name in ("words", "vectors_vocab", "vectors_ngrams", "subwords"):
                if name not in data:
                    raise ValueError(f"the array {name!r} is missing")
            meta = json.loads(str(data["subwords"][()]))
            if not isinstance(meta, dict) or meta.get("format") != "minembed.FastTextKeyedVectors":
                raise ValueError("its header is not a minembed.FastTextKeyedVectors header")
            return cls(data["words"].tolist(), data["vectors_vocab"], data["vectors_ngrams"], meta["min_n"],
                       meta["max_n"], meta["bucket"], counts=data.get("counts"))
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
            raise ValueError(f"{path} is not a readable minembed FastTextKeyedVectors file: {err}") from None

    def __repr__(self) -> str:
        return (f"FastTextKeyedVectors({len(self)} words, {self.vector_size} dims, min_n={self.min_n}, "
                f"max_n={self.max_n}, bucket={self.bucket})")


def check_ngram_settings(min_n, max_n, bucket) -> None:
    """``ValueError`` naming the parameter: min_n >= 1, max_n >= 0 (0 = no n-grams), min_n <= max_n
    unless max_n is 0, 1 <= bucket < 2**31."""
    for name, value, low in (("min_n", min_n, 1), ("max_n", max_n, 0), ("bucket", bucket, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if max_n and min_n > max_n:
        raise ValueError(f"min_n={min_n} > max_n={max_n}: no n-gram length fits (use max_n=0 for no n-grams)")
    if bucket >= 2**31:
        raise ValueError(f"bucket must be below 2**31 (row ids are int32), got {bucket}")


def is_fasttext_file(path) -> bool:
    """True when ``path`` is an ``.npz`` written by :meth:`FastTextKeyedVectors.save`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return "vectors_ngrams" in data.files and "subwords" in data.files
    except (OSError, ValueError):
        return False
