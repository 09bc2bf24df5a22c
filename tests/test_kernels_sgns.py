"""The fused word2vec kernel (kernels/sgns.py: train_chunks) against its plain-Python reference."""
import numpy as np
import pytest

from minembed.kernels import jit as jit_module
from minembed.kernels import sgns
from minembed.text import Word2Vec


def make_job(rng, sg, hs, negative, cbow_mean=True, v=40, dim=12, n_words=2500, window=4, sample=1e-2,
             shrink_windows=True):
    """A random corpus of Zipf-distributed ids in sentences of 0..30 words, cut into chunks, with
    every table built as Word2Vec builds it, a learning rate half way through its schedule, and
    a few rows frozen or slowed by ``lockf``."""
    ids = np.minimum(rng.zipf(1.4, size=n_words) - 1, v - 1).astype(np.int32)
    cuts = np.sort(rng.choice(np.arange(1, n_words), size=n_words // 15, replace=False))
    offsets = np.concatenate([[0], cuts, cuts[:3], [n_words]]).astype(np.int64)  # 3 empty sentences too
    offsets.sort()
    bounds = np.array([0, 20, 21, 90, len(offsets) - 1], dtype=np.int64)
    counts = np.bincount(ids, minlength=v) + 1
    cum = sgns.cum_table(counts)
    codes, points, lengths = sgns.huffman_tree(counts)
    sig, nlogsig = sgns.sigmoid_tables()
    syn0 = ((rng.random((v, dim)) - 0.5) / dim).astype(np.float32)
    syn1 = (rng.standard_normal((v - 1, dim)) * 0.1).astype(np.float32) if hs else np.zeros((0, dim), np.float32)
    syn1neg = (rng.standard_normal((v, dim)) * 0.1).astype(np.float32) if negative else np.zeros((0, dim), np.float32)
    lockf = np.ones(v, dtype=np.float32)
    lockf[[1, 7]], lockf[[2, 9]] = 0.0, 0.5
    return sgns.SGNSJob(
        ids=ids, offsets=offsets, bounds=bounds, seeds=rng.integers(0, 2**63, size=4, dtype=np.uint64),
        syn0=syn0, syn1=syn1, syn1neg=syn1neg, lockf=lockf,
        keep=sgns.keep_thresholds(counts, sample), cum=cum, guide=sgns.guide_table(cum), codes=codes, points=points,
        lengths=lengths, sig=sig, nlogsig=nlogsig, sg=bool(sg), cbow_mean=bool(cbow_mean), hs=bool(hs),
        negative=negative, window=window, shrink_windows=shrink_windows, alpha0=0.05, alpha1=0.0001,
        done_before=1000.0, total_words=2.0 * n_words)


def copy_job(job):
    return job._replace(syn0=job.syn0.copy(), syn1=job.syn1.copy(), syn1neg=job.syn1neg.copy())


SETTINGS = [dict(sg=1, hs=0, negative=5), dict(sg=0, hs=0, negative=5), dict(sg=1, hs=1, negative=0),
            dict(sg=0, hs=1, negative=0, cbow_mean=False), dict(sg=0, hs=1, negative=3),
            dict(sg=1, hs=0, negative=2, shrink_windows=False)]
IDS = ["sg-ns", "cbow-ns", "sg-hs", "cbow-sum-hs", "cbow-hs+ns", "sg-ns-full-windows"]


# with MINEMBED_JIT=0 the kernel runs as plain Python, where the LCG's intended uint64 wrap-around warns
@pytest.mark.filterwarnings("ignore:overflow encountered in scalar multiply:RuntimeWarning")
@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_kernel_equals_reference(rng, settings):
    job = make_job(rng, **settings)
    ker, ref = copy_job(job), copy_job(job)
    p_ker, p_ref = np.zeros(8, np.int64), np.zeros(8, np.int64)
    loss_k, n_k = sgns._train_chunks(sgns._checked(ker), sgns.job_gains(ker), 0, 4, 1, p_ker, 0)
    loss_r, n_r = sgns.train_chunks_reference(ref, 0, 4, p_ref)
    assert n_k == n_r > 1000                     # the same random numbers chose the same examples
    assert p_ker[0] == p_ref[0] == len(job.ids)
    assert loss_k == pytest.approx(loss_r, rel=1e-6)
    for name in ("syn0", "syn1", "syn1neg"):
        before, k, r = getattr(job, name), getattr(ker, name), getattr(ref, name)
        np.testing.assert_allclose(k, r, rtol=0, atol=1e-5, err_msg=name)  # seen: <= 1.2e-6
        assert before.size == 0 or np.abs(r - before).max() > 1e-2  # training moved it, far beyond rounding
    np.testing.assert_array_equal(ker.syn0[[1, 7]], job.syn0[[1, 7]])  # lockf 0: frozen


def test_reference_runs_only_the_chunks_asked_for(rng):
    job = make_job(rng, sg=1, hs=0, negative=2)
    whole, parts = copy_job(job), copy_job(job)
    loss, n = sgns.train_chunks_reference(whole)
    l1, n1 = sgns.train_chunks_reference(parts, 0, 2)
    l2, n2 = sgns.train_chunks_reference(parts, 2, 4)
    assert n1 + n2 == n and l1 + l2 == pytest.approx(loss, rel=1e-12)
    np.testing.assert_array_equal(whole.syn0, parts.syn0)  # each chunk has its own random stream


@pytest.mark.parametrize("settings", SETTINGS[:4], ids=IDS[:4])
def test_word2vec_epoch_with_minembed_jit_0_equals_kernel(monkeypatch, settings):
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)]
    corpus = [list(rng.choice(words, size=rng.integers(1, 15), p=np.arange(30, 0, -1) / 465)) for _ in range(200)]
    kw = dict(vector_size=10, window=3, min_count=1, sample=1e-2, epochs=1, seed=4, progress=False, **settings)
    kernel = Word2Vec(corpus, **kw)
    monkeypatch.setattr(jit_module, "_JIT", False)  # what MINEMBED_JIT=0 sets at import
    reference = Word2Vec(corpus, **kw)
    np.testing.assert_allclose(kernel.wv.vectors, reference.wv.vectors, rtol=0, atol=1e-5)
    assert kernel.loss_history == pytest.approx(reference.loss_history, rel=1e-6)


