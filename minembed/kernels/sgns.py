"""word2vec's inner loops: skip-gram and CBOW with negative sampling and/or hierarchical softmax.

How one training example works (the same in word2vec.c, gensim and here)
------------------------------------------------------------------------
Every word ``w`` has an *input* vector ``syn0[w]`` (the word vector you keep) and the model has
*output* vectors: ``syn1neg[w]`` per word for negative sampling, ``syn1[n]`` per inner node of a
Huffman tree for hierarchical softmax. An example is an input vector ``h`` and a target word:

* skip-gram: ``h = syn0[context]`` predicts the *centre* word. (word2vec.c and gensim loop over
  the window and use the context word's input vector to predict the centre word's output
  vector; over a corpus that is the same set of pairs as "centre predicts context", and it
  lets one centre's output row stay in cache while its window is swept.)
* CBOW: ``h`` = sum (or mean, ``cbow_mean``) of the window's input vectors predicts the centre.

For each *target* ``t`` with label ``y`` (negative sampling: the centre with y=1 and ``negative``
noise words with y=0; hierarchical softmax: every inner node on the centre's Huffman path with
y = 1 - code bit) the loss is the logistic loss of the score ``x = h . out[t]``::

    loss = -log sigma(x)        if y = 1          sigma(x) = 1 / (1 + exp(-x))
         = -log sigma(-x)       if y = 0
    d loss / d x = sigma(x) - y,  so with g = alpha * (y - sigma(x)):
    out[t] += g * h              (the output row steps downhill)
    e      += g * out[t]         (accumulated with the row's value *before* its update)

and finally the input side takes ``e``: skip-gram ``syn0[context] += e``; CBOW adds ``e`` to every
context word's row (not divided by the window size even with ``cbow_mean``, as word2vec.c and
gensim do).

Out-of-range scores: sigma is read from a table over ``[-6, 6]`` (linear interpolation between
4097 points, error < 1e-7). For ``|x| >= 6`` we *clip* like word2vec.c's negative sampling
(sigma taken as exactly 1 or 0, so a confidently wrong score still gets the full gradient);
gensim instead *skips* such targets. The loss is computed exactly there (``softplus``).

Subword bags (fastText): the input side can be a *bag* of rows instead of one. With bags, word
``w``'s input vector is the mean of ``syn0`` over the rows ``sub_ids[sub_offsets[w]:sub_offsets[w + 1]]``
(fastText: the word's own row, then one bucket row per character n-gram), and the gradient ``e``
is added to every row of the bag (not divided by its size, as fastText does). CBOW takes the mean
over *all* rows of all context bags. word2vec is the case where every bag is the word's own row
(the default, ``sub_offsets`` empty): then the arithmetic is exactly word2vec's, bit for bit.
Skip-gram with bags takes fastText's order (the centre's bag predicts each context word in turn;
word2vec.c's order, context predicts centre, is the same set of pairs over a corpus). Facebook's
fastText and gensim re-average the bag and add ``e`` to each of its rows for every pair; the kernel
averages the bag once per centre, moves the mean by ``e`` (times :func:`_bag_gains`) after each
pair, which is exactly what re-averaging the updated rows gives, and adds the window's summed ``e``
to the rows once. The reference does it the textbook way (re-average, update, every pair).

Noise words are drawn from unigram counts raised to ``ns_exponent`` (0.75) with a cumulative
table and a binary search (gensim's method; word2vec.c uses a 1e8-entry lookup table). A noise
word equal to the centre word is skipped.

Randomness: each chunk of sentences gets its own 64-bit LCG state (word2vec.c's multiplier
25214903917, increment 11) seeded from the caller's per-chunk seeds, so the random numbers a
chunk uses do not depend on which thread runs it. Random numbers drive subsampling, the reduced
window (unless ``shrink_windows`` is off) and the noise words, in that order, exactly as in word2vec.c.

Threads (Hogwild): with ``workers > 1`` each thread takes every ``workers``-th chunk and updates
the shared tables without locks. Updates can interleave, so results differ from run to run;
with one worker the order is fixed and a seed gives bit-identical vectors.

In this file: the tables (``cum_table``, ``keep_thresholds``, ``huffman_tree``, ...); ``SGNSJob``,
everything one training call reads, printable; ``train_chunks_reference``, the textbook loop over
sentences, words and targets in plain Python/NumPy; ``_train_chunks``, the same loop compiled by
Numba, element by element; and ``train_chunks``, which checks a job and runs one or the other
(the reference when ``MINEMBED_JIT=0``). ``tests/test_kernels_sgns.py`` holds them equal.
"""
from __future__ import annotations

import heapq
import math
from typing import NamedTuple

import numpy as np

from .jit import FASTMATH, jit, prange

MAX_EXP = 6.0
TABLE_STEPS = 4096
_SCALE = TABLE_STEPS / (2.0 * MAX_EXP)
CUM_TABLE_DOMAIN = 2**31  # random numbers are 31-bit: r in [0, 2**31)

_MULT = np.uint64(25214903917)
_INC = np.uint64(11)
_SHIFT = np.uint64(33)  # random numbers are the top 31 bits of the 64-bit state


