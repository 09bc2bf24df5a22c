"""Co-occurrence counting (kernels/cooccur.py, text/cooccurrence.py) against the dict-of-pairs reference."""
import numpy as np
import pytest

from minembed.kernels import cooccur
from minembed.text.cooccurrence import Cooccurrence, count_cooccurrences
from minembed.text.vocab import EncodedCorpus


def random_corpus(rng, v=60, n_words=4000):
    """Zipf ids (frequent words have small ids, as in a real vocabulary) in sentences of 0..40 words."""
    ids = np.minimum(rng.zipf(1.3, size=n_words) - 1, v - 1).astype(np.int32)
    cuts = np.sort(rng.choice(np.arange(1, n_words), size=n_words // 20, replace=False))
    offsets = np.concatenate([[0], cuts, cuts[:2], [n_words]]).astype(np.int64)  # two empty sentences too
    offsets.sort()
    return EncodedCorpus(ids, offsets)


def as_dict(c: Cooccurrence):
    return {(int(a), int(b)): float(x) for a, b, x in zip(c.rows, c.cols, c.counts, strict=True)}


def reference(corpus, window, weighting=True):
    sentences = [corpus.ids[corpus.offsets[s]:corpus.offsets[s + 1]] for s in range(corpus.n_sentences)]
    return cooccur.cooccurrence_reference(sentences, window, weighting)


def assert_same(got: Cooccurrence, want: dict):
    got_d = as_dict(got)
    assert set(got_d) == set(want)
    keys = sorted(want)
    np.testing.assert_allclose([got_d[k] for k in keys], [want[k] for k in keys], rtol=1e-12)


def test_reference_by_hand():
    # "a b a" with window 2: (a,b) d=1 twice, (a,a) d=2 -> 1/2 twice (symmetric, so the diagonal doubles)
    got = cooccur.cooccurrence_reference([[0, 1, 0]], window=2)
    assert got == {(0, 1): 2.0, (1, 0): 2.0, (0, 0): 1.0}
    assert cooccur.cooccurrence_reference([[0, 1, 0]], window=1) == {(0, 1): 2.0, (1, 0): 2.0}
    # windows stop at sentence ends; no weighting counts 1 per pair
    assert cooccur.cooccurrence_reference([[0, 1], [2]], window=5, distance_weighting=False) == {(0, 1): 1, (1, 0): 1}
    assert cooccur.cooccurrence_reference([[0, 1, 2]], window=5) == {
        (0, 1): 1.0, (1, 0): 1.0, (1, 2): 1.0, (2, 1): 1.0, (0, 2): 0.5, (2, 0): 0.5}


@pytest.mark.parametrize("window", [1, 3, 10])
@pytest.mark.parametrize("max_product", [0, 40, 10**9])  # all sparse, mixed, all dense
def test_counts_equal_reference(rng, window, max_product):
    corpus = random_corpus(rng)
    words = [f"w{i}" for i in range(60)]
    got = count_cooccurrences(corpus, words, window, max_product=max_product, buffer_size=300)
    assert_same(got, reference(corpus, window))
    keys = got.rows.astype(np.int64) * 60 + got.cols
    assert np.all(np.diff(keys) > 0)                      # sorted, each pair once
    np.testing.assert_allclose(got.to_dense(), got.to_dense().T, rtol=1e-12)  # symmetric


def test_no_distance_weighting_counts_pairs(rng):
    corpus = random_corpus(rng, n_words=1500)
    got = count_cooccurrences(corpus, [f"w{i}" for i in range(60)], 4, distance_weighting=False, max_product=30,
                              buffer_size=64)
    assert_same(got, reference(corpus, 4, weighting=False))
    assert np.all(got.counts == np.round(got.counts))


def test_runs_spill_to_files_and_still_match(rng):
    corpus = random_corpus(rng, n_words=6000)
    words = [f"w{i}" for i in range(60)]
    got = count_cooccurrences(corpus, words, 5, memory=40_000 / 2**30, max_product=10, buffer_size=200)
    assert got.spilled_runs > 3  # the tiny budget pushed runs to temporary files
    assert_same(got, reference(corpus, 5))


def test_a_sentence_longer_than_the_buffer(rng):
    ids = np.minimum(rng.zipf(1.3, size=500) - 1, 59).astype(np.int32)
    corpus = EncodedCorpus(ids, np.array([0, 500], np.int64))
    got = count_cooccurrences(corpus, [f"w{i}" for i in range(60)], 6, max_product=5, buffer_size=10)
    assert_same(got, reference(corpus, 6))


def test_on_disk_corpus_and_text_corpus_give_the_same_counts(tmp_path):
    from minembed.text import Vocab

    text = ["the cat sat on the mat", "the dog sat", "a cat and a dog", "mat"]
    vocab = Vocab.build([s.split() for s in text])
    mem = vocab.encode_corpus([s.split() for s in text])
    disk = vocab.encode_corpus([s.split() for s in text], on_disk=True)
    a = count_cooccurrences(mem, vocab.words, 3)
    b = count_cooccurrences(disk, vocab.words, 3, max_product=0, buffer_size=4)
    disk.close()
    assert as_dict(a) == pytest.approx(as_dict(b))
    the, cat = vocab["the"], vocab["cat"]
    # "the cat" (d=1) in sentence 1; "cat ... the" (d=3: cat sat on the)
    assert as_dict(a)[(the, cat)] == pytest.approx(1 + 1 / 3)


def test_merge_runs_equals_reference(rng):
    ka = np.unique(rng.integers(0, 100, 40)).astype(np.int64)
    kb = np.unique(rng.integers(0, 100, 30)).astype(np.int64)
    va, vb = rng.random(len(ka)), rng.random(len(kb))
    k, v = cooccur.merge_runs(ka, va, kb, vb)
    rk, rv = cooccur.merge_runs_reference(ka, va, kb, vb)
    np.testing.assert_array_equal(k, rk)
    np.testing.assert_allclose(v, rv, rtol=1e-15)
    assert len(k) == len(set(ka) | set(kb))


def test_dense_layout_is_the_product_rule():
    row_start, row_len = cooccur.dense_layout(10, 12)
    for a in range(10):
        for b in range(10):
            assert (b < row_len[a]) == ((a + 1) * (b + 1) <= 12)
    assert row_start[-1] == row_len.sum()
    p = cooccur.max_product_for(10, 30)
    assert cooccur.dense_layout(10, p)[0][-1] <= 30 < cooccur.dense_layout(10, p + 1)[0][-1]


def test_count_block_refuses_bad_ids_before_writing():
    row_start, row_len = cooccur.dense_layout(5, 100)
    dense = np.zeros(row_start[-1])
    keys, vals = np.zeros(100, np.int64), np.zeros(100)
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        cooccur.count_block(np.array([0, 7], np.int32), np.array([0, 2]), 2, True, dense, row_start, row_len, keys,
                            vals)
    with pytest.raises(ValueError, match="buffer"):
        cooccur.count_block(np.array([0, 1, 2], np.int32), np.array([0, 3]), 2, True, dense, row_start, row_len,
                            keys[:2], vals[:2])
    assert not dense.any()


def test_save_load_round_trip_and_bad_files(tmp_path, rng):
    corpus = random_corpus(rng, n_words=800)
    c = count_cooccurrences(corpus, [f"w{i}" for i in range(60)], 3)
    c.word_counts = np.arange(1, 61, dtype=np.int64)
    c.save(tmp_path / "c.npz")
    back = Cooccurrence.load(tmp_path / "c.npz")
    assert back.words == c.words and back.window == 3 and back.distance_weighting
    for name in ("rows", "cols", "counts", "word_counts"):
        np.testing.assert_array_equal(getattr(back, name), getattr(c, name))
    # a file whose pairs are out of order, a negative count, or not an npz at all
    from minembed.io import save_npz

    meta = np.array('{"format": "minembed.Cooccurrence", "version": 1, "words": ["a", "b"], "window": 2}')
    save_npz(tmp_path / "bad.npz", meta=meta, rows=np.array([1, 0], np.int32), cols=np.array([0, 1], np.int32),
             counts=np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="bad.npz.*sorted"):
        Cooccurrence.load(tmp_path / "bad.npz")
    save_npz(tmp_path / "neg.npz", meta=meta, rows=np.array([0, 1], np.int32), cols=np.array([1, 0], np.int32),
             counts=np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="neg.npz.*> 0"):
        Cooccurrence.load(tmp_path / "neg.npz")
    (tmp_path / "x.npz").write_text("hello")
    with pytest.raises(ValueError, match="x.npz"):
        Cooccurrence.load(tmp_path / "x.npz")


def test_symmetric_entries_equals_reference(rng):
    v = 30
    dense = np.triu(rng.random((v, v)) * (rng.random((v, v)) < 0.2))
    keys = np.flatnonzero(dense).astype(np.int64)
    vals = dense.ravel()[keys]
    rows, cols, counts = cooccur.symmetric_entries(keys, vals, v)
    r2, c2, x2 = cooccur.symmetric_entries_reference(keys, vals, v)
    np.testing.assert_array_equal(rows, r2)
    np.testing.assert_array_equal(cols, c2)
    np.testing.assert_array_equal(counts, x2)
    full = np.zeros((v, v))
    full[rows, cols] = counts
    np.testing.assert_array_equal(full, dense + np.triu(dense, 1).T)
    with pytest.raises(ValueError, match="upper triangle"):
        cooccur.symmetric_entries(np.array([v + 0], np.int64), np.ones(1), v)  # (1, 0) is below the diagonal
