"""Character n-grams and their hashed bucket rows, as Facebook's fastText computes them.

A word ``w`` is wrapped in boundary marks, ``"<" + w + ">"``, and every run of ``n`` consecutive
*characters* with ``min_n <= n <= max_n`` is one n-gram (``"where"``, n = 3: ``<wh whe her ere re>``).
The wrapped word itself is one of them when its length is in range (``<her>`` for n = 5), and a
lone boundary mark is never one (it only matters for ``min_n = 1``). Characters are counted in
UTF-8: a byte ``10xxxxxx`` continues the character before it, so ``"été"`` has 5 characters,
not 7 bytes.

Each n-gram's UTF-8 bytes are hashed with 32-bit FNV-1a (offset basis 2166136261, prime 16777619):
``h = (h ^ b) * 16777619 mod 2**32`` for each byte ``b``, and the n-gram goes to bucket
``h % bucket``. One detail decides whether hashes interoperate with fastText's files: fastText
reads each byte as a C ``char``, which is *signed* on x86, and widens it to 32 bits before the
XOR, so a byte ``b >= 128`` is XORed as ``b - 256 mod 2**32 = 0xFFFFFF00 | b`` (sign extension).
ASCII n-grams are unaffected; every n-gram with an accent is. gensim reproduces the same rule
(``ft_hash_bytes``), so the three implementations put every n-gram in the same bucket.

Different n-grams can share a bucket (a collision): with ``bucket`` rows and ``m`` distinct n-grams
about ``m - bucket * (1 - exp(-m / bucket))`` of them do. An n-gram that occurs twice in one word
(``ana`` in ``banana``) is listed twice, as fastText lists it.

In this file: :func:`ft_hash` and :func:`char_ngrams` (the readable definitions),
:func:`ngram_buckets_reference` (every word's bucket ids, in plain Python), the kernel
:func:`_ngram_buckets` beside it, and :func:`ngram_buckets`, which checks its input and runs one
or the other; :func:`compose_vectors` (a word's vector: the mean of its own row and its n-gram
rows), with its reference.
"""
from __future__ import annotations

import numpy as np

from .jit import jit

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def ft_hash(data: bytes) -> int:
    """32-bit FNV-1a of ``data`` with each byte taken as a *signed* char (fastText's ``hash``)."""
    h = FNV_OFFSET
    for b in data:
        if b >= 128:
            b |= 0xFFFFFF00          # sign extension of a negative char to 32 bits
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFF
    return h


def char_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The character n-grams of ``"<" + word + ">"`` with ``min_n <= n <= max_n``, in fastText's
    order: by start position, then by length. A lone ``<`` or ``>`` is never an n-gram."""
    wrapped = f"<{word}>"
    out = []
    for i in range(len(wrapped)):
        for n in range(max(min_n, 1), max_n + 1):
            if i + n > len(wrapped):
                break
            if n == 1 and (i == 0 or i == len(wrapped) - 1):
                continue
            out.append(wrapped[i:i + n])
    return out


def ngram_buckets_reference(words, min_n: int, max_n: int, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Every word's n-gram buckets as one ragged array: word ``i``'s are ``ids[offsets[i]:offsets[i + 1]]``.

    Returns ``offsets (W + 1,) int64`` and ``ids (M,) int32`` with values in ``[0, bucket)``
    (``M = 0`` when ``max_n < min_n`` or ``max_n = 0``)."""
    offsets = [0]
    ids = []
    for w in words:
        ids.extend(ft_hash(g.encode("utf-8")) % bucket for g in char_ngrams(w, min_n, max_n))
        offsets.append(len(ids))
    return np.array(offsets, dtype=np.int64), np.array(ids, dtype=np.int32)


_OFFSET64 = np.uint64(FNV_OFFSET)
_PRIME64 = np.uint64(FNV_PRIME)
_MASK32 = np.uint64(0xFFFFFFFF)
_SIGN = np.uint64(0xFFFFFF00)


@jit(nogil=True, cache=True, inline="always")
def _fnv_step(h, byte):
    """One FNV-1a step on a uint64 holding a 32-bit hash; ``byte`` as a signed char (see above).
    Every operand is uint64: Numba would turn mixed signed/unsigned arithmetic into float64."""
    b = np.uint64(byte)
    if b >= np.uint64(128):
        b |= _SIGN
    return ((h ^ b) * _PRIME64) & _MASK32


@jit(nogil=True, cache=True)
def _ngram_buckets(buf, starts, min_n, max_n, bucket, offsets, ids, fill):
    """Count (``fill`` False: into ``offsets[w + 1]``) or write (``fill`` True: into ``ids`` from
    ``offsets[w]``) the buckets of every word; word ``w`` is ``buf[starts[w]:starts[w + 1]]``, its
    UTF-8 bytes *with* the boundary marks."""
    for w in range(starts.shape[0] - 1):
        a, z = starts[w], starts[w + 1]
        k = offsets[w]
        count = 0
        for i in range(a, z):
            if (buf[i] & 0xC0) == 0x80:        # continuation byte: not the start of a character
                continue
            h = _OFFSET64
            j = i
            n = 1
            while j < z and n <= max_n:
                # hash one whole character: its lead byte, then its continuation bytes
                h = _fnv_step(h, buf[j])
                j += 1
                while j < z and (buf[j] & 0xC0) == 0x80:
                    h = _fnv_step(h, buf[j])
                    j += 1
                if n >= min_n and not (n == 1 and (i == a or j == z)):
                    if fill:
                        ids[k] = np.int32(h % np.uint64(bucket))
                        k += 1
                    else:
                        count += 1
                n += 1
        if not fill:
            offsets[w + 1] = count


