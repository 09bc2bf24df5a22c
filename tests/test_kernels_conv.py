"""im2col / col2im (kernels.conv) and max-pool (kernels.pool) kernels against their NumPy references
and against the definition of a convolution; bad shapes stopped before compiled code runs."""
import numpy as np
import pytest

from minembed.kernels import conv as K
from minembed.kernels import pool as P

SHAPES = [  # (N, C, H, W), kernel, stride, padding
    ((2, 1, 5, 5), 3, 1, 0),
    ((3, 2, 7, 6), 3, 2, 1),
    ((1, 3, 4, 9), (2, 3), (1, 2), (0, 1)),
    ((4, 8, 14, 14), 3, 1, 1),
    ((2, 2, 5, 5), 5, 1, 2),
    ((1, 1, 3, 3), 4, 1, 1),
    ((2, 3, 11, 8), (3, 1), (2, 3), (2, 0)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k,s,p", SHAPES)
def test_im2col_kernel_equals_reference(rng, dtype, shape, k, s, p):
    x = rng.standard_normal(shape).astype(dtype)
    ref = K.im2col_reference(x, k, s, p)
    got = K.im2col(x, k, s, p)
    assert got.shape == ref.shape
    assert np.array_equal(got, ref)  # a pure copy: bit-identical


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k,s,p", SHAPES)
def test_col2im_kernel_equals_reference(rng, dtype, shape, k, s, p):
    oh, ow = K.conv_output_size(shape[2], shape[3], k, s, p)
    kh, kw = K._pair(k, "k")
    cols = rng.standard_normal((shape[1] * kh * kw, shape[0] * oh * ow)).astype(dtype)
    np.testing.assert_allclose(K.col2im(cols, shape, k, s, p), K.col2im_reference(cols, shape, k, s, p),
                               rtol=1e-6, atol=1e-6)


def test_im2col_on_random_shapes(rng):
    for _ in range(40):
        n, c = rng.integers(1, 4, 2)
        h, w = rng.integers(1, 10, 2)
        kh, kw = rng.integers(1, 5, 2)
        sh, sw = rng.integers(1, 4, 2)
        ph, pw = rng.integers(0, 3, 2)
        if h + 2 * ph < kh or w + 2 * pw < kw:
            with pytest.raises(ValueError, match="larger than the padded input"):
                K.im2col(np.zeros((n, c, h, w)), (kh, kw), (sh, sw), (ph, pw))
            continue
        x = rng.standard_normal((n, c, h, w))
        args = ((int(kh), int(kw)), (int(sh), int(sw)), (int(ph), int(pw)))
        cols = K.im2col(x, *args)
        assert np.array_equal(cols, K.im2col_reference(x, *args))
        g = rng.standard_normal(cols.shape)
        np.testing.assert_allclose(K.col2im(g, x.shape, *args), K.col2im_reference(g, x.shape, *args), atol=1e-12)


def test_im2col_matches_the_definition_by_hand():
    # 4x4 image, 3x3 kernel, no padding: 4 windows, the first starting at pixel (0, 0).
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    cols = K.im2col(x, 3)
    assert cols.shape == (9, 4)  # one column per window
    assert cols[:, 0].tolist() == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    assert cols[:, 3].tolist() == [5, 6, 7, 9, 10, 11, 13, 14, 15]
    # With padding 1 the first window is centred on pixel (0, 0): its top row and left column are zeros.
    padded = K.im2col(x, 3, 1, 1)
    assert padded.shape == (9, 16)
    assert padded[:, 0].tolist() == [0, 0, 0, 0, 0, 1, 0, 4, 5]


@pytest.mark.parametrize("shape,k,s,p", SHAPES)
def test_col2im_is_the_transpose_of_im2col(rng, shape, k, s, p):
    # <im2col(x), g> == <x, col2im(g)>: the defining property of the backward pass.
    x = rng.standard_normal(shape)
    cols = K.im2col(x, k, s, p)
    g = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * g), np.sum(x * K.col2im(g, shape, k, s, p)), rtol=1e-10)


def test_convolution_by_matmul_equals_direct_sliding_dot_products(rng):
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 2))
    s, p = 2, 1
    out = w.reshape(4, -1) @ K.im2col(x, (3, 2), s, p)  # (OC, N*OH*OW)
    oh, ow = K.conv_output_size(6, 5, (3, 2), s, p)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    direct = np.zeros((2, oh, ow, 4))
    for n in range(2):
        for y in range(oh):
            for z in range(ow):
                window = xp[n, :, y * s:y * s + 3, z * s:z * s + 2]
                direct[n, y, z] = [(window * w[o]).sum() for o in range(4)]
    np.testing.assert_allclose(out.reshape(4, 2, oh, ow).transpose(1, 2, 3, 0), direct, atol=1e-12)


