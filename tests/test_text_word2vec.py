"""Tokenizer, vocabulary, the skip-gram/CBOW kernels and Word2Vec."""
import importlib.util
from collections import Counter

import numpy as np
import pytest

from minembed.kernels import sgns
from minembed.text import Callback, TokenizedLines, Vocab, Word2Vec, tokenize
from minembed.text import vocab as vocab_module
from minembed.text import word2vec as w2v_module
from minembed.text.vocab import count_words


# ----------------------------------------------------------------------------- tokenizer
def test_tokenize_rules_match_bench_txt():
    text = "\u201cDon\u2019t!\u201d said O'Brien \u2014 it's 5 o'clock, caf\u00e9 time. 'Tis the fathers' way"
    assert tokenize(text) == ["don't", "said", "o'brien", "it's", "5", "o'clock", "cafe", "time", "tis", "the",
                              "fathers", "way"]
    assert tokenize("Hello, World") == ["hello", "world"]
    assert tokenize("Hello, World", lowercase=False) == ["Hello", "World"]
    assert tokenize("''' -- ...") == []


def test_tokenized_lines_is_reiterable_and_rejects_generators():
    lines = TokenizedLines(["A b.", "", "c's D"])
    assert list(lines) == [["a", "b"], ["c's", "d"]]
    assert list(lines) == list(lines)
    with pytest.raises(TypeError, match="one-shot"):
        TokenizedLines(x for x in ["a"])


# ----------------------------------------------------------------------------- vocabulary
def test_max_vocab_size_prunes_like_word2vec_c():
    # counting "a b c" then "a d e": after sentence 2 there are 5 > 4 distinct words, so every
    # word seen <= 1 time (b, c, d, e) is dropped; min_reduce becomes 2 (word2vec.c's ReduceVocab)
    counts = count_words([["a", "b", "c"], ["a", "d", "e"], ["f", "a"]], max_vocab_size=4)
    assert dict(counts.counter) == {"a": 3, "f": 1}
    assert counts.sentences == 3 and counts.tokens == 8
    assert Vocab.build([["x", "y", "x"]], max_vocab_size=None).words == ["x", "y"]


@pytest.mark.skipif(not importlib.util.find_spec("gensim"), reason="gensim is not importable")
def test_max_vocab_size_differs_from_gensim_4_as_documented():
    # gensim 4 drops count < k (its first pruning removes nothing), so it forgets f at sentence 3
    from gensim.models import Word2Vec as GensimWord2Vec

    theirs = GensimWord2Vec(vector_size=4, min_count=1, max_vocab_size=4)
    theirs.build_vocab([["a", "b", "c"], ["a", "d", "e"], ["f", "a"]], keep_raw_vocab=True)
    assert dict(theirs.raw_vocab) == {"a": 3}


def test_encode_corpus_drops_oov_and_splits_long_sentences():
    vocab = Vocab(["a", "b", "c"], [5, 3, 1])
    sents = [["a", "zz", "b"], ["zz"], ["c", "a", "b", "a", "c"]]
    for hint in (None, 7, 3):  # exact, absent and wrong size hints give the same result
        enc = vocab.encode_corpus(sents, max_sentence_length=2, total_tokens=hint)
        assert enc.ids.dtype == np.int32
        assert enc.ids.tolist() == [0, 1, 2, 0, 1, 0, 2]
        assert enc.offsets.tolist() == [0, 2, 4, 6, 7]
    disk = vocab.encode_corpus(sents, max_sentence_length=2, on_disk=True)
    assert disk.on_disk and disk.n_ids == 7 and disk.offsets.tolist() == [0, 2, 4, 6, 7]
    assert disk.ids.tolist() == [0, 1, 2, 0, 1, 0, 2]
    assert disk.read(3, 6).tolist() == [0, 1, 0] and disk.read(7, 7).tolist() == []
    with pytest.raises(IndexError, match="outside"):
        disk.read(5, 8)
    disk.close()
    with pytest.raises(ValueError, match="closed"):
        disk.read(0, 1)


def test_vocab_errors():
    with pytest.raises(ValueError, match="empty"):
        Vocab.build([])
    with pytest.raises(ValueError, match="min_count=3"):
        Vocab.build([["a", "b", "a"]], min_count=3)
    with pytest.raises(TypeError, match="list of tokens"):
        Vocab.build(["a b c"])


# ------------------------------------------------------------------------------- tables
def test_keep_thresholds_follow_word2vec_c_formula():
    counts = np.array([1000, 100, 10, 1])
    keep = sgns.keep_thresholds(counts, 1e-2) / 2**31
    t = 1e-2 * counts.sum()
    expected = np.minimum(1, (np.sqrt(counts / t) + 1) * t / counts)
    np.testing.assert_allclose(keep, expected, atol=1e-9)
    assert (sgns.keep_thresholds(counts, 0) == 2**31).all()


