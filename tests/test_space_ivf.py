"""IVFIndex: exact when every list is probed, recall floors, the kernel against its NumPy reference,
ids, add after training, delete/replace, filters, files and bad input."""
import numpy as np
import pytest

from minembed.kernels import ivf as ik
from minembed.space import ExactIndex, IVFIndex


def recall(found, exact):
    return np.mean([len(set(a[a >= 0]) & set(b)) / len(b) for a, b in zip(found, exact, strict=True)])


def clustered(n, d, n_clusters, seed, spread=0.3):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d)).astype(np.float32)
    labels = rng.integers(0, n_clusters, n)
    return (centres[labels] + spread * rng.standard_normal((n, d))).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    x = clustered(3000, 16, 30, seed=0)
    q = clustered(150, 16, 30, seed=0)[:150] + 0.05
    return x, q.astype(np.float32)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "dot"])
def test_probing_every_list_is_exact_search(data, metric):
    x, q = data
    index = IVFIndex(x, nlist=16, metric=metric, seed=0)
    ids, scores = index.search(q, 10, nprobe=16)
    exact_ids, exact_scores = ExactIndex(x, metric).search(q, 10)
    np.testing.assert_allclose(scores, exact_scores, rtol=1e-4, atol=1e-4)
    assert recall(ids, exact_ids) >= 0.995  # ids differ only where two scores tie within rounding


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_recall_grows_with_nprobe_and_has_a_floor(data, metric):
    x, q = data
    index = IVFIndex(x, nlist=32, metric=metric, seed=1)
    exact = ExactIndex(x, metric).search(q, 10)[0]
    r1, r4, r8 = (recall(index.search(q, 10, nprobe=p)[0], exact) for p in (1, 4, 8))
    assert r1 <= r4 <= r8 and r1 < r8
    assert r8 >= 0.95


def test_lists_are_contiguous_voronoi_cells(data):
    x, _ = data
    index = IVFIndex(x, nlist=12, metric="euclidean", seed=2)
    assert index.list_sizes.sum() == 3000 and index._list_ptr[0] == 0
    d2 = ((index._data[:, None, :] - index.centroids[None]) ** 2).sum(-1)
    cells = np.repeat(np.arange(12), index.list_sizes)
    # every stored row sits in the list of its nearest centroid (up to float32 near-ties)
    assert (d2[np.arange(3000), cells] <= d2.min(1) + 1e-3).all()


def test_random_data_recall_floor():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2000, 8)).astype(np.float32)
    q = rng.standard_normal((100, 8)).astype(np.float32)
    index = IVFIndex(x, nlist=20, metric="euclidean", nprobe=8)
    assert recall(index.search(q, 10)[0], ExactIndex(x, "euclidean").search(q, 10)[0]) >= 0.9


@pytest.mark.parametrize("mode", [0, 2])
def test_kernel_equals_reference(data, mode):
    x, q = data
    index = IVFIndex(x, nlist=10, metric="euclidean" if mode == 2 else "dot")
    probe = index._quantizer().search(q, 10)[0]
    mask = (np.random.default_rng(0).random(len(index)) < 0.2).astype(np.uint8)
    for use in (False, True):
        rows_ref, keys_ref = ik.search_reference(q, index._data, index._aux, index._list_ptr, probe, 3, mode, 7,
                                                 mask if use else None)
        keys = np.full((len(q), 7), -np.inf, dtype=np.float32)
        rows = np.full((len(q), 7), -1, dtype=np.int64)
        ik.search_kernel(q, index._data, index._aux, index._list_ptr, probe, 3, mode, mask, use, keys, rows)
        np.testing.assert_allclose(keys, keys_ref, rtol=1e-5, atol=1e-4)
        assert (rows == rows_ref).mean() >= 0.99


def test_add_after_training_and_ids(data):
    x, q = data
    index = IVFIndex(nlist=16, metric="cosine").train(x)
    assert len(index) == 0
    index.add(x[:1000], ids=np.arange(1000) + 5000)
    new = index.add(x[1000:])
    np.testing.assert_array_equal(new, np.arange(6000, 8000))
    ids = index.search(x[3], 1, nprobe=16)[0]
    assert ids[0] == 5003
    with pytest.raises(ValueError, match="train before adding"):
        index.train(x)


