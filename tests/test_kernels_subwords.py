"""fastText's n-gram hashing (kernels/subwords.py) and the SGNS kernel with subword bags (kernels/sgns.py)."""
import numpy as np
import pytest

from minembed.kernels import sgns
from minembed.kernels import subwords as sw


# ---------------------------------------------------------------------------- hashing
def fnv1a_by_hand(data: bytes) -> int:
    """FNV-1a written out from its definition, with fastText's signed chars: byte b >= 128 is b - 256,
    which as a 32-bit unsigned number is 2**32 + b - 256."""
    h = 2166136261
    for b in data:
        signed = b - 256 if b >= 128 else b
        h = ((h ^ (signed % 2**32)) * 16777619) % 2**32
    return h


def test_fnv1a_published_vectors_for_ascii():
    # the published 32-bit FNV-1a test vectors (ASCII: the sign of a char does not matter)
    assert sw.ft_hash(b"") == 0x811C9DC5
    assert sw.ft_hash(b"a") == 0xE40C292C
    assert sw.ft_hash(b"foobar") == 0xBF9CF968


def test_bytes_above_127_are_sign_extended_like_a_c_char():
    data = "é".encode()  # c3 a9
    expected = (((2166136261 ^ 0xFFFFFFC3) * 16777619 % 2**32) ^ 0xFFFFFFA9) * 16777619 % 2**32
    assert sw.ft_hash(data) == expected == fnv1a_by_hand(data)
    # the unsigned reading would give another value: the sign extension is what makes files interoperate
    unsigned = (((2166136261 ^ 0xC3) * 16777619 % 2**32) ^ 0xA9) * 16777619 % 2**32
    assert sw.ft_hash(data) != unsigned


def test_char_ngrams_by_hand():
    assert sw.char_ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    assert sw.char_ngrams("ab", 3, 6) == ["<ab", "<ab>", "ab>"]
    assert sw.char_ngrams("été", 5, 5) == ["<été>"]            # characters, not bytes
    assert sw.char_ngrams("ab", 1, 1) == ["a", "b"]            # a lone '<' or '>' is never an n-gram
    assert sw.char_ngrams("a", 3, 6) == ["<a>"]
    assert sw.char_ngrams("", 3, 6) == []
    assert sw.char_ngrams("banana", 3, 3).count("ana") == 2    # listed twice, as fastText does


WORDS = ["where", "été", "naïve", "a", "", "日本語", "banana", "x" * 30, "ab", "Ünïcödé-wörds", "e\u0301"]


@pytest.mark.parametrize("min_n, max_n, bucket", [(3, 6, 2_000_000), (1, 3, 1000), (2, 2, 7), (4, 3, 10)])
def test_kernel_equals_reference_and_hand_hashes(min_n, max_n, bucket):
    off_r, ids_r = sw.ngram_buckets_reference(WORDS, min_n, max_n, bucket)
    off_k, ids_k = sw.ngram_buckets(WORDS, min_n, max_n, bucket)
    np.testing.assert_array_equal(off_k, off_r)
    np.testing.assert_array_equal(ids_k, ids_r)
    for i, w in enumerate(WORDS):
        by_hand = [fnv1a_by_hand(g.encode()) % bucket for g in sw.char_ngrams(w, min_n, max_n)]
        assert ids_k[off_k[i]:off_k[i + 1]].tolist() == by_hand


@pytest.mark.parametrize("min_n, max_n", [(3, 6), (1, 4), (5, 5)])
def test_hashes_equal_gensims(min_n, max_n):
    fasttext = pytest.importorskip("gensim.models.fasttext")
    offsets, ids = sw.ngram_buckets(WORDS, min_n, max_n, 2_000_000)
    for i, w in enumerate(WORDS):
        assert ids[offsets[i]:offsets[i + 1]].tolist() == fasttext.ft_ngram_hashes(w, min_n, max_n, 2_000_000), w


def test_hashes_equal_facebooks():
    # Facebook's own library: the row of an n-gram in its input matrix is nwords + bucket id
    fasttext = pytest.importorskip("fasttext")
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c.txt")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(("où été naïve where banana the cat " * 50 + "\n") * 4)
        model = fasttext.train_unsupervised(path, model="skipgram", dim=4, epoch=1, minCount=1, bucket=1000,
                                            minn=3, maxn=6, thread=1, verbose=0)
    nwords = len(model.words)
    for w in ["été", "unseenwörd", "banana", "xy"]:
        _, rows = model.get_subwords(w)
        ours = sw.ngram_buckets([w], 3, 6, 1000)[1]
        fb = [int(r) - nwords for r in rows if r >= nwords]  # rows below nwords are words (the word's own row)
        assert sorted(fb) == sorted(ours.tolist()), w


def test_bad_settings():
    with pytest.raises(ValueError, match="bucket"):
        sw.ngram_buckets(["a"], 3, 6, 0)
    with pytest.raises(ValueError, match="min_n"):
        sw.ngram_buckets(["a"], -1, 6, 10)
    with pytest.raises(ValueError, match="bucket"):
        sw.ngram_buckets(["a"], 3, 6, 2**31)