def test_guide_table_draws_exactly_what_binary_search_draws(rng):
    counts = rng.zipf(1.3, size=5000).clip(1, 10**6)
    cum = sgns.cum_table(counts, 0.75)
    guide = sgns.guide_table(cum)
    bits = int(np.log2(len(guide) - 1))
    r = rng.integers(0, 2**31, size=20000)
    picked = []
    for x in r:
        i = guide[x >> (31 - bits)]
        while cum[i] <= x:
            i += 1
        picked.append(i)
    np.testing.assert_array_equal(picked, np.searchsorted(cum, r, side="right"))
    # and the draw frequencies follow counts ** 0.75
    p = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(np.diff(np.concatenate([[0], cum])) / 2**31, p, atol=1e-9)


def test_huffman_codes_are_a_complete_prefix_code():
    counts = np.array([50, 20, 10, 10, 5, 3, 1, 1])
    codes, points, lengths = sgns.huffman_tree(counts)
    words = ["".join(map(str, codes[w, :lengths[w]])) for w in range(len(counts))]
    assert sum(2.0 ** -len(c) for c in words) == pytest.approx(1.0)  # Kraft equality: full binary tree
    for a in words:
        assert not any(b != a and b.startswith(a) for b in words)
    assert lengths[0] == lengths.min() and lengths[-1] == lengths.max()
    assert points.max() == len(counts) - 2 and all(points[w, 0] == len(counts) - 2 for w in range(len(counts)))


# ------------------------------------------------------------------------- kernel vs ref
def test_kernel_pair_update_equals_reference(rng):
    v, d, k = 200, 16, 5
    syn0 = (rng.standard_normal((v, d)) * 0.5).astype(np.float32)
    syn1 = (rng.standard_normal((v, d)) * 0.5).astype(np.float32)
    # 10 pairs whose rows never overlap: the sequential kernel and the batched reference must agree
    words = rng.permutation(v)[: 10 * (2 + k)].reshape(10, 2 + k)
    contexts, centres, negatives = words[:, 0], words[:, 1], words[:, 2:]
    a0, a1 = syn0.copy(), syn1.copy()
    loss_ref = sgns.sg_ns_step_reference(a0, a1, contexts, centres, negatives, 0.1)
    b0, b1 = syn0.copy(), syn1.copy()
    loss_ker = sgns.sg_ns_step(b0, b1, contexts, centres, negatives, 0.1)
    np.testing.assert_allclose(b0, a0, atol=2e-6)
    np.testing.assert_allclose(b1, a1, atol=2e-6)
    np.testing.assert_allclose(loss_ker, loss_ref, rtol=1e-5)
    assert not np.allclose(b0, syn0)  # the step did something


def test_kernel_propagates_nan_weights_as_the_reference_does(rng):
    # A NaN score used to take the table branch and read sig[int(NaN)], an index far outside the
    # table: finite garbage instead of NaN in the updated rows (or a crash).
    syn0 = (rng.standard_normal((20, 8)) * 0.1).astype(np.float32)
    syn1 = (rng.standard_normal((20, 8)) * 0.1).astype(np.float32)
    syn0[2, 3] = np.nan
    # rows never shared between pairs, so the sequential kernel and the batched reference agree
    contexts, centres, negatives = np.array([2, 4, 5]), np.array([1, 3, 10]), np.array([[6, 7], [8, 9], [11, 12]])
    a0, a1, b0, b1 = syn0.copy(), syn1.copy(), syn0.copy(), syn1.copy()
    with np.errstate(invalid="ignore"):          # logaddexp(0, NaN) in the reference (also run when MINEMBED_JIT=0)
        loss_ref = sgns.sg_ns_step_reference(a0, a1, contexts, centres, negatives, 0.025)
        loss_ker = sgns.sg_ns_step(b0, b1, contexts, centres, negatives, 0.025)
    assert np.isnan(a0).sum() == 8 and np.isnan(a1).sum() == 24      # row 2 of syn0, rows 1, 6, 7 of syn1
    np.testing.assert_allclose(b0, a0, atol=2e-6)                     # NaN exactly where the reference has it
    np.testing.assert_allclose(b1, a1, atol=2e-6)
    np.testing.assert_allclose(loss_ker, loss_ref, rtol=1e-5)


def test_kernel_single_pair_by_hand():
    syn0 = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]], dtype=np.float32)
    syn1 = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 1.0]], dtype=np.float32)
    loss = sgns.sg_ns_step(syn0, syn1, [0], [1], [[2]], 0.5)
    s_pos, s_neg = 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))  # scores x = 1 (centre), -1 (noise)
    g_pos, g_neg = 0.5 * (1 - s_pos), 0.5 * (0 - s_neg)
    np.testing.assert_allclose(syn1[1], [1 + g_pos, 2], rtol=1e-5)
    np.testing.assert_allclose(syn1[2], [-1 + g_neg, 1], rtol=1e-5)
    np.testing.assert_allclose(syn0[0], [1 + g_pos * 1 + g_neg * -1, g_pos * 2 + g_neg * 1], rtol=1e-5)
    np.testing.assert_allclose(loss, [np.log1p(np.exp(-1.0)) * 2], rtol=1e-5)


