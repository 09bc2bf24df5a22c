"""The HNSW kernels against their plain-Python references (minembed.kernels.hnsw).

On vectors of small integers every distance is exact in float32, and ties are broken by node id in both
implementations, so the compiled insertion must build *the same graph* link for link, and the compiled
search must return the same ids and distances. On float data they agree on the search results.
"""
import numpy as np
import pytest

from minembed.kernels import hnsw as hk
from minembed.space import HNSWIndex


def _graph_arrays(index):
    n, r = index._n, index._n_up
    return {"links0": index._links0[:n], "count0": index._count0[:n], "links_up": index._links_up[:r],
            "count_up": index._count_up[:r], "state": index._state}


def _rebuild_with_reference(index):
    """The same nodes, levels and upper pointers as ``index``, linked by insert_reference from scratch."""
    n = index._n
    links0 = np.zeros_like(index._links0)
    count0 = np.zeros_like(index._count0)
    links_up = np.zeros_like(index._links_up)
    count_up = np.zeros_like(index._count_up)
    state = np.array([-1, 0], dtype=np.int64)
    metric = hk.L2 if index.metric == "euclidean" else hk.IP
    hk.insert_reference(index._data, 0, n, index._levels, links0, count0, index._upper_ptr, links_up, count_up,
                        state, index.M, index.ef_construction, metric)
    r = index._n_up
    return {"links0": links0[:n], "count0": count0[:n], "links_up": links_up[:r], "count_up": count_up[:r],
            "state": state}


def _integer_points(n, d, seed, low=-6, high=7):
    return np.random.default_rng(seed).integers(low, high, size=(n, d)).astype(np.float32)


@pytest.mark.parametrize("metric", ["euclidean", "dot"])
@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_builds_the_reference_graph(metric, seed):
    x = _integer_points(400, 6, seed)
    index = HNSWIndex(x, metric=metric, M=4, ef_construction=20, seed=seed)
    assert index.max_level >= 1  # upper layers are exercised, not only layer 0
    assert (index._count0[:400] == 8).any()  # some neighbour lists overflowed and were pruned
    built, ref = _graph_arrays(index), _rebuild_with_reference(index)
    for name in built:
        np.testing.assert_array_equal(built[name], ref[name], err_msg=name)


def test_graph_is_built_in_two_adds_like_in_one_call_of_the_reference():
    # adding in two batches inserts the same nodes in the same order: the reference over all nodes agrees
    x = _integer_points(300, 5, 3)
    index = HNSWIndex(x[:120], metric="euclidean", M=4, ef_construction=16, seed=2)
    index.add(x[120:])
    built, ref = _graph_arrays(index), _rebuild_with_reference(index)
    for name in built:
        np.testing.assert_array_equal(built[name], ref[name], err_msg=name)


@pytest.mark.parametrize("metric", ["euclidean", "dot"])
def test_search_kernel_equals_reference(metric):
    x = _integer_points(500, 6, 4)
    q = _integer_points(40, 6, 5)
    index = HNSWIndex(x, metric=metric, M=5, ef_construction=24, seed=0)
    m = hk.L2 if metric == "euclidean" else hk.IP
    graph = (index._links0, index._count0, index._upper_ptr, index._links_up, index._count_up)
    rng = np.random.default_rng(0)
    for mask in (None, rng.random(500) < 0.3):
        ref_ids, ref_d = hk.search_reference(index._data, q, 7, 12, index._levels, *graph, index._state, m, mask)
        ids = np.full((40, 7), -1, dtype=np.int64)
        d = np.full((40, 7), np.inf, dtype=np.float32)
        chunks = 3
        visited = np.zeros((chunks, index._data.shape[0]), dtype=np.int32)
        epoch = np.zeros(chunks, dtype=np.int64)
        use = mask is not None
        mk = (mask if use else np.ones(500, bool)).astype(np.uint8)
        hk.search_kernel(index._data, q, 7, 12, *graph, index._state, m, mk, use, visited, epoch, ids, d)
        np.testing.assert_array_equal(ids, ref_ids)
        np.testing.assert_array_equal(d, ref_d)
        if use:
            assert mask[ids[ids >= 0]].all()


def test_search_kernel_agrees_with_reference_on_float_data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((600, 12)).astype(np.float32)
    q = rng.standard_normal((30, 12)).astype(np.float32)
    index = HNSWIndex(x, metric="euclidean", M=6, ef_construction=30, seed=1)
    graph = (index._links0, index._count0, index._upper_ptr, index._links_up, index._count_up)
    ref_ids, ref_d = hk.search_reference(index._data, q, 5, 20, index._levels, *graph, index._state, hk.L2)
    ids, d = index.search(q, 5, ef=20)
    # ids equal except where two distances are within float32 rounding of each other
    same = (ids == ref_ids).mean()
    assert same >= 0.98
    np.testing.assert_allclose(d ** 2, ref_d, rtol=1e-4, atol=1e-4)


def test_epoch_tags_survive_many_searches_and_a_wrap():
    x = _integer_points(200, 4, 8)
    index = HNSWIndex(x, metric="euclidean", M=4, ef_construction=16, seed=0)
    q = _integer_points(10, 4, 9)
    first = index.search(q, 5)
    if index._epoch is not None:  # the kernel path: jump the epoch to just before the wrap-around
        index._epoch[:] = hk._EPOCH_LIMIT - 3
    for _ in range(3):
        again = index.search(q, 5)
        np.testing.assert_array_equal(again[0], first[0])
