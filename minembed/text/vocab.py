"""A vocabulary: the mapping between words and the integer ids an embedding table is indexed by."""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ..io import atomic_write

# What a ``trim_rule(word, count, min_count)`` returns (gensim.utils's names and values).
RULE_DEFAULT = 0  # decide by count: keep when count >= min_count
RULE_DISCARD = 1  # drop the word whatever its count
RULE_KEEP = 2     # keep the word whatever its count


def keep_word(word: str, count: int, min_count: int, trim_rule=None) -> bool:
    """Whether ``word`` seen ``count`` times stays in a vocabulary (gensim's ``keep_vocab_item``):
    ``count >= min_count``, unless ``trim_rule(word, count, min_count)`` says ``RULE_KEEP`` or ``RULE_DISCARD``.

    Differs from gensim on purpose: a rule returning anything other than the three ``RULE_*`` values
    raises ``ValueError`` (gensim treats an unknown value as ``RULE_DEFAULT``, and ``True == 1`` as
    ``RULE_DISCARD``, so a rule returning ``True`` for "keep" silently drops the word).
    """
    if trim_rule is None:
        return count >= min_count
    rule = trim_rule(word, count, min_count)
    if isinstance(rule, (bool, np.bool_)) or rule not in (RULE_DEFAULT, RULE_DISCARD, RULE_KEEP):
        raise ValueError(f"trim_rule returned {rule!r} for word {word!r}: it must return RULE_KEEP, RULE_DISCARD "
                         f"or RULE_DEFAULT (from minembed.text.vocab)")
    if rule == RULE_KEEP:
        return True
    return rule == RULE_DEFAULT and count >= min_count


def effective_min_count(counter: Counter, min_count: int, max_final_vocab: int | None) -> int:
    """gensim's ``max_final_vocab``: the smallest count threshold (at least ``min_count``) that leaves
    at most ``max_final_vocab`` words. When the word ranked ``max_final_vocab`` (0-based, by
    decreasing count) has count ``c``, every word with count ``<= c`` goes, so ties at the cut are
    all dropped and the vocabulary may be smaller than ``max_final_vocab``. A ``trim_rule`` is
    applied afterwards and can still keep more words (as in gensim)."""
    if max_final_vocab is None or len(counter) <= max_final_vocab:
        return min_count
    counts = np.sort(np.fromiter(counter.values(), dtype=np.int64, count=len(counter)))[::-1]
    return max(min_count, int(counts[max_final_vocab]) + 1)


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
              max_vocab_size: int | None = None, trim_rule=None, max_final_vocab: int | None = None) -> Vocab:
        """Count words in a stream of token lists; keep those seen ``min_count`` times or more,
        at most the ``max_size`` most frequent. Raises ``ValueError`` if nothing is left.

        ``max_vocab_size`` bounds the memory used *while counting* (see :func:`count_words`);
        ``None`` (the default) counts everything exactly. ``max_size`` instead truncates the final,
        exact list; ``max_final_vocab`` and ``trim_rule`` are gensim's (see :meth:`from_counts`).
        """
        counts = count_words(sentences, max_vocab_size=max_vocab_size, trim_rule=trim_rule)
        return cls.from_counts(counts.counter, min_count=min_count, max_size=max_size, trim_rule=trim_rule,
                               max_final_vocab=max_final_vocab)

    @classmethod
    def from_counts(cls, counter: Counter, min_count: int = 1, max_size: int | None = None, trim_rule=None,
                    max_final_vocab: int | None = None) -> Vocab:
        """A vocabulary from word counts (a ``Counter`` in first-seen order), as :meth:`build` makes it.

        A word stays when :func:`keep_word` says so, with the threshold raised by
        :func:`effective_min_count` when ``max_final_vocab`` is given (gensim's rules); then the
        ``max_size`` most frequent are kept.
        """
        _check_min_count(min_count)
        if max_size is not None and max_size < 1:
            raise ValueError(f"max_size must be >= 1 or None, got {max_size!r}")
        _check_vocab_options(max_final_vocab, trim_rule)
        if not counter:
            raise ValueError("the corpus is empty: no words to build a vocabulary from")
        threshold = effective_min_count(counter, min_count, max_final_vocab)
        kept = [(w, c) for w, c in counter.most_common()  # stable: ties by first seen
                if keep_word(w, c, threshold, trim_rule)]
        if max_size is not None:
            kept = kept[:max_size]
        if not kept:
            top, top_count = counter.most_common(1)[0]
            raise ValueError(f"no word occurs at least min_count={threshold} times "
                             f"(the most frequent, {top!r}, occurs {top_count})"
                             + (" or trim_rule discarded every word" if trim_rule is not None else ""))
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
        """Read what :meth:`save` wrote; any other file raises ``ValueError`` naming it."""
        expected = 'expected the JSON {"words": [...], "counts": [...]} that Vocab.save writes'
        with open(path, "rb") as fh:
            raw = fh.read()
        try:
            data = json.loads(raw.decode("utf-8"))
            words, counts = data["words"], data["counts"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is not a minembed vocabulary file ({expected}): {err}") from None
        try:
            return cls(words, counts)
        except (ValueError, TypeError) as err:  # e.g. a word twice, counts that are not integers
            raise ValueError(f"{path}: {err}") from None

    def __repr__(self) -> str:
        return f"Vocab({len(self)} words)"


class WordCounts(NamedTuple):
    """What one pass over a corpus counted."""

    counter: Counter
    sentences: int
    tokens: int


def count_words(sentences: Iterable[list[str]], max_vocab_size: int | None = None, trim_rule=None) -> WordCounts:
    """Count tokens (and sentences) in one pass.

    ``max_vocab_size`` bounds memory while counting: whenever more than that many distinct words
    have been seen, every word seen at most ``k`` times so far is forgotten (``k`` = 1 the first
    time, then 2, 3, ...; a ``trim_rule`` returning RULE_KEEP protects a word). Rare words may so
    lose counts. This is word2vec.c's ``ReduceVocab`` (drop ``count <= k``); gensim 4 drops only
    ``count < k``, so its first pruning removes nothing: with the same ``max_vocab_size`` gensim
    can keep a few more rare words.
    """
    if max_vocab_size is not None and (isinstance(max_vocab_size, bool) or max_vocab_size < 1):
        raise ValueError(f"max_vocab_size must be >= 1 or None, got {max_vocab_size!r}")
    _check_vocab_options(None, trim_rule)
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
            for w in [w for w, c in counter.items() if not keep_word(w, c, min_reduce + 1, trim_rule)]:
                del counter[w]
            min_reduce += 1
    return WordCounts(counter, n_sentences, n_tokens)


def _check_min_count(min_count) -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")


def _check_vocab_options(max_final_vocab, trim_rule) -> None:
    if max_final_vocab is not None and (isinstance(max_final_vocab, bool)
                                        or not isinstance(max_final_vocab, (int, np.integer)) or max_final_vocab < 1):
        raise ValueError(f"max_final_vocab must be an integer >= 1 or None, got {max_final_vocab!r}")
    if trim_rule is not None and not callable(trim_rule):
        raise TypeError(f"trim_rule must be a function (word, count, min_count) -> RULE_*, got {trim_rule!r}")


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