def test_kernel_rejects_bad_indices():
    syn = np.zeros((3, 2), np.float32)
    with pytest.raises(IndexError, match="out of range"):
        sgns.sg_ns_step(syn, syn.copy(), [5], [0], [[1]], 0.1)


# ---------------------------------------------------------------------------- Word2Vec
def topic_corpus(seed=0, n_topics=4, words_per_topic=8, sentences=1500, length=10):
    rng = np.random.default_rng(seed)
    topics = [[f"t{t}w{i}" for i in range(words_per_topic)] for t in range(n_topics)]
    return [list(rng.choice(topics[rng.integers(n_topics)], size=length)) for _ in range(sentences)], topics


def topic_margin(wv, topics):
    """Fraction of words whose nearest neighbour is in the same topic, and mean within - across cosine."""
    unit = wv.unit_vectors
    topic_of = {w: t for t, ws in enumerate(topics) for w in ws}
    labels = np.array([topic_of[w] for w in wv.index_to_key])
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    nn_same = (labels[sims.argmax(1)] == labels).mean()
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    np.fill_diagonal(sims, np.nan)
    return nn_same, np.nanmean(sims[same]) - np.nanmean(sims[~same & ~np.eye(len(labels), dtype=bool)])


@pytest.mark.parametrize("settings", [
    dict(sg=1, negative=5, implementation="kernel"),
    dict(sg=1, negative=5, implementation="numpy"),
    dict(sg=0, negative=5, implementation="kernel"),
    dict(sg=0, hs=1, negative=0, implementation="kernel"),
    dict(sg=1, hs=1, negative=0, implementation="numpy"),
    dict(sg=0, hs=1, negative=3, implementation="numpy"),
], ids=["sg-ns-kernel", "sg-ns-numpy", "cbow-ns-kernel", "cbow-hs-kernel", "sg-hs-numpy", "cbow-both-numpy"])
def test_topics_are_learned(settings):
    corpus, topics = topic_corpus()
    model = Word2Vec(corpus, vector_size=16, window=3, min_count=1, sample=0, epochs=3, seed=3, progress=False,
                     **settings)
    nn_same, margin = topic_margin(model.wv, topics)
    # chance would be 7/31 = 0.23 for the neighbour and 0 for the margin
    assert nn_same >= 0.75, (nn_same, margin)
    assert margin > 0.2, (nn_same, margin)
    assert model.loss_history[-1] < model.loss_history[0]


def test_workers1_is_bit_reproducible_and_workers2_trains_alike():
    corpus, topics = topic_corpus(sentences=800)
    kw = dict(vector_size=12, window=3, min_count=1, sg=1, epochs=2, sample=0, progress=False)
    a = Word2Vec(corpus, seed=7, **kw)
    b = Word2Vec(corpus, seed=7, **kw)
    c = Word2Vec(corpus, seed=8, **kw)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    assert a.loss_history == b.loss_history
    shown = Word2Vec(corpus, seed=7, **{**kw, "progress": True})  # the progress bar changes nothing
    np.testing.assert_array_equal(a.wv.vectors, shown.wv.vectors)
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)
    d = Word2Vec(corpus, seed=7, workers=2, **kw)
    assert d.loss_history[-1] == pytest.approx(a.loss_history[-1], rel=0.05)  # same loss definition
    assert topic_margin(d.wv, topics)[0] >= 0.9


def test_continued_training_callbacks_and_loss():
    corpus, _ = topic_corpus(sentences=300)

    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def on_epoch_end(self, model):
            self.events.append(len(model.loss_history))

    rec = Recorder()
    model = Word2Vec(vector_size=8, min_count=1, epochs=2, callbacks=[rec], progress=False)
    model.build_vocab(corpus)
    assert model.corpus_count == 300 and model.corpus_total_words == 3000
    model.train()
    before = model.wv.vectors.copy()
    model.train(epochs=1)
    assert rec.events == [1, 2, 3]
    assert len(model.loss_history) == 3 and all(np.isfinite(model.loss_history))
    assert model.get_latest_training_loss() > 0
    assert not np.array_equal(before, model.wv.vectors)
    # a different corpus with known words continues training too; unknown words are ignored
    model.train([["t0w1", "t0w2", "nope"]] * 5, epochs=1)
    assert len(model.loss_history) == 4


