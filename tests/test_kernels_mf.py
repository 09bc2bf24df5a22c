"""The matrix-factorisation kernels (SGD MF, BPR, ALS) against their NumPy references."""
import numpy as np
import pytest

from minembed.kernels import als, mf
from minembed.space.ranking import interactions_csr


def _problem(rng, n_users=30, n_items=25, dim=6, density=0.3):
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # every user has one item
    users, items = np.nonzero(mask)
    ratings = rng.integers(1, 6, len(users)).astype(np.float32)
    P = (0.1 * rng.standard_normal((n_users, dim))).astype(np.float32)
    Q = (0.1 * rng.standard_normal((n_items, dim))).astype(np.float32)
    return users.astype(np.int64), items.astype(np.int64), ratings, P, Q


# ------------------------------------------------------------------------------------------------- SGD
def test_sgd_epoch_kernel_equals_reference(rng):
    users, items, ratings, P, Q = _problem(rng)
    bu, bi = np.zeros(len(P), np.float32), np.zeros(len(Q), np.float32)
    order = rng.permutation(len(ratings))
    tables = [(P.copy(), Q.copy(), bu.copy(), bi.copy()) for _ in range(2)]
    mu = float(ratings.mean())
    sse_ref = mf.sgd_epoch_reference(users, items, ratings, order, *tables[0], mu, 0.01, 0.02, 0.01, 0.02)
    sse = mf.sgd_epoch(users, items, ratings, order, *tables[1], mu, 0.01, 0.02)
    assert sse == pytest.approx(sse_ref, rel=1e-5)
    for a, b in zip(tables[0], tables[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not np.allclose(tables[1][0], P)  # it moved


def test_sgd_step_by_hand():
    # one rating r=4, mu=3, all biases 0, p=(1, 0), q=(0.5, 1): e = 4 - (3 + 0.5) = 0.5
    P = np.array([[1.0, 0.0]], np.float32)
    Q = np.array([[0.5, 1.0]], np.float32)
    bu, bi = np.zeros(1, np.float32), np.zeros(1, np.float32)
    sse = mf.sgd_epoch([0], [0], [4.0], [0], P, Q, bu, bi, 3.0, lr=0.1, reg=0.0)
    assert sse == pytest.approx(0.25)
    np.testing.assert_allclose(bu, [0.05])
    np.testing.assert_allclose(P[0], [1.0 + 0.1 * 0.5 * 0.5, 0.1 * 0.5 * 1.0])
    np.testing.assert_allclose(Q[0], [0.5 + 0.1 * 0.5 * 1.0, 1.0])


def test_predict_kernel_equals_reference(rng):
    users, items, _, P, Q = _problem(rng)
    bu, bi = rng.standard_normal(len(P)).astype(np.float32), rng.standard_normal(len(Q)).astype(np.float32)
    np.testing.assert_allclose(mf.predict(users, items, P, Q, bu, bi, 3.5),
                               mf.predict_reference(users, items, P, Q, bu, bi, 3.5), rtol=1e-5)


def test_sgd_refuses_bad_ids(rng):
    users, items, ratings, P, Q = _problem(rng)
    bu, bi = np.zeros(len(P), np.float32), np.zeros(len(Q), np.float32)
    before = P.copy()
    with pytest.raises(IndexError, match="item id 25"):
        mf.sgd_epoch(users, np.r_[items[:-1], 25], ratings, np.arange(len(users)), P, Q, bu, bi, 3.0, 0.01, 0.02)
    np.testing.assert_array_equal(P, before)


# ------------------------------------------------------------------------------------------------- BPR
def test_bpr_kernel_equals_reference(rng):
    users, items, _, P, Q = _problem(rng)
    indptr, indices = interactions_csr(users, items, len(P), len(Q))
    row_of = np.repeat(np.arange(len(P)), np.diff(indptr))
    bq = np.zeros(len(Q), np.float32)
    a = (P.copy(), Q.copy(), bq.copy())
    b = (P.copy(), Q.copy(), bq.copy())
    loss_ref, used_ref = mf.bpr_epoch_reference(indptr, indices, row_of, *a, 500, 0.05, 0.01, 7)
    loss, used = mf.bpr_epoch(indptr, indices, *b, 500, 0.05, 0.01, 7)
    assert used == used_ref == 500
    assert loss == pytest.approx(loss_ref, rel=1e-5)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)


def test_bpr_never_uses_a_seen_item_as_negative():
    # one user who has items 0..3 of 5: the only possible negative is 4, so only its row and bias fall
    P = np.ones((1, 2), np.float32)
    Q = np.zeros((5, 2), np.float32)
    bq = np.zeros(5, np.float32)
    mf.bpr_epoch([0, 4], [0, 1, 2, 3], P, Q, bq, 200, 0.05, 0.0, 3)
    assert (bq[:4] > 0).all() and bq[4] < 0
    assert (Q[4] < 0).all()


def test_bpr_refuses_unsorted_rows():
    P, Q, bq = np.ones((1, 2), np.float32), np.zeros((3, 2), np.float32), np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="sorted"):
        mf.bpr_epoch([0, 2], [2, 1], P, Q, bq, 10, 0.05, 0.0, 3)


