"""A vocabulary: the mapping between words and the integer ids an embedding table is indexed by."""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

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
    def build(cls, sentences: Iterable[list[str]], min_count: int = 1, max_size: int | None = None,
              max_vocab_size: int | None = None) -> Vocab:
        """Count words in a stream of token lists; keep those seen ``min_count`` times or more,
        at most the ``max_size`` most frequent. Raises ``ValueError`` if nothing is left.

        ``max_vocab_size`` bounds the memory used *while counting*, with gensim's semantics:
        whenever more than that many distinct words have been seen, every word seen at most
        ``k`` times so far is forgotten (``k`` = 1 the first time, then 2, 3, ...). Rare words may
        so lose counts; ``None`` (the default) counts everything exactly. ``max_size`` instead
        truncates the final, exact list.
        """
        counts = count_words(sentences, max_vocab_size=max_vocab_size)
        return cls.from_counts(counts.counter, min_count=min_count, max_size=max_size)

    @classmethod
    def from_counts(cls, counter: Counter, min_count: int = 1, max_size: int | None = None) -> Vocab:
        """A vocabulary from word counts (a ``Counter`` in first-seen order), as :meth:`build` makes it."""
        if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
            raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
        if max_size is not None and max_size < 1:
            raise ValueError(f"max_size must be >= 1 or None, got {max_size!r}")
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

    def encode_corpus(self, sentences: Iterable[list[str]], max_sentence_length: int = 10_000,
                      total_tokens: int | None = None, on_disk: bool = False) -> EncodedCorpus:
        """Stream token lists into one flat int32 array of ids plus sentence offsets.

        Out-of-vocabulary tokens are skipped; a sentence left empty is dropped; a sentence longer
        than ``max_sentence_length`` is cut into pieces of at most that many ids (nothing is lost,
        unlike gensim, which truncates such sentences). Only one sentence of raw text is held at a
        time. With ``total_tokens`` (the exact number of in-vocabulary tokens, e.g. ``counts.sum()``
        for the corpus the vocabulary was built from) the id array is allocated once; otherwise it
        is built from blocks and joined at the end.

        ``on_disk=True`` writes the ids to an anonymous temporary file instead (4 bytes a token,
        in the system's temp directory; it disappears when the corpus is closed or the process
        ends), so memory holds only the offsets: :meth:`EncodedCorpus.read` fetches a range.
        """
        if max_sentence_length < 1:
            raise ValueError(f"max_sentence_length must be >= 1, got {max_sentence_length}")
        index = self.index
        sink = _IdSink(total_tokens, on_disk)
        lengths: list[int] = []
        pending: list[int] = []
        for sentence in sentences:
            if isinstance(sentence, str):
                raise TypeError("each sentence must be a list of tokens, got a str (split it, or use TokenizedLines)")
            sent = [index[t] for t in sentence if t in index]
            for start in range(0, len(sent), max_sentence_length):
                piece = sent[start:start + max_sentence_length]
                pending.extend(piece)
                lengths.append(len(piece))
            if len(pending) >= 1 << 20:
                sink.write(pending)
        sink.write(pending)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
        return EncodedCorpus(sink.finish(), offsets)

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


class WordCounts(NamedTuple):
    """What one pass over a corpus counted."""

    counter: Counter
    sentences: int
    tokens: int


def count_words(sentences: Iterable[list[str]], max_vocab_size: int | None = None) -> WordCounts:
    """Count tokens (and sentences) in one pass; see :meth:`Vocab.build` for ``max_vocab_size``."""
    if max_vocab_size is not None and max_vocab_size < 1:
        raise ValueError(f"max_vocab_size must be >= 1 or None, got {max_vocab_size!r}")
    counter: Counter[str] = Counter()
    n_sentences = n_tokens = 0
    min_reduce = 1
    for sentence in sentences:
        if isinstance(sentence, str):
            raise TypeError("each sentence must be a list of tokens, got a str (split it, or use TokenizedLines)")
        counter.update(sentence)
        n_sentences += 1
        n_tokens += len(sentence)
        if max_vocab_size is not None and len(counter) > max_vocab_size:
            for w in [w for w, c in counter.items() if c <= min_reduce]:
                del counter[w]
            min_reduce += 1
    return WordCounts(counter, n_sentences, n_tokens)


class EncodedCorpus:
    """A corpus as ids: sentence ``s`` is ``ids[offsets[s]:offsets[s + 1]]``.

    ``offsets`` (S + 1,) int64 (offsets[0] = 0, offsets[-1] = N) is always in memory; the ids
    (N,) int32 are either an array or an open binary file of them (see ``encode_corpus(...,
    on_disk=True)``). :meth:`read` returns a range either way; ``ids`` the whole array (read in
    full from the file if it is on disk).
    """

    def __init__(self, ids, offsets):
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self._file = None if isinstance(ids, np.ndarray) else ids
        self._ids = ids if isinstance(ids, np.ndarray) else None
        if self._ids is not None and (self._ids.dtype != np.int32 or len(self._ids) != self.offsets[-1]):
            raise ValueError(f"ids must be int32 with offsets[-1] = {self.offsets[-1]} entries")

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    @property
    def n_sentences(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_ids(self) -> int:
        return int(self.offsets[-1])

    def read(self, start: int, stop: int) -> np.ndarray:
        """ids[start:stop] (a view when in memory, a fresh array read from the file otherwise)."""
        if not 0 <= start <= stop <= self.n_ids:
            raise IndexError(f"range {start}:{stop} is outside the corpus's {self.n_ids} ids")
        if self._ids is not None:
            return self._ids[start:stop]
        if self._file.closed:
            raise ValueError("this encoded corpus was closed")
        out = np.empty(stop - start, dtype=np.int32)
        self._file.seek(4 * start)
        if self._file.readinto(memoryview(out).cast("B")) != out.nbytes:
            raise OSError("the temporary file of corpus ids was truncated")
        return out

    @property
    def ids(self) -> np.ndarray:
        return self.read(0, self.n_ids)

    def close(self) -> None:
        """Delete the temporary file (if any); the corpus cannot be read afterwards."""
        if self._file is not None:
            self._file.close()


class _IdSink:
    """Where ``encode_corpus`` puts ids as they come: a preallocated array (size known), a list
    of blocks joined at the end, or an anonymous temporary file."""

    def __init__(self, total: int | None, on_disk: bool):
        self.file = tempfile.TemporaryFile(prefix="minembed-ids-") if on_disk else None
        self.array = np.empty(total, dtype=np.int32) if (total is not None and not on_disk) else None
        self.blocks: list[np.ndarray] = []
        self.filled = 0

    def write(self, pending: list[int]) -> None:
        """Append the ids in ``pending`` and empty it."""
        if not pending:
            return
        arr = np.array(pending, dtype=np.int32)
        pending.clear()
        if self.file is not None:
            self.file.write(arr.tobytes())
        elif self.array is not None and self.filled + len(arr) <= len(self.array):
            self.array[self.filled:self.filled + len(arr)] = arr
        else:
            if self.array is not None:  # the size hint was wrong: fall back to blocks
                self.blocks.append(self.array[:self.filled].copy())
                self.array = None
            self.blocks.append(arr)
        self.filled += len(arr)

    def finish(self):
        if self.file is not None:
            self.file.flush()
            return self.file
        if self.array is None:
            return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.int32)
        return self.array if self.filled == len(self.array) else self.array[:self.filled].copy()