def test_word2vec_calls_the_four_methods_of_the_one_callback_class():
    from minembed.nn.train import Callback as TrainCallback

    assert Callback is TrainCallback             # minembed.text.Callback is nn.train's, not a copy

    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def on_train_begin(self, model):
            self.events.append(("train_begin", len(model.loss_history)))

        def on_epoch_begin(self, model):
            self.events.append(("epoch_begin", len(model.loss_history)))

        def on_epoch_end(self, model):
            self.events.append(("epoch_end", len(model.loss_history)))

        def on_train_end(self, model):
            self.events.append(("train_end", len(model.loss_history)))

    rec = Recorder()
    Word2Vec(topic_corpus(sentences=50)[0], vector_size=8, min_count=1, epochs=2, callbacks=[rec], progress=False)
    assert rec.events == [("train_begin", 0), ("epoch_begin", 0), ("epoch_end", 1), ("epoch_begin", 1),
                          ("epoch_end", 2), ("train_end", 2)]
    # an object that only looks like a callback was called when it had the method; now it is refused
    with pytest.raises(TypeError, match="callbacks must be minembed.nn.Callback instances, got function"):
        Word2Vec(vector_size=8, callbacks=[lambda model: None])
    model = Word2Vec(topic_corpus(sentences=50)[0], vector_size=8, min_count=1, epochs=1, progress=False)
    with pytest.raises(TypeError, match="got object"):
        model.train(epochs=1, callbacks=[object()])


def test_corpus_file_and_wv(tmp_path):
    path = tmp_path / "c.txt"
    corpus, _ = topic_corpus(sentences=200)
    path.write_text("\n".join(" ".join(s) for s in corpus) + "\n", encoding="utf-8")
    a = Word2Vec(corpus_file=str(path), vector_size=8, min_count=1, epochs=1, progress=False)
    b = Word2Vec(corpus, vector_size=8, min_count=1, epochs=1, progress=False)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    assert a.wv["t0w0"].shape == (8,) and "t0w0" in a.wv and len(a.wv) == 32
    assert a._corpus.on_disk and not b._corpus.on_disk


@pytest.mark.parametrize("sg", [1, 0])
def test_corpus_file_streams_in_blocks_with_the_same_result(tmp_path, monkeypatch, sg):
    # a corpus_file's ids stay in a temporary file and are read in blocks of whole chunks; with
    # workers=1 the chunks, their seeds and learning rates are those of the in-memory run, so the
    # vectors must be bit-identical however small the blocks are
    path = tmp_path / "c.txt"
    corpus, _ = topic_corpus(sentences=600)
    path.write_text("\n".join(" ".join(s) for s in corpus) + "\n", encoding="utf-8")
    kw = dict(vector_size=8, min_count=1, epochs=2, sg=sg, seed=5, progress=False)
    monkeypatch.setattr(w2v_module, "CHUNK_WORDS", 300)
    monkeypatch.setattr(w2v_module, "BLOCK_WORDS", 1000)  # 6000 words: about 6 blocks an epoch
    offsets = np.arange(0, 6001, 10)  # the corpus's shape: 600 sentences of 10 words
    bounds = w2v_module._chunk_bounds(offsets, 300)
    blocks = list(w2v_module._blocks(offsets, bounds, 1000))
    assert len(blocks) >= 5 and blocks[0][0] == 0 and blocks[-1][1] == len(bounds) - 1
    assert [b[0] for b in blocks[1:]] == [b[1] for b in blocks[:-1]]  # whole chunks, each once, in order
    streamed = Word2Vec(corpus_file=str(path), **kw)
    in_memory = Word2Vec(corpus, **kw)
    np.testing.assert_array_equal(streamed.wv.vectors, in_memory.wv.vectors)
    # the same examples and losses; only the float64 sum is split at block ends
    assert streamed.loss_history == pytest.approx(in_memory.loss_history, rel=1e-12)
    shown = Word2Vec(corpus_file=str(path), **{**kw, "progress": True})
    np.testing.assert_array_equal(shown.wv.vectors, in_memory.wv.vectors)
    # continued training on a new corpus_file works too, and its temporary corpus is closed afterwards
    streamed.train(corpus_file=str(path), epochs=1)
    assert len(streamed.loss_history) == 3
    streamed.release_corpus()
    with pytest.raises(ValueError, match="released"):
        streamed.train()


@pytest.mark.parametrize("kwargs, match", [
    (dict(window=0), "window"),
    (dict(negative=-1), "negative"),
    (dict(negative=0, hs=0), "negative=0"),
    (dict(vector_size=0), "vector_size"),
    (dict(epochs=0), "epochs"),
    (dict(alpha=0), "alpha"),
    (dict(workers=0), "workers"),
    (dict(sample=-1), "sample"),
])
def test_bad_settings_fail_before_work(kwargs, match):
    class Exploding:
        def __iter__(self):
            raise AssertionError("the corpus was read")

    with pytest.raises(ValueError, match=match):
        Word2Vec(Exploding(), **kwargs)


