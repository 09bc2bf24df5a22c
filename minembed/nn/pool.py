"""Pooling and flattening: shrinking feature maps, then turning them into vectors.

* ``MaxPool2d``: each output is the max of a KH x KW window. Its derivative is 1 for the
  pixel that won and 0 for the others, so backward *routes* ``dy`` to the winner
  (the forward remembers which tap won: "argmax routing").
* ``ReLUMaxPool2d``: ``MaxPool2d(ReLU(x))`` fused into one pass (same values and gradients).
* ``AvgPool2d``: each output is the mean of its window, so every pixel of the window
  receives ``dy / (KH*KW)``.
* ``GlobalAvgPool2d``: the mean over all of H x W, (N, C, H, W) -> (N, C).
* ``Flatten``: (N, d1, d2, ...) -> (N, d1*d2*...), backward reshapes back.
"""
from __future__ import annotations

import numpy as np

from ..kernels.conv import _pair, conv_output_size
from ..kernels.pool import maxpool2d_backward, maxpool2d_forward
from .conv import check_images
from .module import Module


def _window(kernel_size, stride) -> tuple[tuple[int, int], tuple[int, int]]:
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None else _pair(stride, "stride")
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"pooling needs kernel_size and stride >= 1, got {k} and {s}")
    return k, s


class MaxPool2d(Module):
    """Max over each window: (N, C, H, W) -> (N, C, OH, OW), ``OH = (H - KH) // s + 1``
    (``stride`` defaults to ``kernel_size``; leftover rows/columns are dropped, as in PyTorch).

    Backward: ``dx[n, c, winner(oh, ow)] += dy[n, c, oh, ow]``, every other pixel 0. Ties go to
    the first pixel of the window in row-major order. A Numba kernel does both passes
    (:func:`minembed.kernels.pool.maxpool2d_forward` and its reference).
    """

    _relu = False

    def __init__(self, kernel_size, stride=None):
        self.kernel_size, self.stride = _window(kernel_size, stride)
        self._cache = None

    def forward(self, x):
        x = check_images(x, repr(self))
        try:
            out, arg = maxpool2d_forward(x, self.kernel_size, self.stride, relu=self._relu)
        except ValueError as e:
            raise ValueError(f"{self!r} cannot be applied to input of shape {x.shape}: {e}") from None
        self._cache = (x.shape, arg)
        return out

    def backward(self, dy):
        x_shape, arg = self._cache
        return maxpool2d_backward(dy, arg, x_shape, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class ReLUMaxPool2d(MaxPool2d):
    """``MaxPool2d(ReLU(x))`` in one pass over x, with the same output and gradient as the two layers.

    ReLU is monotone, so ``max(relu(x)) = relu(max(x))``: take the window's max, clamp it at 0.
    Backward routes ``dy`` to the winner only where that max was > 0 (the ReLU's slope is 0
    elsewhere). Saves the ReLU's mask and two passes over the largest activation of a CNN.
    """

    _relu = True


class AvgPool2d(Module):
    """Mean over each window: (N, C, H, W) -> (N, C, OH, OW); ``stride`` defaults to ``kernel_size``.

    Written with one strided slice per tap (i, j): output (oh, ow) meets input pixel
    (oh*s + i, ow*s + j). Backward adds ``dy / (KH*KW)`` back through the same slices.
    """

    def __init__(self, kernel_size, stride=None):
        self.kernel_size, self.stride = _window(kernel_size, stride)
        self._shape = None

    def forward(self, x):
        x = check_images(x, repr(self))
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        try:
            oh, ow = conv_output_size(x.shape[2], x.shape[3], (kh, kw), (sh, sw), 0)
        except ValueError as e:
            raise ValueError(f"{self!r} cannot be applied to input of shape {x.shape}: {e}") from None
        out = np.zeros(x.shape[:2] + (oh, ow), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                out += x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
        out /= kh * kw
        self._shape = x.shape
        return out

    def backward(self, dy):
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        oh, ow = dy.shape[2], dy.shape[3]
        dx = np.zeros(self._shape, dtype=dy.dtype)
        share = dy / (kh * kw)
        for i in range(kh):
            for j in range(kw):
                dx[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += share
        return dx

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class GlobalAvgPool2d(Module):
    """Mean over all positions: (N, C, H, W) -> (N, C). Backward spreads ``dy / (H*W)`` everywhere."""

    def forward(self, x):
        x = check_images(x, "GlobalAvgPool2d")
        self._shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dy):
        n, c, h, w = self._shape
        return np.broadcast_to((dy / (h * w))[:, :, None, None], self._shape).copy()


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...) in C order (what PyTorch's ``nn.Flatten()`` gives for NCHW)."""

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError(f"Flatten needs an array with a batch axis, got shape {x.shape}")
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self._shape)
