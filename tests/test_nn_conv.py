"""Conv2d, pooling and Flatten: finite-difference gradients at several shapes, agreement with
the definition of a convolution, and clear errors for bad input."""
import numpy as np
import pytest

import minembed as me
import minembed.nn as nn
from minembed.nn import check_gradients


@pytest.mark.parametrize("in_ch,out_ch,k,s,p,bias,shape", [
    (1, 2, 3, 1, 1, True, (2, 1, 5, 5)),
    (2, 3, 3, 2, 1, True, (2, 2, 7, 6)),
    (3, 2, (2, 3), (1, 2), (0, 1), False, (1, 3, 4, 7)),
    (2, 2, 1, 1, 0, True, (3, 2, 3, 3)),
    (1, 1, 5, 1, 2, True, (1, 1, 5, 5)),
    (2, 4, 3, 3, 0, True, (2, 2, 7, 9)),
])
def test_conv2d_gradients(rng, in_ch, out_ch, k, s, p, bias, shape):
    layer = nn.Conv2d(in_ch, out_ch, k, stride=s, padding=p, bias=bias, seed=1)
    errors = check_gradients(layer, rng.standard_normal(shape))
    assert "input0" in errors and "weight" in errors and ("bias" in errors) == bias


def test_conv2d_without_input_grad_still_gives_weight_gradients(rng):
    layer = nn.Conv2d(1, 3, 3, padding=1, seed=0, input_grad=False)
    check_gradients(layer, rng.standard_normal((2, 1, 5, 4)), check_inputs=False)
    layer.forward(rng.standard_normal((2, 1, 5, 4)))
    assert layer.backward(rng.standard_normal((2, 3, 5, 4))) is None


def test_conv2d_equals_direct_sliding_dot_products(rng):
    layer = nn.Conv2d(3, 4, (3, 2), stride=2, padding=1, seed=0).astype(np.float64)
    x = rng.standard_normal((2, 3, 6, 5))
    y = layer(x)
    w, b = layer.weight.data, layer.bias.data
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    assert y.shape == (2, 4, 3, 3)
    for n in range(2):
        for o in range(4):
            for i in range(3):
                for j in range(3):
                    expected = (xp[n, :, 2 * i:2 * i + 3, 2 * j:2 * j + 2] * w[o]).sum() + b[o]
                    assert np.isclose(y[n, o, i, j], expected, atol=1e-12)


def test_conv2d_init_is_pytorch_like():
    layer = nn.Conv2d(8, 16, 3, seed=0)
    bound = 1 / np.sqrt(8 * 9)
    assert layer.weight.data.dtype == np.float32 and layer.weight.shape == (16, 8, 3, 3)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    assert np.abs(layer.bias.data).max() <= bound
    assert np.array_equal(nn.Conv2d(8, 16, 3, seed=0).weight.data, layer.weight.data)


@pytest.mark.parametrize("k,s,shape", [(2, None, (2, 3, 4, 6)), (3, 2, (2, 2, 7, 7)), ((2, 3), 1, (1, 2, 5, 6)),
                                       (2, None, (1, 1, 5, 5))])
def test_maxpool_gradients(rng, k, s, shape):
    # distinct values so no window has a tie (finite differences are wrong at a tie)
    x = rng.permutation(np.prod(shape)).reshape(shape) / 7.0
    check_gradients(nn.MaxPool2d(k, s), x, eps=1e-4)


@pytest.mark.parametrize("k,s,shape", [(2, None, (2, 3, 4, 6)), (3, 2, (2, 2, 7, 7))])
def test_fused_relu_maxpool_gradients(rng, k, s, shape):
    x = (rng.permutation(np.prod(shape)).reshape(shape) - np.prod(shape) / 2) / 7.0  # distinct, half negative
    x[x == 0] = 0.05
    check_gradients(nn.ReLUMaxPool2d(k, s), x, eps=1e-4)
    np.testing.assert_array_equal(nn.ReLUMaxPool2d(k, s)(x), nn.MaxPool2d(k, s)(nn.ReLU()(x)))


def test_maxpool_routes_gradient_to_the_winner():
    x = np.array([[1, 5, 2, 0], [3, 4, 9, 1], [0, 0, 1, 2], [7, 0, 3, 3]], np.float32).reshape(1, 1, 4, 4)
    pool = nn.MaxPool2d(2)
    assert pool(x).ravel().tolist() == [5, 9, 7, 3]
    dx = pool.backward(np.array([1, 2, 3, 4], np.float32).reshape(1, 1, 2, 2))
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[3, 0], expected[3, 2] = 1, 2, 3, 4  # tie 3,3: first wins
    assert np.array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("k,s,shape", [(2, None, (2, 3, 4, 6)), (3, 2, (2, 2, 7, 7)), ((2, 3), 1, (1, 2, 5, 6))])
def test_avgpool_gradients(rng, k, s, shape):
    check_gradients(nn.AvgPool2d(k, s), rng.standard_normal(shape))


def test_avgpool_and_global_average_values(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(nn.AvgPool2d(2)(x), x.reshape(2, 3, 2, 2, 2, 2).mean(axis=(3, 5)))
    np.testing.assert_allclose(nn.GlobalAvgPool2d()(x), x.mean(axis=(2, 3)))
    check_gradients(nn.GlobalAvgPool2d(), rng.standard_normal((2, 3, 3, 5)))


def test_flatten_round_trip(rng):
    f = nn.Flatten()
    x = rng.standard_normal((2, 3, 4, 5))
    assert f(x).shape == (2, 60) and np.array_equal(f(x)[1], x[1].ravel())
    check_gradients(f, x)


def test_small_cnn_end_to_end_gradients(rng):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(2, 3, 3, stride=2, padding=1, seed=1), nn.ReLU(), nn.AvgPool2d(1),
                          nn.Flatten(), nn.Linear(12, 4, seed=2))
    x = rng.standard_normal((2, 1, 8, 7))
    check_gradients(model, x, eps=1e-5, atol=1e-5, rtol=1e-4)


def test_bad_inputs_name_the_shapes(rng):
    conv = nn.Conv2d(1, 8, 3, padding=1, seed=0)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\).*\(28, 28\).*rank 2"):
        conv(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match=r"1 input channel.*\(4, 3, 28, 28\) with 3 channel"):
        conv(np.zeros((4, 3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"shape \(2, 1, 2, 2\): kernel 5x5 is larger than the padded input 4x4"):
        nn.Conv2d(1, 1, 5, padding=1, seed=0)(np.zeros((2, 1, 2, 2)))
    x = np.zeros((2, 1, 6, 6), np.float32)
    x[1, 0, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"non-finite value nan at index \(1, 0, 2, 3\)"):
        conv(x)
    x[1, 0, 2, 3] = np.inf
    with pytest.raises(ValueError, match=r"shape \(2, 1, 6, 6\) has a non-finite"):
        conv(x)
    with pytest.raises(ValueError, match=r"kernel 3x3 is larger than the padded input 2x2"):
        nn.MaxPool2d(3)(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\).*\(5, 5\)"):
        nn.MaxPool2d(2)(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="positive channel"):
        nn.Conv2d(0, 8, 3)
    with pytest.raises(ValueError, match="stride"):
        nn.Conv2d(1, 8, 3, stride=0)


def test_exports():
    for name in ("Conv2d", "MaxPool2d", "ReLUMaxPool2d", "AvgPool2d", "GlobalAvgPool2d", "Flatten"):
        assert getattr(me, name) is getattr(nn, name)