def test_compose_vectors_kernel_equals_reference(rng):
    table = rng.standard_normal((50, 6)).astype(np.float32)
    words = rng.standard_normal((4, 6)).astype(np.float32)
    offsets = np.array([0, 3, 3, 4, 9])
    ids = rng.integers(0, 50, size=9)
    ref = sw.compose_vectors_reference(words, table, offsets, ids)
    np.testing.assert_allclose(sw.compose_vectors(words, table, offsets, ids), ref, rtol=1e-6)
    np.testing.assert_allclose(ref[0], (words[0] + table[ids[:3]].sum(0)) / 4, rtol=1e-5)
    np.testing.assert_array_equal(ref[1], words[1])                       # a word with no n-grams
    oov = sw.compose_vectors(None, table, offsets, ids)
    np.testing.assert_allclose(oov[3], table[ids[4:9]].mean(0), rtol=1e-5)
    assert not oov[1].any()
    with pytest.raises(IndexError):
        sw.compose_vectors(words, table, offsets, np.array([0, 1, 2, 3, 50, 0, 0, 0, 0]))


# ---------------------------------------------------------------- the SGNS kernel with bags
def bag_job(rng, sg, hs, negative, cbow_mean=True, v=30, buckets=40, dim=10, n_words=2000, window=3, sample=1e-2,
            alpha0=0.05, alpha1=0.0001, ids=None, offsets=None):
    """A random Zipf corpus and random bags: word w's rows are [w] + 0..5 bucket rows (V + b)."""
    if ids is None:
        ids = np.minimum(rng.zipf(1.4, size=n_words) - 1, v - 1).astype(np.int32)
        cuts = np.sort(rng.choice(np.arange(1, n_words), size=n_words // 12, replace=False))
        offsets = np.concatenate([[0], cuts, [n_words]]).astype(np.int64)
    n_words = len(ids)
    counts = np.bincount(ids, minlength=v) + 1
    sizes = rng.integers(0, 6, size=v)
    bag_offsets = np.concatenate([[0], np.cumsum(sizes + 1)]).astype(np.int64)
    bag_ids = np.concatenate([np.concatenate([[w], v + rng.integers(0, buckets, size=s)])
                              for w, s in enumerate(sizes)]).astype(np.int32)
    cum = sgns.cum_table(counts)
    codes, points, lengths = sgns.huffman_tree(counts)
    sig, nlogsig = sgns.sigmoid_tables()
    syn0 = (rng.standard_normal((v + buckets, dim)) * 0.3).astype(np.float32)
    syn1 = (rng.standard_normal((v - 1, dim)) * 0.3).astype(np.float32) if hs else np.zeros((0, dim), np.float32)
    syn1neg = (rng.standard_normal((v, dim)) * 0.3).astype(np.float32) if negative else np.zeros((0, dim), np.float32)
    lockf = np.ones(v + buckets, dtype=np.float32)
    lockf[[3, v + 5]] = 0.0
    bounds = np.array([0, len(offsets) // 3, len(offsets) - 1], dtype=np.int64)
    return sgns.SGNSJob(
        ids=ids, offsets=offsets, bounds=bounds, seeds=rng.integers(0, 2**63, size=2, dtype=np.uint64),
        syn0=syn0, syn1=syn1, syn1neg=syn1neg, lockf=lockf, keep=sgns.keep_thresholds(counts, sample), cum=cum,
        guide=sgns.guide_table(cum), codes=codes, points=points, lengths=lengths, sig=sig, nlogsig=nlogsig,
        sg=bool(sg), cbow_mean=bool(cbow_mean), hs=bool(hs), negative=negative, window=window, shrink_windows=True,
        alpha0=alpha0, alpha1=alpha1, done_before=0.0, total_words=float(n_words),
        sub_offsets=bag_offsets, sub_ids=bag_ids)


def copy_job(job):
    return job._replace(syn0=job.syn0.copy(), syn1=job.syn1.copy(), syn1neg=job.syn1neg.copy())


@pytest.mark.filterwarnings("ignore:overflow encountered in scalar multiply:RuntimeWarning")
@pytest.mark.parametrize("settings", [dict(sg=1, hs=0, negative=5), dict(sg=0, hs=0, negative=5),
                                      dict(sg=1, hs=1, negative=2), dict(sg=0, hs=1, negative=0, cbow_mean=False)],
                         ids=["sg-ns", "cbow-ns", "sg-hs+ns", "cbow-sum-hs"])
def test_kernel_with_bags_equals_reference(rng, settings):
    job = bag_job(rng, **settings)
    ker, ref = copy_job(job), copy_job(job)
    loss_k, n_k = sgns.train_chunks(ker, workers=1)
    loss_r, n_r = sgns.train_chunks_reference(sgns._checked(ref))
    assert n_k == n_r > 500
    assert loss_k == pytest.approx(loss_r, rel=1e-5)
    for name in ("syn0", "syn1", "syn1neg"):
        np.testing.assert_allclose(getattr(ker, name), getattr(ref, name), atol=2e-5, err_msg=name)
    # frozen rows (lockf 0) did not move; bucket rows that some bag holds did
    np.testing.assert_array_equal(ker.syn0[[3, 35]], job.syn0[[3, 35]])
    used = np.unique(job.sub_ids[job.sub_ids >= 30])
    assert (np.abs(ker.syn0[used] - job.syn0[used]).max(axis=1) > 0).sum() >= len(used) - 1


def _loss64(syn0, out, bag, targets, labels):
    """The loss of one example in float64, from its definition: h = mean of the bag's rows."""
    h = syn0[bag].astype(np.float64).mean(axis=0)
    x = out[targets].astype(np.float64) @ h
    return float(np.sum(np.logaddexp(0.0, np.where(labels > 0, -x, x))))


def _num_grad(f, a, eps=1e-6):
    g = np.zeros(a.shape)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        up = f(a)
        a[idx] = old - eps
        down = f(a)
        a[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("use_kernel", [False, True], ids=["reference", "kernel"])
def test_steps_follow_the_gradient(rng, use_kernel):
    """Skip-gram with hierarchical softmax (deterministic targets) on the sentence [0, 1, 2], window 2:
    each centre's bag predicts the other two words in turn (fastText's order). Each step moves the
    output rows by -alpha dL/dout and every bag row by -alpha * n * dL/drow = -alpha * (times the row is
    in the bag) * dL/dh (fastText gives each entry the whole gradient of h). Word 0's bag holds bucket
    row 6 twice (two n-grams in one bucket), word 2 is only its own row. Derivatives by central
    differences of the float64 loss, steps replayed in float64 one pair at a time: the kernel, which
    averages a bag once per centre and updates its rows once per window, must land on the same values."""
    alpha = 0.05
    job = bag_job(rng, sg=1, hs=1, negative=0, v=6, buckets=8, dim=5, window=2, sample=0, alpha0=alpha,
                  alpha1=alpha, ids=np.array([0, 1, 2], np.int32), offsets=np.array([0, 3], np.int64))
    bags = [[0, 6, 7, 6], [1, 8, 9], [2], [3, 10], [4], [5, 11, 12, 13]]
    job = job._replace(bounds=np.array([0, 1], np.int64), seeds=job.seeds[:1], lockf=np.ones_like(job.lockf),
                       shrink_windows=False, sub_offsets=np.cumsum([0] + [len(b) for b in bags]).astype(np.int64),
                       sub_ids=np.concatenate(bags).astype(np.int32))
    run = copy_job(job)
    if use_kernel:
        sgns.train_chunks(run)
    else:
        sgns.train_chunks_reference(sgns._checked(run))
    s0, s1 = job.syn0.astype(np.float64), job.syn1.astype(np.float64)
    for centre, target in ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)):
        bag = bags[centre]
        t = job.points[target, :job.lengths[target]]
        lab = 1 - job.codes[target, :job.lengths[target]].astype(np.float64)
        g0 = _num_grad(lambda a, s1=s1, b=bag, t=t, lab=lab: _loss64(a, s1, b, t, lab), s0.copy())
        g1 = _num_grad(lambda a, s0=s0, b=bag, t=t, lab=lab: _loss64(s0, a, b, t, lab), s1.copy())
        assert np.abs(g0).max() > 1e-3 and np.abs(g1).max() > 1e-3    # the step does something
        s1 = s1 - alpha * g1
        s0 = s0 - alpha * len(bag) * g0
    np.testing.assert_allclose(run.syn0, s0, atol=2e-6)
    np.testing.assert_allclose(run.syn1, s1, atol=2e-6)
    assert not np.allclose(s0[6], job.syn0[6])


def test_bag_gains_count_repeated_and_frozen_rows():
    """gain = (1/n) sum over the bag's entries of lockf[row] * (times the row is in the bag), by hand."""
    offsets = np.array([0, 3, 7, 8], np.int64)
    ids = np.array([0, 5, 6, 1, 5, 5, 7, 2], np.int32)
    lockf = np.ones(8, np.float32)
    lockf[6] = 0.0
    gains = sgns._bag_gains(offsets, ids, lockf)
    np.testing.assert_allclose(gains, [2 / 3, (1 + 2 + 2 + 1) / 4, 1.0], rtol=1e-6)


def test_bags_are_checked_before_the_kernel(rng):
    job = bag_job(rng, sg=1, hs=0, negative=2)
    with pytest.raises(IndexError, match="sub_ids"):
        sgns.train_chunks(job._replace(sub_ids=job.sub_ids + np.int32(100)))
    bad = job.sub_offsets.copy()
    bad[2] = bad[1]
    with pytest.raises(ValueError, match="at least one row"):
        sgns.train_chunks(job._replace(sub_offsets=bad))
    with pytest.raises(TypeError, match="int64"):
        sgns.train_chunks(job._replace(sub_offsets=job.sub_offsets.astype(np.int32)))
