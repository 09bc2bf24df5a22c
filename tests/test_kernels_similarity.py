"""The blocked top-k kernel against its NumPy reference (full score matrix + argpartition)."""
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minembed.kernels import similarity as ks
from minembed.kernels.jit import jit_enabled


def _prep(queries, metric):
    if metric == "cosine":
        n = np.linalg.norm(queries, axis=1, keepdims=True)
        queries = queries / np.where(n > 0, n, 1)
    return np.ascontiguousarray(queries, dtype=np.float32)


def _run(queries, database, k, metric, exclude=None, budget=ks.BLOCK_BUDGET):
    ptr = ids = None
    if exclude is not None:
        ptr, ids = ks.exclude_to_csr(exclude, queries.shape[0])
    return ks.topk_blocked(_prep(queries, metric), database, k, metric, exclude_ptr=ptr, exclude_ids=ids,
                           block_budget=budget)


def _all_keys(queries, database, metric):
    """Reference scores of every pair, float64, larger = better."""
    q, d = queries.astype(np.float64), database.astype(np.float64)
    if metric == "cosine":
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-300)
        d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-300)
    if metric == "euclidean":
        return -np.sqrt(((q[:, None, :] - d[None, :, :]) ** 2).sum(-1))
    return q @ d.T


def assert_same_topk(got, ref, keys, tol):
    """Equal, except that two places may hold different rows whose exact scores tie within tol."""
    gi, gs = got
    ri, rs = ref
    assert gi.shape == ri.shape and gs.shape == rs.shape and gi.dtype == np.int64 and gs.dtype == np.float32
    np.testing.assert_allclose(gs, rs, atol=tol, rtol=0)
    diff = np.argwhere(gi != ri)
    for r, c in diff:
        assert gi[r, c] >= 0 and ri[r, c] >= 0, (r, c)
        assert abs(keys[r, gi[r, c]] - keys[r, ri[r, c]]) <= tol, (r, c, gi[r, c], ri[r, c])
    for r in range(gi.shape[0]):  # every row returned at most once
        valid = gi[r][gi[r] >= 0]
        assert len(set(valid.tolist())) == valid.size


@pytest.mark.parametrize("metric", ks.METRICS)
@pytest.mark.parametrize("q,m,d,k,budget", [
    (1, 1, 1, 1, ks.BLOCK_BUDGET), (5, 300, 7, 10, 600), (37, 1000, 16, 5, 3000), (300, 2000, 32, 50, 70_000),
    (3, 100, 8, 100, 256), (600, 700, 24, 3, ks.BLOCK_BUDGET), (2000, 1500, 8, 1, 1 << 18),
])
def test_kernel_matches_reference_on_random_data(rng, metric, q, m, d, k, budget):
    queries = rng.standard_normal((q, d)).astype(np.float32)
    database = rng.standard_normal((m, d)).astype(np.float32)
    got = _run(queries, database, k, metric, budget=budget)
    ref = ks.topk_reference(queries, database, k, metric)
    assert_same_topk(got, ref, _all_keys(queries, database, metric), tol=2e-5 * (1 + 3 * (metric == "euclidean")))
    if metric != "euclidean":  # best first
        assert np.all(np.diff(got[1], axis=1) <= 0)
    else:
        assert np.all(np.diff(got[1], axis=1) >= 0)


@pytest.mark.parametrize("metric", ["dot", "euclidean"])
@pytest.mark.parametrize("budget", [256, 5000, ks.BLOCK_BUDGET])
def test_exact_ties_broken_by_lower_index(rng, metric, budget):
    # Small integers: every product is exact in float32, so scores tie exactly and often.
    queries = rng.integers(-2, 3, (40, 4)).astype(np.float32)
    database = rng.integers(-2, 3, (900, 4)).astype(np.float32)
    got = _run(queries, database, 25, metric, budget=budget)
    ref = ks.topk_reference(queries, database, 25, metric)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    # Hand oracle: a stable sort of the exact scores gives the same order.
    keys = _all_keys(queries, database, metric)
    np.testing.assert_array_equal(got[0], np.argsort(-keys, axis=1, kind="stable")[:, :25])


