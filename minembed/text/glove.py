"""GloVe: word vectors from global co-occurrence counts (Pennington, Socher & Manning 2014).

    model = GloVe(corpus_file="corpus.txt", vector_size=100, window=10, min_count=5, x_max=10, epochs=10)
    model.wv.most_similar("king")

Three steps, each usable alone:

1. :meth:`GloVe.build_vocab` counts the words (the vocabulary machinery of Word2Vec: ``min_count``,
   ``max_vocab_size``, ``max_final_vocab``, ``trim_rule``), encodes the corpus to ids and counts
   co-occurrences in bounded memory (:func:`minembed.text.cooccurrence.count_cooccurrences`, with
   the reference C code's windowing rules). ``model.cooccurrence`` can be saved (``.npz``) and given
   back later: ``build_vocab(cooccurrence="counts.npz")`` skips the corpus.
2. :meth:`GloVe.train` fits ``W[i] . C[j] + bw[i] + bc[j] ~ log X[i, j]``, weighted by
   ``f(x) = min(1, (x / x_max) ** alpha)``, with AdaGrad over the shuffled pairs
   (:mod:`minembed.kernels.glove` derives it and says where it differs from the C code).
3. ``model.wv`` is a :class:`~minembed.space.KeyedVectors` of ``W + C`` (the C code's default
   output, ``use_context_vectors=True``) or of ``W`` alone.

Parameter names follow gensim where the concept is gensim's (``vector_size``, ``window``,
``min_count``, ``workers``, ``seed``, ``epochs``); GloVe's own are ``x_max``, ``alpha`` (the
weighting exponent, not a learning rate as in gensim's Word2Vec) and ``learning_rate`` (the C code's
``eta``). Defaults are the C code's (window 15, x_max 100, learning_rate 0.05, 25 epochs), except
``vector_size`` (100, as gensim; the C code's is 50) and ``workers=1``: with one worker a ``seed``
gives bit-identical vectors, with more the threads update shared tables without locks (Hogwild).
"""
from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np

from ..kernels import glove as kglove
from ..nn.train import check_callbacks
from ..progress import progress as progress_bar
from ..rng import make_rng
from ..space.vectors import KeyedVectors
from .cooccurrence import Cooccurrence, check_memory, count_cooccurrences
from .vocab import Vocab, count_words
from .word2vec import MAX_SENTENCE_LENGTH, Word2Vec, _check_float, _check_int

BLOCK_PAIRS = 1024  # pairs visited together; each epoch visits the blocks in a new random order


