"""A vocabulary: the mapping between words and the integer ids an embedding table is indexed by."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

import numpy as np

from ..io import atomic_write


class Vocab:
    """Words in order of decreasing frequency (ties: first seen first), with their counts.

    ``vocab["the"]`` is the id of "the" (0 for the most frequent word); ``vocab.words[i]``
    is the word with id i; ``vocab.counts[i]`` how often it occurred in the corpus it was
    built from. An unknown word raises ``KeyError`` naming it.
    """

    def __init__(self, words: list[str], counts):
        counts = np.asarray(counts, dtype=np.int64)
        if len(words) != len(counts):
            raise ValueError(f"{len(words)} words but {len(counts)} counts")
        self.words = list(words)
        self.counts = counts
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            dup = next(w for w in self.words if self.words.count(w) > 1)
            raise ValueError(f"word {dup!r} appears twice in the vocabulary")

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_count: int = 1, max_size: int | None = None) -> Vocab:
        """Count words in a stream of token lists; keep those seen ``min_count`` times or more,
        at most the ``max_size`` most frequent. Raises ``ValueError`` if nothing is left."""
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counter: Counter[str] = Counter()
        for sentence in sentences:
            counter.update(sentence)
        if not counter:
            raise ValueError("the corpus is empty: no words to build a vocabulary from")
        kept = [(w, c) for w, c in counter.most_common() if c >= min_count]  # stable: ties by first seen
        if max_size is not None:
            kept = kept[:max_size]
        if not kept:
            top, top_count = counter.most_common(1)[0]
            raise ValueError(f"no word occurs at least min_count={min_count} times "
                             f"(the most frequent, {top!r}, occurs {top_count})")
        return cls([w for w, _ in kept], [c for _, c in kept])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> int:
        try:
            return self.index[word]
        except KeyError:
            raise KeyError(f"word {word!r} is not in the vocabulary") from None

    def encode(self, tokens: Iterable[str], unknown: str = "skip") -> np.ndarray:
        """Token list -> int32 ids. ``unknown="skip"`` drops out-of-vocabulary tokens,
        ``"error"`` raises ``KeyError`` naming the first one."""
        if unknown not in ("skip", "error"):
            raise ValueError(f"unknown must be 'skip' or 'error', got {unknown!r}")
        index = self.index
        if unknown == "error":
            return np.fromiter((self[t] for t in tokens), dtype=np.int32)
        return np.fromiter((index[t] for t in tokens if t in index), dtype=np.int32)

    def save(self, path) -> None:
        """Write JSON ``{"words": [...], "counts": [...]}`` atomically (a failed save keeps the old file)."""
        with atomic_write(path, "w", encoding="utf-8") as fh:
            json.dump({"words": self.words, "counts": self.counts.tolist()}, fh)

    @classmethod
    def load(cls, path) -> Vocab:
        with open(path, encoding="utf-8") as fh:
            try:
                data = json.load(fh)
                return cls(data["words"], data["counts"])
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path} is not a minembed vocabulary file: {err}") from None

    def __repr__(self) -> str:
        return f"Vocab({len(self)} words)"