def test_duplicated_rows_come_out_in_index_order(rng):
    base = rng.standard_normal((50, 12)).astype(np.float32)
    database = np.concatenate([base, base, base])  # rows i, i+50, i+100 are equal
    queries = base[:20] + 0.01 * rng.standard_normal((20, 12)).astype(np.float32)
    for metric in ("cosine", "euclidean"):  # (with dot a longer row can beat the nearest one)
        idx, scores = _run(queries, database, 3, metric, budget=300)
        np.testing.assert_array_equal(idx, np.arange(20)[:, None] + np.array([0, 50, 100]))
        assert np.all(scores[:, 0] == scores[:, 1]) and np.all(scores[:, 1] == scores[:, 2])


@pytest.mark.parametrize("metric", ks.METRICS)
def test_k_larger_than_database_zero_and_empty(rng, metric):
    queries = rng.standard_normal((4, 6)).astype(np.float32)
    database = rng.standard_normal((7, 6)).astype(np.float32)
    idx, scores = _run(queries, database, 50, metric)
    assert idx.shape == (4, 7)
    assert (np.sort(idx, axis=1) == np.arange(7)).all()
    ref = ks.topk_reference(queries, database, 50, metric)
    assert_same_topk((idx, scores), ref, _all_keys(queries, database, metric), 1e-5)
    idx, scores = _run(queries, database, 0, metric)
    assert idx.shape == scores.shape == (4, 0)
    empty = np.zeros((0, 6), np.float32)
    for got in (_run(queries, empty, 5, metric), ks.topk_reference(queries, empty, 5, metric)):
        assert got[0].shape == got[1].shape == (4, 0)
    assert _run(np.zeros((0, 6), np.float32), database, 3, metric)[0].shape == (0, 3)


@pytest.mark.parametrize("metric", ks.METRICS)
def test_exclude_matches_reference_and_pads(rng, metric):
    queries = rng.standard_normal((30, 10)).astype(np.float32)
    database = rng.standard_normal((400, 10)).astype(np.float32)
    exclude = [rng.choice(400, size=rng.integers(0, 20), replace=False) for _ in range(30)]
    got = _run(queries, database, 8, metric, exclude=exclude, budget=1000)
    ref = ks.topk_reference(queries, database, 8, metric, exclude)
    assert_same_topk(got, ref, _all_keys(queries, database, metric), 1e-4)
    for r in range(30):
        assert not set(got[0][r].tolist()) & set(exclude[r].tolist())
    # Excluding all but two rows: the rest is padding.
    small = database[:5]
    idx, scores = _run(queries[:2], small, 4, metric, exclude=[[0, 1, 2], [4, 3, 2]])
    assert (idx[:, 2:] == -1).all()
    assert np.all(scores[:, 2:] == (np.inf if metric == "euclidean" else -np.inf))
    assert set(idx[0, :2].tolist()) == {3, 4} and set(idx[1, :2].tolist()) == {0, 1}


def test_exclude_formats_and_bad_ids():
    ptr, ids = ks.exclude_to_csr(np.array([[3, -1], [-1, -1], [1, 2]]), 3)
    np.testing.assert_array_equal(ptr, [0, 1, 1, 3])
    np.testing.assert_array_equal(ids, [3, 1, 2])
    ptr, ids = ks.exclude_to_csr([[5], [], None], 3)
    np.testing.assert_array_equal(ptr, [0, 1, 1, 1])
    with pytest.raises(ValueError, match="entries for 2 queries"):
        ks.exclude_to_csr([[1]], 2)
    with pytest.raises(ValueError, match="integer"):
        ks.exclude_to_csr([[1.5]], 1)
    # in the (Q, E) array form -1 pads a row; -3 was silently dropped like a pad before
    with pytest.raises(ValueError, match=r"exclude\[1, 0\] = -3"):
        ks.exclude_to_csr(np.array([[3, -1], [-3, -1]]), 2)
    q = np.ones((1, 3), np.float32)
    with pytest.raises(IndexError, match="excluded id 9"):
        ks.topk_blocked(q, np.ones((4, 3), np.float32), 2, "dot", exclude_ptr=np.array([0, 1]),
                        exclude_ids=np.array([9]))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 6), st.integers(0, 40), st.integers(1, 5), st.integers(0, 45), st.sampled_from(ks.METRICS),
       st.integers(0, 2**32 - 1))
