"""fastexp: the vectorisable float32 exp against float64 NumPy (the oracle), its edges, and the GELU using it."""
import numpy as np
import pytest

from minembed.kernels import fastexp
from minembed.kernels.jit import jit_enabled


def test_relative_error_is_a_few_float32_roundings():
    x = np.linspace(-87.3, 88.7, 1_000_003, dtype=np.float32)
    got = fastexp.exp(x).astype(np.float64)
    want = np.exp(x.astype(np.float64))
    assert np.max(np.abs(got - want) / want) < 3e-7


def test_edges():
    x = np.array([0.0, -0.0, 1.0, -np.inf, -87.5, -200.0, 88.8, 1e4, np.inf, np.nan], np.float32)
    got = fastexp.exp(x)
    assert got[0] == 1.0 and got[1] == 1.0
    assert got[2] == pytest.approx(np.e, rel=2e-7)
    assert np.all(got[3:6] == 0.0)                       # -inf and underflow: exactly 0
    assert np.all(np.isposinf(got[6:9]))
    assert np.isnan(got[9])


def test_shapes_chunks_and_bad_input(rng):
    x = rng.standard_normal((3, fastexp.CHUNK + 7)).astype(np.float32) * 10      # a partial last chunk
    np.testing.assert_allclose(fastexp.exp(x), np.exp(x.astype(np.float64)), rtol=3e-7)
    assert fastexp.exp(np.zeros((0, 4), np.float32)).shape == (0, 4)
    with pytest.raises(TypeError, match="float32"):
        fastexp.exp(np.zeros(3))


@pytest.mark.skipif(not jit_enabled(), reason="the kernel helper itself; MINEMBED_JIT=0 runs the reference above")
def test_chunk_helper_in_place(rng):
    x = (rng.standard_normal(100) * 5).astype(np.float32)
    want = np.exp(x.astype(np.float64))
    fastexp.exp_chunk(x, x, np.empty(100, np.int32))       # out may be x itself
    np.testing.assert_allclose(x, want, rtol=3e-7)


def test_gelu_float32_through_it(rng):
    from minembed.kernels.gelu import gelu_with_derivative, gelu_with_derivative_reference

    x = np.concatenate([(rng.standard_normal(5000) * 4), [0.0, -0.0, 30.0, -30.0]]).astype(np.float32)
    for got, want in zip(gelu_with_derivative(x), gelu_with_derivative_reference(x.astype(np.float64)), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=3e-7)