def sigmoid_tables() -> tuple[np.ndarray, np.ndarray]:
    """(sigma(x), -log sigma(x)) at ``TABLE_STEPS + 1`` points evenly spaced over [-6, 6], float64."""
    x = np.linspace(-MAX_EXP, MAX_EXP, TABLE_STEPS + 1)
    sig = 1.0 / (1.0 + np.exp(-x))
    nlogsig = np.log1p(np.exp(-x))
    return sig, nlogsig


def cum_table(counts: np.ndarray, ns_exponent: float = 0.75) -> np.ndarray:
    """Cumulative noise distribution as int64 in ``[0, 2**31]``: word i is drawn for a uniform
    31-bit integer r (``0 <= r < 2**31 = table[-1]``) when ``table[i-1] <= r < table[i]``.

    With ``ns_exponent=0`` every word is equally likely; 1 gives the unigram distribution.
    """
    weights = np.asarray(counts, dtype=np.float64) ** ns_exponent
    if not np.isfinite(weights).all() or weights.sum() <= 0:
        raise ValueError(f"ns_exponent={ns_exponent} gives an unusable noise distribution")
    cum = np.cumsum(weights)
    table = np.round(cum / cum[-1] * CUM_TABLE_DOMAIN).astype(np.int64)
    table[-1] = CUM_TABLE_DOMAIN
    return table


def guide_table(cum: np.ndarray) -> np.ndarray:
    """An index into the cumulative table so a draw needs no binary search.

    The 31-bit range is cut into ``2**b`` equal buckets (``b`` about log2(V) + 1); ``guide[k]`` is the
    first word whose interval reaches into bucket k. A draw r starts at ``guide[r >> (31 - b)]`` and
    steps forward while ``cum[i] <= r`` (about one step on average). It picks exactly the word a
    binary search of ``cum`` would (``np.searchsorted(cum, r, side="right")``), only faster.
    """
    bits = int(min(22, max(1, math.ceil(math.log2(max(len(cum), 2))) + 1)))
    starts = np.arange(2**bits + 1, dtype=np.int64) << (31 - bits)
    guide = np.searchsorted(cum, starts, side="right").astype(np.int32)
    return np.minimum(guide, len(cum) - 1).astype(np.int32)


def keep_thresholds(counts: np.ndarray, sample: float) -> np.ndarray:
    """Subsampling as word2vec.c: with ``t = sample * total``, a word seen ``c`` times is kept with
    probability ``min(1, (sqrt(c / t) + 1) * t / c)``. Returned as int64 thresholds on 31-bit
    random integers (kept when ``r < threshold``; ``2**31`` means always kept).

    ``sample >= 1`` is gensim's shorthand for a count: ``t = int(sample * (3 + sqrt(5)) / 2)``,
    exactly as gensim computes it."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.full(len(counts), 2**31, dtype=np.int64)
    t = sample * counts.sum() if sample < 1.0 else float(int(sample * (3 + math.sqrt(5)) / 2))
    prob = np.minimum(1.0, (np.sqrt(counts / t) + 1.0) * t / counts)
    return np.round(prob * 2**31).astype(np.int64)


def huffman_tree(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Huffman codes for hierarchical softmax (frequent words get short paths).

    Returns ``codes (V, L) uint8`` (bit of each step, root first), ``points (V, L) int32`` (inner
    node index of each step, into a ``(V - 1, D)`` output table) and ``lengths (V,) int32``.
    Inner nodes are numbered in the order they are created; the root is ``V - 2``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    v = len(counts)
    if v < 2:
        return np.zeros((v, 1), np.uint8), np.zeros((v, 1), np.int32), np.zeros(v, np.int32)
    heap = [(int(c), i) for i, c in enumerate(counts)]  # (count, node id); leaves 0..V-1
    heapq.heapify(heap)
    parent = np.zeros(2 * v - 1, dtype=np.int64)
    bit = np.zeros(2 * v - 1, dtype=np.uint8)
    nxt = v
    while len(heap) > 1:
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        parent[a], bit[a] = nxt, 0
        parent[b], bit[b] = nxt, 1
        heapq.heappush(heap, (c1 + c2, nxt))
        nxt += 1
    root = 2 * v - 2
    depth = np.zeros(2 * v - 1, dtype=np.int64)
    for node in range(root - 1, -1, -1):  # parents have larger ids: fill depths top-down
        depth[node] = depth[parent[node]] + 1
    max_len = int(depth[:v].max())
    codes = np.zeros((v, max_len), np.uint8)
    points = np.zeros((v, max_len), np.int32)
    for w in range(v):
        n, k = w, depth[w]
        while n != root:
            k -= 1
            codes[w, k] = bit[n]
            points[w, k] = parent[n] - v
            n = parent[n]
    return codes, points, depth[:v].astype(np.int32)


# --------------------------------------------------------------------------- reference
def sigmoid_clipped(x: np.ndarray) -> np.ndarray:
    """sigma(x) with word2vec.c's clipping: exactly 1 for x >= 6 and 0 for x <= -6."""
    s = 1.0 / (1.0 + np.exp(-np.clip(x, -MAX_EXP, MAX_EXP)))
    return np.where(x >= MAX_EXP, 1.0, np.where(x <= -MAX_EXP, 0.0, s))


