"""The fused per-image convolution kernels (conv2d_forward / conv2d_backward in minembed.kernels.conv)
against their whole-batch im2col + matmul references, against a convolution written as sliding dot
products, and on bad input."""
import numba
import numpy as np
import pytest
from test_kernels_conv import SHAPES  # the same awkward shapes as im2col/col2im

from minembed.kernels import conv as C
from minembed.kernels.conv import conv_output_size
from minembed.kernels.jit import jit_enabled


def _case(rng, shape, k, dtype, out_ch=5):
    kh, kw = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((out_ch, shape[1], kh, kw)).astype(dtype)
    b = rng.standard_normal(out_ch).astype(dtype)
    return x, w, b


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


# im2col's awkward shapes, plus batches spanning several weight-gradient blocks of 8 images
CONV_SHAPES = SHAPES + [((17, 3, 6, 5), 3, 1, 1), ((9, 2, 7, 7), (2, 3), (2, 1), (1, 2))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("out_ch", [1, 4, 6])  # below, at and past one block of four channels
@pytest.mark.parametrize("shape,k,s,p", CONV_SHAPES)
def test_forward_kernel_equals_reference(rng, dtype, out_ch, shape, k, s, p):
    x, w, b = _case(rng, shape, k, dtype, out_ch)
    np.testing.assert_allclose(C.conv2d_forward(x, w, b, s, p), C.conv2d_forward_reference(x, w, b, s, p),
                               **_tol(dtype))
    np.testing.assert_allclose(C.conv2d_forward(x, w, None, s, p), C.conv2d_forward_reference(x, w, None, s, p),
                               **_tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("out_ch", [1, 4, 6])
@pytest.mark.parametrize("shape,k,s,p", CONV_SHAPES)
def test_backward_kernel_equals_reference(rng, dtype, out_ch, shape, k, s, p):
    x, w, _ = _case(rng, shape, k, dtype, out_ch)
    oh, ow = conv_output_size(shape[2], shape[3], k, s, p)
    dy = rng.standard_normal((shape[0], out_ch, oh, ow)).astype(dtype)
    got = C.conv2d_backward(dy, x, w, s, p)
    ref = C.conv2d_backward_reference(dy, x, w, s, p)
    for g, r in zip(got, ref, strict=True):
        assert g.shape == r.shape and g.dtype == r.dtype
        np.testing.assert_allclose(g, r, **_tol(dtype))
    dw, db, dx = C.conv2d_backward(dy, x, w, s, p, input_grad=False)
    assert dx is None and np.array_equal(dw, got[0]) and np.array_equal(db, got[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_inf_spread_exactly_as_in_the_reference(rng, dtype):
    # The kernels' fast-math flags keep IEEE NaN/inf (no "nnan"/"ninf", see kernels.jit.FASTMATH):
    # a NaN pixel poisons exactly the outputs whose window covers it, in both paths.
    x, w, b = _case(rng, (3, 2, 6, 7), 3, dtype, out_ch=5)
    x[1, 0, 2, 3], x[2, 1, 0, 0] = np.nan, np.inf
    y, yr = C.conv2d_forward(x, w, b, 1, 1), C.conv2d_forward_reference(x, w, b, 1, 1)
    assert np.isnan(yr).sum() == 5 * 9 and np.isinf(yr).sum() == 5 * 4   # the 3x3 windows over each; inf in a corner
    np.testing.assert_allclose(y, yr, **_tol(dtype))           # NaN at the same places (and equal elsewhere)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dy[0, 1, 1, 1] = np.nan
    for g, r in zip(C.conv2d_backward(dy, x, w, 1, 1), C.conv2d_backward_reference(dy, x, w, 1, 1), strict=True):
        assert np.isnan(r).any()
        np.testing.assert_allclose(g, r, **_tol(dtype))


def test_reference_is_the_sliding_dot_product(rng):
    # The oracle for both paths: y[n, o, a, b] = b[o] + sum over the window of w * x, by hand.
    x, w, b = _case(rng, (2, 3, 7, 6), (3, 2), np.float64, out_ch=4)
    s, p = (2, 1), (1, 1)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = conv_output_size(7, 6, (3, 2), s, p)
    want = np.empty((2, 4, oh, ow))
    for a in range(oh):
        for c in range(ow):
            window = xp[:, :, a * 2:a * 2 + 3, c:c + 2]                 # (N, C, 3, 2)
            want[:, :, a, c] = np.einsum("ncij,ocij->no", window, w) + b
    np.testing.assert_allclose(C.conv2d_forward_reference(x, w, b, s, p), want, rtol=1e-12)
    np.testing.assert_allclose(C.conv2d_forward(x, w, b, s, p), want, rtol=1e-10)


def test_backward_is_the_adjoint_of_forward(rng):
    # <conv(x; w), g> is linear in x and in w: its gradients are dx and dw for upstream g.
    x, w, _ = _case(rng, (9, 2, 6, 5), 3, np.float64, out_ch=5)  # 9 images: two weight-gradient blocks
    g = rng.standard_normal(C.conv2d_forward(x, w, None, 1, 1).shape)
    dw, db, dx = C.conv2d_backward(g, x, w, 1, 1)
    inner = np.sum(C.conv2d_forward(x, w, None, 1, 1) * g)
    assert np.isclose(np.sum(dx * x), inner, rtol=1e-10)
    assert np.isclose(np.sum(dw * w), inner, rtol=1e-10)
    assert np.allclose(db, g.sum(axis=(0, 2, 3)))


@pytest.mark.skipif(not jit_enabled() or numba.config.NUMBA_NUM_THREADS < 2,
                    reason="needs the compiled kernels and at least 2 Numba threads")
def test_results_do_not_depend_on_the_thread_count(rng):
    x, w, b = _case(rng, (37, 3, 9, 9), 3, np.float32, out_ch=6)
    dy = rng.standard_normal((37, 6, 9, 9)).astype(np.float32)
    before = numba.get_num_threads()
    runs = []
    try:
        for n in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(n)
            runs.append((C.conv2d_forward(x, w, b, 1, 1), *C.conv2d_backward(dy, x, w, 1, 1)))
    finally:
        numba.set_num_threads(before)
    for a, b_ in zip(runs[0], runs[-1], strict=True):
        assert np.array_equal(a, b_)


def test_bad_input_raises_before_the_kernel(rng):
    x, w, b = _case(rng, (2, 3, 5, 5), 3, np.float32, out_ch=4)
    with pytest.raises(ValueError, match="input channel"):
        C.conv2d_forward(x[:, :2], w, b)
    with pytest.raises(ValueError, match="larger than the padded input"):
        C.conv2d_forward(x, np.zeros((4, 3, 8, 8), np.float32), b)
    with pytest.raises(ValueError, match="bias"):
        C.conv2d_forward(x, w, b[:3])
    with pytest.raises(ValueError, match="weight"):
        C.conv2d_forward(x, w.astype(np.float64), b)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        C.conv2d_forward(x[0], w, b)
    with pytest.raises(ValueError, match=r"dy must be a float32 array of shape \(2, 4, 3, 3\)"):
        C.conv2d_backward(np.zeros((2, 4, 5, 5), np.float32), x, w)
    with pytest.raises(ValueError, match="bias must be a float32"):
        C.conv2d_forward(x, w, b.astype(np.float64))
    with pytest.raises(ValueError, match="no output channels"):
        C.conv2d_forward(x, w[:0], None)
    with pytest.raises(ValueError, match="stride must be below 2\\*\\*31"):
        C.conv2d_forward(x, w, b, stride=2**63)
    with pytest.raises(ValueError, match="dy must be a float32"):
        C.conv2d_backward(np.zeros((2, 4, 3, 3)), x, w)


def test_non_contiguous_and_empty_inputs(rng):
    x, w, b = _case(rng, (6, 3, 8, 8), 3, np.float64, out_ch=5)
    xs, ws = x[::2, :, ::-1], np.asfortranarray(w)                # strided, reversed, Fortran-ordered
    y = C.conv2d_forward(xs, ws, b, 1, 1)
    np.testing.assert_allclose(y, C.conv2d_forward_reference(np.ascontiguousarray(xs), w, b, 1, 1), rtol=1e-10)
    dy = rng.standard_normal(y.shape)[:, :, :, ::-1]
    for g, r in zip(C.conv2d_backward(dy, xs, ws, 1, 1),
                    C.conv2d_backward_reference(np.ascontiguousarray(dy), np.ascontiguousarray(xs), w, 1, 1),
                    strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)
    empty = np.zeros((0, 3, 8, 8))
    assert C.conv2d_forward(empty, w, b, 1, 1).shape == (0, 5, 8, 8)
    dw, db, dx = C.conv2d_backward(np.zeros((0, 5, 8, 8)), empty, w, 1, 1)
    assert dx.shape == (0, 3, 8, 8) and not dw.any() and not db.any()
    # no input channels: the output is the bias, and only the bias has a gradient
    x0, w0 = np.ones((3, 0, 5, 5), np.float32), np.ones((2, 0, 3, 3), np.float32)
    b0 = np.array([1.0, 2.0], np.float32)
    y0 = C.conv2d_forward(x0, w0, b0, 1, 1)
    assert np.array_equal(y0, np.broadcast_to(b0[None, :, None, None], (3, 2, 5, 5)))
    dw, db, dx = C.conv2d_backward(y0, x0, w0, 1, 1)
    assert dw.shape == (2, 0, 3, 3) and dx.shape == (3, 0, 5, 5) and np.array_equal(db, [75.0, 150.0])