def ngram_buckets(words, min_n: int, max_n: int, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Checked entry point with the contract of :func:`ngram_buckets_reference` (which runs when
    ``MINEMBED_JIT=0``): the kernel hashes every word in two passes (count, then fill)."""
    from .jit import jit_enabled

    for name, value in (("min_n", min_n), ("max_n", max_n), ("bucket", bucket)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if bucket < 1:
        raise ValueError(f"bucket must be >= 1 to hash n-grams, got {bucket}")
    if bucket >= 2**31:
        raise ValueError(f"bucket must be below 2**31 (row ids are int32), got {bucket}")
    words = list(words)
    if not jit_enabled():
        return ngram_buckets_reference(words, min_n, max_n, bucket)
    encoded = [f"<{w}>".encode() for w in words]
    starts = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=starts[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.zeros(0, np.uint8)
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    _ngram_buckets(buf, starts, int(min_n), int(max_n), int(bucket), offsets, np.zeros(0, np.int32), False)
    np.cumsum(offsets, out=offsets)
    ids = np.empty(int(offsets[-1]), dtype=np.int32)
    _ngram_buckets(buf, starts, int(min_n), int(max_n), int(bucket), offsets, ids, True)
    return offsets, ids


# --------------------------------------------------------------------------- composing vectors
def compose_vectors_reference(word_rows, ngram_rows, offsets, ids) -> np.ndarray:
    """fastText's vector of each word ``i``: the mean of its own row ``word_rows[i]`` (when
    ``word_rows`` is given) and its n-gram rows ``ngram_rows[ids[offsets[i]:offsets[i + 1]]]``.

    ``word_rows`` (W, D) float32 or None (out-of-vocabulary words: n-grams only);
    ``ngram_rows`` (B, D) float32; returns (W, D) float32, a zero row for a word with no rows.
    Summed in float32 in that order, then multiplied by ``1 / count``: the training kernel forms
    a word's input vector the same way, so a word's vector is exactly what training used."""
    w = len(offsets) - 1
    out = np.zeros((w, ngram_rows.shape[1]), dtype=np.float32)
    for i in range(w):
        rows = [word_rows[i]] if word_rows is not None else []
        rows += [ngram_rows[r] for r in ids[offsets[i]:offsets[i + 1]]]
        if rows:
            acc = rows[0].astype(np.float32, copy=True)
            for r in rows[1:]:
                acc += r
            out[i] = acc * np.float32(1.0 / len(rows)) if len(rows) > 1 else acc
    return out


@jit(nogil=True, cache=True)
def _compose_vectors(word_rows, with_word, ngram_rows, offsets, ids, out):
    dim = out.shape[1]
    for i in range(offsets.shape[0] - 1):
        a, z = offsets[i], offsets[i + 1]
        for d in range(dim):
            out[i, d] = word_rows[i, d] if with_word else 0.0
        for q in range(a, z):
            r = ids[q]
            for d in range(dim):
                out[i, d] += ngram_rows[r, d]
        n = z - a + (1 if with_word else 0)
        if n > 1:
            inv = np.float32(1.0 / n)
            for d in range(dim):
                out[i, d] *= inv


def compose_vectors(word_rows, ngram_rows, offsets, ids) -> np.ndarray:
    """Checked :func:`compose_vectors_reference` (the kernel, unless ``MINEMBED_JIT=0``)."""
    from .jit import jit_enabled
    from .validate import as_index_array

    if not isinstance(ngram_rows, np.ndarray) or ngram_rows.ndim != 2 or ngram_rows.dtype != np.float32:
        raise ValueError("ngram_rows must be a 2-D float32 array")
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing from 0")
    ids = as_index_array(ids, ngram_rows.shape[0], "n-gram row")
    if offsets[-1] != len(ids):
        raise ValueError(f"offsets end at {offsets[-1]} but there are {len(ids)} ids")
    if word_rows is not None and (not isinstance(word_rows, np.ndarray) or word_rows.dtype != np.float32
                                  or word_rows.shape != (len(offsets) - 1, ngram_rows.shape[1])):
        raise ValueError(f"word_rows must be float32 of shape ({len(offsets) - 1}, {ngram_rows.shape[1]})")
    if not jit_enabled():
        return compose_vectors_reference(word_rows, ngram_rows, offsets, ids)
    out = np.empty((len(offsets) - 1, ngram_rows.shape[1]), dtype=np.float32)
    wr = np.zeros((0, ngram_rows.shape[1]), np.float32) if word_rows is None else np.ascontiguousarray(word_rows)
    _compose_vectors(wr, word_rows is not None, np.ascontiguousarray(ngram_rows), offsets, ids, out)
    return out