def test_property_against_sorted_definition(q, m, d, k, metric, seed):
    r = np.random.default_rng(seed)
    queries = r.integers(-3, 4, (q, d)).astype(np.float32)
    database = r.integers(-3, 4, (m, d)).astype(np.float32)
    idx, scores = _run(queries, database, k, metric, budget=256)
    kk = min(k, m)
    assert idx.shape == (q, kk)
    keys = _all_keys(queries, database, metric)
    for i in range(q):
        # Python's sort on (score desc, index asc): the definition, in one line. (Rounding the keys
        # here made near-ties 5e-5 apart into ties, and the test then wanted the lower index first.)
        expect = sorted(range(m), key=lambda j: (-keys[i, j], j))[:kk]
        assert [keys[i, j] for j in idx[i]] == pytest.approx([keys[i, j] for j in expect], abs=1e-5)
        if metric != "cosine":
            assert idx[i].tolist() == expect


def test_row_norms_find_non_finite_rows(rng):
    x = rng.standard_normal((50, 9)).astype(np.float32)
    norms, bad = ks.row_norms_checked(x)
    np.testing.assert_allclose(norms, np.linalg.norm(x.astype(np.float64), axis=1), rtol=1e-12)
    assert bad == -1
    x[17, 3] = np.nan
    x[30, 0] = np.inf
    assert ks.row_norms_checked(x)[1] == 17
    assert ks.row_norms_checked_reference(x)[1] == 17
    big = np.full((2, 4), 3e38, np.float32)  # finite, but its float32 squares overflow
    assert ks.row_norms_checked(big)[1] == -1


@pytest.mark.skipif(not jit_enabled(), reason="MINEMBED_JIT=0 runs the reference: full matrix by design")
def test_memory_stays_bounded_without_full_score_matrix(rng):
    queries = rng.standard_normal((400, 16)).astype(np.float32)
    database = rng.standard_normal((60_000, 16)).astype(np.float32)  # full matrix: 96 MB
    tracemalloc.start()
    idx, _ = ks.topk_blocked(queries, database, 10, "dot", block_budget=1 << 18)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4_000_000, f"peak {peak / 1e6:.1f} MB"
    ref_idx, _ = ks.topk_reference(queries[:20], database, 10, "dot")
    np.testing.assert_array_equal(idx[:20], ref_idx)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_cosmul_kernel_matches_reference(rng, monkeypatch, threads):
    # Several threads fold disjoint row ranges, each with its own scratch for the product terms.
    monkeypatch.setattr(ks, "get_num_threads", lambda: threads)
    monkeypatch.setattr(ks, "_MIN_ROWS_PER_THREAD", 64)
    vecs = rng.standard_normal((700, 20)).astype(np.float32)
    normed = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    pos = rng.integers(0, 700, (40, 2))
    neg = rng.integers(0, 700, (40, 1))
    exclude = np.concatenate([pos, neg], axis=1)
    ptr, ids = ks.exclude_to_csr(exclude, 40)
    idx, scores = ks.topk_cosmul(normed, pos, neg, 7, ptr, ids, block_budget=3000)
    keys = ks.cosmul_scores_reference(normed.astype(np.float64), pos, neg).astype(np.float64)
    for r in range(40):
        keys[r, exclude[r]] = -np.inf
    ref_idx = np.argsort(-keys, axis=1, kind="stable")[:, :7]
    ref = (ref_idx, np.take_along_axis(keys, ref_idx, 1).astype(np.float32))
    assert_same_topk((idx, scores), ref, keys, 1e-5)
    # One score by hand: gensim's most_similar_cosmul formula.
    j = idx[0, 0]
    c = lambda u: (1 + normed[j].astype(np.float64) @ normed[u]) / 2  # noqa: E731
    assert scores[0, 0] == pytest.approx(c(pos[0, 0]) * c(pos[0, 1]) / (c(neg[0, 0]) + 1e-6), rel=1e-5)


