"""Public similarity API: pairwise metrics, top-k front end, analogies, input checking."""
import numpy as np
import pytest

import minembed.space.search as sim


def test_pairwise_metrics_against_hand_values():
    a = np.array([[3.0, 4.0], [0.0, 0.0]])
    b = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, -4.0]])
    np.testing.assert_allclose(sim.dot(a, b), [[3, 8, -25], [0, 0, 0]])
    np.testing.assert_allclose(sim.cosine(a, b), [[0.6, 0.8, -1.0], [0, 0, 0]], atol=1e-7)  # zero row -> 0
    np.testing.assert_allclose(sim.euclidean(a, b), [[np.hypot(2, 4), np.hypot(3, 2), 10], [1, 2, 5]], rtol=1e-6)
    assert sim.cosine(a[0], b[1]) == pytest.approx(0.8)
    assert sim.dot(a[0], b).shape == (3,) and sim.dot(a, b[0]).shape == (2,)
    assert sim.cosine(a, b).dtype == np.float32
    n = sim.normalize(a)
    np.testing.assert_allclose(n, [[0.6, 0.8], [0, 0]], rtol=1e-7)
    np.testing.assert_allclose(sim.normalize([0.0, 2.0]), [0, 1])


@pytest.mark.parametrize("metric", sim.METRICS)
def test_topk_single_and_batched_agree_with_reference(rng, metric):
    db = rng.standard_normal((500, 24)).astype(np.float32)
    q = rng.standard_normal((9, 24)).astype(np.float32)
    idx, scores = sim.topk(q, db, 6, metric=metric)
    ridx, rscores = sim.topk_reference(q, db, 6, metric=metric)
    np.testing.assert_array_equal(idx, ridx)
    np.testing.assert_allclose(scores, rscores, rtol=1e-5, atol=1e-5)
    one_idx, one_scores = sim.topk(q[3], db, 6, metric=metric)
    assert one_idx.shape == (6,)
    np.testing.assert_array_equal(one_idx, idx[3])
    full = {"dot": sim.dot, "cosine": sim.cosine, "euclidean": sim.euclidean}[metric](q, db)
    np.testing.assert_allclose(scores, np.take_along_axis(full, idx, 1), rtol=1e-4, atol=1e-4)


def test_index_reused_and_exclude_forms(rng):
    db = rng.standard_normal((200, 8))  # float64: converted once
    index = sim.ExactIndex(db, "cosine")
    assert index.database.dtype == np.float32 and len(index) == 200 and index.dim == 8
    q = db[[5, 6]]
    idx, _ = index.search(q, 3)
    assert idx[:, 0].tolist() == [5, 6]  # each query finds itself first
    idx, _ = index.search(q, 3, exclude=[[5], [6]])
    assert 5 not in idx[0] and 6 not in idx[1]
    idx2, _ = index.search(q, 3, exclude=np.array([[5, -1], [-1, 6]]))
    np.testing.assert_array_equal(idx, idx2)
    one, _ = index.search(q[0], 3, exclude=[5])
    np.testing.assert_array_equal(one, idx[0])


def test_integer_and_float64_input_are_converted_once(rng):
    db_int = rng.integers(-5, 6, (100, 6))
    q_int = rng.integers(-5, 6, (4, 6))
    a = sim.topk(q_int, db_int, 5, metric="dot")
    b = sim.topk(q_int.astype(np.float32), db_int.astype(np.float32), 5, metric="dot")
    np.testing.assert_array_equal(a[0], b[0])
    db32 = rng.standard_normal((10, 3)).astype(np.float32)
    assert sim.ExactIndex(db32, "dot").database is db32  # float32 input is not copied


def test_bad_input_raises_clear_errors(rng):
    db = rng.standard_normal((20, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="dimension mismatch: queries have size 5, database rows 4"):
        sim.topk(np.ones(5), db, 3)
    with pytest.raises(ValueError, match="k must be >= 0"):
        sim.topk(db[0], db, -1)
    with pytest.raises(ValueError, match="k must be an integer"):
        sim.topk(db[0], db, 2.5)
    bad = db.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="database contains NaN or infinite values in row 7"):
        sim.topk(db[0], bad, 3)
    with pytest.raises(ValueError, match="queries contains NaN"):
        sim.topk(np.array([1.0, np.inf, 0, 0]), db, 3)
    for wrong in (np.ones((3, 4), bool), np.ones((3, 4), complex), np.array([["a", "b"]])):
        with pytest.raises(ValueError, match="real numbers"):
            sim.topk(wrong, db, 1)
    with pytest.raises(ValueError, match="metric"):
        sim.topk(db, db, 1, metric="l1")
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        sim.topk(np.ones((2, 2, 4)), db, 1)
    with pytest.raises(IndexError, match="excluded id 20"):
        sim.topk(db[0], db, 1, exclude=[20])
    with pytest.raises(ValueError, match="dimension mismatch"):
        sim.cosine(np.ones(3), np.ones(4))


def test_k_zero_larger_than_m_and_empty_database(rng):
    db = rng.standard_normal((5, 3)).astype(np.float32)
    assert sim.topk(db, db, 0)[0].shape == (5, 0)
    assert sim.topk(db[0], db, 99)[0].shape == (5,)
    idx, scores = sim.topk(db, np.zeros((0, 3)), 4)
    assert idx.shape == scores.shape == (5, 0)