# ------------------------------------------------------------------------------------------------- ALS
def _csr(rng):
    users, items, ratings, P, Q = _problem(rng, n_users=40, n_items=30, dim=5)
    indptr, indices = interactions_csr(users, items, len(P), len(Q))
    dense = np.zeros((len(P), len(Q)), np.float32)
    dense[users, items] = ratings
    values = dense[np.repeat(np.arange(len(P)), np.diff(indptr)), indices]
    return indptr, indices, values, P, Q


def test_cholesky_solve_reference_solves():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((6, 6))
    A = M @ M.T + 6 * np.eye(6)
    b = rng.standard_normal(6)
    np.testing.assert_allclose(A @ als.cholesky_solve_reference(A, b), b, atol=1e-10)


def test_implicit_cholesky_kernel_equals_reference(rng):
    indptr, indices, values, X, Y = _csr(rng)
    ref, out = X.copy(), X.copy()
    als.implicit_rows_cholesky_reference(ref, Y, indptr, indices, values, 0.1, 2.0)
    als.implicit_rows(out, Y, indptr, indices, values, 0.1, 2.0, solver="cholesky")
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_implicit_normal_equations_hold(rng):
    # the Cholesky reference's rows make the gradient of the HKV loss vanish (an independent dense check)
    indptr, indices, values, X, Y = _csr(rng)
    als.implicit_rows_cholesky_reference(X, Y, indptr, indices, values, 0.1, 2.0)
    C = np.ones((len(X), len(Y)))
    Pm = np.zeros((len(X), len(Y)))
    for u in range(len(X)):
        C[u, indices[indptr[u]:indptr[u + 1]]] += 2.0 * values[indptr[u]:indptr[u + 1]]
        Pm[u, indices[indptr[u]:indptr[u + 1]]] = 1.0
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    grad = -(C * (Pm - X64 @ Y64.T)) @ Y64 + 0.1 * X64
    assert np.abs(grad).max() < 1e-4


def test_cg_kernel_equals_cg_reference(rng):
    indptr, indices, values, X, Y = _csr(rng)
    ref, out = X.copy(), X.copy()
    als.implicit_rows_cg_reference(ref, Y, indptr, indices, values, 0.1, 2.0, 3)
    als.implicit_rows(out, Y, indptr, indices, values, 0.1, 2.0, solver="cg", steps=3)
    np.testing.assert_allclose(out, ref, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("workers", [1, 2])
def test_cg_converges_to_the_cholesky_solution(rng, workers):
    indptr, indices, values, X, Y = _csr(rng)
    exact, cg = X.copy(), X.copy()
    als.implicit_rows_cholesky_reference(exact, Y, indptr, indices, values, 0.1, 2.0)
    als.implicit_rows(cg, Y, indptr, indices, values, 0.1, 2.0, solver="cg", steps=X.shape[1] + 2, workers=workers)
    np.testing.assert_allclose(cg, exact, rtol=1e-3, atol=1e-4)


def test_explicit_kernel_equals_reference(rng):
    indptr, indices, values, X, Y = _csr(rng)
    xb, yb = np.zeros(len(X), np.float32), rng.standard_normal(len(Y)).astype(np.float32)
    X[3:, :] = X[3:, :]
    ref, out = (X.copy(), xb.copy()), (X.copy(), xb.copy())
    als.explicit_rows_reference(*ref, Y, yb, indptr, indices, values, 3.0, 0.05)
    als.explicit_rows(*out, Y, yb, indptr, indices, values, 3.0, 0.05)
    np.testing.assert_allclose(out[0], ref[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out[1], ref[1], rtol=1e-4, atol=1e-5)


def test_explicit_solution_minimises_the_ridge_loss(rng):
    indptr, indices, values, X, Y = _csr(rng)
    xb, yb = np.zeros(len(X), np.float32), rng.standard_normal(len(Y)).astype(np.float32)
    als.explicit_rows(X, xb, Y, yb, indptr, indices, values, 3.0, 0.05)

    def loss(u, z):
        items = indices[indptr[u]:indptr[u + 1]]
        t = values[indptr[u]:indptr[u + 1]] - 3.0 - yb[items]
        pred = Y[items].astype(np.float64) @ z[:-1] + z[-1]
        return ((t - pred) ** 2).sum() + 0.05 * len(items) * (z @ z)

    for u in range(5):
        z = np.r_[X[u], xb[u]].astype(np.float64)
        for _ in range(5):  # any small move is worse
            assert loss(u, z + 1e-3 * rng.standard_normal(len(z))) > loss(u, z)


def test_als_refuses_nan_values(rng):
    indptr, indices, values, X, Y = _csr(rng)
    values[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        als.implicit_rows(X, Y, indptr, indices, values, 0.1, 1.0)
