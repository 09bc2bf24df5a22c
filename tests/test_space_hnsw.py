"""HNSWIndex: recall against exact search, ids, add, delete/replace, filters, files, bad input."""
import numpy as np
import pytest

from minembed.space import ExactIndex, HNSWIndex


def recall(found, exact):
    return np.mean([len(set(a[a >= 0]) & set(b)) / len(b) for a, b in zip(found, exact, strict=True)])


def clustered(n, d, n_clusters, seed, spread=0.15):
    """Points around planted centres: the structure real embeddings have."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d)).astype(np.float32)
    labels = rng.integers(0, n_clusters, n)
    return (centres[labels] + spread * rng.standard_normal((n, d))).astype(np.float32), labels


@pytest.fixture(scope="module")
def gauss():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3000, 16)).astype(np.float32), rng.standard_normal((200, 16)).astype(np.float32)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "dot"])
def test_recall_floor_on_random_data(gauss, metric):
    x, q = gauss
    index = HNSWIndex(x, metric=metric, M=12, ef_construction=100, seed=0)
    exact, exact_scores = ExactIndex(x, metric).search(q, 10)
    ids, scores = index.search(q, 10, ef=100)
    assert recall(ids, exact) >= 0.95
    low = index.search(q, 10, ef=10)[0]
    assert recall(low, exact) < recall(ids, exact)  # ef is the speed/recall knob
    # the scores returned are the true scores of the ids returned
    hit = ids == exact
    np.testing.assert_allclose(scores[hit], exact_scores[hit], rtol=1e-4, atol=1e-4)
    if metric == "euclidean":
        assert (np.diff(scores, axis=1) >= 0).all()
    else:
        assert (np.diff(scores, axis=1) <= 0).all()


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_recall_floor_on_clustered_data(metric):
    x, _ = clustered(4000, 24, 40, seed=1)
    q, _ = clustered(200, 24, 40, seed=1)  # same centres (same seed), new noise draws differ by size
    q = q + 0.05 * np.random.default_rng(2).standard_normal(q.shape).astype(np.float32)
    index = HNSWIndex(x, metric=metric, M=16, ef_construction=100, seed=3)
    exact = ExactIndex(x, metric).search(q, 10)[0]
    assert recall(index.search(q, 10, ef=64)[0], exact) >= 0.97


def test_one_query_and_ids_given():
    x, _ = clustered(500, 8, 5, seed=4)
    ids = np.arange(500) * 10 + 7
    index = HNSWIndex(x, metric="euclidean", M=8, ef_construction=50, ids=ids)
    found, dist = index.search(x[42], 3)
    assert found.shape == (3,) and found[0] == 427 and dist[0] == pytest.approx(0.0, abs=1e-5)
    assert 427 in index and 428 not in index and len(index) == 500


def test_same_seed_same_graph_and_other_seed_other_levels():
    x, _ = clustered(300, 8, 5, seed=5)
    a, b = HNSWIndex(x, M=4, seed=1), HNSWIndex(x, M=4, seed=1)
    c = HNSWIndex(x, M=4, seed=2)
    np.testing.assert_array_equal(a._links0, b._links0)
    assert not np.array_equal(a._levels, c._levels)


def test_levels_follow_the_geometric_law():
    # P(level >= l) = M^-l: with M = 4, about a quarter of the nodes reach layer 1
    x = np.random.default_rng(0).standard_normal((4000, 2)).astype(np.float32)
    index = HNSWIndex(x, M=4, ef_construction=8)
    share = (index._levels[:4000] >= 1).mean()
    assert 0.22 < share < 0.28


def test_add_after_build_keeps_recall_and_numbers_ids_on():
    x, _ = clustered(2000, 16, 20, seed=6)
    q = x[::20] + 0.01
    index = HNSWIndex(x[:1000], metric="cosine", M=12, ef_construction=80)
    new = index.add(x[1000:])
    np.testing.assert_array_equal(new, np.arange(1000, 2000))
    exact = ExactIndex(x, "cosine").search(q, 10)[0]
    assert recall(index.search(q, 10)[0], exact) >= 0.97


def test_delete_never_returns_deleted_and_still_gives_k(gauss):
    x, q = gauss
    index = HNSWIndex(x, metric="euclidean", M=12, ef_construction=80, max_deleted_fraction=0.9)
    exact = ExactIndex(x, "euclidean").search(q, 10)[0]
    gone = np.unique(exact[:, :3])  # the best hits of many queries
    index.delete(gone)
    assert len(index) == 3000 - gone.size
    ids = index.search(q, 10, ef=100)[0]
    assert not np.isin(ids, gone).any() and (ids >= 0).all()
    keep = np.setdiff1d(np.arange(3000), gone)
    exact_live = keep[ExactIndex(x[keep], "euclidean").search(q, 10)[0]]
    assert recall(ids, exact_live) >= 0.95
    with pytest.raises(KeyError, match="id 99999 is not in the index"):
        index.delete([99999])
    with pytest.raises(KeyError, match=f"id {gone[0]} is not in the index"):
        index.delete([gone[0]])  # already deleted


def test_too_many_deletions_rebuild_the_graph():
    x, _ = clustered(600, 8, 6, seed=7)
    index = HNSWIndex(x, metric="euclidean", M=8, ef_construction=40, max_deleted_fraction=0.5)
    index.delete(np.arange(0, 290))
    assert index._n == 600
    index.delete(np.arange(290, 310))      # now 310 of 600 marked: rebuilt from the 290 live ones
    assert index._n == 290 and index._n_deleted == 0 and len(index) == 290
    ids = index.search(x[400], 1)[0]
    assert ids[0] == 400                   # ids survive the rebuild
    assert index.add(x[:1])[0] == 600      # and new ids do not reuse old ones


def test_replace_moves_an_item():
    x, _ = clustered(500, 8, 5, seed=8)
    index = HNSWIndex(x, metric="euclidean", M=8, ef_construction=40)
    target = x[10] + 0.001
    index.replace([3], target[None])
    found = index.search(target, 2)[0]
    assert found[0] == 3 and 10 in found
    with pytest.raises(KeyError, match="id 777"):
        index.replace([777], target[None])
    with pytest.raises(ValueError, match="already in the index"):
        index.add(x[:1], ids=[3])


@pytest.mark.parametrize("kind", ["mask", "ids", "callable"])
def test_filters_return_only_allowed_items(gauss, kind):
    x, q = gauss
    index = HNSWIndex(x, metric="cosine", M=12, ef_construction=80)
    allowed = np.flatnonzero(np.arange(3000) % 5 == 0)        # 20%: the graph path
    filt = {"mask": np.arange(3000) % 5 == 0, "ids": allowed, "callable": lambda ids: ids % 5 == 0}[kind]
    ids, scores = index.search(q, 10, ef=64, filter=filt)
    assert np.isin(ids, allowed).all()
    exact = allowed[ExactIndex(x[allowed], "cosine").search(q, 10)[0]]
    assert recall(ids, exact) >= 0.93


def test_a_selective_filter_still_gives_k_exact_results(gauss):
    x, q = gauss
    index = HNSWIndex(x, metric="euclidean", M=8, ef_construction=40)
    allowed = np.arange(0, 3000, 100)                          # 30 items, 1%
    ids, dist = index.search(q, 10, filter=allowed)
    exact_ids, exact_d = ExactIndex(x[allowed], "euclidean").search(q, 10)
    np.testing.assert_array_equal(ids, allowed[exact_ids])
    np.testing.assert_allclose(dist, exact_d, rtol=1e-5)


def test_a_filter_allowing_fewer_than_k_pads_and_none_raises(gauss):
    x, q = gauss
    index = HNSWIndex(x[:500], metric="dot", M=8, ef_construction=40)
    ids, scores = index.search(q[:3], 5, filter=[4, 9])
    assert (ids[:, 2:] == -1).all() and np.isneginf(scores[:, 2:]).all()
    assert set(ids[0, :2]) == {4, 9}
    with pytest.raises(ValueError, match="filter allows none"):
        index.search(q, 5, filter=lambda ids: ids < 0)
    with pytest.raises(ValueError, match="bool array"):
        index.search(q, 5, filter=lambda ids: ids)


def test_save_and_load_give_the_same_answers(tmp_path, gauss):
    x, q = gauss
    index = HNSWIndex(x[:800], metric="cosine", M=8, ef_construction=40, seed=4)
    index.delete([5, 6])
    path = tmp_path / "h.npz"
    index.save(path)
    again = HNSWIndex.load(path)
    for a, b in zip(index.search(q, 5), again.search(q, 5), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(again) == 798 and 5 not in again
    # the same adds after a load build the same graph as without the round trip
    index.add(x[800:900])
    again.add(x[800:900])
    np.testing.assert_array_equal(index._links0[:900], again._links0[:900])


def test_load_refuses_other_files(tmp_path):
    x = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    path = tmp_path / "h.npz"
    HNSWIndex(x, M=4).save(path)
    data = dict(np.load(path))
    np.savez(tmp_path / "ivf.npz", **{**data, "format": np.array("minembed.IVFIndex")})
    with pytest.raises(ValueError, match=r"ivf\.npz holds a IVFIndex, not a HNSWIndex"):
        HNSWIndex.load(tmp_path / "ivf.npz")
    np.savez(tmp_path / "v2.npz", **{**data, "version": np.array(2)})
    with pytest.raises(ValueError, match=r"v2\.npz is a HNSWIndex file of version 2"):
        HNSWIndex.load(tmp_path / "v2.npz")
    np.savez(tmp_path / "plain.npz", vectors=x)
    with pytest.raises(ValueError, match=r"plain\.npz is not a minembed index file"):
        HNSWIndex.load(tmp_path / "plain.npz")
    links = data["links0"].copy()
    links[0, 0] = 10_000
    np.savez(tmp_path / "bad.npz", **{**data, "links0": links})
    with pytest.raises(ValueError, match=r"bad\.npz: damaged HNSW file: a link points outside"):
        HNSWIndex.load(tmp_path / "bad.npz")


def test_bad_input_is_refused_naming_the_problem():
    x = np.random.default_rng(0).standard_normal((100, 6)).astype(np.float32)
    index = HNSWIndex(x, M=4)
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        index.search(x[0], 0)
    with pytest.raises(ValueError, match="k=101 is larger than the 100 items"):
        index.search(x[0], 101)
    with pytest.raises(ValueError, match="queries have dimension 5, the index holds vectors of dimension 6"):
        index.search(x[:2, :5], 3)
    bad = x[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="queries contains NaN or infinite values in row 1"):
        index.search(bad, 3)
    with pytest.raises(ValueError, match="vectors contains NaN or infinite values in row 1"):
        index.add(bad)
    assert len(index) == 100  # the refused add changed nothing
    with pytest.raises(ValueError, match="ef must be >= 1"):
        index.search(x[0], 3, ef=0)
    with pytest.raises(ValueError, match="metric must be one of"):
        HNSWIndex(metric="manhattan")
    with pytest.raises(ValueError, match="M must be >= 2"):
        HNSWIndex(M=1)
    with pytest.raises(ValueError, match="the index is empty"):
        HNSWIndex().search(x[0], 1)


def test_layers_can_be_looked_at():
    x, _ = clustered(400, 2, 4, seed=9)
    index = HNSWIndex(x, metric="euclidean", M=4, ef_construction=20, ids=np.arange(400) + 1000)
    ids0, links0 = index.layer(0)
    assert ids0.size == 400 and links0.shape[1] == 2 and np.isin(links0, ids0).all()
    assert links0.shape[0] == index._count0[:400].sum()
    top_ids, _ = index.layer(index.max_level)
    assert top_ids.size >= 1 and np.isin(top_ids, ids0).all()
    ids1, links1 = index.layer(1)
    assert np.isin(links1, ids1).all() and ids1.size < ids0.size   # upper layers are sparser
    with pytest.raises(ValueError, match="level"):
        index.layer(index.max_level + 1)