def output_step_reference(h, out, targets, labels, mask, alpha):
    """One vectorised mini-batch step of the output layer (the readable definition).

    h (B, D) input vectors; out (R, D) output table, updated in place; targets (B, T) int rows of
    ``out``; labels (B, T) in {0, 1}; mask (B, T) bool (False = ignore); alpha the learning rate.
    All scores use the parameters from before the step; repeated rows add up (``np.add.at``).
    Returns ``(dh (B, D), loss (B,))`` where ``dh`` is what the input side must add (the "e" above).
    """
    rows = out[targets]                                        # (B, T, D)
    x = np.einsum("bd,btd->bt", h, rows)                       # scores
    g = alpha * (labels - sigmoid_clipped(x)) * mask           # (B, T)
    signed = np.where(labels > 0, x, -x)
    loss = (np.logaddexp(0.0, -signed) * mask).sum(axis=1)     # -log sigma(+-x)
    dh = np.einsum("bt,btd->bd", g, rows)
    np.add.at(out, targets[mask], (g[:, :, None] * h[:, None, :])[mask])
    return dh.astype(h.dtype, copy=False), loss


def sg_ns_step_reference(syn0, syn1neg, contexts, centers, negatives, alpha):
    """Skip-gram negative-sampling step on given pairs: ``syn0[contexts[i]]`` predicts ``centers[i]``
    against the noise words ``negatives[i]`` (a noise word equal to the centre is ignored).
    Updates both tables in place; returns the loss of each pair (float64)."""
    targets = np.concatenate([centers[:, None], negatives], axis=1)
    labels = np.zeros(targets.shape, dtype=syn0.dtype)
    labels[:, 0] = 1
    mask = np.ones(targets.shape, dtype=bool)
    mask[:, 1:] = negatives != centers[:, None]
    dh, loss = output_step_reference(syn0[contexts], syn1neg, targets, labels, mask, alpha)
    np.add.at(syn0, contexts, dh)
    return loss


# ------------------------------------------------------------------ what one training call needs
class SGNSJob(NamedTuple):
    """Everything :func:`train_chunks` reads: a block of the corpus, the tables it updates, the
    sampling tables and the settings. Print it to see what a training call is about to do.

    Corpus block
        Sentence ``s`` is ``ids[offsets[s]:offsets[s + 1]]``; chunk ``c`` is sentences
        ``bounds[c]:bounds[c + 1]`` and draws its random numbers from ``seeds[c]``.
        ``ids`` (N,) int32 in [0, V); ``offsets`` (S+1,) int64 from 0 to N; ``bounds`` (C+1,) int64;
        ``seeds`` (C,) uint64.
    Parameters, updated in place
        ``syn0`` (V, D) float32 input vectors; ``syn1`` (V-1, D) float32 hierarchical-softmax inner nodes
        ((0, D) when ``hs`` is off); ``syn1neg`` (V, D) float32 negative-sampling output vectors
        ((0, D) when ``negative`` is 0); ``lockf`` (R,) float32: the input update of row r is multiplied
        by ``lockf[r]`` (gensim's ``vectors_lockf``; 1.0 trains normally, 0.0 freezes the row).
        Without bags ``syn0`` has one row per word (R = V); with bags it has R >= V rows
        (fastText: V word rows, then the n-gram buckets).
    Tables, built once per vocabulary by the functions above
        ``keep`` (V,) int64 from :func:`keep_thresholds`; ``cum`` (V,) int64 from :func:`cum_table` and
        ``guide`` from :func:`guide_table` (noise words); ``codes`` (V, L) uint8, ``points`` (V, L) int32 and
        ``lengths`` (V,) int32 from :func:`huffman_tree`; ``sig``, ``nlogsig`` from :func:`sigmoid_tables`.
    Settings
        ``sg`` (skip-gram, else CBOW), ``cbow_mean``, ``hs``, ``negative`` (noise words per example),
        ``window``, ``shrink_windows`` (True: each centre draws its window size in 1..window; False: always
        ``window``); the learning rate falls linearly from ``alpha0`` to ``alpha1`` over ``total_words``
        words, and this block starts ``done_before`` words into that schedule.
    Subword bags, optional (last, so word2vec's jobs need not name them)
        ``sub_offsets`` (V+1,) int64 and ``sub_ids`` (M,) int32 in [0, R): word w's input rows are
        ``sub_ids[sub_offsets[w]:sub_offsets[w + 1]]`` (at least one each). Empty (the default):
        every word is its own row (word2vec).
    """

    ids: np.ndarray
    offsets: np.ndarray
    bounds: np.ndarray
    seeds: np.ndarray
    syn0: np.ndarray
    syn1: np.ndarray
    syn1neg: np.ndarray
    lockf: np.ndarray
    keep: np.ndarray
    cum: np.ndarray
    guide: np.ndarray
    codes: np.ndarray
    points: np.ndarray
    lengths: np.ndarray
    sig: np.ndarray
    nlogsig: np.ndarray
    sg: bool
    cbow_mean: bool
    hs: bool
    negative: int
    window: int
    shrink_windows: bool
    alpha0: float
    alpha1: float
    done_before: float
    total_words: float
    sub_offsets: np.ndarray = np.zeros(0, dtype=np.int64)
    sub_ids: np.ndarray = np.zeros(0, dtype=np.int32)

    def __repr__(self) -> str:
        parts = []
        for name, value in zip(self._fields, self, strict=True):
            if isinstance(value, np.ndarray):
                parts.append(f"{name}={value.dtype}{list(value.shape)}")
            else:
                parts.append(f"{name}={value!r}")
        return "SGNSJob(" + ", ".join(parts) + ")"