@pytest.mark.parametrize("shape,k,s", [((2, 3, 8, 8), 2, None), ((3, 2, 7, 9), 3, 2), ((1, 4, 5, 6), (2, 3), 1),
                                       ((2, 1, 9, 9), 3, (2, 3))])
def test_maxpool_kernels_equal_reference(rng, shape, k, s):
    x = rng.standard_normal(shape)
    stride = k if s is None else s
    out, arg = P.maxpool2d_forward(x, k, s)
    ref_out, ref_arg = P.maxpool2d_forward_reference(x, k, stride)
    assert np.array_equal(out, ref_out) and np.array_equal(arg, ref_arg)
    dy = rng.standard_normal(out.shape)
    np.testing.assert_allclose(P.maxpool2d_backward(dy, arg, shape, k, s),
                               P.maxpool2d_backward_reference(dy, arg, shape, k, stride), atol=1e-12)


def test_maxpool_ties_go_to_the_first_pixel():
    x = np.zeros((1, 1, 2, 2), np.float32)
    for fn in (lambda: P.maxpool2d_forward(x, 2), lambda: P.maxpool2d_forward_reference(x, 2, 2)):
        out, arg = fn()
        assert arg.ravel().tolist() == [0]
    dx = P.maxpool2d_backward(np.ones((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.int8), x.shape, 2)
    assert dx.ravel().tolist() == [1, 0, 0, 0]


def test_bad_shapes_raise_before_the_kernel(rng):
    with pytest.raises(ValueError, match=r"\(N, C, H, W\).*\(3, 4, 4\)"):
        K.im2col(np.zeros((3, 4, 4)), 3)
    with pytest.raises(ValueError, match="kernel 5x5 is larger than the padded input 4x4"):
        K.im2col(np.zeros((1, 1, 4, 4)), 5)
    with pytest.raises(TypeError, match="float32/float64"):
        K.im2col(np.zeros((1, 1, 4, 4), np.int64), 3)
    with pytest.raises(ValueError, match="stride must be positive"):
        K.im2col(np.zeros((1, 1, 4, 4)), 3, stride=0)
    with pytest.raises(ValueError, match=r"must have shape \(9, 4\), got \(4, 9\)"):
        K.col2im(np.zeros((4, 9)), (1, 1, 4, 4), 3)
    with pytest.raises(ValueError, match="C-contiguous"):
        K.im2col(np.zeros((1, 1, 4, 4)), 3, out=np.zeros((8, 4)))
    with pytest.raises(ValueError, match="arg holds taps outside"):
        P.maxpool2d_backward(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 4, np.int8), (1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match="arg holds taps outside"):
        P.maxpool2d_backward(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), -2, np.int8), (1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"dy and arg must have shape \(1, 1, 2, 2\)"):
        P.maxpool2d_backward(np.zeros((1, 1, 3, 2)), np.zeros((1, 1, 3, 2), np.int8), (1, 1, 4, 4), 2)


def test_preallocated_output_is_filled(rng):
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    out = np.full((27, 2 * 25), np.nan, np.float32)
    assert K.im2col(x, 3, 1, 1, out=out) is out
    assert np.array_equal(out, K.im2col_reference(x, 3, 1, 1))


@pytest.mark.parametrize("shape,k,s", [((2, 3, 8, 8), 2, 2), ((3, 2, 7, 9), 3, 2), ((1, 4, 5, 6), (2, 3), 1)])
def test_fused_relu_maxpool_equals_relu_then_maxpool(rng, shape, k, s):
    x = rng.standard_normal(shape)
    x[0, 0] = -1.0  # a whole plane of dead windows
    out, arg = P.maxpool2d_forward(x, k, s, relu=True)
    ref_out, ref_arg = P.maxpool2d_forward_reference(x, k, s, relu=True)
    assert np.array_equal(out, ref_out) and np.array_equal(arg, ref_arg)
    assert (arg[0, 0] == -1).all()
    plain_out, plain_arg = P.maxpool2d_forward(np.maximum(x, 0), k, s)
    assert np.array_equal(out, plain_out)
    dy = rng.standard_normal(out.shape)
    fused_dx = P.maxpool2d_backward(dy, arg, shape, k, s)
    np.testing.assert_allclose(fused_dx, P.maxpool2d_backward_reference(dy, arg, shape, k, s), atol=1e-12)
    # ReLU then max-pool, by the chain rule: route to the winner, then multiply by the ReLU slope
    chained = P.maxpool2d_backward(dy, plain_arg, shape, k, s) * (x > 0)
    np.testing.assert_allclose(fused_dx, chained, atol=1e-12)
