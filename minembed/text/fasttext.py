"""fastText word vectors: word2vec whose input vector of a word is built from its character n-grams.

Bojanowski et al. (2017), "Enriching Word Vectors with Subword Information". Each word ``w`` has
its own input row and shares ``bucket`` rows with every other word through its character n-grams
(``min_n``..``max_n`` characters of ``"<" + w + ">"``, hashed with FNV-1a exactly as Facebook's
fastText does: :mod:`minembed.kernels.subwords`). The input vector of ``w`` is the mean of its bag
of rows::

    h(w) = (syn0[w] + sum_{g in ngrams(w)} syn0[V + hash(g) % bucket]) / (1 + |ngrams(w)|)

and training is word2vec's (skip-gram or CBOW, negative sampling or hierarchical softmax) with
``h(w)`` in place of ``syn0[w]``; the gradient of ``h`` is added to every row of the bag. It runs
in the same kernel as :class:`~minembed.text.Word2Vec` (:func:`minembed.kernels.sgns.train_chunks`
with subword bags; :func:`~minembed.kernels.sgns.train_chunks_reference` under ``MINEMBED_JIT=0``),
so it has the same threads, progress, loss history and ``workers=1`` reproducibility.

    model = FastText(corpus, vector_size=100, window=5, min_count=5, sg=1, epochs=5, seed=1)
    model.wv["running"]        # in the vocabulary
    model.wv["runnning"]       # not in it: the mean of its n-gram rows
    "runnning" in model.wv     # False

Parameter names and defaults are gensim's ``FastText`` (``workers=1`` here). Facebook's fastText
defaults differ: ``alpha`` 0.05, ``sample`` 1e-4, ``epoch`` 5, and a model also learns "</s>"
(its end-of-line token). Facebook's run also goes a little past ``epoch`` passes: it stops when its
count of vocabulary tokens reaches ``epoch`` times the count of *every* token read (rare words too),
5.15 passes on the first 2M tokens of bench.txt. On a corpus sorted by source that changes which text
the learning rate reaches zero on, and so the scores (``benchmarks/bench_fasttext.py``, issue 15).
Differences from both, on purpose:

* skip-gram visits the pairs in fastText's order (the centre's bag predicts each context word) but
  averages the bag once per centre and updates its rows once per window, keeping the mean up to date
  in between: the same arithmetic as re-averaging for every pair (Facebook, gensim), less memory
  traffic (:mod:`minembed.kernels.sgns`).
* The input vector is the mean over ``1 + |ngrams|`` rows, as in Facebook's fastText; gensim
  divides the same sum by ``|ngrams|`` in skip-gram.
* ``build_vocab(update=True)`` is not supported (the bucket rows start after the word rows).
"""
from __future__ import annotations

import numpy as np

from ..kernels.subwords import ngram_buckets
from ..nn.train import Callback, check_callbacks
from ..rng import make_rng
from ..space.subwords import FastTextKeyedVectors, check_ngram_settings
from .word2vec import Word2Vec


