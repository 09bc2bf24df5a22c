"""Byte-pair encoding's hot loops: pre-tokenizing ASCII text, counting words, learning merges, encoding.

Everything here works on bytes (``uint8`` arrays) and integer token ids; the text-level rules (the
GPT-2 pattern, special tokens, files) live in :mod:`minembed.text.bpe`. Each compiled kernel sits
beside the plain-Python reference it must match (``tests/test_kernels_bpe.py``); ``MINEMBED_JIT=0``
makes the public functions run the references.

Ids: byte ``v`` is token ``v`` (0..255); the ``k``-th merge makes token ``first_id + k``. A merge
``(a, b) -> c`` therefore also has *rank* ``c``: a lower id means an earlier, more frequent merge.

Training (``train_merges``), the incremental algorithm
------------------------------------------------------
Input: the unique pre-tokens ("words") as symbol sequences with their corpus frequencies ``f_w``.
The count of an adjacent pair is ``n(a, b) = sum_w f_w * #{i : w_i = a, w_{i+1} = b}``. Each step
merges the pair with the largest count into a new token. Ties are broken by the smaller pair of ids
``(a, b)`` (lexicographically), so the result never depends on hash or dictionary order. A pair whose
bytes ``bytes(a) + bytes(b)`` already are a token (made earlier by another split, e.g. ``ab + c`` after
``a + bc``) is never merged: every token then has one merge and one id, which is what tiktoken's
``mergeable_ranks`` and a vocabulary of strings need.

The naive trainer (:func:`minembed.text.bpe.train_naive`) recounts every pair after each merge:
``O(merges x corpus symbols)``. The incremental one keeps

* ``count[pair]``, updated only for the words that contain the merged pair;
* ``where[pair]``: the words that contained the pair when it was counted (entries may be stale:
  a word is checked before it is touched);
* a max-heap of ``(count, pair)`` with *lazy invalidation*: an entry whose count is out of date is
  fixed when it reaches the top. This is exact because a pair's count only grows in the step that
  creates its newer symbol (all pairs that a merge creates contain the new token), and such pairs are
  pushed at the end of that step; afterwards it can only fall, so a heap entry is an upper bound.

A merge of ``(a, b) -> c`` visits only ``where[(a, b)]``: for each word it subtracts ``f_w`` from the
count of each of the word's pairs, replaces ``a b`` by ``c`` left to right (``a a a`` -> ``c a``), and
adds ``f_w`` back for each pair of the new sequence.

Encoding (``encode_spans``) applies the merges to one pre-token at a time: repeatedly merge the
adjacent pair with the lowest rank (every occurrence, left to right) until no pair is a merge. Unique
pre-tokens are encoded once per call (a cache keyed by their bytes).
"""
from __future__ import annotations

import heapq
from itertools import pairwise

import numpy as np

from .jit import jit, jit_enabled

# Character classes of the pre-tokenizer (ASCII only; see minembed.text.bpe.ascii_classes).
OTHER, LETTER, DIGIT, SPACE = 0, 1, 2, 3
_APOS = 39  # '
_EMPTY = np.int64(-1)


# ----------------------------------------------------------------------------------------- pre-tokenizing
@jit(nogil=True, cache=True)
def _pretokenize_ascii(data, doc_start, doc_end, cls):
    """Spans ``[start, end)`` of the GPT-2 pattern's matches in each document ``data[doc_start[d]:doc_end[d]]``.

    The pattern ``'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`` as a
    state machine over ASCII bytes, ``cls`` giving each byte's class (letter, digit, space, other):

    * an apostrophe followed by ``s t m d`` or ``re ve ll`` (lower case) is a contraction;
    * a space followed by a non-space joins the run of that character's class after it;
    * a letter, digit or other run is maximal;
    * a whitespace run keeps its last character for what follows (``\\s+(?!\\S)`` backtracks one
      character), unless the run ends the document or is one character long.
    """
    starts = np.empty(data.shape[0] + 1, np.int64)
    ends = np.empty(data.shape[0] + 1, np.int64)
    k = 0
    for d in range(doc_start.shape[0]):
        i = doc_start[d]
        end = doc_end[d]
        while i < end:
            c = data[i]
            t = cls[c]
            j = i + 1
            if c == _APOS and i + 1 < end:
                c1 = data[i + 1]
                if c1 == 115 or c1 == 116 or c1 == 109 or c1 == 100:  # s t m d
                    j = i + 2
                elif i + 2 < end:
                    c2 = data[i + 2]
                    if (c1 == 114 and c2 == 101) or (c1 == 118 and c2 == 101) or (c1 == 108 and c2 == 108):
                        j = i + 3  # re ve ll
            if j == i + 1:
                if t == SPACE:
                    if c == 32 and i + 1 < end and cls[data[i + 1]] != SPACE:
                        t1 = cls[data[i + 1]]
                        j = i + 2
                        while j < end and cls[data[j]] == t1:
                            j += 1
                    else:
                        while j < end and cls[data[j]] == SPACE:
                            j += 1
                        if j < end and j - i >= 2:
                            j -= 1
                else:
                    while j < end and cls[data[j]] == t:
                        j += 1
            starts[k] = i
            ends[k] = j
            k += 1
            i = j
    return starts[:k].copy(), ends[:k].copy()