def test_split_search_restores_the_blas_thread_count(rng, monkeypatch):
    # The split runs BLAS on one thread (kernels.blas) and must hand back the setting it found.
    from minembed.kernels import blas

    if not jit_enabled():
        pytest.skip("MINEMBED_JIT=0: the reference computes the whole score matrix, with no split")
    before = blas.get_blas_threads()
    if before is None:
        pytest.skip("NumPy's OpenBLAS was not found: the BLAS thread count cannot be read")
    monkeypatch.setattr(ks, "get_num_threads", lambda: 2)
    queries = rng.standard_normal((300, 16)).astype(np.float32)
    database = rng.standard_normal((2000, 16)).astype(np.float32)
    seen = []
    real_dot = np.dot

    def spying_dot(*args, **kwargs):
        seen.append(blas.get_blas_threads())
        return real_dot(*args, **kwargs)

    monkeypatch.setattr(ks.np, "dot", spying_dot)
    idx, _ = ks.topk_blocked(queries, database, 5, "dot")
    monkeypatch.setattr(ks.np, "dot", real_dot)
    assert seen and set(seen) == {1}
    assert blas.get_blas_threads() == before
    np.testing.assert_array_equal(idx, ks.topk_reference(queries, database, 5, "dot")[0])


def test_bad_arguments_are_rejected():
    q = np.ones((2, 3), np.float32)
    db = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="dimension 3 but database rows have 4"):
        ks.topk_blocked(q, np.ones((4, 4), np.float32), 1, "dot")
    with pytest.raises(ValueError, match="non-negative"):
        ks.topk_blocked(q, db, -1, "dot")
    with pytest.raises(ValueError, match="metric"):
        ks.topk_blocked(q, db, 1, "manhattan")
    with pytest.raises(ValueError, match="float32"):
        ks.topk_blocked(q.astype(np.float64), db, 1, "dot")


@pytest.mark.parametrize("metric", ks.METRICS)
@pytest.mark.parametrize("threads", [1, 2])
def test_few_query_scan_equals_blocked_path_and_reference(rng, metric, threads, monkeypatch):
    # Few queries take the one-pass scan (row ranges on threads, heaps merged); many take BLAS blocks.
    # Integer data: exact scores, many ties, some straddling the boundary between the two row ranges.
    monkeypatch.setattr(ks, "get_num_threads", lambda: threads)
    queries = rng.integers(-2, 3, (ks.SCAN_MAX_QUERIES, 8)).astype(np.float32)
    database = rng.integers(-2, 3, (20_000, 8)).astype(np.float32)
    database[10_000:10_050] = database[:50]  # duplicates on both sides of the split
    exclude = [rng.choice(20_000, 30, replace=False) for _ in range(ks.SCAN_MAX_QUERIES)]
    scan = _run(queries, database, 40, metric, exclude=exclude)
    many = np.concatenate([queries, queries[:1].repeat(ks.SCAN_MAX_QUERIES, 0)])  # > SCAN_MAX_QUERIES rows
    blocked = _run(many, database, 40, metric, exclude=exclude + exclude[:1] * ks.SCAN_MAX_QUERIES)
    ref = ks.topk_reference(queries, database, 40, metric, exclude)
    if metric == "cosine":
        keys = _all_keys(queries, database, metric)
        assert_same_topk(scan, ref, keys, 1e-6)
        assert_same_topk((blocked[0][:len(queries)], blocked[1][:len(queries)]), ref, keys, 1e-6)
    else:
        np.testing.assert_array_equal(scan[0], ref[0])
        np.testing.assert_array_equal(blocked[0][:len(queries)], ref[0])
        np.testing.assert_allclose(scan[1], ref[1], rtol=1e-6)


# ------------------------------------------------ the threshold test (chunks of ks._CHUNK scores)
def _force_threads(monkeypatch, threads):
    """Split every selection over `threads` threads, however small the block."""
    monkeypatch.setattr(ks, "get_num_threads", lambda: threads)
    monkeypatch.setattr(ks, "_MIN_PARALLEL", 1)
    monkeypatch.setattr(ks, "_MIN_ROWS_PER_THREAD", 1)


