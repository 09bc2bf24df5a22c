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
* :meth:`Word2Vec.save` writes one ``.npz`` (arrays + a JSON header, no pickle) and
  :meth:`Word2Vec.load` reads it back with ``allow_pickle=False``; callbacks and ``trim_rule`` are
  not saved (gensim pickles the callbacks).
* ``predict_output_word`` raises ``KeyError`` for an unknown context word (gensim skips it).

Training is done by the Numba kernel (:func:`minembed.kernels.sgns.train_chunks`); with
``MINEMBED_JIT=0`` its plain-Python reference (:func:`minembed.kernels.sgns.train_chunks_reference`:
the same random numbers, examples and updates, one at a time) runs instead. ``implementation="numpy"``
is a different, vectorised mini-batch trainer (each batch's examples see the parameters from before
the batch): the library's form of the NumPy step lesson 03 writes by hand (its section 3), before the
lesson turns to the kernel.

Callbacks are :class:`minembed.nn.train.Callback` objects, as for every model: Word2Vec calls their
``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end`` and ``on_train_end`` with the model.
"""
from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator

import numpy as np

from ..io import load_npz, save_npz
from ..kernels import sgns
from ..nn.train import check_callbacks
from ..progress import progress as progress_bar
from ..rng import make_rng
from ..space.vectors import WordVectors
from .vocab import EncodedCorpus, Vocab, count_words, effective_min_count, keep_word

CHUNK_WORDS = 10_000          # words per chunk of sentences (one random seed each), like gensim's batch_words
MAX_SENTENCE_LENGTH = 10_000  # longer sentences are split
BLOCK_WORDS = 1 << 20         # ids read at a time from an on-disk corpus (4 MB of int32)


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

    The parameters have gensim's names and defaults, except ``workers=1``.

    Args:
        sentences: re-iterable of token lists (``load_corpus(...)``, a list of lists, ``TokenizedLines``).
        corpus_file: or the path of a text file with one whitespace-tokenized sentence per line
            (or a ``load_corpus(path, lowercase=True)`` / ``tokenizer=`` :class:`~minembed.datasets.Corpus`).
            Its ids are then kept in a temporary file and streamed block by block during training
            (memory holds the offsets only, as gensim holds nothing of a corpus_file); the ids of
            ``sentences`` are kept in memory (4 bytes a token).
        vector_size: dimension D of the vectors.
        window: maximum distance centre-context.
        min_count: ignore words seen fewer times.
        max_vocab_size: prune while counting (see ``Vocab.build``).
        sg: 1 skip-gram, 0 CBOW.
        hs: 1 hierarchical softmax.
        negative: noise words per example (0 = off).
        ns_exponent: noise distribution power (0.75).
        cbow_mean: 1 mean, 0 sum of the context vectors.
        sample: subsampling threshold (0 = off).
        alpha: the learning rate at the start of a ``train()`` call, decayed linearly over all the epochs of
            that call to ``min_alpha``.
        min_alpha: the learning rate at the end of a ``train()`` call.
        epochs: passes over the corpus.
        seed: randomness (initial vectors, sampling).
        workers: threads.
        callbacks: ``minembed.nn.train.Callback`` objects.
        progress: show a tqdm bar (words/s, lr, loss).
        implementation: "kernel" (Numba) or "numpy" (mini-batch).
        trim_rule: ``f(word, count, min_count) -> RULE_KEEP / RULE_DISCARD / RULE_DEFAULT`` (see
            :func:`minembed.text.vocab.keep_word`); used by every :meth:`build_vocab` of this model
            unless that call passes its own (gensim uses it only when the constructor gets a corpus).
        max_final_vocab: keep at most this many words by raising ``min_count`` (gensim's rule, see
            :func:`minembed.text.vocab.effective_min_count`).
        shrink_windows: True (default) draws a window size in 1..window for each centre word, as
            word2vec.c and gensim do; False always uses the full window (and draws no random number).

    Per-row learning-rate factors: ``model.wv.vectors_lockf`` (gensim's name), float32 of one entry
    per word (made by :meth:`build_vocab`, all 1.0) or a single entry for every word. The input-vector
    update of word ``w`` is multiplied by ``vectors_lockf[w]``: 0.0 freezes a row, 1.0 trains it
    normally. Output tables are not affected (as in gensim).

    Passing a corpus builds the vocabulary and trains at once; otherwise call :meth:`build_vocab`
    and :meth:`train`. Raises ``ValueError`` for a bad setting before reading any data.
    """

    def __init__(self, sentences=None, corpus_file=None, vector_size: int = 100, alpha: float = 0.025,
                 window: int = 5, min_count: int = 5, max_vocab_size: int | None = None, sample: float = 1e-3,
                 seed: int = 1, workers: int = 1, min_alpha: float = 0.0001, sg: int = 0, hs: int = 0,
                 negative: int = 5, ns_exponent: float = 0.75, cbow_mean: int = 1, epochs: int = 5,
                 callbacks=(), progress: bool = True, implementation: str = "kernel", trim_rule=None,
                 max_final_vocab: int | None = None, shrink_windows: bool = True):
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
        self.callbacks = check_callbacks(callbacks)
        self.progress = bool(progress)
        if implementation not in ("kernel", "numpy"):
            raise ValueError(f"implementation must be 'kernel' or 'numpy', got {implementation!r}")
        self.implementation = implementation
        if trim_rule is not None and not callable(trim_rule):
            raise TypeError(f"trim_rule must be a function (word, count, min_count) -> RULE_*, got {trim_rule!r}")
        self.trim_rule = trim_rule
        if max_final_vocab is not None:
            _check_int("max_final_vocab", max_final_vocab, 1)
        self.max_final_vocab = max_final_vocab
        if not isinstance(shrink_windows, (bool, np.bool_)):
            raise ValueError(f"shrink_windows must be True or False, got {shrink_windows!r}")
        self.shrink_windows = bool(shrink_windows)
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

    def build_vocab(self, sentences=None, corpus_file=None, update: bool = False, trim_rule=None) -> Word2Vec:
        """Count the words (one pass), keep those with ``min_count`` or more (see ``trim_rule``,
        ``max_final_vocab``), set up the tables and initial vectors, and encode the corpus to int32
        ids (a second pass; kept for :meth:`train`).

        ``update=True`` grows the vocabulary of a model that has one, as gensim does: the words of
        this corpus that pass ``min_count`` (counted in this corpus only) and are new are appended
        in first-seen order; every known word's count grows by its count here; the subsampling
        thresholds of the words kept here are recomputed from this corpus's counts; the noise table
        and Huffman tree are rebuilt from the summed counts. Existing rows of every table stay
        bit-identical; new input rows get the values a fresh initialisation of the larger table
        would give them (same seed), new output rows and ``vectors_lockf`` entries 0.0 and 1.0.
        Training then continues on this corpus. With ``hs=1`` the rebuilt tree renumbers the inner
        nodes, so the kept ``syn1`` rows no longer mean what they meant (gensim does the same);
        negative sampling has no such problem.

        Raises ``ValueError`` if the corpus is empty or no word reaches ``min_count``; the model is
        unchanged when anything is refused.
        """
        corpus = self._as_corpus(sentences, corpus_file)
        if corpus is None:
            raise ValueError("build_vocab needs sentences or corpus_file")
        if update and self.vocab is None:
            raise ValueError("build_vocab(update=True) grows an existing vocabulary: call build_vocab() first")
        trim_rule = self.trim_rule if trim_rule is None else trim_rule
        min_count = max(1, self.min_count)
        counted = count_words(corpus, max_vocab_size=self.max_vocab_size, trim_rule=trim_rule)
        if update:
            if not counted.counter:
                raise ValueError("the corpus is empty: no words to grow the vocabulary with")
            vocab, keep = self._grown_vocab(counted.counter, min_count, trim_rule)
        else:
            vocab = Vocab.from_counts(counted.counter, min_count=min_count, trim_rule=trim_rule,
                                      max_final_vocab=self.max_final_vocab)
            keep = sgns.keep_thresholds(vocab.counts, self.sample)
        del counted
        encoded = vocab.encode_corpus(corpus, MAX_SENTENCE_LENGTH, on_disk=corpus_file is not None,
                                      total_tokens=None if update else int(vocab.counts.sum()))
        if encoded.n_ids == 0:
            encoded.close()
            raise ValueError("the corpus has no in-vocabulary tokens to train on")
        # nothing below can fail on bad input: the model changes only from here on
        v_old = 0 if not update else len(self.vocab)
        self.release_corpus()
        self._corpus, self._corpus_source = encoded, corpus
        self.corpus_count = encoded.n_sentences
        self.corpus_total_words = encoded.n_ids
        self.vocab, self.keep = vocab, keep
        self._setup_tables()
        self._grow_tables(v_old)
        if not update:
            self._epochs_done = 0
        return self

    def _grown_vocab(self, counter, min_count, trim_rule):
        """The vocabulary and subsampling thresholds after ``build_vocab(update=True)`` on a corpus
        with word counts ``counter`` (gensim's ``prepare_vocab(update=True)``)."""
        old = self.vocab
        threshold = effective_min_count(counter, min_count, self.max_final_vocab)
        kept = [(w, c) for w, c in counter.items() if keep_word(w, c, threshold, trim_rule)]  # first-seen order
        new_words = [w for w, _ in kept if w not in old]
        counts = np.concatenate([old.counts + np.array([counter.get(w, 0) for w in old.words], dtype=np.int64),
                                 np.array([counter[w] for w in new_words], dtype=np.int64)])
        vocab = Vocab(old.words + new_words, counts)
        keep = np.concatenate([self.keep, np.zeros(len(new_words), dtype=np.int64)])
        if kept:
            keep[[vocab[w] for w, _ in kept]] = sgns.keep_thresholds(np.array([c for _, c in kept]), self.sample)
        return vocab, keep

    def _initial_vectors(self, v: int) -> np.ndarray:
        """Input vectors before training, uniform in [-0.5 / D, 0.5 / D) (word2vec.c's range), from ``seed``."""
        d = self.vector_size
        rng = make_rng(seed=self.seed)
        return (rng.random((v, d), dtype=np.float32) - np.float32(0.5)) / np.float32(d)

    def _grow_tables(self, v_old: int) -> None:
        """Make the parameter tables fit ``self.vocab``: rows ``< v_old`` are kept as they are
        (all rows are new when ``v_old`` is 0)."""
        v, d = len(self.vocab), self.vector_size
        fresh = self._initial_vectors(v)
        if v_old:
            fresh[:v_old] = self.wv.vectors
            lockf = np.asarray(self.wv.vectors_lockf, dtype=np.float32)
            if lockf.shape == (v_old,):
                lockf = np.concatenate([lockf, np.ones(v - v_old, dtype=np.float32)])
        else:
            lockf = np.ones(v, dtype=np.float32)

        def grown(old, rows):
            out = np.zeros((rows, d), dtype=np.float32)
            if v_old:
                out[:len(old)] = old
            return out

        self.syn1neg = grown(getattr(self, "syn1neg", None), v if self.negative else 0)
        self.syn1 = grown(getattr(self, "syn1", None), max(v - 1, 1) if self.hs else 0)
        self.wv = WordVectors(self.vocab.words, fresh, counts=self.vocab.counts)
        self.wv.vectors_lockf = lockf

    def _setup_tables(self):
        """The noise-word table and the Huffman tree, from ``vocab.counts``."""
        counts = self.vocab.counts
        if self.negative:
            self.cum_table = sgns.cum_table(counts, self.ns_exponent)
            self.guide = sgns.guide_table(self.cum_table)
        else:
            self.cum_table, self.guide = np.ones(1, np.int64), np.zeros(3, np.int32)
        if self.hs:
            self.codes, self.points, self.code_lengths = sgns.huffman_tree(counts)
        else:
            self.codes, self.points, self.code_lengths = (np.zeros((0, 1), np.uint8), np.zeros((0, 1), np.int32),
                                                          np.zeros(0, np.int32))

    # ----------------------------------------------- hooks a subclass with other input rows overrides (FastText)
    def _input_rows(self, v: int) -> int:
        """Rows of the input table for a vocabulary of ``v`` words: one per word."""
        return v

    def _input_table(self) -> np.ndarray:
        """The (rows, D) float32 table the kernel trains on the input side: here ``wv.vectors``."""
        return self.wv.vectors

    def _bags(self) -> tuple[np.ndarray, np.ndarray]:
        """Input rows of each word for :class:`~minembed.kernels.sgns.SGNSJob`: none (each word is its own row)."""
        return np.zeros(0, np.int64), np.zeros(0, np.int32)

    def _set_vectors(self, words, vectors, counts, lockf) -> None:
        """Adopt an input table read by :meth:`load`."""
        self.wv = WordVectors(words, vectors, counts=counts)
        self.wv.vectors_lockf = lockf

    def _lockf_table(self) -> np.ndarray:
        """``wv.vectors_lockf`` checked and as (rows,) float32 (a single entry applies to every row)."""
        v = self._input_rows(len(self.vocab))
        lockf = getattr(self.wv, "vectors_lockf", None)
        if lockf is None:
            raise ValueError("wv.vectors_lockf was removed: set it to np.ones(len(model.wv), np.float32)")
        lockf = np.asarray(lockf)
        if lockf.ndim != 1 or len(lockf) not in (1, v) or not np.issubdtype(lockf.dtype, np.number):
            raise ValueError(f"wv.vectors_lockf must be 1-D numbers of length 1 or {v} (one per input row), "
                             f"got {lockf.dtype} {lockf.shape}")
        if not np.isfinite(lockf).all():
            bad = int(np.flatnonzero(~np.isfinite(lockf))[0])
            raise ValueError(f"wv.vectors_lockf[{bad}] is {lockf[bad]}: factors must be finite")
        return np.ascontiguousarray(np.broadcast_to(lockf.astype(np.float32), (v,)))

    # --------------------------------------------------------------------- training
    def train(self, sentences=None, corpus_file=None, epochs: int | None = None, start_alpha: float | None = None,
              end_alpha: float | None = None, callbacks=None, total_examples=None, total_words=None,
              compute_loss=True) -> Word2Vec:
        """Train for ``epochs`` (default ``self.epochs``) passes, the learning rate falling linearly
        from ``start_alpha`` (``alpha``) to ``end_alpha`` (``min_alpha``) over them. Without a corpus
        the one given to :meth:`build_vocab` is used; calling again continues training.
        (``total_examples``/``total_words``/``compute_loss`` are accepted for gensim compatibility.)

        Each call runs its own schedule, as in gensim: ``train(epochs=2)`` then ``train(epochs=1)`` is
        not ``train(epochs=3)``. To finish a run of ``n`` epochs stopped (and saved) after ``k``, call
        ``train(corpus, epochs=n - k, start_alpha=alpha - (alpha - min_alpha) * k / n)``: the same
        rates up to float rounding, and the same random numbers (they depend on the seed and the
        number of epochs done, which :meth:`save` keeps).
        """
        if self.vocab is None:
            raise ValueError("call build_vocab() before train()")
        corpus = self._as_corpus(sentences, corpus_file)
        if corpus is None or corpus is self._corpus_source:
            if self._corpus is None:
                raise ValueError("this model holds no corpus (released, or loaded from a file): pass sentences or "
                                 "corpus_file")
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
        callbacks = self.callbacks if callbacks is None else check_callbacks(callbacks)
        use_kernel = self.implementation == "kernel"
        lockf = self._lockf_table()
        if not use_kernel and (not self.shrink_windows or (lockf != 1).any()):
            raise ValueError('implementation="numpy" trains with reduced windows and without vectors_lockf: '
                             'use implementation="kernel" for shrink_windows=False or a vectors_lockf other than 1')

        n_words = encoded.n_ids
        bounds = _chunk_bounds(encoded.offsets, CHUNK_WORDS)
        n_chunks = len(bounds) - 1
        sig, nlogsig = sgns.sigmoid_tables()
        self.wv.clear_norms()  # stale once training moves the vectors; not worth holding meanwhile
        for cb in callbacks:
            cb.on_train_begin(self)
        bar = progress_bar(total=epochs * n_words, enabled=self.progress, unit="word", unit_scale=True,
                           desc="word2vec", smoothing=0.1)
        start_all = time.perf_counter()
        try:
            for ep in range(epochs):
                for cb in callbacks:
                    cb.on_epoch_begin(self)
                t0 = time.perf_counter()
                seeds = make_rng(seed=[self.seed, self._epochs_done]).integers(
                    0, 2**63, size=max(n_chunks, 1), dtype=np.uint64)
                done_before = ep * n_words
                loss_sum, examples = 0.0, 0
                if use_kernel:
                    loss_sum, examples = self._kernel_epoch(encoded, bounds, seeds, a0, a1, done_before,
                                                            epochs * n_words, sig, nlogsig, lockf, bar, ep, epochs)
                else:
                    rng = make_rng(seed=[self.seed, self._epochs_done])
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
                for cb in callbacks:
                    cb.on_epoch_end(self)
        finally:
            bar.close()
        elapsed = time.perf_counter() - start_all
        self.train_words_per_second = epochs * n_words / max(elapsed, 1e-9)
        self.wv.clear_norms()  # recomputed on the first query, not held during training
        for cb in callbacks:
            cb.on_train_end(self)
        return self

    def _kernel_epoch(self, encoded, bounds, seeds, a0, a1, done_before, total, sig, nlogsig, lockf, bar, ep,
                      epochs):
        """One epoch: one kernel call per block of chunks (the whole corpus when it is in memory; about
        ``BLOCK_WORDS`` ids read from the file when it is on disk). Threads only meet at the end of a
        call. Returns (loss sum, examples)."""
        n_words, offsets = encoded.n_ids, encoded.offsets
        loss_sum, examples, shown = 0.0, 0, 0
        sub_offsets, sub_ids = self._bags()
        for c0, c1 in _blocks(offsets, bounds, BLOCK_WORDS if encoded.on_disk else n_words):
            s0, s1 = bounds[c0], bounds[c1]
            w0, w1 = int(offsets[s0]), int(offsets[s1])
            progress = np.zeros(8 * self.workers, dtype=np.int64)
            # the block as a corpus of its own (offsets and bounds from 0); the learning rate still
            # sees each word at its true position through done_before + w0
            job = sgns.SGNSJob(
                ids=encoded.read(w0, w1), offsets=offsets[s0:s1 + 1] - w0, bounds=bounds[c0:c1 + 1] - s0,
                seeds=seeds[c0:c1], syn0=self._input_table(), syn1=self.syn1, syn1neg=self.syn1neg, lockf=lockf,
                keep=self.keep, cum=self.cum_table, guide=self.guide, codes=self.codes, points=self.points,
                lengths=self.code_lengths, sig=sig, nlogsig=nlogsig, sg=self.sg, cbow_mean=self.cbow_mean, hs=self.hs,
                negative=self.negative, window=self.window, shrink_windows=self.shrink_windows, alpha0=a0, alpha1=a1,
                done_before=done_before + w0, total_words=total, sub_offsets=sub_offsets, sub_ids=sub_ids)

            def call(job=job, progress=progress):
                return sgns.train_chunks(job, workers=self.workers, progress=progress)

            def show(done_in_block, w0=w0):
                nonlocal shown
                bar.update(w0 + done_in_block - shown)
                shown = w0 + done_in_block
                bar.set_postfix_str(self._postfix(ep, epochs, a0, a1, done_before + shown, n_words))

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
    def _postfix(ep, epochs, a0, a1, pos, n_words):
        """The bar's text during an epoch: the learning rate at word ``pos`` (the loss is known only after it)."""
        lr = max(a1, a0 - (a0 - a1) * (pos / (epochs * n_words)))
        return f"epoch {ep + 1}/{epochs} lr {lr:.4f}"

    # ------------------------------------------------------------------ using the output layer
    def predict_output_word(self, context_words_list, topn: int | None = 10) -> list[tuple[str, float]]:
        """The most probable centre words for a context (gensim's ``predict_output_word``).

        With ``h`` the sum of the context words' input vectors (their mean when ``cbow_mean``; a
        CBOW-style guess, also for skip-gram models, as in gensim), the probability of word ``w`` is
        the softmax over the vocabulary of the negative-sampling scores: ``p(w) = exp(syn1neg[w] . h)
        / sum_u exp(syn1neg[u] . h)``. Returns the ``topn`` (all when None) most probable
        ``(word, probability)`` pairs, most probable first. Context words are words or row indices.

        Needs negative sampling (``RuntimeError`` otherwise, as gensim). Differs from gensim on
        purpose: an unknown word raises ``KeyError`` (gensim skips it, and returns None when none is
        known), and the softmax is computed in float64 with the largest score subtracted (gensim's
        float32 ``exp`` overflows to nan for scores above ~88).
        """
        if self.wv is None:
            raise ValueError("the model has no vocabulary yet: call build_vocab()")
        if not self.negative:
            raise RuntimeError("predict_output_word needs negative sampling (a model trained with negative > 0)")
        if topn is not None:
            _check_int("topn", topn, 1)
        if isinstance(context_words_list, str):
            raise TypeError("context_words_list must be a list of words, not a str")
        rows = []
        for w in context_words_list:
            if isinstance(w, (int, np.integer)) and not isinstance(w, bool):
                if not 0 <= w < len(self.vocab):
                    raise IndexError(f"context word index {w} is outside the vocabulary [0, {len(self.vocab)})")
                rows.append(int(w))
            else:
                rows.append(self.vocab[w])  # KeyError naming an unknown word
        if not rows:
            raise ValueError("context_words_list is empty")
        h = self.wv.vectors[rows].astype(np.float64).sum(axis=0)
        if self.cbow_mean:
            h /= len(rows)
        scores = self.syn1neg.astype(np.float64) @ h
        prob = np.exp(scores - scores.max())
        prob /= prob.sum()
        order = np.argsort(-prob, kind="stable")[:topn]
        return [(self.vocab.words[i], float(prob[i])) for i in order]

    # ------------------------------------------------------------------ saving
    _FORMAT = "minembed.Word2Vec"
    _SETTINGS = ("vector_size", "alpha", "window", "min_count", "max_vocab_size", "sample", "seed", "workers",
                 "min_alpha", "sg", "hs", "negative", "ns_exponent", "cbow_mean", "epochs", "progress",
                 "implementation", "max_final_vocab", "shrink_windows")

    def save(self, path) -> None:
        """Write the whole model to one ``.npz`` file (at exactly ``path``), atomically: a failed save
        leaves any previous file as it was.

        Arrays: ``vectors``, ``syn1neg``, ``syn1``, ``counts``, ``keep`` (subsampling thresholds),
        ``vectors_lockf``, the per-epoch ``loss_history``, ``epoch_loss_sums`` and ``epoch_times``;
        ``meta`` is a JSON text with the words, every constructor setting and the training state
        (epochs done, which also fixes the random numbers of the next epoch). Not saved: the corpus
        (pass it to :meth:`train` again), callbacks and ``trim_rule`` (functions). No pickle.
        """
        if self.vocab is None:
            raise ValueError("nothing to save: the model has no vocabulary yet (call build_vocab())")
        meta = {"format": self._FORMAT, "version": 1, "words": self.vocab.words,
                "settings": {k: getattr(self, k) for k in self._SETTINGS},
                "state": {"epochs_done": self._epochs_done, "corpus_count": self.corpus_count,
                          "corpus_total_words": self.corpus_total_words,
                          "train_words_per_second": self.train_words_per_second}}
        save_npz(path, meta=np.array(json.dumps(meta)), vectors=self._input_table(), syn1neg=self.syn1neg,
                 syn1=self.syn1, counts=self.vocab.counts, keep=self.keep,
                 vectors_lockf=np.asarray(self.wv.vectors_lockf, dtype=np.float32),
                 loss_history=np.array(self.loss_history, dtype=np.float64),
                 epoch_loss_sums=np.array(self.epoch_loss_sums, dtype=np.float64),
                 epoch_times=np.array(self.epoch_times, dtype=np.float64))

    @classmethod
    def load(cls, path) -> Word2Vec:
        """A model written by :meth:`save`, ready to query or to :meth:`train` further (give it the
        corpus). At ``workers=1``, ``load(path).train(corpus, epochs=k)`` gives the same bits as
        ``train(corpus, epochs=k)`` on the model that was saved. Every array is checked before the
        model is made: a bad file raises ``ValueError`` naming it and returns nothing."""
        arrays = load_npz(path)  # ValueError naming the file if it is not an .npz
        try:
            meta = json.loads(str(arrays["meta"][()]))
            if not isinstance(meta, dict) or meta.get("format") != cls._FORMAT or meta.get("version") != 1:
                raise ValueError(f"its header is not a version-1 {cls._FORMAT} header")
            settings, state, words = meta["settings"], meta["state"], meta["words"]
            model = cls(**{k: settings[k] for k in cls._SETTINGS})
            v, d = len(words), model.vector_size
            counts = _saved(arrays, "counts", np.int64, (v,))
            vocab = Vocab(words, counts)
            rows = model._input_rows(v)
            vectors = _saved(arrays, "vectors", np.float32, (rows, d))
            syn1neg = _saved(arrays, "syn1neg", np.float32, (v if model.negative else 0, d))
            syn1 = _saved(arrays, "syn1", np.float32, (max(v - 1, 1) if model.hs else 0, d))
            keep = _saved(arrays, "keep", np.int64, (v,))
            lockf = arrays.get("vectors_lockf")
            if lockf is None or lockf.dtype != np.float32 or lockf.shape not in ((rows,), (1,)):
                raise ValueError(f"vectors_lockf must be float32 of shape ({rows},) or (1,)")
            histories = {k: _saved(arrays, k, np.float64, None) for k in ("loss_history", "epoch_loss_sums",
                                                                           "epoch_times")}
            if (counts < 1).any() or (keep < 0).any() or (keep > 2**31).any():
                raise ValueError("counts must be >= 1 and keep thresholds in [0, 2**31]")
            for name, a in (("vectors", vectors), ("syn1neg", syn1neg), ("syn1", syn1), ("vectors_lockf", lockf)):
                if not np.isfinite(a).all():
                    raise ValueError(f"{name} holds a NaN or infinite value")
            epochs_done = state["epochs_done"]
            _check_int("epochs_done", epochs_done, 0)
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
            raise ValueError(f"{path} is not a readable minembed {cls.__name__} file: {err}") from None
        model.vocab, model.keep = vocab, keep
        model._set_vectors(words, vectors, counts, lockf)
        model.syn1neg, model.syn1 = syn1neg, syn1
        model._setup_tables()
        model._epochs_done = int(epochs_done)
        model.corpus_count = int(state.get("corpus_count", 0))
        model.corpus_total_words = int(state.get("corpus_total_words", 0))
        model.train_words_per_second = float(state.get("train_words_per_second", 0.0))
        model.loss_history = histories["loss_history"].tolist()
        model.epoch_loss_sums = histories["epoch_loss_sums"].tolist()
        model.epoch_times = histories["epoch_times"].tolist()
        return model

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


def _saved(arrays, name, dtype, shape):
    """``arrays[name]``, checked to have ``dtype`` and ``shape`` (any 1-D length when shape is None)."""
    if name not in arrays:
        raise ValueError(f"the array {name!r} is missing")
    a = arrays[name]
    if a.dtype != dtype or (a.shape != shape if shape is not None else a.ndim != 1):
        raise ValueError(f"{name} must be {np.dtype(dtype)} of shape {shape or '(n,)'}, got {a.dtype} {a.shape}")
    return np.ascontiguousarray(a)


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