class GloVe:
    """Learn word vectors from co-occurrence counts.

    Parameters:
        sentences / corpus_file: the corpus, as for :class:`~minembed.text.Word2Vec` (a re-iterable of
            token lists, or a path / :class:`~minembed.datasets.Corpus` whose ids are kept in a temporary
            file while counting). Passing one builds the vocabulary, counts and trains at once.
        vector_size: dimension D.                    window: pairs up to this distance (symmetric, 1/d weight).
        min_count, max_vocab_size, max_final_vocab, trim_rule: the vocabulary, as in Word2Vec.
        x_max, alpha: the weighting f(x) = min(1, (x / x_max) ** alpha); ``x_max > 0``.
        learning_rate: AdaGrad's initial step (the C code's ``eta``).
        epochs: passes over the pairs.               workers: Hogwild threads.   seed: randomness.
        grad_clip: each gradient component is clipped to [-grad_clip, grad_clip] (the C code's 100).
        bias_learning_rate: AdaGrad's initial step for the biases; None (default) = ``learning_rate``
            (textbook AdaGrad, the 2014 C code). 1.0 reproduces the C code since 2019, whose bias steps
            have no ``eta`` (glove.c: ``W[bias] -= fdiff / sqrt(gradsq[bias])``; see kernels/glove.py).
        use_context_vectors: ``wv`` holds ``W + C`` (True) or ``W`` only (False).
        distance_weighting: 1/d weights (True, as the C code) or 1 for every pair in the window.
        memory: GiB the co-occurrence counting may use (soft; see ``count_cooccurrences``).
        callbacks: :class:`minembed.nn.train.Callback` objects.   progress: show a tqdm bar.

    After :meth:`train`: ``loss_history`` (mean cost ``1/2 f diff**2`` per pair, one per epoch, the
    figure the C code prints), ``epoch_loss_sums``, ``epoch_times`` (wall s) and ``epoch_cpu_times``
    (CPU s of the process, all threads). Bad settings raise ``ValueError`` naming the parameter
    before any data is read.
    """

    def __init__(self, sentences=None, corpus_file=None, vector_size: int = 100, window: int = 15,
                 min_count: int = 5, x_max: float = 100.0, alpha: float = 0.75, learning_rate: float = 0.05,
                 epochs: int = 25, workers: int = 1, seed: int = 1, max_vocab_size: int | None = None,
                 max_final_vocab: int | None = None, trim_rule=None, grad_clip: float = 100.0,
                 use_context_vectors: bool = True, distance_weighting: bool = True, memory: float = 1.0,
                 callbacks=(), progress: bool = True, bias_learning_rate: float | None = None):
        self.vector_size = _check_int("vector_size", vector_size, 1)
        self.window = _check_int("window", window, 1)
        self.min_count = _check_int("min_count", min_count, 0)
        self.x_max = _check_float("x_max", x_max, 0.0, strict=True)
        self.alpha = _check_float("alpha", alpha, 0.0)
        self.learning_rate = _check_float("learning_rate", learning_rate, 0.0, strict=True)
        self.epochs = _check_int("epochs", epochs, 1)
        self.workers = _check_int("workers", workers, 1)
        self.seed = _check_int("seed", seed, 0)
        if max_vocab_size is not None:
            _check_int("max_vocab_size", max_vocab_size, 1)
        self.max_vocab_size = max_vocab_size
        if max_final_vocab is not None:
            _check_int("max_final_vocab", max_final_vocab, 1)
        self.max_final_vocab = max_final_vocab
        if trim_rule is not None and not callable(trim_rule):
            raise TypeError(f"trim_rule must be a function (word, count, min_count) -> RULE_*, got {trim_rule!r}")
        self.trim_rule = trim_rule
        self.grad_clip = _check_float("grad_clip", grad_clip, 0.0, strict=True)
        self.bias_learning_rate = (None if bias_learning_rate is None else
                                   _check_float("bias_learning_rate", bias_learning_rate, 0.0, strict=True))
        for name, flag in (("use_context_vectors", use_context_vectors), ("distance_weighting", distance_weighting)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {flag!r}")
        self.use_context_vectors = bool(use_context_vectors)
        self.distance_weighting = bool(distance_weighting)
        self.memory = check_memory(memory)
        self.callbacks = check_callbacks(callbacks)
        self.progress = bool(progress)
        if sentences is not None and corpus_file is not None:
            raise ValueError("pass either sentences or corpus_file, not both")

        self.vocab: Vocab | None = None
        self.cooccurrence: Cooccurrence | None = None
        self.wv: KeyedVectors | None = None
        self.loss_history: list[float] = []
        self.epoch_loss_sums: list[float] = []
        self.epoch_times: list[float] = []
        self.epoch_cpu_times: list[float] = []
        self.count_seconds = 0.0  # wall time of the last build_vocab (vocabulary, encoding, counting)
        self._pairs = None
        self._epochs_done = 0
        if sentences is not None or corpus_file is not None:
            self.build_vocab(sentences, corpus_file)
            self.train()

    # ------------------------------------------------------------------ counting
    def build_vocab(self, sentences=None, corpus_file=None, cooccurrence=None) -> GloVe:
        """Build the vocabulary and count co-occurrences (``self.cooccurrence``), or take both from a
        :class:`~minembed.text.cooccurrence.Cooccurrence` (or the path of one saved as ``.npz``).
        Resets any training. Raises ``ValueError`` for an empty corpus, a corpus where no word reaches
        ``min_count`` or no two words share a window; the model is unchanged then."""
        t0 = time.perf_counter()
        if cooccurrence is not None:
            if sentences is not None or corpus_file is not None:
                raise ValueError("pass a corpus or a cooccurrence, not both")
            cooc = cooccurrence if isinstance(cooccurrence, Cooccurrence) else Cooccurrence.load(Path(cooccurrence))
            counts = cooc.word_counts if cooc.word_counts is not None else np.ones(cooc.vocab_size, np.int64)
            vocab = Vocab(cooc.words, counts)
        else:
            corpus = Word2Vec._as_corpus(sentences, corpus_file)
            if corpus is None:
                raise ValueError("build_vocab needs sentences, corpus_file or cooccurrence")
            counted = count_words(corpus, max_vocab_size=self.max_vocab_size, trim_rule=self.trim_rule)
            vocab = Vocab.from_counts(counted.counter, min_count=max(1, self.min_count), trim_rule=self.trim_rule,
                                      max_final_vocab=self.max_final_vocab)
            del counted
            encoded = vocab.encode_corpus(corpus, MAX_SENTENCE_LENGTH, on_disk=corpus_file is not None,
                                          total_tokens=int(vocab.counts.sum()))
            try:
                cooc = count_cooccurrences(encoded, vocab.words, self.window, self.distance_weighting,
                                           memory=self.memory, progress=self.progress)
            finally:
                encoded.close()
            cooc.word_counts = vocab.counts
        if len(cooc) == 0:
            raise ValueError("no two in-vocabulary words share a window: there are no co-occurrences to train on "
                             "(are all sentences one word long?)")
        self.vocab, self.cooccurrence = vocab, cooc
        self._pairs = None
        self.wv = None
        self._epochs_done = 0
        self.loss_history, self.epoch_loss_sums, self.epoch_times, self.epoch_cpu_times = [], [], [], []
        self.count_seconds = time.perf_counter() - t0
        return self

    # ------------------------------------------------------------------ training
    def _initial_tables(self):
        """W, C, bw, bc uniform in [-0.5 / D, 0.5 / D) (the C code's range) and AdaGrad sums of 1."""
        v, d = len(self.vocab), self.vector_size
        rng = make_rng(seed=[self.seed, 0])
        scale = np.float32(1.0 / d)
        W = (rng.random((v, d), dtype=np.float32) - np.float32(0.5)) * scale
        C = (rng.random((v, d), dtype=np.float32) - np.float32(0.5)) * scale
        bw = (rng.random(v, dtype=np.float32) - np.float32(0.5)) * scale
        bc = (rng.random(v, dtype=np.float32) - np.float32(0.5)) * scale
        self.W, self.C, self.bw, self.bc = W, C, bw, bc
        self.GW, self.GC = np.ones((v, d), np.float32), np.ones((v, d), np.float32)
        self.gbw, self.gbc = np.ones(v, np.float32), np.ones(v, np.float32)

    def _shuffled_pairs(self) -> np.ndarray:
        """The training pairs (``log x``, ``f(x)`` precomputed), shuffled once from the seed."""
        c = self.cooccurrence
        pairs = kglove.pair_records(c.rows, c.cols, c.counts, self.x_max, self.alpha)
        make_rng(seed=[self.seed, 1]).shuffle(pairs)
        return pairs

    def train(self, epochs: int | None = None, callbacks=None) -> GloVe:
        """Train ``epochs`` (default ``self.epochs``) more passes over the pairs; a second call continues
        (AdaGrad's sums are kept). Sets ``self.wv``."""
        if self.cooccurrence is None:
            raise ValueError("call build_vocab() before train()")
        epochs = self.epochs if epochs is None else _check_int("epochs", epochs, 1)
        callbacks = self.callbacks if callbacks is None else check_callbacks(callbacks)
        if self._pairs is None:
            self._initial_tables()
            self._pairs = self._shuffled_pairs()
        pairs = self._pairs
        n = len(pairs)
        n_blocks = -(-n // BLOCK_PAIRS)
        for cb in callbacks:
            cb.on_train_begin(self)
        bar = progress_bar(total=epochs * n, enabled=self.progress, unit="pair", unit_scale=True, desc="GloVe",
                           smoothing=0.1)
        try:
            for ep in range(epochs):
                for cb in callbacks:
                    cb.on_epoch_begin(self)
                t0, c0 = time.perf_counter(), time.process_time()
                blocks = make_rng(seed=[self.seed, 2, self._epochs_done]).permutation(n_blocks).astype(np.int64)
                job = kglove.GloVeJob(rows=pairs["row"], cols=pairs["col"], logx=pairs["logx"],
                                      weight=pairs["weight"], blocks=blocks, block=BLOCK_PAIRS, W=self.W, C=self.C,
                                      bw=self.bw, bc=self.bc, GW=self.GW, GC=self.GC, gbw=self.gbw, gbc=self.gbc,
                                      eta=self.learning_rate, grad_clip=self.grad_clip,
                                      bias_eta=self.bias_learning_rate)
                cost = self._run_epoch(job, bar, ep * n)
                self.epoch_times.append(time.perf_counter() - t0)
                self.epoch_cpu_times.append(time.process_time() - c0)
                if not math.isfinite(cost):
                    raise ValueError(f"training diverged in epoch {self._epochs_done + 1}: the cost is {cost}; "
                                     f"lower learning_rate (now {self.learning_rate}) or grad_clip")
                self._epochs_done += 1
                self.epoch_loss_sums.append(cost)
                self.loss_history.append(cost / n)
                bar.set_postfix_str(f"iter {ep + 1}/{epochs} cost {self.loss_history[-1]:.5f}")
                for cb in callbacks:
                    cb.on_epoch_end(self)
        finally:
            bar.close()
        self._set_vectors()
        for cb in callbacks:
            cb.on_train_end(self)
        return self

    def _run_epoch(self, job, bar, shown_before) -> float:
        """One epoch in a helper thread (the kernel releases the GIL) while this one moves the bar."""
        progress = np.zeros(8 * self.workers, dtype=np.int64)
        if not self.progress:
            return kglove.train_pairs(job, workers=self.workers, progress=progress)
        result, error = [], []

        def work():
            try:
                result.append(kglove.train_pairs(job, workers=self.workers, progress=progress))
            except BaseException as err:  # re-raised in the calling thread
                error.append(err)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        shown = 0
        while thread.is_alive():
            thread.join(0.25)
            done = int(progress.sum())
            bar.update(done - shown)
            shown = done
        if error:
            raise error[0]
        bar.update(len(job.rows) - shown)
        return result[0]

    def _set_vectors(self) -> None:
        vectors = self.W + self.C if self.use_context_vectors else self.W.copy()
        self.wv = KeyedVectors(self.vocab.words, vectors, counts=self.vocab.counts)

    def get_latest_training_loss(self) -> float:
        """The last epoch's summed cost (float64)."""
        return self.epoch_loss_sums[-1] if self.epoch_loss_sums else 0.0

    def __repr__(self) -> str:
        v = len(self.vocab) if self.vocab is not None else 0
        pairs = len(self.cooccurrence) if self.cooccurrence is not None else 0
        return (f"GloVe(vocab={v}, pairs={pairs}, vector_size={self.vector_size}, window={self.window}, "
                f"x_max={self.x_max})")