def learning_rate(job: SGNSJob, position) -> float:
    """The learning rate at word ``position`` of the block: linear decay by corpus position (so it
    does not depend on how chunks meet threads), never below ``alpha1``."""
    frac = (job.done_before + position) / job.total_words
    return max(job.alpha1, job.alpha0 - (job.alpha0 - job.alpha1) * frac)


# ------------------------------------------------------------------ reference: the textbook loop
def _lcg(seed: int):
    """word2vec.c's random numbers as an endless iterator: the 64-bit state steps as
    ``state = state * 25214903917 + 11 (mod 2**64)`` and each number is its top 31 bits."""
    state = int(seed)
    while True:
        state = (state * 25214903917 + 11) % 2**64
        yield state >> 33


def _train_target_reference(h, e, out, t, label, alpha):
    """One target row ``out[t]`` with label 0 or 1: returns the loss, updates ``out[t]`` and adds the
    gradient for ``h`` into ``e`` (computed with the row as it was before the update)."""
    x = float(h @ out[t])                                # the score
    s = float(sigmoid_clipped(x))                        # exactly 0 or 1 beyond |x| >= 6, as in the kernel
    loss = float(np.logaddexp(0.0, -x if label else x))  # -log sigma(x) or -log sigma(-x), exact
    g = np.float32(alpha * (label - s))                  # alpha times minus d loss / dx
    e += g * out[t]
    out[t] += g * h
    return loss


def _train_example_reference(job: SGNSJob, h, center, alpha, rand):
    """All targets of one example whose input vector is ``h``: the centre's Huffman path (``hs``),
    then the centre and ``negative`` noise words (a noise word equal to the centre is skipped).
    Returns (loss, e), where ``e`` is what the input side must add."""
    e = np.zeros_like(h)
    loss = 0.0
    if job.hs:
        for k in range(job.lengths[center]):
            loss += _train_target_reference(h, e, job.syn1, job.points[center, k], 1 - int(job.codes[center, k]),
                                            alpha)
    if job.negative > 0:
        loss += _train_target_reference(h, e, job.syn1neg, center, 1, alpha)
        for _ in range(job.negative):
            noise = int(np.searchsorted(job.cum, next(rand), side="right"))  # first i with cum[i] > r
            if noise != center:
                loss += _train_target_reference(h, e, job.syn1neg, noise, 0, alpha)
    return loss, e


def _bag_reference(job: SGNSJob, w: int) -> list[int]:
    """The input rows of word ``w``: its bag, or ``[w]`` when the job has no bags (word2vec)."""
    if len(job.sub_offsets) == 0:
        return [w]
    return [int(r) for r in job.sub_ids[job.sub_offsets[w]:job.sub_offsets[w + 1]]]


def train_chunks_reference(job: SGNSJob, first: int = 0, stop: int | None = None, progress=None) -> tuple[float, int]:
    """Train on chunks ``first:stop`` one after another: the readable definition of the kernel.

    Same random numbers, in the same order (per sentence: one per word for subsampling, then one per
    kept word for its reduced window unless ``shrink_windows`` is off, then ``negative`` per example
    for the noise words), the same examples and the same updates as :func:`train_chunks` with one
    worker. Two differences, each of the size of float32 rounding: sigma and the loss are computed
    exactly here (the kernel interpolates a table, error < 1e-7), and dot products are summed in
    NumPy's order (the kernel is compiled with ``fastmath``). After one epoch on a small corpus the
    vectors agree to ~1e-6 (``tests/test_kernels_sgns.py``). Returns (sum of losses, number of
    examples); ``progress[0]`` gets the words done after each chunk.
    """
    stop = len(job.bounds) - 1 if stop is None else stop
    syn0, window = job.syn0, job.window
    bags = len(job.sub_ids) > len(job.sub_offsets) - 1 > 0  # some word has more than its own row
    loss, examples, words_done = 0.0, 0, 0
    for c in range(first, stop):
        rand = _lcg(job.seeds[c])
        for s in range(job.bounds[c], job.bounds[c + 1]):
            start, end = job.offsets[s], job.offsets[s + 1]
            alpha = learning_rate(job, start)
            sent = [int(w) for w in job.ids[start:end] if next(rand) < job.keep[w]]  # subsampling
            for i, center in enumerate(sent):
                reach = window - next(rand) % window if job.shrink_windows else window  # 1..window each side
                context = sent[max(0, i - reach):i] + sent[i + 1:i + reach + 1]
                if job.sg and bags:  # fastText: the centre's bag predicts each context word in turn
                    rows = _bag_reference(job, center)
                    for target in context:
                        h = syn0[rows].mean(axis=0, dtype=np.float32)  # the mean of the rows as they are now
                        example_loss, e = _train_example_reference(job, h, target, alpha, rand)
                        for r in rows:  # every row of the bag takes all of e
                            syn0[r] += job.lockf[r] * e
                        loss += example_loss
                        examples += 1
                elif job.sg:  # word2vec: each context word's input vector predicts the centre
                    for ctx in context:
                        r = _bag_reference(job, ctx)[0]  # every bag is one row here: the word's own
                        example_loss, e = _train_example_reference(job, syn0[r].copy(), center, alpha, rand)
                        syn0[r] += job.lockf[r] * e
                        loss += example_loss
                        examples += 1
                elif context:  # CBOW: the sum (or mean) of every context row predicts the centre
                    rows = [r for ctx in context for r in _bag_reference(job, ctx)]
                    h = np.zeros(syn0.shape[1], dtype=syn0.dtype)
                    for r in rows:
                        h += syn0[r]
                    if job.cbow_mean:
                        h *= np.float32(1.0 / len(rows))
                    example_loss, e = _train_example_reference(job, h, center, alpha, rand)
                    for r in rows:  # every context row takes all of e
                        syn0[r] += job.lockf[r] * e
                    loss += example_loss
                    examples += 1
        words_done += int(job.offsets[job.bounds[c + 1]] - job.offsets[job.bounds[c]])
        if progress is not None:
            progress[0] = words_done
    return loss, examples