def test_bad_corpora():
    with pytest.raises(ValueError, match="empty"):
        Word2Vec([], progress=False)
    with pytest.raises(ValueError, match="empty"):
        Word2Vec([[], []], progress=False)
    with pytest.raises(ValueError, match="min_count=5"):
        Word2Vec([["a", "b"], ["a"]], min_count=5, progress=False)
    with pytest.raises(TypeError, match="generator"):
        Word2Vec((s for s in [["a"]]), progress=False)
    with pytest.raises(TypeError, match="str"):
        Word2Vec("some text", progress=False)
    with pytest.raises(ValueError, match="build_vocab"):
        Word2Vec(progress=False).train()


# ------------------------------------------------------------- save / load / grow (issue 11)
HAS_GENSIM = importlib.util.find_spec("gensim") is not None
needs_gensim = pytest.mark.skipif(not HAS_GENSIM, reason="gensim is not importable (the comparison needs it)")


def _tables(model):
    return {"vectors": model.wv.vectors, "syn1neg": model.syn1neg, "syn1": model.syn1, "keep": model.keep,
            "counts": model.vocab.counts, "lockf": np.asarray(model.wv.vectors_lockf)}


@pytest.mark.parametrize("sg", [1, 0])
def test_save_load_then_continue_equals_continuing_without_the_round_trip(tmp_path, sg):
    corpus, _ = topic_corpus(sentences=300)
    model = Word2Vec(corpus, vector_size=8, min_count=1, epochs=2, sg=sg, hs=1, negative=3, seed=9, progress=False,
                     shrink_windows=bool(sg), max_final_vocab=30)
    model.wv.vectors_lockf[3] = 0.5
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:  # plain arrays and a JSON header: no pickle anywhere
        assert set(data.files) >= {"meta", "vectors", "syn1neg", "syn1", "counts", "keep", "vectors_lockf"}
    loaded = Word2Vec.load(path)
    assert loaded.wv.index_to_key == model.wv.index_to_key and len(loaded.vocab) <= 30
    for name, table in _tables(model).items():
        np.testing.assert_array_equal(_tables(loaded)[name], table, err_msg=name)
    for attr in Word2Vec._SETTINGS + ("loss_history", "epoch_loss_sums", "_epochs_done", "corpus_total_words"):
        assert getattr(loaded, attr) == getattr(model, attr), attr
    # the learning rate of a train() call runs from alpha to min_alpha over that call (as in gensim), so
    # 2 + 1 epochs is not 3 epochs; what must hold is that the round trip changes nothing
    model.train(corpus, epochs=1)
    loaded.train(corpus, epochs=1)
    for name, table in _tables(model).items():
        np.testing.assert_array_equal(_tables(loaded)[name], table, err_msg=name)
    assert loaded.loss_history == model.loss_history and len(model.loss_history) == 3
    with pytest.raises(ValueError, match="no corpus"):
        Word2Vec.load(path).train()


def test_load_refuses_bad_files_naming_them(tmp_path):
    corpus, _ = topic_corpus(sentences=100)
    model = Word2Vec(corpus, vector_size=4, min_count=1, epochs=1, progress=False)
    good = tmp_path / "good.npz"
    model.save(good)
    with np.load(good, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="text.npz"):
        Word2Vec.load(text)
    cases = {"no_meta": {k: v for k, v in arrays.items() if k != "meta"},
             "short_vectors": {**arrays, "vectors": arrays["vectors"][:-1]},
             "nan": {**arrays, "syn1neg": np.full_like(arrays["syn1neg"], np.nan)},
             "bad_setting": {**arrays, "meta": np.array(str(arrays["meta"]).replace('"window": 5', '"window": 0'))},
             "other_format": {**arrays, "meta": np.array('{"format": "something else"}')}}
    for name, bad in cases.items():
        path = tmp_path / f"{name}.npz"
        np.savez(path, **bad)
        with pytest.raises(ValueError, match=f"{name}.npz is not a readable minembed Word2Vec file"):
            Word2Vec.load(path)
    with pytest.raises(ValueError, match="no vocabulary"):
        Word2Vec(progress=False).save(tmp_path / "empty.npz")


