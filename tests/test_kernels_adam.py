"""kernels.adam: the fused step against its NumPy reference (the formula), over several steps."""
import numpy as np
import pytest

from minembed.kernels.adam import adam_step, adam_step_reference


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_fused_steps_follow_the_reference(rng, dtype, weight_decay):
    w0 = rng.standard_normal((7, 5)).astype(dtype)
    w, wr = w0.copy(), w0.copy()
    m, v, mr, vr = (np.zeros_like(w0) for _ in range(4))
    for t in range(1, 6):
        g = rng.standard_normal(w0.shape).astype(dtype) * t
        adam_step(w, g, m, v, 1e-2, 0.9, 0.999, 1e-8, t, weight_decay)
        adam_step_reference(wr, g, mr, vr, 1e-2, 0.9, 0.999, 1e-8, t, weight_decay)
    tol = 2e-6 if dtype == np.float32 else 1e-12
    for got, want in ((w, wr), (m, mr), (v, vr)):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert not np.allclose(w, w0)


def test_first_step_by_hand():
    """Step 1 with bias correction: m_hat = g, v_hat = g^2, so each weight moves by lr * g / (|g| + eps)."""
    w = np.array([1.0, -2.0, 0.5], np.float32)
    g = np.array([0.5, -4.0, 0.0], np.float32)
    m, v = np.zeros_like(w), np.zeros_like(w)
    adam_step(w, g, m, v, 0.1, 0.9, 0.999, 1e-8, 1)
    np.testing.assert_allclose(w, [0.9, -1.9, 0.5], rtol=1e-6)


def test_other_layouts_fall_back_to_the_reference(rng):
    w = rng.standard_normal((6, 4)).astype(np.float32)[:, ::2]         # not contiguous
    wr = w.copy()
    m, v = np.zeros_like(w), np.zeros_like(w)
    g = rng.standard_normal(w.shape).astype(np.float64)                # another dtype
    adam_step(w, g, m, v, 1e-2, 0.9, 0.999, 1e-8, 1)
    adam_step_reference(wr, g, np.zeros_like(wr), np.zeros_like(wr), 1e-2, 0.9, 0.999, 1e-8, 1)
    np.testing.assert_allclose(w, wr, rtol=1e-6)
