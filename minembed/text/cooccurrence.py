"""The word-word co-occurrence matrix GloVe trains on: counted in bounded memory, saved as ``.npz``.

:func:`count_cooccurrences` streams an encoded corpus block by block through the kernels of
:mod:`minembed.kernels.cooccur` (read its docstring for the windowing rules, which are those of the
reference C code): frequent pairs go to a dense block, the others to a buffer that becomes a
sorted run whenever it fills; runs are merged two by two. ``memory`` (GiB, a soft limit like the
C code's ``-memory``) sizes the dense block (half of it), the buffer (a tenth) and how many runs
stay in memory (a quarter); runs beyond that are written to temporary files (memory-mapped and
deleted when counting ends). Only the upper triangle is counted (``X`` is symmetric), and both
halves are written out at the end. Only the result, every non-zero pair sorted, must fit in
memory: training reads it many times.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from ..io import load_npz, save_npz
from ..kernels import cooccur
from ..progress import progress as progress_bar

GIB = 1 << 30


@dataclass
class Cooccurrence:
    """The non-zero entries of a symmetric co-occurrence matrix ``X`` (V x V), sorted by (row, col).

    ``rows``, ``cols`` (N,) int32 word ids; ``counts`` (N,) float64 ``X[row, col] > 0``; ``words``
    the vocabulary (``words[i]`` is id i); ``window`` and ``distance_weighting`` how it was counted;
    ``word_counts`` the words' corpus counts (None when unknown).
    """

    words: list[str]
    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray
    window: int
    distance_weighting: bool = True
    word_counts: np.ndarray | None = None  # (V,) int64: how often each word occurs, when known

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def to_dense(self) -> np.ndarray:
        """``X`` as a (V, V) float64 array (for small vocabularies: lessons and tests)."""
        x = np.zeros((self.vocab_size, self.vocab_size))
        x[self.rows, self.cols] = self.counts
        return x

    def save(self, path) -> None:
        """One ``.npz`` (atomically; no pickle): ``rows``, ``cols``, ``counts`` and a JSON ``meta``
        with the words and the counting settings."""
        meta = {"format": "minembed.Cooccurrence", "version": 1, "words": self.words, "window": self.window,
                "distance_weighting": self.distance_weighting}
        extra = {} if self.word_counts is None else {"word_counts": np.asarray(self.word_counts, dtype=np.int64)}
        save_npz(path, meta=np.array(json.dumps(meta)), rows=self.rows, cols=self.cols, counts=self.counts, **extra)

    @classmethod
    def load(cls, path) -> Cooccurrence:
        """What :meth:`save` wrote, every array checked (ids in range, counts finite and > 0, sorted
        pairs, each once); anything else raises ``ValueError`` naming the file."""
        arrays = load_npz(path)
        try:
            meta = json.loads(str(arrays["meta"][()]))
            if not isinstance(meta, dict) or meta.get("format") != "minembed.Cooccurrence" or meta.get("version") != 1:
                raise ValueError("its header is not a version-1 minembed.Cooccurrence header")
            words, window = meta["words"], meta["window"]
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise ValueError("words must be a list of strings")
            if len(set(words)) != len(words):
                raise ValueError("a word appears twice")
            if isinstance(window, bool) or not isinstance(window, int) or window < 1:
                raise ValueError(f"window must be an integer >= 1, got {window!r}")
            rows, cols, counts = (arrays[k] for k in ("rows", "cols", "counts"))
            n = counts.shape
            if rows.dtype != np.int32 or cols.dtype != np.int32 or counts.dtype != np.float64 or counts.ndim != 1 \
                    or rows.shape != n or cols.shape != n:
                raise ValueError("rows and cols must be int32 and counts float64, all of one length")
            v = len(words)
            if len(counts) and (rows.min() < 0 or cols.min() < 0 or rows.max() >= v or cols.max() >= v):
                raise ValueError(f"a word id is outside the vocabulary [0, {v})")
            if not (np.isfinite(counts).all() and (counts > 0).all()):
                raise ValueError("counts must be finite and > 0")
            keys = rows.astype(np.int64) * v + cols
            if np.any(np.diff(keys) <= 0):
                raise ValueError("pairs must be sorted by (row, col), each once")
            word_counts = arrays.get("word_counts")
            if word_counts is not None and (word_counts.dtype != np.int64 or word_counts.shape != (v,)
                                            or (word_counts < 1).any()):
                raise ValueError(f"word_counts must be int64 of shape ({v},), each >= 1")
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
            raise ValueError(f"{path} is not a readable minembed co-occurrence file: {err}") from None
        return cls(words, rows, cols, counts, window, bool(meta.get("distance_weighting", True)), word_counts)


def check_memory(memory) -> float:
    """``memory`` (GiB) as a finite float > 0, else ValueError naming the value."""
    try:
        m = float(memory)
    except (TypeError, ValueError):
        raise ValueError(f"memory must be a number of GiB > 0, got {memory!r}") from None
    if not np.isfinite(m) or m <= 0:
        raise ValueError(f"memory must be a number of GiB > 0, got {memory!r}")
    return m


class _Runs:
    """Sorted runs waiting to be merged; those beyond ``budget`` bytes live in temporary files."""

    def __init__(self, budget: int):
        self.budget = budget
        self.in_memory = 0
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.folder: tempfile.TemporaryDirectory | None = None
        self.files = 0
        self.spilled = 0  # runs written to files (for the tests and the curious)

    def _file_arrays(self, n: int):
        if self.folder is None:
            self.folder = tempfile.TemporaryDirectory(prefix="minembed-cooccur-")
        self.files += 1
        base = os.path.join(self.folder.name, f"run{self.files:05d}")
        k = np.lib.format.open_memmap(base + ".keys.npy", mode="w+", dtype=np.int64, shape=(max(n, 1),))
        v = np.lib.format.open_memmap(base + ".vals.npy", mode="w+", dtype=np.float64, shape=(max(n, 1),))
        return k, v

    def _place(self, n: int):
        """Arrays for a run of ``n`` entries: in memory while the budget allows, else in files."""
        if self.in_memory + 16 * n <= self.budget:
            self.in_memory += 16 * n
            return np.empty(n, np.int64), np.empty(n, np.float64)
        self.spilled += 1
        return self._file_arrays(n)

    def add(self, keys: np.ndarray, vals: np.ndarray) -> None:
        k, v = self._place(len(keys))
        k[:len(keys)], v[:len(keys)] = keys, vals
        self.runs.append((k[:len(keys)], v[:len(keys)]))

    def merged(self) -> tuple[np.ndarray, np.ndarray]:
        """Every run merged into one, two at a time (the smallest first, so each entry is copied
        about log2(runs) times); the last merge writes to memory."""
        runs = sorted(self.runs, key=lambda r: len(r[0]))
        if not runs:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        while len(runs) > 1:
            (ka, va), (kb, vb) = runs[0], runs[1]
            last = len(runs) == 2
            total = len(ka) + len(kb)
            ko, vo = (np.empty(total, np.int64), np.empty(total, np.float64)) if last else self._place(total)
            n = cooccur.merge_runs(ka, va, kb, vb, ko, vo)
            runs = sorted(runs[2:] + [(ko[:n], vo[:n])], key=lambda r: len(r[0]))
        k, v = runs[0]
        return np.array(k), np.array(v)

    def close(self) -> None:
        self.runs = []
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None


def count_cooccurrences(corpus, words: list[str], window: int, distance_weighting: bool = True, memory: float = 1.0,
                        max_product: int | None = None, buffer_size: int | None = None,
                        progress: bool = False) -> Cooccurrence:
    """Count the co-occurrences of an encoded corpus (:class:`~minembed.text.vocab.EncodedCorpus`,
    ids ranked by frequency, in memory or on disk) with the C code's windowing rules.

    ``memory`` (GiB) sizes everything unless ``max_product`` (dense pairs: ``(a + 1)(b + 1) <=
    max_product``) or ``buffer_size`` (buffer entries before a run is sorted) are given. The
    result does not depend on them (up to float64 rounding of the sums).
    """
    memory = check_memory(memory)
    v = len(words)
    budget = int(memory * GIB)
    if max_product is None:
        max_product = cooccur.max_product_for(v, budget // 2 // 8)
    if buffer_size is None:
        buffer_size = max(1 << 16, budget // 10 // 40)  # keys + vals + sort temporaries: ~40 bytes an entry
    if isinstance(max_product, bool) or int(max_product) < 0:
        raise ValueError(f"max_product must be an integer >= 0, got {max_product!r}")
    if isinstance(buffer_size, bool) or int(buffer_size) < 2:
        raise ValueError(f"buffer_size must be an integer >= 2, got {buffer_size!r}")
    row_start, row_len = cooccur.dense_layout(v, int(max_product))
    dense = np.zeros(row_start[-1], dtype=np.float64)
    offsets = corpus.offsets
    need = cooccur.pairs_per_sentence(offsets, window)  # buffer entries a sentence can write, at most
    cum_need = np.concatenate([[0], np.cumsum(need)])
    keys = np.empty(buffer_size, np.int64)
    vals = np.empty(buffer_size, np.float64)
    runs = _Runs(budget // 4)
    bar = progress_bar(total=corpus.n_ids, enabled=progress, unit="word", unit_scale=True, desc="co-occurrences")
    try:
        s0, n_sent = 0, corpus.n_sentences
        while s0 < n_sent:
            # as many whole sentences as the buffer can surely take (at least one)
            s1 = int(np.searchsorted(cum_need, cum_need[s0] + buffer_size, side="right")) - 1
            s1 = min(max(s1, s0 + 1), n_sent)
            block_need = int(cum_need[s1] - cum_need[s0])
            if block_need > len(keys):  # one sentence needs more: grow for it
                keys, vals = np.empty(block_need, np.int64), np.empty(block_need, np.float64)
            w0, w1 = int(offsets[s0]), int(offsets[s1])
            n = cooccur.count_block(corpus.read(w0, w1), offsets[s0:s1 + 1] - w0, window, distance_weighting, dense,
                                    row_start, row_len, keys, vals)
            if n:
                runs.add(*cooccur.reduce_run(keys[:n], vals[:n]))
            bar.update(w1 - w0)
            s0 = s1
        del keys, vals
        sparse_keys, sparse_vals = runs.merged()
        spilled = runs.spilled
    finally:
        runs.close()
        bar.close()
    dense_keys, dense_vals = cooccur.dense_entries(dense, row_start, row_len)
    del dense
    up_keys, up_vals = cooccur.merge_runs(dense_keys, dense_vals, sparse_keys, sparse_vals)  # disjoint keys
    del dense_keys, dense_vals, sparse_keys, sparse_vals
    rows, cols, counts = cooccur.symmetric_entries(up_keys, up_vals, v)
    result = Cooccurrence(list(words), rows, cols, counts, int(window), bool(distance_weighting))
    result.spilled_runs = spilled
    return result