def test_full_windows_give_the_hand_counted_examples(rng):
    # skip-gram without subsampling: each kept word is the centre of one example per context word,
    # and with shrink_windows=False the context is every word within ``window`` in the sentence
    job = make_job(rng, sg=1, hs=0, negative=1, window=3, sample=0, shrink_windows=False)
    expected = 0
    for s in range(len(job.offsets) - 1):
        n = int(job.offsets[s + 1] - job.offsets[s])
        expected += sum(min(i, 3) + min(n - 1 - i, 3) for i in range(n))
    for train in (sgns.train_chunks, sgns.train_chunks_reference):
        assert train(copy_job(job))[1] == expected
    shrunk = sgns.train_chunks(copy_job(job._replace(shrink_windows=True)))[1]
    assert expected / 2 < shrunk < expected  # reduced windows: (window + 1) / 2 words a side on average


def test_job_prints_shapes_not_contents(rng):
    text = repr(make_job(rng, sg=1, hs=0, negative=5))
    assert text.startswith("SGNSJob(ids=int32[2500], offsets=int64[")
    assert "syn0=float32[40, 12]" in text and "negative=5" in text and "sg=True" in text


@pytest.mark.parametrize("change, error, match", [
    (dict(ids=np.array([0, 99], np.int32), offsets=np.array([0, 2], np.int64), bounds=np.array([0, 1], np.int64)),
     IndexError, "word ids"),
    (dict(ids=np.zeros(3, np.int64)), TypeError, "int32"),
    (dict(window=0), ValueError, "window"),
    (dict(negative=0, hs=False), ValueError, "hs or negative"),
    (dict(syn1neg=np.zeros((3, 12), np.float32)), ValueError, "too small"),
    (dict(syn0=np.zeros((40, 12), np.float64)), ValueError, "syn0"),
    (dict(total_words=0.0), ValueError, "total_words"),
    (dict(lockf=np.ones(3, np.float32)), ValueError, "lockf"),
    (dict(bounds=np.array([0, 5000], np.int64)), ValueError, "bounds"),
])
def test_bad_jobs_are_refused_before_the_kernel(rng, change, error, match):
    job = make_job(rng, sg=1, hs=0, negative=5)._replace(**change)
    with pytest.raises(error, match=match):
        sgns.train_chunks(job)


def test_bad_chunk_range_and_workers(rng):
    job = make_job(rng, sg=1, hs=0, negative=5)
    with pytest.raises(ValueError, match="chunk range"):
        sgns.train_chunks(job, 3, 9)
    with pytest.raises(ValueError, match="workers"):
        sgns.train_chunks(job, workers=0)
    with pytest.raises(TypeError, match="SGNSJob"):
        sgns.train_chunks(tuple(job))