def _toy_vectors():
    # Axes: royalty, gender(+female), person, fruit. king - man + woman = queen exactly.
    words = ["man", "woman", "king", "queen", "apple", "prince", "princess"]
    vecs = np.array([
        [0.0, -1.0, 1.0, 0.0],
        [0.0, 1.0, 1.0, 0.0],
        [1.0, -1.0, 1.0, 0.0],
        [1.0, 1.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
        [0.3, -1.0, 1.0, 0.6],
        [0.3, 1.0, 1.0, 0.6],
    ])
    return words, vecs


@pytest.mark.parametrize("method", ["add", "mul"])
def test_analogy_toy_king_queen(method):
    words, vecs = _toy_vectors()
    w = {x: i for i, x in enumerate(words)}
    idx, scores = sim.analogy(vecs, w["man"], w["king"], w["woman"], k=2, method=method)
    assert words[idx[0]] == "queen"
    assert scores[0] >= scores[1]
    batch, _ = sim.analogy(vecs, [w["man"], w["woman"]], [w["king"], w["queen"]], [w["woman"], w["man"]],
                           k=1, method=method)
    assert [words[i] for i in batch[:, 0]] == ["queen", "king"]
    # Without exclusion the input "king" can be its own answer's rival; with it, never returned.
    idx_all, _ = sim.analogy(vecs, [w["man"]], [w["king"]], [w["woman"]], k=7, method=method)
    assert not {w["man"], w["king"], w["woman"]} & set(idx_all[0][idx_all[0] >= 0].tolist())
    assert (idx_all[0, 4:] == -1).all()  # 7 words - 3 inputs = 4 answers


def test_analogy_scores_match_gensim_formulas(rng):
    vecs = rng.standard_normal((300, 10))
    n = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    a, b, c = 3, 17, 42
    idx, s_add = sim.analogy(vecs, a, b, c, k=5, method="add")
    target = n[b] - n[a] + n[c]
    cos = n @ (target / np.linalg.norm(target))
    cos[[a, b, c]] = -np.inf
    np.testing.assert_array_equal(idx, np.argsort(-cos, kind="stable")[:5])
    np.testing.assert_allclose(s_add, cos[idx], rtol=1e-5)
    idx, s_mul = sim.analogy(vecs, a, b, c, k=5, method="mul")
    sh = lambda u: (1 + n @ n[u]) / 2  # noqa: E731
    mul = sh(b) * sh(c) / (sh(a) + 1e-6)
    mul[[a, b, c]] = -np.inf
    np.testing.assert_array_equal(idx, np.argsort(-mul, kind="stable")[:5])
    np.testing.assert_allclose(s_mul, mul[idx], rtol=1e-5)
    # Already-normalised input gives the same answers.
    np.testing.assert_array_equal(sim.analogy(n.astype(np.float32), a, b, c, k=5, method="mul", normalized=True)[0],
                                  idx)


def test_analogy_bad_input():
    _, vecs = _toy_vectors()
    with pytest.raises(IndexError, match="a 9"):
        sim.analogy(vecs, 9, 1, 2)
    with pytest.raises(ValueError, match="method"):
        sim.analogy(vecs, 0, 1, 2, method="pair")
    with pytest.raises(ValueError, match="integer row ids"):
        sim.analogy(vecs, 0.0, 1, 2)
    with pytest.raises(ValueError, match="one length"):
        sim.analogy(vecs, [0, 1], [1], [2])


def test_cosmul_general_lists(rng):
    n = sim.normalize(rng.standard_normal((50, 6)))
    idx, scores = sim.cosmul_topk(n, [[1, 2, 3]], np.zeros((1, 0), np.int64), 4)
    sh = lambda u: (1 + n.astype(np.float64) @ n[u]) / 2  # noqa: E731
    expect = sh(1) * sh(2) * sh(3) / (1 + 1e-6)
    np.testing.assert_array_equal(idx[0], np.argsort(-expect, kind="stable")[:4])


def test_cosmul_with_restricted_candidates(rng):
    full = sim.normalize(rng.standard_normal((80, 6)))
    restricted = full[:30]  # candidates: the first 30 rows; question words may be beyond them
    pos, neg = np.array([[50, 3]]), np.array([[70]])
    idx, scores = sim.cosmul_topk(restricted, pos, neg, 5, exclude=[[3]], query_vectors=full)
    f64 = full.astype(np.float64)
    sh = lambda u: (1 + f64[:30] @ f64[u]) / 2  # noqa: E731
    expect = sh(50) * sh(3) / (sh(70) + 1e-6)
    expect[3] = -np.inf
    np.testing.assert_array_equal(idx[0], np.argsort(-expect, kind="stable")[:5])
    np.testing.assert_allclose(scores[0], expect[idx[0]], rtol=1e-5)
    with pytest.raises(IndexError, match="positive id 50"):
        sim.cosmul_topk(restricted, pos, neg, 5)


def test_exclude_ids_below_minus_one_are_refused():
    db = np.eye(4, dtype=np.float32)
    with pytest.raises(ValueError, match=r"exclude\[0, 1\] = -5"):
        sim.topk(db[:1], db, 2, exclude=np.array([[1, -5]]))
    with pytest.raises(IndexError, match="-2"):
        sim.topk(db[0], db, 2, exclude=[1, -2])