def test_build_vocab_update_grows_tables_keeping_old_rows():
    first = [["a", "b", "a", "c"], ["b", "a"]] * 5
    second = [["d", "a", "e", "d"], ["e", "f", "d"]] * 3   # f: 3 < min_count 4, so it is not added
    model = Word2Vec(first, vector_size=6, min_count=4, epochs=1, hs=1, negative=2, seed=5, sample=0.05,
                     progress=False)
    model.train(epochs=1)  # tables as trained
    before = {k: v.copy() for k, v in _tables(model).items()}
    model.build_vocab(second, update=True)
    assert model.wv.index_to_key == ["a", "b", "c", "d", "e"]          # new words appended, first seen first
    assert model.vocab.counts.tolist() == [15 + 3, 10, 5, 9, 6]        # old counts grow by this corpus's counts
    np.testing.assert_array_equal(model.wv.vectors[:3], before["vectors"])
    np.testing.assert_array_equal(model.syn1neg[:3], before["syn1neg"])
    np.testing.assert_array_equal(model.syn1[:2], before["syn1"])
    fresh = (np.random.default_rng(5).random((5, 6), dtype=np.float32) - np.float32(0.5)) / np.float32(6)
    np.testing.assert_array_equal(model.wv.vectors[3:], fresh[3:])     # rows a fresh 5-word table would have
    assert not model.syn1neg[3:].any() and model.syn1.shape == (4, 6) and not model.syn1[2:].any()
    assert model.wv.vectors_lockf.tolist() == [1.0] * 5
    # thresholds of the words this corpus keeps (d 9, e 6) come from this corpus's counts; a (3 here) and c
    # keep theirs
    assert model.keep[3:].tolist() == sgns.keep_thresholds(np.array([9, 6]), 0.05).tolist()
    assert model.keep[:3].tolist() == before["keep"].tolist()
    model.train(epochs=3)  # (a tiny corpus, heavily subsampled: one epoch may have no example)
    assert (model.wv.vectors[3:] != fresh[3:]).any(axis=1).all()      # the new words train
    assert model.corpus_count == 6


def test_build_vocab_update_refusals_leave_the_model_untouched():
    with pytest.raises(ValueError, match="call build_vocab"):
        Word2Vec(progress=False).build_vocab([["a"]], update=True)
    model = Word2Vec([["a", "b"]] * 3, vector_size=4, min_count=1, epochs=1, progress=False)
    vectors = model.wv.vectors.copy()
    for bad, error in (([], ValueError), ([["zz"]], ValueError), ("a b", TypeError)):
        with pytest.raises(error):
            model.build_vocab(bad, update=True, trim_rule=lambda w, c, m: vocab_module.RULE_DISCARD if w == "zz"
                              else vocab_module.RULE_DEFAULT)
        assert model.wv.index_to_key == ["a", "b"]
        np.testing.assert_array_equal(model.wv.vectors, vectors)
    model.train(epochs=1)  # still trains on its own corpus


@needs_gensim
def test_build_vocab_update_matches_gensim():
    from gensim.models import Word2Vec as GensimWord2Vec

    corpus, _ = topic_corpus(sentences=200)
    more = [s + ["new1", "new2"] if i % 3 else s + ["new3"] for i, s in enumerate(topic_corpus(seed=1,
                                                                                               sentences=60)[0])]
    ours = Word2Vec(corpus, vector_size=4, min_count=25, epochs=1, progress=False, sample=1e-2)
    theirs = GensimWord2Vec(corpus, vector_size=4, min_count=25, epochs=1, workers=1, sample=1e-2)
    ours.build_vocab(more, update=True)
    theirs.build_vocab(more, update=True)
    v_old = len(theirs.wv) - 2
    assert ours.wv.index_to_key[v_old:] == theirs.wv.index_to_key[v_old:] == ["new1", "new2"]  # new3 < 25
    assert {w: int(c) for w, c in zip(ours.wv.index_to_key, ours.vocab.counts, strict=True)} == \
        {w: theirs.wv.get_vecattr(w, "count") for w in theirs.wv.index_to_key}
    keep_ours = {w: ours.keep[i] / 2**31 for i, w in enumerate(ours.wv.index_to_key)}
    keep_theirs = {w: theirs.wv.get_vecattr(w, "sample_int") / (2**32 - 1) for w in theirs.wv.index_to_key}
    for w in keep_theirs:
        assert keep_ours[w] == pytest.approx(keep_theirs[w], abs=1e-6), w


# ------------------------------------------------------------------- vocabulary options
def zipf_corpus(seed=0, n=4000):
    rng = np.random.default_rng(seed)
    words = np.minimum(rng.zipf(1.3, size=n), 300)
    return [[f"w{x}" for x in words[i:i + 20]] for i in range(0, n, 20)]


def test_max_final_vocab_by_hand():
    corpus = [["a"] * 5 + ["b"] * 4 + ["c"] * 4 + ["d"] * 2 + ["e"]]
    # the word at rank 2 (0-based) has count 4: the threshold becomes 5 and both 4s go
    assert Word2Vec(corpus, max_final_vocab=2, min_count=1, epochs=1, progress=False).wv.index_to_key == ["a"]
    assert Word2Vec(corpus, max_final_vocab=3, min_count=1, epochs=1, progress=False).wv.index_to_key == \
        ["a", "b", "c"]
    assert vocab_module.effective_min_count(Counter("aaabbc"), 2, 10) == 2   # fewer words than the cap


def rule_keep_w7_drop_w1(word, count, min_count):
    if word == "w7":
        return vocab_module.RULE_KEEP
    return vocab_module.RULE_DISCARD if word == "w1" else vocab_module.RULE_DEFAULT