def pretokenize_ascii(data: np.ndarray, doc_start: np.ndarray, doc_end: np.ndarray, cls: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Checked entry to the ASCII pre-tokenizer: ``data`` uint8, documents ``data[doc_start[d]:doc_end[d]]``
    (int64, in order, not overlapping, every byte in them < 128), ``cls`` uint8 (256,). Returns int64
    ``(starts, ends)``.

    There is no Python twin here: its reference is the regular expression itself
    (:func:`minembed.text.bpe.pretokenize`), which the tests compare it with.
    """
    data = np.ascontiguousarray(data, dtype=np.uint8)
    doc_start = np.ascontiguousarray(doc_start, dtype=np.int64)
    doc_end = np.ascontiguousarray(doc_end, dtype=np.int64)
    cls = np.ascontiguousarray(cls, dtype=np.uint8)
    if cls.shape != (256,):
        raise ValueError(f"cls must have shape (256,), got {cls.shape}")
    if doc_start.shape != doc_end.shape or doc_start.ndim != 1:
        raise ValueError("doc_start and doc_end must be 1-D of one length")
    if doc_start.size:
        if doc_start[0] < 0 or doc_end[-1] > data.size or np.any(doc_end < doc_start) or \
                np.any(doc_start[1:] < doc_end[:-1]):
            raise ValueError(f"documents must lie in order inside 0..{data.size} without overlapping")
        inside = np.zeros(data.size + 1, np.int64)
        np.add.at(inside, doc_start, 1)
        np.add.at(inside, doc_end, -1)
        if np.any(data[np.cumsum(inside[:-1]) > 0] >= 128):
            raise ValueError("pretokenize_ascii needs ASCII bytes (every byte < 128) inside the documents")
    return _pretokenize_ascii(data, doc_start, doc_end, cls)


# ------------------------------------------------------------------------------------------ hashing
@jit(nogil=True, cache=True, inline="always")
def _fnv(data, s, e):
    """64-bit FNV-1a hash of ``data[s:e]``."""
    h = np.uint64(14695981039346656037)
    for i in range(s, e):
        h = (h ^ np.uint64(data[i])) * np.uint64(1099511628211)
    return h


@jit(nogil=True, cache=True, inline="always")
def _same(data, s1, e1, s2, e2):
    if e1 - s1 != e2 - s2:
        return False
    for i in range(e1 - s1):
        if data[s1 + i] != data[s2 + i]:
            return False
    return True


@jit(nogil=True, cache=True)
def _rehash_words(word_hash, n_words, cap):
    table = np.full(cap, -1, np.int64)
    mask = np.uint64(cap - 1)
    for w in range(n_words):
        slot = np.int64(word_hash[w] & mask)
        while table[slot] != -1:
            slot = (slot + 1) & (cap - 1)
        table[slot] = w
    return table


# ----------------------------------------------------------------------------------------- counting
@jit(nogil=True, cache=True)
def _count_spans(data, starts, ends):
    cap = 1 << 12
    table = np.full(cap, -1, np.int64)
    first = np.empty(1 << 11, np.int64)
    count = np.zeros(1 << 11, np.int64)
    word_hash = np.empty(1 << 11, np.uint64)
    n_words = 0
    for s in range(starts.shape[0]):
        a = starts[s]
        b = ends[s]
        h = _fnv(data, a, b)
        slot = np.int64(h & np.uint64(cap - 1))
        while True:
            w = table[slot]
            if w == -1:
                if n_words == first.shape[0]:
                    grown = first.shape[0] * 2
                    first2 = np.empty(grown, np.int64)
                    first2[:n_words] = first[:n_words]
                    first = first2
                    count2 = np.zeros(grown, np.int64)
                    count2[:n_words] = count[:n_words]
                    count = count2
                    hash2 = np.empty(grown, np.uint64)
                    hash2[:n_words] = word_hash[:n_words]
                    word_hash = hash2
                table[slot] = n_words
                first[n_words] = s
                count[n_words] = 1
                word_hash[n_words] = h
                n_words += 1
                if 2 * n_words > cap:
                    cap *= 2
                    table = _rehash_words(word_hash, n_words, cap)
                break
            if word_hash[w] == h and _same(data, starts[first[w]], ends[first[w]], a, b):
                count[w] += 1
                break
            slot = (slot + 1) & (cap - 1)
    return first[:n_words].copy(), count[:n_words].copy()


def count_spans_reference(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The unique spans of ``data`` in order of first occurrence: ``(first, count)``, where ``first[w]`` is
    the index of the span where word ``w`` first occurs and ``count[w]`` how often it occurs."""
    raw = data.tobytes()
    index: dict[bytes, int] = {}
    first, count = [], []
    for s, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        word = raw[a:b]
        w = index.setdefault(word, len(first))
        if w == len(first):
            first.append(s)
            count.append(0)
        count[w] += 1
    return np.array(first, np.int64), np.array(count, np.int64)


def _check_spans(data, starts, ends):
    data = np.ascontiguousarray(data, dtype=np.uint8)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    ends = np.ascontiguousarray(ends, dtype=np.int64)
    if starts.shape != ends.shape or starts.ndim != 1:
        raise ValueError(f"starts and ends must be 1-D of one length, got {starts.shape} and {ends.shape}")
    if starts.size and (starts.min() < 0 or ends.max() > data.size or np.any(ends < starts)):
        raise ValueError(f"every span must satisfy 0 <= start <= end <= len(data) = {data.size}")
    return data, starts, ends


def count_spans(data, starts, ends) -> tuple[np.ndarray, np.ndarray]:
    """Unique spans and their counts (see :func:`count_spans_reference`); a hash table over the bytes."""
    data, starts, ends = _check_spans(data, starts, ends)
    return (_count_spans if jit_enabled() else count_spans_reference)(data, starts, ends)


# ----------------------------------------------------------------------------------------- training

def merge_pair(ids, a: int, b: int, new: int) -> list:
    """``ids`` with every occurrence of the adjacent pair (a, b), scanned left to right, replaced by ``new``.

    The one merge step of BPE, shared by the Python references (the Numba kernels do the same in place).
    """
    merged, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
            merged.append(new)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged

def train_merges_reference(symbols: np.ndarray, offsets: np.ndarray, freqs: np.ndarray, n_merges: int,
                           first_id: int = 256) -> np.ndarray:
    """The incremental trainer in plain Python (the module docstring explains it).

    ``symbols`` int (S,): the byte values of every unique word, one after another; word ``w`` is
    ``symbols[offsets[w]:offsets[w + 1]]``; ``freqs`` int (W,) its count in the corpus. Returns the
    merges, int32 (K, 2) with ``K <= n_merges`` (fewer when no pair is left): merge ``k`` makes token
    ``first_id + k`` from the pair ``(merges[k, 0], merges[k, 1])``.
    """
    words = [symbols[offsets[w]:offsets[w + 1]].tolist() for w in range(len(freqs))]
    freqs = freqs.tolist()
    tok_bytes = [bytes([v]) for v in range(256)] + [b""] * (first_id - 256)
    existing = set(tok_bytes)
    count: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for w, word in enumerate(words):
        for pair in pairwise(word):
            count[pair] = count.get(pair, 0) + freqs[w]
            where.setdefault(pair, set()).add(w)
    heap = [(-c, a, b) for (a, b), c in count.items()]  # min-heap: largest count, then smallest (a, b)
    heapq.heapify(heap)
    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges and heap:
        neg, a, b = heap[0]
        current = count.get((a, b), 0)
        if current <= 0:
            heapq.heappop(heap)
            continue
        if -neg != current:  # stale: the pair has lost occurrences since this entry was pushed
            heapq.heapreplace(heap, (-current, a, b))
            continue
        heapq.heappop(heap)
        joined = tok_bytes[a] + tok_bytes[b]
        if joined in existing:  # another split made these bytes already: never merged
            count[(a, b)] = 0
            continue
        c = first_id + len(merges)
        merges.append((a, b))
        tok_bytes.append(joined)
        existing.add(joined)
        created: set[tuple[int, int]] = set()
        for w in sorted(where.pop((a, b))):
            word, f = words[w], freqs[w]
            if not any(x == a and y == b for x, y in pairwise(word)):
                continue  # a stale entry: an earlier merge took these symbols
            for pair in pairwise(word):
                count[pair] -= f
            merged = merge_pair(word, a, b, c)
            words[w] = merged
            for pair in pairwise(merged):
                count[pair] = count.get(pair, 0) + f
                if c in pair:
                    where.setdefault(pair, set()).add(w)
                    created.add(pair)
        count[(a, b)] = 0
        for pair in sorted(created):
            if count[pair] > 0:
                heapq.heappush(heap, (-count[pair], *pair))
    return np.array(merges, dtype=np.int32).reshape(-1, 2)


@jit(nogil=True, cache=True, inline="always")
def _pair_slot(key, mask):
    return np.int64(((np.uint64(key) * np.uint64(11400714819323198485)) >> np.uint64(29)) & np.uint64(mask))


@jit(nogil=True, cache=True)
def _pair_find(keys, vals, mask, key):
    """Index of the pair ``key`` in the open-addressing table, or -1."""
    slot = _pair_slot(key, mask)
    while True:
        k = keys[slot]
        if k == key:
            return vals[slot]
        if k == -1:
            return -1
        slot = (slot + 1) & mask


@jit(nogil=True, cache=True)
def _pair_table(pair_key, n_pairs, cap):
    keys = np.full(cap, -1, np.int64)
    vals = np.empty(cap, np.int64)
    mask = cap - 1
    for p in range(n_pairs):
        slot = _pair_slot(pair_key[p], mask)
        while keys[slot] != -1:
            slot = (slot + 1) & mask
        keys[slot] = pair_key[p]
        vals[slot] = p
    return keys, vals


@jit(nogil=True, cache=True, inline="always")
def _better(c1, p1, c2, p2, pair_key):
    """Heap order: a larger count first, then the smaller pair (a, b) (its key is a * 2**32 + b)."""
    return c1 > c2 or (c1 == c2 and pair_key[p1] < pair_key[p2])


@jit(nogil=True, cache=True)
def _sift_down(h_cnt, h_pair, size, i, pair_key):
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        best = left
        right = left + 1
        if right < size and _better(h_cnt[right], h_pair[right], h_cnt[left], h_pair[left], pair_key):
            best = right
        if not _better(h_cnt[best], h_pair[best], h_cnt[i], h_pair[i], pair_key):
            return
        h_cnt[i], h_cnt[best] = h_cnt[best], h_cnt[i]
        h_pair[i], h_pair[best] = h_pair[best], h_pair[i]
        i = best


@jit(nogil=True, cache=True)
def _sift_up(h_cnt, h_pair, i, pair_key):
    while i > 0:
        parent = (i - 1) // 2
        if not _better(h_cnt[i], h_pair[i], h_cnt[parent], h_pair[parent], pair_key):
            return
        h_cnt[i], h_cnt[parent] = h_cnt[parent], h_cnt[i]
        h_pair[i], h_pair[parent] = h_pair[parent], h_pair[i]
        i = parent


@jit(nogil=True, cache=True)
def _grow(a, n):
    b = np.empty(n, a.dtype)
    b[:a.shape[0]] = a
    return b


@jit(nogil=True, cache=True)
def _train_merges(symbols, offsets, freqs, n_merges, first_id):
    sym = symbols.copy()
    n_words = freqs.shape[0]
    wlen = np.empty(n_words, np.int64)
    for w in range(n_words):
        wlen[w] = offsets[w + 1] - offsets[w]

    # Token bytes, to refuse a merge whose bytes are a token already: a polynomial hash of each token's
    # bytes (h(xy) = h(x) * P**len(y) + h(y), so it does not depend on the split), a table from hash to
    # token, and the bytes themselves for the final comparison.
    n_tok_max = first_id + n_merges
    tok_hash = np.zeros(n_tok_max, np.uint64)
    tok_pow = np.zeros(n_tok_max, np.uint64)
    tok_off = np.zeros(n_tok_max + 1, np.int64)
    pool = np.empty(256 + 64 * max(n_merges, 1), np.uint8)
    tcap = 1
    while tcap < 2 * n_tok_max + 2:
        tcap *= 2
    ttable = np.full(tcap, -1, np.int64)
    prime = np.uint64(1099511628211)
    for v in range(256):
        tok_hash[v] = np.uint64(v + 1)
        tok_pow[v] = prime
        pool[v] = v
        tok_off[v + 1] = v + 1
        slot = np.int64(tok_hash[v] * np.uint64(11400714819323198485) >> np.uint64(29)) & (tcap - 1)
        while ttable[slot] != -1:
            slot = (slot + 1) & (tcap - 1)
        ttable[slot] = v
    for v in range(256, first_id):
        tok_off[v + 1] = tok_off[v]
    pool_used = tok_off[first_id]

    # Pairs: key a * 2**32 + b, count, the head of the linked list of words that contain it, the last
    # word added to that list (so a word is listed once per pass), and whether the pair is refused.
    pcap = 1 << 16
    pair_key = np.empty(pcap, np.int64)
    pair_cnt = np.zeros(pcap, np.int64)
    pair_head = np.full(pcap, -1, np.int64)
    pair_last = np.full(pcap, -1, np.int64)
    n_pairs = 0
    tcap_p = 1 << 17
    pkeys, pvals = _pair_table(pair_key, 0, tcap_p)
    ecap = 1 << 16
    ent_word = np.empty(ecap, np.int64)
    ent_next = np.empty(ecap, np.int64)
    n_ent = 0

    merges = np.empty((n_merges, 2), np.int32)
    n_done = 0
    seen = np.full(n_words, -1, np.int64)
    h_cnt = np.empty(pcap, np.int64)
    h_pair = np.empty(pcap, np.int64)
    h_size = 0

    step = -1  # -1: the initial count; then the number of the merge being applied
    c = -1
    a = -1
    b = -1
    while True:
        # One pass: the initial count (every word), or the words of the pair (a, b) being merged to c.
        if step == -1:
            e = -2
        else:
            e = pair_head[_pair_find(pkeys, pvals, tcap_p - 1, (np.int64(a) << 32) + b)]
        first_new = n_pairs
        w = -1
        while True:
            if step == -1:
                w += 1
                if w == n_words:
                    break
            else:
                if e == -1:
                    break
                w = ent_word[e]
                e = ent_next[e]
                if seen[w] == step:
                    continue
                seen[w] = step
            s = offsets[w]
            n = wlen[w]
            f = freqs[w]
            if step >= 0:
                found = False
                for i in range(s, s + n - 1):
                    if sym[i] == a and sym[i + 1] == b:
                        found = True
                        break
                if not found:
                    continue
                for i in range(s, s + n - 1):
                    p = _pair_find(pkeys, pvals, tcap_p - 1, (np.int64(sym[i]) << 32) + sym[i + 1])
                    pair_cnt[p] -= f
                out = s
                i = s
                while i < s + n:
                    if i + 1 < s + n and sym[i] == a and sym[i + 1] == b:
                        sym[out] = c
                        i += 2
                    else:
                        sym[out] = sym[i]
                        i += 1
                    out += 1
                n = out - s
                wlen[w] = n
            # room for n new pairs and n new list entries
            if n_pairs + n > pcap:
                pcap = 2 * (n_pairs + n)
                pair_key = _grow(pair_key, pcap)
                pair_cnt = _grow(pair_cnt, pcap)
                pair_cnt[n_pairs:] = 0
                pair_head = _grow(pair_head, pcap)
                pair_last = _grow(pair_last, pcap)
                h_cnt = _grow(h_cnt, pcap)
                h_pair = _grow(h_pair, pcap)
            if 2 * (n_pairs + n) > tcap_p:
                while 2 * (n_pairs + n) > tcap_p:
                    tcap_p *= 2
                pkeys, pvals = _pair_table(pair_key, n_pairs, tcap_p)
            if n_ent + n > ecap:
                ecap = 2 * (n_ent + n)
                ent_word = _grow(ent_word, ecap)
                ent_next = _grow(ent_next, ecap)
            for i in range(s, s + n - 1):
                key = (np.int64(sym[i]) << 32) + sym[i + 1]
                slot = _pair_slot(key, tcap_p - 1)
                while pkeys[slot] != -1 and pkeys[slot] != key:
                    slot = (slot + 1) & (tcap_p - 1)
                if pkeys[slot] == -1:
                    pkeys[slot] = key
                    pvals[slot] = n_pairs
                    pair_key[n_pairs] = key
                    pair_cnt[n_pairs] = 0
                    pair_head[n_pairs] = -1
                    pair_last[n_pairs] = -1
                    n_pairs += 1
                p = pvals[slot]
                pair_cnt[p] += f
                if (step == -1 or sym[i] == c or sym[i + 1] == c) and pair_last[p] != w:
                    pair_last[p] = w
                    ent_word[n_ent] = w
                    ent_next[n_ent] = pair_head[p]
                    pair_head[p] = n_ent
                    n_ent += 1
        if step >= 0:
            pair_cnt[_pair_find(pkeys, pvals, tcap_p - 1, (np.int64(a) << 32) + b)] = 0
        # the pairs this pass created enter the heap with their final counts
        for p in range(first_new, n_pairs):
            if pair_cnt[p] > 0:
                h_cnt[h_size] = pair_cnt[p]
                h_pair[h_size] = p
                _sift_up(h_cnt, h_pair, h_size, pair_key)
                h_size += 1

        # the next merge: the best pair whose count is current and whose bytes are not a token yet
        found_pair = -1
        while n_done < n_merges and h_size > 0:
            p = h_pair[0]
            current = pair_cnt[p]
            if current <= 0:
                h_size -= 1
                h_cnt[0] = h_cnt[h_size]
                h_pair[0] = h_pair[h_size]
                _sift_down(h_cnt, h_pair, h_size, 0, pair_key)
                continue
            if h_cnt[0] != current:
                h_cnt[0] = current
                _sift_down(h_cnt, h_pair, h_size, 0, pair_key)
                continue
            h_size -= 1
            h_cnt[0] = h_cnt[h_size]
            h_pair[0] = h_pair[h_size]
            _sift_down(h_cnt, h_pair, h_size, 0, pair_key)
            pa = pair_key[p] >> 32
            pb = pair_key[p] & 0xFFFFFFFF
            length = (tok_off[pa + 1] - tok_off[pa]) + (tok_off[pb + 1] - tok_off[pb])
            hj = tok_hash[pa] * tok_pow[pb] + tok_hash[pb]
            slot = np.int64(hj * np.uint64(11400714819323198485) >> np.uint64(29)) & (tcap - 1)
            dup = False
            while ttable[slot] != -1:
                t = ttable[slot]
                if tok_hash[t] == hj and tok_off[t + 1] - tok_off[t] == length:
                    same = True
                    la = tok_off[pa + 1] - tok_off[pa]
                    for q in range(length):
                        if q < la:
                            x = pool[tok_off[pa] + q]
                        else:
                            x = pool[tok_off[pb] + q - la]
                        if pool[tok_off[t] + q] != x:
                            same = False
                            break
                    if same:
                        dup = True
                        break
                slot = (slot + 1) & (tcap - 1)
            if dup:
                pair_cnt[p] = 0  # refused for good: the token it would make exists
                continue
            # register the new token
            c = first_id + n_done
            if pool_used + length > pool.shape[0]:
                pool = _grow(pool, 2 * (pool_used + length))
            for q in range(tok_off[pa + 1] - tok_off[pa]):
                pool[pool_used + q] = pool[tok_off[pa] + q]
            la = tok_off[pa + 1] - tok_off[pa]
            for q in range(tok_off[pb + 1] - tok_off[pb]):
                pool[pool_used + la + q] = pool[tok_off[pb] + q]
            tok_off[c] = pool_used
            pool_used += length
            tok_off[c + 1] = pool_used
            tok_hash[c] = hj
            tok_pow[c] = tok_pow[pa] * tok_pow[pb]
            ttable[slot] = c
            merges[n_done, 0] = pa
            merges[n_done, 1] = pb
            n_done += 1
            found_pair = p
            break
        if found_pair < 0:
            break
        a = pair_key[found_pair] >> 32
        b = pair_key[found_pair] & 0xFFFFFFFF
        step = n_done - 1
    return merges[:n_done].copy()


def _check_words(symbols, offsets, freqs, n_merges, first_id):
    symbols = np.ascontiguousarray(symbols, dtype=np.int32)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    freqs = np.ascontiguousarray(freqs, dtype=np.int64)
    if offsets.ndim != 1 or offsets.size != freqs.size + 1 or offsets[0] != 0 or offsets[-1] != symbols.size:
        raise ValueError("offsets must have len(freqs) + 1 entries rising from 0 to len(symbols)")
    if np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must not decrease")
    if symbols.size and (symbols.min() < 0 or symbols.max() > 255):
        raise ValueError("symbols must be byte values 0..255")
    if freqs.size and freqs.min() < 1:
        raise ValueError("every word frequency must be >= 1")
    if not isinstance(n_merges, (int, np.integer)) or n_merges < 0:
        raise ValueError(f"n_merges must be an integer >= 0, got {n_merges!r}")
    if first_id < 256:
        raise ValueError(f"first_id must be >= 256, got {first_id}")
    return symbols, offsets, freqs, int(n_merges), int(first_id)


def train_merges(symbols, offsets, freqs, n_merges: int, first_id: int = 256) -> np.ndarray:
    """Learn up to ``n_merges`` merges from unique words and their frequencies (contract of
    :func:`train_merges_reference`; compiled when JIT is on)."""
    args = _check_words(symbols, offsets, freqs, n_merges, first_id)
    return (_train_merges if jit_enabled() else train_merges_reference)(*args)


# ----------------------------------------------------------------------------------------- encoding
@jit(nogil=True, cache=True)
def _build_merge_table(merges, first_id):
    cap = 1
    while cap < 2 * merges.shape[0] + 2:
        cap *= 2
    keys = np.full(cap, -1, np.int64)
    vals = np.empty(cap, np.int64)
    for k in range(merges.shape[0]):
        key = (np.int64(merges[k, 0]) << 32) + merges[k, 1]
        slot = _pair_slot(key, cap - 1)
        while keys[slot] != -1:
            slot = (slot + 1) & (cap - 1)
        keys[slot] = key
        vals[slot] = first_id + k
    return keys, vals


@jit(nogil=True, cache=True)
def _bpe_word(data, s, e, keys, vals, buf):
    """Apply the merges to ``data[s:e]``; the ids end up in ``buf[:n]``, ``n`` returned."""
    mask = keys.shape[0] - 1
    n = e - s
    for i in range(n):
        buf[i] = data[s + i]
    while n > 1:
        best = np.int64(1) << 62
        pos = -1
        for i in range(n - 1):
            r = _pair_find(keys, vals, mask, (np.int64(buf[i]) << 32) + buf[i + 1])
            if r >= 0 and r < best:
                best = r
                pos = i
        if pos < 0:
            break
        x = buf[pos]
        y = buf[pos + 1]
        out = pos
        i = pos
        while i < n:
            if i + 1 < n and buf[i] == x and buf[i + 1] == y:
                buf[out] = best
                i += 2
            else:
                buf[out] = buf[i]
                i += 1
            out += 1
        n = out
    return n


@jit(nogil=True, cache=True)
def _encode_spans(data, starts, ends, keys, vals):
    n_spans = starts.shape[0]
    out = np.empty(data.shape[0], np.int32)  # never more ids than bytes
    n_out = 0
    longest = 1
    for s in range(n_spans):
        longest = max(longest, ends[s] - starts[s])
    buf = np.empty(longest, np.int64)
    cum = np.zeros(n_spans + 1, np.int64)
    # cache: unique span -> its ids, stored once in `out` (first occurrence) and copied afterwards
    cap = 1 << 12
    table = np.full(cap, -1, np.int64)
    c_span = np.empty(1 << 11, np.int64)
    c_hash = np.empty(1 << 11, np.uint64)
    c_at = np.empty(1 << 11, np.int64)
    c_len = np.empty(1 << 11, np.int64)
    n_cached = 0
    for s in range(n_spans):
        a = starts[s]
        b = ends[s]
        if b - a == 1:  # one byte: its own id
            out[n_out] = data[a]
            n_out += 1
            cum[s + 1] = n_out
            continue
        h = _fnv(data, a, b)
        slot = np.int64(h & np.uint64(cap - 1))
        hit = -1
        while table[slot] != -1:
            w = table[slot]
            if c_hash[w] == h and _same(data, starts[c_span[w]], ends[c_span[w]], a, b):
                hit = w
                break
            slot = (slot + 1) & (cap - 1)
        if hit >= 0:
            at = c_at[hit]
            for q in range(c_len[hit]):
                out[n_out + q] = out[at + q]
            n_out += c_len[hit]
            cum[s + 1] = n_out
            continue
        n = _bpe_word(data, a, b, keys, vals, buf)
        for q in range(n):
            out[n_out + q] = buf[q]
        if n_cached == c_span.shape[0]:
            c_span = _grow(c_span, 2 * n_cached)
            c_hash = _grow(c_hash, 2 * n_cached)
            c_at = _grow(c_at, 2 * n_cached)
            c_len = _grow(c_len, 2 * n_cached)
        table[slot] = n_cached
        c_span[n_cached] = s
        c_hash[n_cached] = h
        c_at[n_cached] = n_out
        c_len[n_cached] = n
        n_cached += 1
        n_out += n
        cum[s + 1] = n_out
        if 2 * n_cached > cap:
            cap *= 2
            table = _rehash_words(c_hash, n_cached, cap)
    return out[:n_out].copy(), cum


def bpe_word_reference(word: bytes, ranks: dict[tuple[int, int], int]) -> list[int]:
    """One pre-token's ids: start from its bytes and, while some adjacent pair is a merge, merge every
    occurrence (left to right) of the pair with the lowest rank (``ranks[(a, b)]`` = the new id)."""
    ids = list(word)
    while len(ids) > 1:
        rank, pair = min((ranks.get(p, float("inf")), p) for p in pairwise(ids))
        if rank == float("inf"):
            break
        ids = merge_pair(ids, *pair, rank)
    return ids


def encode_spans_reference(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, merges: np.ndarray,
                           first_id: int = 256) -> np.ndarray:
    """The ids of every span ``data[starts[i]:ends[i]]``, one after another (int32), and ``cum`` int64
    (n_spans + 1,): span ``i``'s ids are ``ids[cum[i]:cum[i + 1]]``."""
    ranks = {(int(a), int(b)): first_id + k for k, (a, b) in enumerate(merges.tolist())}
    raw = data.tobytes()
    cache: dict[bytes, list[int]] = {}
    out: list[int] = []
    cum = [0]
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        word = raw[a:b]
        if word not in cache:
            cache[word] = bpe_word_reference(word, ranks)
        out.extend(cache[word])
        cum.append(len(out))
    return np.array(out, dtype=np.int32), np.array(cum, dtype=np.int64)


class MergeTable:
    """The merges ready for :func:`encode_spans`: an open-addressing table from ``(a, b)`` to the new id."""

    def __init__(self, merges: np.ndarray, first_id: int = 256):
        merges = np.ascontiguousarray(merges, dtype=np.int32).reshape(-1, 2)
        if merges.size and (merges.min() < 0 or np.any(merges.max(axis=1) >= first_id + np.arange(len(merges)))):
            raise ValueError("merge k may only join ids below first_id + k (tokens made before it)")
        self.merges = merges
        self.first_id = int(first_id)
        self._keys = self._vals = None

    def tables(self):
        if self._keys is None:
            self._keys, self._vals = _build_merge_table(self.merges, self.first_id)
        return self._keys, self._vals


def encode_spans(data, starts, ends, table: MergeTable) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, cum)`` for the spans of ``data`` under the merges of ``table`` (see
    :func:`encode_spans_reference`)."""
    data, starts, ends = _check_spans(data, starts, ends)
    if not jit_enabled():
        return encode_spans_reference(data, starts, ends, table.merges, table.first_id)
    keys, vals = table.tables()
    return _encode_spans(data, starts, ends, keys, vals)
