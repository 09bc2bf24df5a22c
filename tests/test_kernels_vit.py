"""The fused softmax, LayerNorm and GELU kernels against their NumPy references, on random inputs."""
import numpy as np
import pytest

from minembed.kernels import gelu, layernorm, softmax


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 4, 17, 17)])
def test_softmax_kernels_match_reference(rng, dtype, tol, shape):
    s = (rng.standard_normal(shape) * 5).astype(dtype)
    s.flat[0] = 80.0  # large logits must not overflow
    p = softmax.softmax_rows(s)
    np.testing.assert_allclose(p, softmax.softmax_rows_reference(s), rtol=tol, atol=tol)
    assert p.dtype == dtype and p.shape == shape
    dp = rng.standard_normal(shape).astype(dtype)
    np.testing.assert_allclose(softmax.softmax_rows_backward(p, dp), softmax.softmax_rows_backward_reference(p, dp),
                               rtol=10 * tol, atol=10 * tol)


def test_softmax_backward_is_the_jacobian(rng):
    s = rng.standard_normal(6)
    p = softmax.softmax_rows(s)
    jac = np.diag(p) - np.outer(p, p)
    dp = rng.standard_normal(6)
    np.testing.assert_allclose(softmax.softmax_rows_backward(p, dp), jac.T @ dp, rtol=1e-12)


def test_softmax_bad_inputs():
    with pytest.raises(TypeError, match="float32 or float64"):
        softmax.softmax_rows(np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match="same shape"):
        softmax.softmax_rows_backward(np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_layer_norm_kernels_match_reference(rng, dtype, tol):
    x = (rng.standard_normal((33, 24)) * 3 + 2).astype(dtype)
    w = rng.standard_normal(24).astype(dtype)
    b = rng.standard_normal(24).astype(dtype)
    got = layernorm.layer_norm_rows(x, w, b, 1e-5)
    want = layernorm.layer_norm_rows_reference(x, w, b, dtype(1e-5))
    for g, r in zip(got, want, strict=True):
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol)
    dy = rng.standard_normal(x.shape).astype(dtype)
    got = layernorm.layer_norm_rows_backward(dy, want[1], want[2], w)
    want = layernorm.layer_norm_rows_backward_reference(dy, want[1], want[2], w)
    for g, r in zip(got, want, strict=True):
        np.testing.assert_allclose(g, r, rtol=tol, atol=10 * tol)


def test_layer_norm_bad_inputs():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"weight must be a float32 array of shape \(3,\)"):
        layernorm.layer_norm_rows(x, np.ones(4, np.float32), np.zeros(3, np.float32), 1e-5)
    with pytest.raises(ValueError, match="float32/float64 matrix"):
        layernorm.layer_norm_rows(np.zeros(3, np.float32), np.ones(3, np.float32), np.zeros(3, np.float32), 1e-5)


def test_gelu_kernel_matches_reference(rng):
    x = np.concatenate([rng.standard_normal(5000) * 3, [0.0, -0.0, 12.0, -12.0, -40.0, 40.0]])
    y, d = gelu.gelu_with_derivative(x)
    yr, dr = gelu.gelu_with_derivative_reference(x)
    np.testing.assert_allclose(y, yr, rtol=1e-14, atol=1e-15)       # float64: math.erf, the same formula
    np.testing.assert_allclose(d, dr, rtol=1e-14, atol=1e-15)
    x32 = x.astype(np.float32)
    y32, d32 = gelu.gelu_with_derivative(x32)
    assert y32.dtype == np.float32
    yr, dr = gelu.gelu_with_derivative_reference(x32)
    # float32: Abramowitz-Stegun erf, absolute error < 1.5e-7 in erf -> |x| * 1e-7 in y
    np.testing.assert_allclose(y32, yr, atol=1e-6 * (1 + np.abs(x32)).max() / 10, rtol=0)
    np.testing.assert_allclose(d32, dr, atol=1e-6, rtol=0)
    with pytest.raises(TypeError, match="float32/float64"):
        gelu.gelu_with_derivative(np.arange(3))


def test_blas_threads_context_restores_the_setting():
    from minembed.kernels.blas import blas_threads, get_blas_threads, set_blas_threads

    before = get_blas_threads()
    with blas_threads(1):
        assert get_blas_threads() in (1, None)
    assert get_blas_threads() == before
    with pytest.raises(ValueError, match="positive integer"):
        set_blas_threads(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_of_nan_and_inf_is_the_reference_in_both_dtypes(dtype):
    # float32 NaN used to raise ZeroDivisionError: fastmath=True's "no NaN" flag let LLVM fold
    # Numba's 1/d zero-division guard to true for d = NaN.
    x = np.array([np.nan, 1.0, np.inf, -np.inf, -np.nan, 0.5], dtype)
    with np.errstate(invalid="ignore"):      # -inf * 0 in the reference
        y, d = gelu.gelu_with_derivative(x)
        yr, dr = gelu.gelu_with_derivative_reference(x)
    # math.erf: GELU(inf) = inf, GELU(-inf) = -inf * 0 = NaN, y'(+-inf) = Phi + (+-inf) * 0 = NaN
    np.testing.assert_array_equal(np.isnan(yr), [True, False, False, True, True, False])
    np.testing.assert_allclose(y, yr, rtol=1e-6, atol=0)          # NaN where the reference has NaN, and only there
    np.testing.assert_allclose(d, dr, rtol=1e-6, atol=0)
    assert y[2] == np.inf