@needs_gensim
@pytest.mark.parametrize("kw", [dict(min_count=5, max_final_vocab=20), dict(min_count=1, max_final_vocab=7),
                                dict(min_count=3, trim_rule=rule_keep_w7_drop_w1),
                                dict(min_count=2, max_final_vocab=10, trim_rule=rule_keep_w7_drop_w1)],
                         ids=["final20", "final7", "trim", "final10+trim"])
def test_vocabulary_options_choose_gensims_words(kw):
    from gensim.models import Word2Vec as GensimWord2Vec

    corpus = zipf_corpus()
    ours = Word2Vec(vector_size=4, progress=False, **kw).build_vocab(corpus)
    rule = kw.pop("trim_rule", None)
    theirs = GensimWord2Vec(vector_size=4, workers=1, **kw)
    theirs.build_vocab(corpus, trim_rule=rule)  # gensim's constructor uses a trim_rule only with a corpus
    assert {w: int(c) for w, c in zip(ours.wv.index_to_key, ours.vocab.counts, strict=True)} == \
        {w: theirs.wv.get_vecattr(w, "count") for w in theirs.wv.index_to_key}
    assert len(ours.wv) < len({w for s in corpus for w in s})  # the options removed something


def test_trim_rule_semantics_and_errors():
    corpus = [["a", "a", "b", "c", "c", "c"]]
    rule = {"a": vocab_module.RULE_DISCARD, "b": vocab_module.RULE_KEEP}
    model = Word2Vec(corpus, min_count=2, epochs=1, progress=False,
                     trim_rule=lambda w, c, m: rule.get(w, vocab_module.RULE_DEFAULT))
    assert model.wv.index_to_key == ["c", "b"]
    with pytest.raises(ValueError, match="trim_rule returned True for word"):
        Word2Vec(corpus, min_count=1, progress=False, trim_rule=lambda w, c, m: True)
    with pytest.raises(TypeError, match="trim_rule must be a function"):
        Word2Vec(corpus, trim_rule=2)
    with pytest.raises(ValueError, match="trim_rule discarded every word"):
        Word2Vec(corpus, min_count=1, progress=False, trim_rule=lambda w, c, m: vocab_module.RULE_DISCARD)
    # during max_vocab_size pruning too: a kept word survives although it was seen once
    counts = count_words([["a", "b", "c"], ["a", "d", "e"], ["f", "a"]], max_vocab_size=4,
                         trim_rule=lambda w, c, m: vocab_module.RULE_KEEP if w == "e" else vocab_module.RULE_DEFAULT)
    assert dict(counts.counter) == {"a": 3, "e": 1, "f": 1}


@pytest.mark.parametrize("kwargs, match", [
    (dict(max_final_vocab=0), "max_final_vocab"),
    (dict(max_final_vocab=2.5), "max_final_vocab"),
    (dict(shrink_windows="no"), "shrink_windows"),
])
def test_bad_vocabulary_options_fail_before_work(kwargs, match):
    class Exploding:
        def __iter__(self):
            raise AssertionError("the corpus was read")

    with pytest.raises(ValueError, match=match):
        Word2Vec(Exploding(), **kwargs)


# --------------------------------------------------------------- lockf, windows, prediction
def test_vectors_lockf_freezes_and_scales_rows():
    corpus, _ = topic_corpus(sentences=200)
    kw = dict(vector_size=6, min_count=1, epochs=1, seed=2, progress=False)
    model = Word2Vec(**kw).build_vocab(corpus)
    start = model.wv.vectors.copy()
    model.wv.vectors_lockf[:5] = 0.0
    model.train()
    np.testing.assert_array_equal(model.wv.vectors[:5], start[:5])     # frozen rows: not one bit moved
    assert (np.abs(model.wv.vectors[5:] - start[5:]).max(axis=1) > 1e-5).all()
    assert model.syn1neg[:5].any()                                     # their output rows still train
    one = Word2Vec(**kw).build_vocab(corpus)
    one.wv.vectors_lockf = np.ones(1, np.float32)                      # gensim's default: one entry for all
    plain = Word2Vec(corpus, **kw)
    one.train()
    np.testing.assert_array_equal(one.wv.vectors, plain.wv.vectors)
    for bad, match in ((np.ones(3), "length 1 or 32"), (np.full(32, np.nan), "finite"), (None, "removed")):
        m = Word2Vec(**kw).build_vocab(corpus)
        m.wv.vectors_lockf = bad
        with pytest.raises(ValueError, match=match):
            m.train()
    m = Word2Vec(**kw, implementation="numpy").build_vocab(corpus)
    m.wv.vectors_lockf[0] = 0.0
    with pytest.raises(ValueError, match="vectors_lockf"):
        m.train()