@pytest.mark.parametrize("metric", ks.METRICS)
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("budget", [None, 300, 4096])
def test_ties_with_the_root_across_chunks_blocks_and_threads(monkeypatch, metric, threads, budget):
    # Most scores equal the k-th best: a chunk whose count is not zero only because of a tie must
    # still leave the earlier (lower) index in place. M is no multiple of the chunk (a tail is walked
    # key by key), and the few better rows sit in the tail, at chunk edges and past block edges.
    _force_threads(monkeypatch, threads)
    m = 5 * ks._CHUNK + 13
    database = np.ones((m, 3), np.float32)
    better = [ks._CHUNK - 1, ks._CHUNK, 3 * ks._CHUNK + 7, m - 1]
    database[better] = 2.0
    database[[5, 2 * ks._CHUNK + 1]] = 0.5  # two worse rows
    queries = np.full((ks.SCAN_MAX_QUERIES + 3, 3), 2.0, np.float32)  # (more queries than the scan takes)
    got = _run(queries, database, 10, metric, budget=budget or ks.BLOCK_BUDGET)
    keys = _all_keys(queries, database, metric)
    expect = np.argsort(-keys, axis=1, kind="stable")[:, :10]  # ties: lower index first
    if metric != "cosine":  # (all rows have cosine 1 with the query: every row ties)
        np.testing.assert_array_equal(expect[0, :4], better)
    np.testing.assert_array_equal(got[0], expect)
    np.testing.assert_array_equal(got[0], ks.topk_reference(queries, database, 10, metric)[0])


@pytest.mark.parametrize("threads", [1, 2])
def test_excluded_candidate_alone_in_its_chunk(monkeypatch, threads):
    # The count says "something beats the root" but the only such score is excluded: nothing enters.
    # (More queries than ks.SCAN_MAX_QUERIES in these tests: they must take the blocked path.)
    _force_threads(monkeypatch, threads)
    m = 4 * ks._CHUNK
    database = np.zeros((m, 2), np.float32)
    database[:, 0] = np.arange(m, dtype=np.float32) % 7 / 10  # scores 0 .. 0.6
    database[2 * ks._CHUNK + 3, 0] = 5.0  # the best row, excluded
    queries = np.tile(np.array([[1.0, 0.0]], np.float32), (ks.SCAN_MAX_QUERIES + 2, 1))
    exclude = [[2 * ks._CHUNK + 3]] + [[]] * (ks.SCAN_MAX_QUERIES + 1)
    idx, scores = _run(queries, database, 6, "dot", exclude=exclude, budget=300)
    ref = ks.topk_reference(queries, database, 6, "dot", exclude)
    np.testing.assert_array_equal(idx, ref[0])
    np.testing.assert_array_equal(scores, ref[1])
    assert 2 * ks._CHUNK + 3 not in idx[0] and idx[1, 0] == 2 * ks._CHUNK + 3


@pytest.mark.parametrize("metric", ks.METRICS)
def test_k_larger_than_database_with_full_chunks(rng, metric):
    # Every key enters while the heap still holds padding (root -inf): whole chunks and the tail.
    queries = rng.standard_normal((ks.SCAN_MAX_QUERIES + 1, 8)).astype(np.float32)
    database = rng.standard_normal((2 * ks._CHUNK + 5, 8)).astype(np.float32)
    got = _run(queries, database, 1000, metric, budget=ks._CHUNK * 5)
    ref = ks.topk_reference(queries, database, 1000, metric)
    assert got[0].shape == (len(queries), database.shape[0])
    assert_same_topk(got, ref, _all_keys(queries, database, metric), 2e-5 * (1 + 3 * (metric == "euclidean")))


@pytest.mark.parametrize("metric", ks.METRICS)
def test_thread_count_gives_the_same_answer(rng, monkeypatch, metric):
    # One thread folds every block; two split the database in halves and merge their heaps: the
    # answer must not change (ties included, also across the split).
    queries = rng.integers(-2, 3, (400, 6)).astype(np.float32)
    database = rng.integers(-2, 3, (3000, 6)).astype(np.float32)
    assert queries.shape[0] * database.shape[0] > ks.BLOCK_BUDGET  # several blocks per thread
    results = []
    for threads in (1, 2):
        monkeypatch.setattr(ks, "get_num_threads", lambda t=threads: t)
        q = _prep(queries, metric)
        results.append(ks.topk_blocked(q, database, 20, metric))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    ref = ks.topk_reference(queries, database, 20, metric)
    if metric == "cosine":
        assert_same_topk(results[0], ref, _all_keys(queries, database, metric), 1e-6)
    else:
        np.testing.assert_array_equal(results[0][0], ref[0])