def test_delete_and_replace(data):
    x, q = data
    index = IVFIndex(x, nlist=16, metric="euclidean")
    exact = ExactIndex(x, "euclidean").search(q, 5)[0]
    gone = np.unique(exact[:, 0])
    index.delete(gone)
    assert len(index) == 3000 - gone.size and gone[0] not in index
    ids = index.search(q, 5, nprobe=16)[0]
    assert not np.isin(ids, gone).any()
    with pytest.raises(KeyError, match=f"id {gone[0]} is not in the index"):
        index.delete([gone[0]])
    index.replace([7], x[100][None] + 1e-3)
    assert set(index.search(x[100], 2, nprobe=16)[0]) == {7, 100}


def test_filters_and_selective_filters_still_give_k(data):
    x, q = data
    index = IVFIndex(x, nlist=30, metric="cosine", nprobe=2)
    allowed = np.arange(0, 3000, 97)                   # 31 items, spread over many lists
    ids, scores = index.search(q, 10, filter=allowed)
    assert (ids >= 0).all() and np.isin(ids, allowed).all()
    exact = allowed[ExactIndex(x[allowed], "cosine").search(q, 10)[0]]
    assert recall(ids, exact) >= 0.8
    ids2 = index.search(q, 5, filter=lambda i: i % 2 == 0)[0]
    assert (ids2 % 2 == 0).all()
    few, few_scores = index.search(q[:2], 4, filter=[1, 2])
    assert (few[:, 2:] == -1).all() and np.isneginf(few_scores[:, 2:]).all()
    with pytest.raises(ValueError, match="filter allows none"):
        index.search(q, 3, filter=np.zeros(3000, bool))


def test_save_load_and_foreign_files(tmp_path, data):
    x, q = data
    index = IVFIndex(x[:1000], nlist=8, metric="dot", nprobe=3)
    index.save(tmp_path / "ivf.npz")
    again = IVFIndex.load(tmp_path / "ivf.npz")
    for a, b in zip(index.search(q, 5), again.search(q, 5), strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.add(x[1000:1001])[0] == 1000
    from minembed.space import HNSWIndex

    HNSWIndex(x[:50], M=4).save(tmp_path / "h.npz")
    with pytest.raises(ValueError, match=r"h\.npz holds a HNSWIndex, not a IVFIndex"):
        IVFIndex.load(tmp_path / "h.npz")
    arrays = dict(np.load(tmp_path / "ivf.npz"))
    np.savez(tmp_path / "old.npz", **{**arrays, "version": np.array(0)})
    with pytest.raises(ValueError, match=r"old\.npz is a IVFIndex file of version 0"):
        IVFIndex.load(tmp_path / "old.npz")
    ptr = arrays["list_ptr"].copy()
    ptr[-1] += 5
    np.savez(tmp_path / "bad.npz", **{**arrays, "list_ptr": ptr})
    with pytest.raises(ValueError, match=r"bad\.npz: damaged IVF file"):
        IVFIndex.load(tmp_path / "bad.npz")


def test_bad_input(data):
    x, q = data
    index = IVFIndex(x[:500], nlist=8, metric="euclidean")
    with pytest.raises(ValueError, match="nprobe=9 is larger than the nlist=8 lists"):
        index.search(q, 5, nprobe=9)
    with pytest.raises(ValueError, match="nprobe=20 is larger than nlist=8"):
        IVFIndex(nlist=8, nprobe=20)
    with pytest.raises(ValueError, match="k must be >= 1, got -1"):
        index.search(q, -1)
    with pytest.raises(ValueError, match="k=501 is larger than the 500 items"):
        index.search(q, 501)
    with pytest.raises(ValueError, match="queries have dimension 15"):
        index.search(q[:, :15], 5)
    bad = q[:4].copy()
    bad[2, 0] = np.inf
    with pytest.raises(ValueError, match="queries contains NaN or infinite values in row 2"):
        index.search(bad, 5)
    with pytest.raises(ValueError, match="vectors contains NaN"):
        index.add(bad)
    assert len(index) == 500
    with pytest.raises(ValueError, match="not trained"):
        IVFIndex(nlist=4).add(x)
    with pytest.raises(ValueError, match="at least nlist=64 vectors"):
        IVFIndex(nlist=64).train(x[:10])
    with pytest.raises(KeyError, match="id 12345"):
        index.delete(12345)
