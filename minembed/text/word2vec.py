"""word2vec: skip-gram and CBOW, with negative sampling and/or hierarchical softmax.

Parameter names follow gensim's ``Word2Vec`` wherever the idea is the same, so::

    model = Word2Vec(sentences=corpus, vector_size=100, window=5, min_count=5, sg=1, negative=5, epochs=5, seed=1)
    model.wv.most_similar("king")

works as a gensim user expects. Where minembed differs from gensim:

* ``workers=1`` is the default, and with it a ``seed`` gives bit-identical vectors on every run
  (no ``PYTHONHASHSEED`` needed). With ``workers > 1`` the threads update shared tables without
  locks (Hogwild), so the order of updates, and the last bits of the result, vary from run to run.
* The loss is always computed, per epoch, in float64: ``model.loss_history`` (mean loss per
  training example) and ``model.get_latest_training_loss()`` (the last epoch's sum). It does not
  saturate and does not depend on the number of workers (gensim issues 2735, 2743).
* Scores ``|x| >= 6`` are clipped (word2vec.c) rather than skipped (gensim); see
  :mod:`minembed.kernels.sgns` for exactly how an example is trained.
* Sentences longer than 10,000 tokens are split, not truncated.
* Vocabulary is built once (no ``build_vocab(update=True)``); ``train()`` may be called again
  to continue training with the same vocabulary (new words are ignored).

Training is done by the Numba kernel (:func:`minembed.kernels.sgns.train_chunks`); with
``MINEMBED_JIT=0`` its plain-Python reference (:func:`minembed.kernels.sgns.train_chunks_reference`:
the same random numbers, examples and updates, one at a time) runs instead. ``implementation="numpy"``
is a different, vectorised mini-batch trainer (each batch's examples see the parameters from before
the batch): the version lesson 03 builds up to.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator

import numpy as np

from ..kernels import sgns
from ..progress import progress as progress_bar
from ..space.vectors import WordVectors
from .vocab import EncodedCorpus, Vocab, count_words

CHUNK_WORDS = 10_000          # words per chunk of sentences (one random seed each), like gensim's batch_words
MAX_SENTENCE_LENGTH = 10_000  # longer sentences are split
BLOCK_WORDS = 1 << 20         # ids read at a time from an on-disk corpus (4 MB of int32)


class Callback:
    """Base class for training callbacks (gensim's ``CallbackAny2Vec``): override what you need.

    Each method receives the model; ``model.loss_history[-1]`` is the last epoch's mean loss.
    """

    def on_train_begin(self, model):
        pass

    def on_epoch_begin(self, model):
        pass

    def on_epoch_end(self, model):
        pass

    def on_train_end(self, model):
        pass


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_float(name, value, low, strict=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < low or (strict and v == low):
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low}, got {value!r}")
    return v


class Word2Vec:
    """Learn word vectors from a corpus of token lists.

    Parameters (gensim's names and defaults, except ``workers=1``):
        sentences: re-iterable of token lists (``load_corpus(...)``, a list of lists, ``TokenizedLines``).
        corpus_file: or the path of a text file with one whitespace-tokenized sentence per line
            (or a ``load_corpus(path, lowercase=True)`` / ``tokenizer=`` :class:`~minembed.datasets.Corpus`).
            Its ids are then kept in a temporary file and streamed block by block during training
            (memory holds the offsets only, as gensim holds nothing of a corpus_file); the ids of
            ``sentences`` are kept in memory (4 bytes a token).
        vector_size: dimension D of the vectors.           window: maximum distance centre-context.
        min_count: ignore words seen fewer times.          max_vocab_size: prune while counting (see ``Vocab.build``).
        sg: 1 skip-gram, 0 CBOW.                           hs: 1 hierarchical softmax.
        negative: noise words per example (0 = off).       ns_exponent: noise distribution power (0.75).
        cbow_mean: 1 mean, 0 sum of the context vectors.   sample: subsampling threshold (0 = off).
        alpha, min_alpha: learning rate, decayed linearly over all epochs of a ``train()`` call.
        epochs: passes over the corpus.                    seed: randomness (initial vectors, sampling).
        workers: threads.                                  callbacks: objects with ``on_epoch_end(model)`` etc.
        progress: show a tqdm bar (words/s, lr, loss).     implementation: "kernel" (Numba) or "numpy" (mini-batch).

    Passing a corpus builds the vocabulary and trains at once; otherwise call :meth:`build_vocab`
    and :meth:`train`. Raises ``ValueError`` for a bad setting before reading any data.
    """

    def __init__(self, sentences=None, corpus_file=None, vector_size: int = 100, alpha: float = 0.025,
                 window: int = 5, min_count: int = 5, max_vocab_size: int | None = None, sample: float = 1e-3,
                 seed: int = 1, workers: int = 1, min_alpha: float = 0.0001, sg: int = 0, hs: int = 0,
                 negative: int = 5, ns_exponent: float = 0.75, cbow_mean: int = 1, epochs: int = 5,
                 callbacks=(), progress: bool = True, implementation: str = "kernel"):
        self.vector_size = _check_int("vector_size", vector_size, 1)
        self.window = _check_int("window", window, 1)
        self.min_count = _check_int("min_count", min_count, 0)
        if max_vocab_size is not None:
            _check_int("max_vocab_size", max_vocab_size, 1)
        self.max_vocab_size = max_vocab_size
        self.sample = _check_float("sample", sample, 0.0)
        self.alpha = _check_float("alpha", alpha, 0.0, strict=True)
        self.min_alpha = _check_float("min_alpha", min_alpha, 0.0)
        self.seed = _check_int("seed", seed, 0)
        self.workers = _check_int("workers", workers, 1)
        self.sg = int(bool(sg))
        self.hs = int(bool(hs))
        self.negative = _check_int("negative", negative, 0)
        if not self.hs and self.negative == 0:
            raise ValueError("negative=0 needs hs=1: with neither negative sampling nor hierarchical softmax "
                             "there is nothing to train")
        self.ns_exponent = _check_float("ns_exponent", ns_exponent, -1e9)
        self.cbow_mean = int(bool(cbow_mean))
        self.epochs = _check_int("epochs", epochs, 1)
        self.callbacks = tuple(callbacks)
        self.progress = bool(progress)
        if implementation not in ("kernel", "numpy"):
            raise ValueError(f"implementation must be 'kernel' or 'numpy', got {implementation!r}")
        self.implementation = implementation
        if sentences is not None and corpus_file is not None:
            raise ValueError("pass either sentences or corpus_file, not both")

        self.wv: WordVectors | None = None
        self.vocab: Vocab | None = None
        self.loss_history: list[float] = []   # mean loss per example, one per epoch trained
        self.epoch_loss_sums: list[float] = []
        self.epoch_times: list[float] = []
        self.train_words_per_second = 0.0
        self.corpus_count = 0                 # sentences seen by build_vocab
        self.corpus_total_words = 0           # in-vocabulary tokens
        self._corpus: EncodedCorpus | None = None
        self._corpus_source = None
        self._epochs_done = 0
        if sentences is not None or corpus_file is not None:
            self.build_vocab(sentences, corpus_file)
            self.train()  # on the corpus build_vocab just encoded

    # ------------------------------------------------------------------ vocabulary
    @staticmethod
    def _as_corpus(sentences, corpus_file):
        if corpus_file is not None:
            from ..datasets.corpus import Corpus, _resolve

            return corpus_file if isinstance(corpus_file, Corpus) else Corpus(_resolve(corpus_file))
        if sentences is not None and isinstance(sentences, Iterator):
            raise TypeError("sentences must be re-iterable (a list, load_corpus(...), TokenizedLines), not a "
                            "one-shot generator: training passes over it more than once")
        if isinstance(sentences, str):
            raise TypeError("sentences must be an iterable of token lists, not a str (use corpus_file= for a path)")
        return sentences

    def build_vocab(self, sentences=None, corpus_file=None) -> Word2Vec:
        """Count the words (one pass), keep those with ``min_count`` or more, set up the tables and
        initial vectors, and encode the corpus to int32 ids (a second pass; kept for :meth:`train`).

        Raises ``ValueError`` if the corpus is empty or no word reaches ``min_count``.
        """
        corpus = self._as_corpus(sentences, corpus_file)
        if corpus is None:
            raise ValueError("build_vocab needs sentences or corpus_file")
        counted = count_words(corpus, max_vocab_size=self.max_vocab_size)
        vocab = Vocab.from_counts(counted.counter, min_count=max(1, self.min_count))
        del counted
        self.vocab = vocab
        self.corpus_count = 0
        self.release_corpus()
        self._corpus = vocab.encode_corpus(corpus, MAX_SENTENCE_LENGTH, total_tokens=int(vocab.counts.sum()),
                                           on_disk=corpus_file is not None)
        self._corpus_source = corpus
        self.corpus_count = self._corpus.n_sentences
        self.corpus_total_words = self._corpus.n_ids
        if self.corpus_total_words == 0:
            raise ValueError("the corpus has no in-vocabulary tokens to train on")
        self._setup_tables()
        v, d = len(vocab), self.vector_size
        rng = np.random.default_rng(self.seed)
        vectors = (rng.random((v, d), dtype=np.float32) - np.float32(0.5)) / np.float32(d)
        self.wv = WordVectors(vocab.words, vectors, counts=vocab.counts)
        self.syn1neg = np.zeros((v, d), dtype=np.float32) if self.negative else np.zeros((0, d), np.float32)
        self.syn1 = np.zeros((max(v - 1, 1), d), dtype=np.float32) if self.hs else np.zeros((0, d), np.float32)
        self._epochs_done = 0
        return self

    def _setup_tables(self):
        counts = self.vocab.counts
        if self.negative:
            self.cum_table = sgns.cum_table(counts, self.ns_exponent)
            self.guide = sgns.guide_table(self.cum_table)
        else:
            self.cum_table, self.guide = np.ones(1, np.int64), np.zeros(3, np.int32)
        self.keep = sgns.keep_thresholds(counts, self.sample)
        if self.hs:
            self.codes, self.points, self.code_lengths = sgns.huffman_tree(counts)
        else:
            self.codes, self.points, self.code_lengths = (np.zeros((0, 1), np.uint8), np.zeros((0, 1), np.int32),
                                                          np.zeros(0, np.int32))

    # --------------------------------------------------------------------- training
    def train(self, sentences=None, corpus_file=None, epochs: int | None = None, start_alpha: float | None = None,
              end_alpha: float | None = None, callbacks=None, total_examples=None, total_words=None,
              compute_loss=True) -> Word2Vec:
        """Train for ``epochs`` (default ``self.epochs``) passes, the learning rate falling linearly
        from ``start_alpha`` (``alpha``) to ``end_alpha`` (``min_alpha``) over them. Without a corpus
        the one given to :meth:`build_vocab` is used; calling again continues training.
        (``total_examples``/``total_words``/``compute_loss`` are accepted for gensim compatibility.)
        """
        if self.vocab is None:
            raise ValueError("call build_vocab() before train()")
        corpus = self._as_corpus(sentences, corpus_file)
        if corpus is None or corpus is self._corpus_source:
            if self._corpus is None:
                raise ValueError("the corpus of build_vocab() was released: pass sentences or corpus_file")
            encoded = self._corpus
        else:
            encoded = self.vocab.encode_corpus(corpus, MAX_SENTENCE_LENGTH, on_disk=corpus_file is not None)
            if encoded.n_ids == 0:
                encoded.close()
                raise ValueError("the corpus has no in-vocabulary tokens to train on")
        try:
            return self._train(encoded, epochs, start_alpha, end_alpha, callbacks)
        finally:
            if encoded is not self._corpus:
                encoded.close()

    def _train(self, encoded, epochs, start_alpha, end_alpha, callbacks) -> Word2Vec:
        epochs = self.epochs if epochs is None else _check_int("epochs", epochs, 1)
        a0 = self.alpha if start_alpha is None else _check_float("start_alpha", start_alpha, 0.0, strict=True)
        a1 = self.min_alpha if end_alpha is None else _check_float("end_alpha", end_alpha, 0.0)
        callbacks = self.callbacks if callbacks is None else tuple(callbacks)
        use_kernel = self.implementation == "kernel"

        n_words = encoded.n_ids
        bounds = _chunk_bounds(encoded.offsets, CHUNK_WORDS)
        n_chunks = len(bounds) - 1
        sig, nlogsig = sgns.sigmoid_tables()
        self.wv.clear_norms()  # stale once training moves the vectors; not worth holding meanwhile
        _call(callbacks, "on_train_begin", self)
        bar = progress_bar(total=epochs * n_words, enabled=self.progress, unit="word", unit_scale=True,
                           desc="word2vec", smoothing=0.1)
        start_all = time.perf_counter()
        try:
            for ep in range(epochs):
                _call(callbacks, "on_epoch_begin", self)
                t0 = time.perf_counter()
                seeds = np.random.default_rng([self.seed, self._epochs_done]).integers(
                    0, 2**63, size=max(n_chunks, 1), dtype=np.uint64)
                done_before = ep * n_words
                loss_sum, examples = 0.0, 0
                if use_kernel:
                    loss_sum, examples = self._kernel_epoch(encoded, bounds, seeds, a0, a1, done_before,
                                                            epochs * n_words, sig, nlogsig, bar, ep, epochs)
                else:
                    rng = np.random.default_rng([self.seed, self._epochs_done])
                    for loss, n, words in train_epoch_numpy(self, encoded, rng, a0, a1, done_before,
                                                            epochs * n_words):
                        loss_sum += loss
                        examples += n
                        bar.update(words)
                self._epochs_done += 1
                self.epoch_times.append(time.perf_counter() - t0)
                self.epoch_loss_sums.append(loss_sum)
                self.loss_history.append(loss_sum / max(examples, 1))
                bar.set_postfix_str(f"epoch {ep + 1}/{epochs} loss {self.loss_history[-1]:.4f}")
                _call(callbacks, "on_epoch_end", self)
        finally:
            bar.close()
        elapsed = time.perf_counter() - start_all
        self.train_words_per_second = epochs * n_words / max(elapsed, 1e-9)
        self.wv.clear_norms()  # recomputed on the first query, not held during training
        _call(callbacks, "on_train_end", self)
        return self

    def _kernel_epoch(self, encoded, bounds, seeds, a0, a1, done_before, total, sig, nlogsig, bar, ep, epochs):
        """One epoch: one kernel call per block of chunks (the whole corpus when it is in memory; about
        ``BLOCK_WORDS`` ids read from the file when it is on disk). Threads only meet at the end of a
        call. Returns (loss sum, examples)."""
        n_words, offsets = encoded.n_ids, encoded.offsets
        loss_sum, examples, shown = 0.0, 0, 0
        for c0, c1 in _blocks(offsets, bounds, BLOCK_WORDS if encoded.on_disk else n_words):
            s0, s1 = bounds[c0], bounds[c1]
            w0, w1 = int(offsets[s0]), int(offsets[s1])
            progress = np.zeros(8 * self.workers, dtype=np.int64)
            # the block as a corpus of its own (offsets and bounds from 0); the learning rate still
            # sees each word at its true position through done_before + w0
            job = sgns.SGNSJob(
                ids=encoded.read(w0, w1), offsets=offsets[s0:s1 + 1] - w0, bounds=bounds[c0:c1 + 1] - s0,
                seeds=seeds[c0:c1], syn0=self.wv.vectors, syn1=self.syn1, syn1neg=self.syn1neg, keep=self.keep,
                cum=self.cum_table, guide=self.guide, codes=self.codes, points=self.points, lengths=self.code_lengths,
                sig=sig, nlogsig=nlogsig, sg=self.sg, cbow_mean=self.cbow_mean, hs=self.hs, negative=self.negative,
                window=self.window, alpha0=a0, alpha1=a1, done_before=done_before + w0, total_words=total)

            def call(job=job, progress=progress):
                return sgns.train_chunks(job, workers=self.workers, progress=progress)

            def show(done_in_block, w0=w0):
                nonlocal shown
                bar.update(w0 + done_in_block - shown)
                shown = w0 + done_in_block
                bar.set_postfix_str(self._postfix(ep, epochs, a0, a1, done_before + shown, n_words, 0.0, 0))

            loss, n = self._run_showing_progress(call, progress, show)
            del call, job  # frees this block's ids before the next block is read
            loss_sum += loss
            examples += n
        bar.update(n_words - shown)
        return loss_sum, examples

    def _run_showing_progress(self, call, progress, show):
        """``call()`` (a kernel that releases the GIL and counts its words into ``progress``) run in a
        helper thread while this one calls ``show(words done)`` four times a second; its result."""
        if not self.progress:
            return call()
        result, error = [], []

        def work():
            try:
                result.append(call())
            except BaseException as err:  # re-raised in the calling thread
                error.append(err)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.25)
            show(int(progress.sum()))
        if error:
            raise error[0]
        return result[0]

    @staticmethod
    def _postfix(ep, epochs, a0, a1, pos, n_words, loss_sum, examples):
        lr = max(a1, a0 - (a0 - a1) * (pos / (epochs * n_words)))
        loss = f" loss {loss_sum / examples:.4f}" if examples else ""
        return f"epoch {ep + 1}/{epochs} lr {lr:.4f}{loss}"

    def get_latest_training_loss(self) -> float:
        """The last epoch's summed loss (float64; gensim returns a running float32 sum instead)."""
        return self.epoch_loss_sums[-1] if self.epoch_loss_sums else 0.0

    def release_corpus(self) -> None:
        """Forget the encoded corpus kept by :meth:`build_vocab` (``train()`` then needs a corpus)."""
        if self._corpus is not None:
            self._corpus.close()
        self._corpus = None
        self._corpus_source = None

    def __repr__(self) -> str:
        kind = "skip-gram" if self.sg else "CBOW"
        out = "+".join(x for x in (("hs" if self.hs else ""), (f"negative={self.negative}" if self.negative else ""))
                       if x)
        vocab = len(self.vocab) if self.vocab is not None else 0
        return f"Word2Vec({kind}, {out}, vocab={vocab}, vector_size={self.vector_size}, window={self.window})"


def _call(callbacks, name, model):
    for cb in callbacks:
        method = getattr(cb, name, None)
        if method is not None:
            method(model)


def _chunk_bounds(offsets: np.ndarray, chunk_words: int) -> np.ndarray:
    """Sentence indices cutting the corpus into chunks of about ``chunk_words`` words."""
    n_sent = len(offsets) - 1
    if n_sent == 0:
        return np.zeros(1, dtype=np.int64)
    targets = np.arange(chunk_words, offsets[-1], chunk_words, dtype=np.int64)
    cuts = np.searchsorted(offsets, targets, side="left")
    bounds = np.unique(np.concatenate([[0], cuts, [n_sent]])).astype(np.int64)
    return bounds


def _blocks(offsets: np.ndarray, bounds: np.ndarray, block_words: int):
    """Split chunks ``0 .. len(bounds) - 1`` into runs ``(c0, c1)`` of whole chunks holding about
    ``block_words`` words each (at least one chunk per run)."""
    n_chunks = len(bounds) - 1
    starts = offsets[bounds]  # word position where each chunk starts (and, last, the corpus ends)
    c0 = 0
    while c0 < n_chunks:
        c1 = int(np.searchsorted(starts, starts[c0] + block_words, side="right")) - 1
        c1 = min(max(c1, c0 + 1), n_chunks)
        yield c0, c1
        c0 = c1


# ----------------------------------------------------------------- NumPy reference
def train_epoch_numpy(model: Word2Vec, corpus: EncodedCorpus, rng: np.random.Generator, a0: float, a1: float,
                      done_before: int, total_words: int, batch_words: int = 64):
    """One epoch of the same algorithm in vectorised NumPy mini-batches (the readable version).

    For each batch of about ``batch_words`` words: subsample, draw reduced windows, list every
    (context, centre) pair, then take one gradient step for all of them at once with
    :func:`minembed.kernels.sgns.output_step_reference` (so, unlike the kernel, examples in a
    batch all see the parameters from before the batch). Yields (loss sum, examples, words).
    """
    offsets = corpus.offsets
    syn0, window = model.wv.vectors, model.window
    keep_prob = model.keep / 2**31
    bounds = _chunk_bounds(offsets, batch_words)
    for b in range(len(bounds) - 1):
        s0, s1 = bounds[b], bounds[b + 1]
        lo, hi = offsets[s0], offsets[s1]
        alpha = max(a1, a0 - (a0 - a1) * (done_before + lo) / total_words)
        words = corpus.read(lo, hi).astype(np.int64)
        sent = np.repeat(np.arange(s0, s1), np.diff(offsets[s0:s1 + 1]))   # sentence of each word
        kept = rng.random(len(words)) < keep_prob[words]                  # subsampling
        words, sent = words[kept], sent[kept]
        n = len(words)
        if n < 2:
            yield 0.0, 0, int(hi - lo)
            continue
        reach = window - rng.integers(0, window, size=n)                 # reduced window per centre
        # every (centre position i, context position j) with |i - j| <= reach[i] in the same sentence
        centre_pos, context_pos = [], []
        for off in range(1, window + 1):
            for sign in (-1, 1):
                i = np.arange(max(0, -sign * off), min(n, n - sign * off))
                j = i + sign * off
                ok = (sent[i] == sent[j]) & (off <= reach[i])
                centre_pos.append(i[ok])
                context_pos.append(j[ok])
        centre_pos = np.concatenate(centre_pos)
        context_pos = np.concatenate(context_pos)
        if len(centre_pos) == 0:
            yield 0.0, 0, int(hi - lo)
            continue
        if model.sg:
            contexts, centres = words[context_pos], words[centre_pos]
            h = syn0[contexts]                                            # (P, D): context predicts centre
            dh, loss = _output_layers(model, h, centres, rng, alpha)
            np.add.at(syn0, contexts, dh)
            yield float(loss.sum()), len(centres), int(hi - lo)
        else:
            # CBOW: one example per centre with at least one context word; h = sum/mean of the contexts
            uniq, inverse = np.unique(centre_pos, return_inverse=True)
            count = np.bincount(inverse, minlength=len(uniq)).astype(syn0.dtype)
            h = np.zeros((len(uniq), syn0.shape[1]), dtype=syn0.dtype)
            np.add.at(h, inverse, syn0[words[context_pos]])
            if model.cbow_mean:
                h /= count[:, None]
            dh, loss = _output_layers(model, h, words[uniq], rng, alpha)
            np.add.at(syn0, words[context_pos], dh[inverse])              # every context word gets all of e
            yield float(loss.sum()), len(uniq), int(hi - lo)


def _output_layers(model: Word2Vec, h, centres, rng, alpha):
    dh = np.zeros_like(h)
    loss = np.zeros(len(centres))
    if model.hs:
        length = model.code_lengths[centres]
        targets = model.points[centres]
        labels = (1 - model.codes[centres]).astype(h.dtype)
        mask = np.arange(targets.shape[1])[None, :] < length[:, None]
        d, l_ = sgns.output_step_reference(h, model.syn1, targets, labels, mask, alpha)
        dh += d
        loss += l_
    if model.negative:
        cum = model.cum_table
        noise = np.searchsorted(cum, rng.integers(0, cum[-1], size=(len(centres), model.negative)), side="right")
        targets = np.concatenate([centres[:, None], noise], axis=1)
        labels = np.zeros(targets.shape, dtype=h.dtype)
        labels[:, 0] = 1
        mask = np.ones(targets.shape, dtype=bool)
        mask[:, 1:] = noise != centres[:, None]
        d, l_ = sgns.output_step_reference(h, model.syn1neg, targets, labels, mask, alpha)
        dh += d
        loss += l_
    return dh, loss