# ------------------------------------------------------------------------------ kernel
@jit(nogil=True, cache=True, inline="always")
def _rand(state):
    state = state * _MULT + _INC
    return state, np.int64(state >> _SHIFT)


@jit(nogil=True, cache=True, inline="always")
def _draw(cum, guide, gshift, state):
    """A noise word: the first i with cum[i] > r for a uniform 31-bit r (see :func:`guide_table`)."""
    state, r = _rand(state)
    i = guide[r >> gshift]
    while cum[i] <= r:
        i += 1
    return state, i


@jit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def _target_step(h, e, out, t, label, alpha, sig, nlogsig):
    """One target: score, gradient, update ``out[t]``, accumulate into ``e``; returns the loss."""
    dim = h.shape[0]
    x = np.float32(0.0)
    for d in range(dim):
        x += h[d] * out[t, d]
    # loss = -log sigma(x) for label 1 and -log sigma(-x) = -log sigma(x) + x for label 0
    if x >= MAX_EXP:
        s = 1.0
        nls = math.log1p(math.exp(-x))
    elif x <= -MAX_EXP:
        s = 0.0
        nls = -x + math.log1p(math.exp(x))
    elif math.isnan(x):
        # NaN weights (a diverged run): propagate NaN as the reference does. int(NaN) below would
        # be an arbitrary index, i.e. a read outside the table (Numba does no bounds checks).
        s = x
        nls = x
    else:
        u = (x + MAX_EXP) * _SCALE
        i = min(int(u), TABLE_STEPS - 1)
        f = u - i
        s = sig[i] + f * (sig[i + 1] - sig[i])
        nls = nlogsig[i] + f * (nlogsig[i + 1] - nlogsig[i])
    loss = nls if label > 0.5 else nls + x
    g = np.float32(alpha * (label - s))
    for d in range(dim):
        o = out[t, d]
        e[d] += g * o
        out[t, d] = o + g * h[d]
    return loss


@jit(nogil=True, cache=True, fastmath=FASTMATH, inline="always")
def _output_layer(h, e, center, syn1, syn1neg, hs, negative, cum, guide, gshift, codes, points, lengths, alpha, sig,
                  nlogsig, state):
    """All targets of one example (HS path and/or centre + noise words); ``e`` must start at zero."""
    loss = 0.0
    if hs:
        for k in range(lengths[center]):
            loss += _target_step(h, e, syn1, points[center, k], 1.0 - codes[center, k], alpha, sig, nlogsig)
    if negative > 0:
        loss += _target_step(h, e, syn1neg, center, 1.0, alpha, sig, nlogsig)
        for _ in range(negative):
            state, t = _draw(cum, guide, gshift, state)
            if t == center:
                continue
            loss += _target_step(h, e, syn1neg, t, 0.0, alpha, sig, nlogsig)
    return loss, state