def test_predict_output_word_is_a_softmax_of_the_output_table():
    corpus, topics = topic_corpus(sentences=400)
    model = Word2Vec(corpus, vector_size=8, min_count=1, epochs=2, sg=1, seed=3, sample=0, progress=False)
    got = model.predict_output_word(["t1w0", "t1w3"], topn=5)
    rows = [model.wv.get_index("t1w0"), model.wv.get_index("t1w3")]
    h = model.wv.vectors[rows].astype(np.float64).mean(axis=0)        # cbow_mean=1: the mean
    scores = model.syn1neg.astype(np.float64) @ h
    p = np.exp(scores) / np.exp(scores).sum()
    best = np.argsort(-p)[:5]
    assert [w for w, _ in got] == [model.wv.index_to_key[i] for i in best]
    np.testing.assert_allclose([q for _, q in got], p[best], rtol=1e-12)
    assert all(w in topics[1] for w, _ in got[:3])                    # and it learned the topic
    everything = model.predict_output_word([rows[0], "t1w3"], topn=None)  # indices work as words
    assert len(everything) == 32 and sum(q for _, q in everything) == pytest.approx(1.0)
    with pytest.raises(KeyError, match="nope"):
        model.predict_output_word(["t1w0", "nope"])
    with pytest.raises(IndexError, match="99"):
        model.predict_output_word([99])
    with pytest.raises(ValueError, match="topn"):
        model.predict_output_word(["t1w0"], topn=0)
    with pytest.raises(ValueError, match="empty"):
        model.predict_output_word([])
    hs_only = Word2Vec(corpus, vector_size=4, min_count=1, epochs=1, hs=1, negative=0, progress=False)
    with pytest.raises(RuntimeError, match="negative sampling"):
        hs_only.predict_output_word(["t1w0"])


@needs_gensim
def test_predict_output_word_equals_gensims_on_the_same_tables():
    from gensim.models import Word2Vec as GensimWord2Vec

    corpus, _ = topic_corpus(sentences=300)
    ours = Word2Vec(corpus, vector_size=8, min_count=1, epochs=1, cbow_mean=0, progress=False)
    theirs = GensimWord2Vec(corpus, vector_size=8, min_count=1, epochs=1, cbow_mean=0, workers=1)
    for i, w in enumerate(ours.wv.index_to_key):  # give gensim our tables, row by row
        theirs.wv.vectors[theirs.wv.get_index(w)] = ours.wv.vectors[i]
        theirs.syn1neg[theirs.wv.get_index(w)] = ours.syn1neg[i]
    a = ours.predict_output_word(["t2w1", "t2w5", "t3w0"], topn=6)
    b = theirs.predict_output_word(["t2w1", "t2w5", "t3w0"], topn=6)
    assert [w for w, _ in a] == [w for w, _ in b]
    np.testing.assert_allclose([p for _, p in a], [p for _, p in b], rtol=1e-4)


def test_a_run_saved_after_epoch_2_of_3_finishes_like_the_uninterrupted_run(tmp_path):
    corpus, _ = topic_corpus(sentences=300)
    path = tmp_path / "epoch2.npz"

    class SaveAfterTwo(Callback):
        def on_epoch_end(self, model):
            if len(model.loss_history) == 2:
                model.save(path)

    kw = dict(vector_size=8, min_count=1, sg=1, seed=4, alpha=0.05, min_alpha=0.001, progress=False)
    full = Word2Vec(corpus, epochs=3, callbacks=[SaveAfterTwo()], **kw)
    resumed = Word2Vec.load(path)
    resumed.train(corpus, epochs=1, start_alpha=0.05 - (0.05 - 0.001) * 2 / 3)
    # the same examples and noise words (the random numbers depend on the seed and epochs done) and the
    # same learning rates up to float64 rounding: the vectors agree to float32 rounding
    np.testing.assert_allclose(resumed.wv.vectors, full.wv.vectors, rtol=0, atol=1e-6)
    np.testing.assert_allclose(resumed.syn1neg, full.syn1neg, rtol=0, atol=1e-6)
    assert resumed.loss_history == pytest.approx(full.loss_history, rel=1e-9)
    assert np.abs(resumed.wv.vectors - Word2Vec.load(path).wv.vectors).max() > 1e-3  # epoch 3 did move them


@needs_gensim
@pytest.mark.parametrize("sample", [1e-3, 5.0])
def test_subsampling_thresholds_equal_gensims(sample):
    from gensim.models import Word2Vec as GensimWord2Vec

    corpus = zipf_corpus()
    ours = Word2Vec(vector_size=4, min_count=2, sample=sample, progress=False).build_vocab(corpus)
    theirs = GensimWord2Vec(vector_size=4, min_count=2, sample=sample, workers=1)
    theirs.build_vocab(corpus)
    for i, w in enumerate(ours.wv.index_to_key):  # gensim: 32-bit thresholds, ours: 31-bit
        assert ours.keep[i] / 2**31 == pytest.approx(theirs.wv.get_vecattr(w, "sample_int") / (2**32 - 1), abs=1e-6), w
    assert (ours.keep < 2**31).sum() >= 3  # some words are subsampled
