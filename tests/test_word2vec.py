"""Tokenizer, vocabulary, the skip-gram/CBOW kernels and Word2Vec."""
import numpy as np
import pytest

from minembed.kernels import sgns
from minembed.text import Callback, TokenizedLines, Vocab, Word2Vec, tokenize
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
def test_max_vocab_size_prunes_like_gensim():
    # counting "a b c" then "a d e": after sentence 2 there are 5 > 4 distinct words, so every
    # word seen <= 1 time (b, c, d, e) is dropped; min_reduce becomes 2
    counts = count_words([["a", "b", "c"], ["a", "d", "e"], ["f", "a"]], max_vocab_size=4)
    assert dict(counts.counter) == {"a": 3, "f": 1}
    assert counts.sentences == 3 and counts.tokens == 8
    assert Vocab.build([["x", "y", "x"]], max_vocab_size=None).words == ["x", "y"]


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