class FastText(Word2Vec):
    """Learn word and character n-gram vectors from a corpus of token lists.

    Every parameter of :class:`~minembed.text.Word2Vec` (same names and defaults), plus:
        min_n, max_n: n-gram lengths in characters, boundary marks included (3 and 6); ``max_n=0``
            means no n-grams (then it is word2vec with fastText's initialisation).
        bucket: rows shared by all n-grams (2,000,000, as gensim and Facebook): the table costs
            ``bucket * vector_size * 4`` bytes (800 MB at the defaults), whatever the corpus.

    After training, ``wv`` is a :class:`~minembed.space.FastTextKeyedVectors`: ``wv.vectors`` are
    the composed vectors of the vocabulary, ``wv.vectors_vocab`` / ``wv.vectors_ngrams`` views of
    the trained input table ``syn0`` ((V + bucket, D): the word rows, then the buckets).
    ``implementation="numpy"`` (word2vec's mini-batch trainer) is not available here; the
    reference is the kernel's plain-Python twin, run by ``MINEMBED_JIT=0``.
    """

    _FORMAT = "minembed.FastText"
    _SETTINGS = Word2Vec._SETTINGS + ("min_n", "max_n", "bucket")

    def __init__(self, sentences=None, corpus_file=None, vector_size: int = 100, alpha: float = 0.025,
                 window: int = 5, min_count: int = 5, max_vocab_size: int | None = None, sample: float = 1e-3,
                 seed: int = 1, workers: int = 1, min_alpha: float = 0.0001, sg: int = 0, hs: int = 0,
                 negative: int = 5, ns_exponent: float = 0.75, cbow_mean: int = 1, epochs: int = 5,
                 callbacks=(), progress: bool = True, min_n: int = 3, max_n: int = 6, bucket: int = 2_000_000,
                 trim_rule=None, max_final_vocab: int | None = None, shrink_windows: bool = True,
                 implementation: str = "kernel"):
        check_ngram_settings(min_n, max_n, bucket)
        if implementation != "kernel":
            raise ValueError(f"FastText trains with implementation='kernel' only (its reference runs with "
                             f"MINEMBED_JIT=0), got {implementation!r}")
        self.min_n, self.max_n, self.bucket = int(min_n), int(max_n), int(bucket)
        super().__init__(sentences=sentences, corpus_file=corpus_file, vector_size=vector_size, alpha=alpha,
                         window=window, min_count=min_count, max_vocab_size=max_vocab_size, sample=sample,
                         seed=seed, workers=workers, min_alpha=min_alpha, sg=sg, hs=hs, negative=negative,
                         ns_exponent=ns_exponent, cbow_mean=cbow_mean, epochs=epochs, callbacks=callbacks,
                         progress=progress, implementation=implementation, trim_rule=trim_rule,
                         max_final_vocab=max_final_vocab, shrink_windows=shrink_windows)

    # ------------------------------------------------------------------ the input table
    def build_vocab(self, sentences=None, corpus_file=None, update: bool = False, trim_rule=None) -> FastText:
        """As :meth:`Word2Vec.build_vocab`, then every word's n-gram buckets are hashed once (not
        per occurrence). ``update=True`` raises ``NotImplementedError`` (before anything changes)."""
        if update:
            raise NotImplementedError("FastText.build_vocab(update=True) is not supported: build a new model")
        return super().build_vocab(sentences, corpus_file, update=False, trim_rule=trim_rule)

    def _input_rows(self, v: int) -> int:
        return v + (self.bucket if self.max_n else 0)

    def _input_table(self) -> np.ndarray:
        return self.syn0

    def _bags(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sub_offsets, self.sub_ids

    def _grow_tables(self, v_old: int) -> None:
        """Fresh tables for ``self.vocab`` (FastText never grows a vocabulary: ``v_old`` is 0)."""
        v, d = len(self.vocab), self.vector_size
        rows = self._input_rows(v)
        # fastText's initialisation: every input row (words and buckets) uniform in [-1/D, 1/D),
        # made in place (at the default bucket the table is 800 MB: no second temporary)
        syn0 = make_rng(seed=self.seed).random((rows, d), dtype=np.float32)
        syn0 -= np.float32(0.5)
        syn0 *= np.float32(2.0 / d)
        self.syn1neg = np.zeros((v if self.negative else 0, d), dtype=np.float32)
        self.syn1 = np.zeros((max(v - 1, 1) if self.hs else 0, d), dtype=np.float32)
        self._set_vectors(self.vocab.words, syn0, self.vocab.counts, np.ones(1, dtype=np.float32))

    def _set_vectors(self, words, vectors, counts, lockf) -> None:
        """Adopt the input table ``vectors`` (V + buckets rows): bags, views and composed vectors."""
        v = len(words)
        if self.max_n:
            ng_offsets, ng_ids = ngram_buckets(words, self.min_n, self.max_n, self.bucket)
        else:
            ng_offsets, ng_ids = np.zeros(v + 1, np.int64), np.zeros(0, np.int32)
        # word w's bag: its own row w, then its n-gram rows V + bucket id
        self.sub_offsets = ng_offsets + np.arange(v + 1, dtype=np.int64)
        own = np.zeros(len(ng_ids) + v, dtype=bool)
        own[self.sub_offsets[:-1]] = True
        self.sub_ids = np.empty(len(own), dtype=np.int32)
        self.sub_ids[own] = np.arange(v, dtype=np.int32)
        self.sub_ids[~own] = ng_ids + np.int32(v)
        self.syn0 = vectors
        self.wv = FastTextKeyedVectors(words, vectors[:v], vectors[v:], self.min_n, self.max_n, self.bucket,
                                       counts=counts, buckets=(ng_offsets, ng_ids))
        self.wv.vectors_lockf = lockf

    def _train(self, encoded, epochs, start_alpha, end_alpha, callbacks) -> FastText:
        # the composed vectors follow the trained rows after every epoch, before the user's callbacks run
        callbacks = (_Compose(),) + (self.callbacks if callbacks is None else check_callbacks(callbacks))
        return super()._train(encoded, epochs, start_alpha, end_alpha, callbacks)

    def __repr__(self) -> str:
        return super().__repr__().replace("Word2Vec(", "FastText(", 1)[:-1] + (
            f", min_n={self.min_n}, max_n={self.max_n}, bucket={self.bucket})")


class _Compose(Callback):
    """Recomputes ``model.wv.vectors`` from the trained rows at the end of each epoch."""

    def on_epoch_end(self, model) -> None:
        model.wv.adjust_vectors()