@jit(nogil=True, cache=True)
def _bag_gains(sub_offsets, sub_ids, lockf):
    """``gains[w]``: how far the mean of word w's bag moves per unit of ``e`` when every entry r of the
    bag adds ``lockf[r] * e`` to its row, i.e. ``(1/n) sum_k lockf[r_k] * (times r_k occurs in the bag)``
    (1.0 for a bag of distinct trainable rows; a row twice in a bag, from two n-grams sharing a bucket,
    takes e twice and counts twice in the mean). float32, shape (V,)."""
    v = sub_offsets.shape[0] - 1
    gains = np.empty(v, dtype=np.float32)
    for w in range(v):
        b0, b1 = sub_offsets[w], sub_offsets[w + 1]
        total = 0.0
        for k in range(b0, b1):
            times = 0
            for q in range(b0, b1):
                if sub_ids[q] == sub_ids[k]:
                    times += 1
            total += lockf[sub_ids[k]] * times
        gains[w] = total / (b1 - b0)
    return gains


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _train_chunks(job, gains, first, stop, step, progress, slot):
    """Train on chunks ``first, first + step, ... < stop`` of ``job``. Returns (loss sum, examples).
    After each chunk, ``progress[slot]`` holds the words this thread has done (read by the progress bar).
    ``gains`` is :func:`_bag_gains` of the job (read only by skip-gram with bags)."""
    # every field as a local: the loops below read plain arrays and scalars, as LLVM optimises best
    ids, offsets, bounds, seeds = job.ids, job.offsets, job.bounds, job.seeds
    syn0, syn1, syn1neg, lockf = job.syn0, job.syn1, job.syn1neg, job.lockf
    keep, cum, guide = job.keep, job.cum, job.guide
    codes, points, lengths, sig, nlogsig = job.codes, job.points, job.lengths, job.sig, job.nlogsig
    sg, cbow_mean, hs, negative = job.sg, job.cbow_mean, job.hs, job.negative
    window, shrink = job.window, job.shrink_windows
    alpha0, alpha1, done_before, total_words = job.alpha0, job.alpha1, job.done_before, job.total_words
    sub_offsets, sub_ids = job.sub_offsets, job.sub_ids  # always filled in by _checked (word2vec: w -> [w])
    dim = syn0.shape[1]
    max_len = 1
    for s in range(offsets.shape[0] - 1):
        max_len = max(max_len, offsets[s + 1] - offsets[s])
    h = np.empty(dim, dtype=syn0.dtype)
    e = np.empty(dim, dtype=syn0.dtype)
    acc = np.empty(dim, dtype=syn0.dtype)
    sent = np.empty(max_len, dtype=np.int64)
    bags = sub_ids.shape[0] > sub_offsets.shape[0] - 1  # some word has more rows than its own (fastText)
    gshift = 31  # guide has 2**b + 1 entries: bucket of r is r >> (31 - b)
    m = guide.shape[0] - 1
    while m > 1:
        m >>= 1
        gshift -= 1
    loss = 0.0
    examples = 0
    words_done = 0
    for c in range(first, stop, step):
        state = seeds[c]
        for s in range(bounds[c], bounds[c + 1]):
            # linear decay by corpus position (learning_rate), so it does not depend on how chunks meet threads
            frac = (done_before + offsets[s]) / total_words
            alpha = max(alpha1, alpha0 - (alpha0 - alpha1) * frac)
            n = 0
            for p in range(offsets[s], offsets[s + 1]):  # frequent-word subsampling
                w = ids[p]
                state, r = _rand(state)
                if r < keep[w]:
                    sent[n] = w
                    n += 1
            for i in range(n):
                b = 0
                if shrink:  # reduced window: effective size window - b, in 1..window
                    state, r = _rand(state)
                    b = r % window
                lo = max(0, i - window + b)
                hi = min(n, i + window + 1 - b)
                center = sent[i]
                if sg and bags:
                    # fastText: the centre's bag predicts each context word. Its mean h is taken once; after
                    # each example the rows would each take lockf * e, which moves their mean by gain * e
                    # (_bag_gains), so h follows exactly without re-reading the rows, and the rows take the
                    # sum of the e's once the window is done (nothing else in the window reads them).
                    if hi - lo <= 1:
                        continue
                    b0, b1 = sub_offsets[center], sub_offsets[center + 1]
                    for d in range(dim):
                        h[d] = 0.0
                        acc[d] = 0.0
                    for q in range(b0, b1):
                        r = sub_ids[q]
                        for d in range(dim):
                            h[d] += syn0[r, d]
                    inv = np.float32(1.0 / (b1 - b0))
                    gw = gains[center]
                    for d in range(dim):
                        h[d] *= inv
                    for j in range(lo, hi):
                        if j == i:
                            continue
                        for d in range(dim):
                            e[d] = 0.0
                        lo_, state = _output_layer(h, e, sent[j], syn1, syn1neg, hs, negative, cum, guide, gshift,
                                                   codes, points, lengths, alpha, sig, nlogsig, state)
                        loss += lo_
                        examples += 1
                        for d in range(dim):
                            h[d] += gw * e[d]
                            acc[d] += e[d]
                    for q in range(b0, b1):
                        r = sub_ids[q]
                        lk = lockf[r]
                        for d in range(dim):
                            syn0[r, d] += lk * acc[d]
                elif sg:  # word2vec: each context word's own row predicts the centre
                    for j in range(lo, hi):
                        if j == i:
                            continue
                        r = sub_ids[sub_offsets[sent[j]]]
                        for d in range(dim):
                            h[d] = syn0[r, d]
                            e[d] = 0.0
                        lo_, state = _output_layer(h, e, center, syn1, syn1neg, hs, negative, cum, guide, gshift,
                                                   codes, points, lengths, alpha, sig, nlogsig, state)
                        loss += lo_
                        examples += 1
                        lk = lockf[r]
                        for d in range(dim):
                            syn0[r, d] += lk * e[d]
                else:
                    count = hi - lo - 1
                    if count <= 0:
                        continue
                    for d in range(dim):
                        h[d] = 0.0
                        e[d] = 0.0
                    n_rows = 0
                    for j in range(lo, hi):
                        if j != i:
                            ctx = sent[j]
                            for q in range(sub_offsets[ctx], sub_offsets[ctx + 1]):
                                r = sub_ids[q]
                                n_rows += 1
                                for d in range(dim):
                                    h[d] += syn0[r, d]
                    if cbow_mean:
                        inv = np.float32(1.0 / n_rows)
                        for d in range(dim):
                            h[d] *= inv
                    lo_, state = _output_layer(h, e, center, syn1, syn1neg, hs, negative, cum, guide, gshift,
                                               codes, points, lengths, alpha, sig, nlogsig, state)
                    loss += lo_
                    examples += 1
                    for j in range(lo, hi):
                        if j != i:
                            ctx = sent[j]
                            for q in range(sub_offsets[ctx], sub_offsets[ctx + 1]):
                                r = sub_ids[q]
                                lk = lockf[r]
                                for d in range(dim):
                                    syn0[r, d] += lk * e[d]
        words_done += offsets[bounds[c + 1]] - offsets[bounds[c]]
        progress[slot] = words_done
    return loss, examples


