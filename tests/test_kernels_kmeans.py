"""The blocked k-means kernels against their float64 references (the whole distance matrix, np.add.at)."""
import numpy as np
import pytest

from minembed.kernels import kmeans as kk


def _exact_d2(x, c):
    x, c = x.astype(np.float64), c.astype(np.float64)
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,d,k,rows,threads", [(0, 3, 2, None, 1), (1, 5, 1, None, 1), (257, 7, 5, 16, 1),
                                                (3000, 20, 13, 100, 2), (2500, 4, 40, None, 3)])
def test_assign_matches_reference(rng, dtype, n, d, k, rows, threads):
    x = rng.standard_normal((n, d)).astype(dtype)
    c = rng.standard_normal((k, d)).astype(dtype)
    labels, dist, sums, counts = kk.assign(x, c, update=True, block_rows=rows, n_threads=threads)
    rl, rd, rs, rc = kk.assign_reference(x, c, update=True)
    assert labels.dtype == np.int64 and dist.dtype == np.float64 and sums.shape == (k, d)
    exact = _exact_d2(x, c)
    # A label may differ from the reference's only where two centres tie to rounding.
    tol = 1e-4 * (1 + exact.max(initial=0)) if dtype == np.float32 else 1e-9 * (1 + exact.max(initial=0))
    diff = np.flatnonzero(labels != rl)
    for i in diff:
        assert abs(exact[i, labels[i]] - exact[i, rl[i]]) <= tol
    np.testing.assert_allclose(dist, exact[np.arange(n), labels], atol=tol)
    # sums and counts are those of the kernel's own labels
    exp_sums = np.zeros((k, d))
    np.add.at(exp_sums, labels, x.astype(np.float64))
    np.testing.assert_allclose(sums, exp_sums, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=k))
    if not diff.size:
        np.testing.assert_allclose(sums, rs, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(counts, rc)
    # without the update: same labels
    l2, d2 = kk.assign(x, c, block_rows=rows, n_threads=threads)
    np.testing.assert_array_equal(l2, labels)
    np.testing.assert_array_equal(d2, dist)


def test_assign_ties_go_to_the_lower_centre():
    x = np.array([[0.0, 0.0], [2.0, 0.0]], dtype=np.float32)
    c = np.array([[1.0, 0.0], [1.0, 0.0], [5.0, 5.0]], dtype=np.float32)
    assert kk.assign(x, c)[0].tolist() == [0, 0]
    assert kk.assign_reference(x, c)[0].tolist() == [0, 0]


def test_assign_threads_agree(rng):
    # Labels do not depend on the thread count (each row is worked on its own); sums only by rounding.
    x = rng.standard_normal((5000, 16)).astype(np.float32)
    c = x[:30].copy()
    a = kk.assign(x, c, update=True, n_threads=1)
    b = kk.assign(x, c, update=True, n_threads=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[3], b[3])
    np.testing.assert_allclose(a[2], b[2], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("n,rows,threads", [(1, None, 1), (500, 32, 1), (4000, None, 2)])
def test_kmeanspp_trials_match_reference(rng, n, rows, threads):
    x = rng.standard_normal((n, 9)).astype(np.float32)
    cand = x[rng.integers(n, size=4)].copy()
    closest = rng.random(n) * 20
    pots, dist = kk.kmeanspp_trials(x, cand, closest, block_rows=rows, n_threads=threads)
    rp, rdist = kk.kmeanspp_trials_reference(x, cand, closest)
    exact = _exact_d2(x, cand)
    np.testing.assert_allclose(dist, exact, atol=1e-4 * (1 + exact.max()))
    np.testing.assert_allclose(rdist, exact, atol=1e-9 * (1 + exact.max()))
    # the kernel's |x|^2 + |c|^2 - 2 x.c cancels: its error scales with the squared norms, not with the
    # result (0 for n=1, where every candidate is the point itself), so the pots get the same tolerance
    np.testing.assert_allclose(pots, np.minimum(exact, closest[:, None]).sum(0), rtol=1e-5,
                               atol=1e-4 * (1 + exact.max()))
    np.testing.assert_allclose(rp, np.minimum(exact, closest[:, None]).sum(0), rtol=1e-10)


def test_bad_arguments_raise_before_the_kernel(rng):
    x = rng.standard_normal((10, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="dimension"):
        kk.assign(x, np.zeros((2, 4), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        kk.assign(x, np.zeros((2, 3), np.float64))
    with pytest.raises(ValueError, match="at least one"):
        kk.assign(x, np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        kk.assign(np.asfortranarray(x), np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="x_sqnorms"):
        kk.assign(x, np.zeros((2, 3), np.float32), x_sqnorms=np.zeros(9))
    with pytest.raises(ValueError, match="closest"):
        kk.kmeanspp_trials(x, x[:2].copy(), np.zeros(10, np.float32))