@jit(nogil=True, cache=True, fastmath=FASTMATH, parallel=True)
def _train_chunks_parallel(job, gains, first, stop, workers, progress, losses, counts):
    # Hogwild: thread t takes chunks first + t, first + t + workers, ...; no locks on the tables, no
    # barrier until the end. Progress slots are 8 int64 (one cache line) apart: no false sharing.
    for t in prange(workers):
        lo_, n = _train_chunks(job, gains, first + t, stop, workers, progress, 8 * t)
        losses[t] = lo_
        counts[t] = n


def _checked(job: SGNSJob) -> SGNSJob:
    """Validate a job (Numba does no bounds checks) and fix the types of its settings, so every call
    reuses one compiled signature. Raises ValueError/TypeError/IndexError naming the problem."""
    if not isinstance(job, SGNSJob):
        raise TypeError(f"train_chunks needs an SGNSJob, got {type(job).__name__}")
    ids, offsets, bounds, seeds = job.ids, job.offsets, job.bounds, job.seeds
    syn0, syn1, syn1neg = job.syn0, job.syn1, job.syn1neg
    hs, negative, window = bool(job.hs), int(job.negative), int(job.window)
    rows, dim = syn0.shape
    sub_offsets, sub_ids = job.sub_offsets, job.sub_ids
    if not isinstance(sub_offsets, np.ndarray) or not isinstance(sub_ids, np.ndarray):
        raise TypeError("sub_offsets and sub_ids must be numpy arrays")
    if len(sub_offsets) == 0:  # word2vec: every word is its own input row
        v = rows
        sub_offsets, sub_ids = np.arange(v + 1, dtype=np.int64), np.arange(v, dtype=np.int32)
    else:
        v = len(sub_offsets) - 1
        if sub_offsets.dtype != np.int64 or sub_ids.dtype != np.int32 or sub_ids.ndim != 1:
            raise TypeError("sub_offsets must be int64 and sub_ids int32 (1-D)")
        if sub_offsets[0] != 0 or sub_offsets[-1] != len(sub_ids) or np.any(np.diff(sub_offsets) < 1):
            raise ValueError("sub_offsets must rise from 0 to len(sub_ids) with at least one row per word")
        if sub_ids.size and (sub_ids.min() < 0 or sub_ids.max() >= rows):
            raise IndexError(f"sub_ids must be rows of syn0 in [0, {rows}), got {sub_ids.min()}..{sub_ids.max()}")
        sub_offsets, sub_ids = np.ascontiguousarray(sub_offsets), np.ascontiguousarray(sub_ids)
    for name, a in (("syn0", syn0), ("syn1", syn1), ("syn1neg", syn1neg)):
        if a.dtype != np.float32 or a.ndim != 2 or a.shape[1] != dim or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float32 (rows, {dim}) array, got {a.dtype} {a.shape}")
    if (negative > 0 and syn1neg.shape[0] != v) or (hs and syn1.shape[0] < v - 1):
        raise ValueError("output tables are too small for the vocabulary")
    lockf = job.lockf
    if lockf.dtype != np.float32 or lockf.shape != (rows,) or not lockf.flags.c_contiguous:
        raise ValueError(f"lockf must be a contiguous float32 array of shape ({rows},), got {lockf.dtype} "
                         f"{lockf.shape}")
    if ids.dtype != np.int32 or offsets.dtype != np.int64 or bounds.dtype != np.int64 or seeds.dtype != np.uint64:
        raise TypeError("ids int32, offsets int64, bounds int64 and seeds uint64 are required")
    if ids.size and (ids.min() < 0 or ids.max() >= v):
        raise IndexError(f"word ids must be in [0, {v}), got {ids.min()}..{ids.max()}")
    if offsets[0] != 0 or offsets[-1] != len(ids) or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must be non-decreasing from 0 to len(ids)")
    if (len(bounds) < 1 or bounds[0] < 0 or bounds[-1] > len(offsets) - 1 or np.any(np.diff(bounds) < 0)
            or len(seeds) < len(bounds) - 1):
        raise ValueError("chunk bounds must be non-decreasing sentence indices, one seed per chunk")
    if window < 1 or negative < 0 or not (hs or negative):
        raise ValueError("window >= 1, negative >= 0 and hs or negative are required")
    if not job.total_words > 0:
        raise ValueError(f"total_words must be > 0, got {job.total_words!r}")
    keep, cum, guide = job.keep, job.cum, job.guide
    if keep.dtype != np.int64 or len(keep) != v:
        raise ValueError("keep must be keep_thresholds(counts, sample): int64, one entry per vocabulary word")
    if negative > 0 and (cum.dtype != np.int64 or len(cum) != v or cum[-1] != CUM_TABLE_DOMAIN):
        raise ValueError("cum must be cum_table(counts): int64, one entry per vocabulary word")
    if negative > 0 and (guide.dtype != np.int32 or len(guide) < 3 or (len(guide) - 1) & (len(guide) - 2)
                         or guide.min() < 0 or guide.max() >= v):
        raise ValueError("guide must be guide_table(cum)")
    codes, points, lengths = job.codes, job.points, job.lengths
    if hs and (lengths.shape[0] != v or codes.shape != points.shape or codes.shape[0] != v
               or lengths.max(initial=0) > codes.shape[1]
               or (points.size and (points.min() < 0 or points.max() >= syn1.shape[0]))):
        raise ValueError("Huffman codes/points do not match the vocabulary")
    if not hs:  # the kernel never reads them; keep the types fixed for the compiled signature
        codes, points, lengths = codes[:0], points[:0], lengths[:0]
    return job._replace(codes=codes, points=points, lengths=lengths, sub_offsets=sub_offsets, sub_ids=sub_ids,
                        sg=bool(job.sg), cbow_mean=bool(job.cbow_mean),
                        hs=hs, negative=negative, window=window, shrink_windows=bool(job.shrink_windows),
                        alpha0=float(job.alpha0), alpha1=float(job.alpha1),
                        done_before=float(job.done_before), total_words=float(job.total_words))


def job_gains(job: SGNSJob) -> np.ndarray:
    """:func:`_bag_gains` of a checked job when the kernel reads them (skip-gram with bags), else empty."""
    if job.sg and len(job.sub_ids) > len(job.sub_offsets) - 1 > 0:
        return _bag_gains(job.sub_offsets, job.sub_ids, job.lockf)
    return np.zeros(0, dtype=np.float32)


def train_chunks(job: SGNSJob, first: int = 0, stop: int | None = None, workers: int = 1,
                 progress=None) -> tuple[float, int]:
    """Checked entry point: train on chunks ``first:stop`` (default: all) of ``job`` with ``workers``
    Hogwild threads; :func:`train_chunks_reference` when ``MINEMBED_JIT=0`` (one chunk after another,
    whatever ``workers`` is).

    Returns (sum of losses, number of examples), summed over threads in float64. ``progress``
    (int64, at least ``8 * workers`` entries) receives each thread's words done at ``8 * t`` while it
    runs; the call releases the GIL, so another Python thread can show it.
    """
    from .jit import jit_enabled

    job = _checked(job)
    n_chunks = len(job.bounds) - 1
    stop = n_chunks if stop is None else stop
    if not 0 <= first <= stop <= n_chunks:
        raise ValueError(f"chunk range {first}:{stop} is outside 0:{n_chunks}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if progress is None:
        progress = np.zeros(8 * workers, dtype=np.int64)
    if progress.dtype != np.int64 or progress.shape[0] < 8 * workers:
        raise ValueError("progress must be an int64 array of at least 8 * workers entries")
    if not jit_enabled():
        return train_chunks_reference(job, int(first), int(stop), progress)
    gains = job_gains(job)
    if workers == 1:
        loss, n = _train_chunks(job, gains, int(first), int(stop), 1, progress, 0)
        return float(loss), int(n)
    losses = np.zeros(workers, dtype=np.float64)
    counts = np.zeros(workers, dtype=np.int64)
    _train_chunks_parallel(job, gains, int(first), int(stop), int(workers), progress, losses, counts)
    return float(losses.sum()), int(counts.sum())


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _sg_ns_step_kernel(syn0, syn1neg, contexts, centers, negatives, alpha, sig, nlogsig, losses):
    dim = syn0.shape[1]
    h = np.empty(dim, dtype=syn0.dtype)
    e = np.empty(dim, dtype=syn0.dtype)
    for i in range(contexts.shape[0]):
        ctx = contexts[i]
        for d in range(dim):
            h[d] = syn0[ctx, d]
            e[d] = 0.0
        loss = _target_step(h, e, syn1neg, centers[i], 1.0, alpha, sig, nlogsig)
        for k in range(negatives.shape[1]):
            if negatives[i, k] != centers[i]:
                loss += _target_step(h, e, syn1neg, negatives[i, k], 0.0, alpha, sig, nlogsig)
        for d in range(dim):
            syn0[ctx, d] += e[d]
        losses[i] = loss


def sg_ns_step(syn0, syn1neg, contexts, centers, negatives, alpha) -> np.ndarray:
    """The kernel's own per-pair update (exactly what :func:`train_chunks` does for one pair), on
    given pairs, in order. Same contract as :func:`sg_ns_step_reference`; equal to it when no two
    pairs touch the same rows."""
    from .jit import jit_enabled
    from .validate import as_index_array

    v = syn0.shape[0]
    if syn0.dtype != np.float32 or syn1neg.dtype != np.float32 or syn0.shape != syn1neg.shape:
        raise ValueError("syn0 and syn1neg must be float32 arrays of the same shape")
    contexts = as_index_array(contexts, v, "context")
    centers = as_index_array(centers, v, "centre")
    negatives = as_index_array(negatives, v, "negative")
    if negatives.ndim != 2 or negatives.shape[0] != len(contexts) or len(centers) != len(contexts):
        raise ValueError("need contexts (P,), centers (P,) and negatives (P, K)")
    if not jit_enabled():
        return sg_ns_step_reference(syn0, syn1neg, contexts, centers, negatives, alpha)
    sig, nlogsig = sigmoid_tables()
    losses = np.zeros(len(contexts), dtype=np.float64)
    _sg_ns_step_kernel(syn0, syn1neg, contexts, centers, negatives, float(alpha), sig, nlogsig, losses)
    return losses
