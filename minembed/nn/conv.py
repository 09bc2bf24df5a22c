"""2-D convolution as im2col + one matrix multiplication (NCHW layout, like PyTorch).

Forward, for input x (N, C, H, W), weight W (OC, C, KH, KW), bias b (OC,)::

    y[n, o, oh, ow] = b[o] + sum_{c,i,j} W[o, c, i, j] * x[n, c, oh*s - p + i, ow*s - p + j]

i.e. a dot product of the filter with every window of the (zero-padded) image. With
``X = im2col(x)`` of shape (C*KH*KW, N*OH*OW) (one window per column) and ``Wm = W.reshape(OC, -1)``::

    Y = Wm @ X + b             (OC, N*OH*OW)       then rearranged to y (N, OC, OH, OW)

Backward is the backward of a Linear layer applied to the columns of X. With
``dY = dy`` rearranged to (OC, N*OH*OW)::

    dWm = dY @ X^T             (OC, C*KH*KW)       db = row sums of dY
    dX  = Wm^T @ dY            (C*KH*KW, N*OH*OW)  dx = col2im(dX)   (overlaps add up)

``col2im`` adds every window's gradient back onto the pixels it was copied from.

The layer computes exactly this, but one image at a time (``conv2d_forward`` / ``conv2d_backward``
in :mod:`minembed.kernels.conv`): each image's block of X is built, multiplied and dropped while
it is still in the cache, instead of writing X for the whole batch to memory.
``MINEMBED_JIT=0`` runs the whole-batch NumPy version.
"""
from __future__ import annotations

import numpy as np

from ..kernels.conv import _pair, conv2d_backward, conv2d_forward, conv_output_size
from ..rng import make_rng
from .functional import as_float_array
from .module import Module, Parameter


def check_images(x, layer: str, channels: int | None = None, finite: bool = False) -> np.ndarray:
    """``x`` as a float array of shape (N, C, H, W); ``ValueError`` naming the shapes otherwise.

    ``channels`` pins C; ``finite=True`` also rejects NaN/inf values (one pass over x).
    """
    x = as_float_array(x)
    if x.ndim != 4:
        want = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{layer} expects images of shape {want}, got an array of shape {x.shape} (rank {x.ndim})")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{layer} expects {channels} input channel(s), i.e. shape (N, {channels}, H, W); "
                         f"got shape {x.shape} with {x.shape[1]} channel(s)")
    if finite and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{layer}: input of shape {x.shape} has a non-finite value {x[tuple(bad)]} "
                         f"at index {tuple(int(b) for b in bad)}")
    return np.ascontiguousarray(x)


class Conv2d(Module):
    """2-D convolution: (N, in_ch, H, W) -> (N, out_ch, OH, OW), ``OH = (H + 2p - KH) // s + 1``.

    Initialisation as in PyTorch (Kaiming-uniform with a = sqrt 5): weight and bias both
    ``~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = in_ch * KH * KW``.

    ``input_grad=False`` skips computing dx (backward returns None): right for the first
    layer of a network, whose input is data (PyTorch skips it there too).
    ``check_finite`` (default True) rejects NaN/inf pixels with a ``ValueError``.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size, stride=1, padding=0, bias: bool = True, *,
                 rng=None, seed=None, dtype=np.float32, input_grad: bool = True, check_finite: bool = True):
        if in_ch < 1 or out_ch < 1:
            raise ValueError(f"Conv2d needs positive channel counts, got in_ch={in_ch}, out_ch={out_ch}")
        kh, kw = _pair(kernel_size, "kernel_size")
        sh, sw = _pair(stride, "stride")
        ph, pw = _pair(padding, "padding")
        if kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0:
            raise ValueError(f"Conv2d needs kernel_size, stride >= 1 and padding >= 0; got "
                             f"{(kh, kw)}, {(sh, sw)}, {(ph, pw)}")
        gen = make_rng(rng, seed)
        fan_in = in_ch * kh * kw
        bound = 1.0 / np.sqrt(fan_in)
        self.in_ch, self.out_ch = in_ch, out_ch
        self.kernel_size, self.stride, self.padding = (kh, kw), (sh, sw), (ph, pw)
        self.weight = Parameter(gen.uniform(-bound, bound, (out_ch, in_ch, kh, kw)).astype(dtype))
        self.bias = Parameter(gen.uniform(-bound, bound, out_ch).astype(dtype)) if bias else None
        self.input_grad = input_grad
        self.check_finite = check_finite
        self._x = None

    def output_shape(self, x_shape) -> tuple[int, int, int, int]:
        """(N, out_ch, OH, OW) for an input of shape (N, in_ch, H, W)."""
        oh, ow = conv_output_size(x_shape[2], x_shape[3], self.kernel_size, self.stride, self.padding)
        return (x_shape[0], self.out_ch, oh, ow)

    def forward(self, x):
        x = check_images(x, repr(self), self.in_ch, self.check_finite)
        try:
            self.output_shape(x.shape)
        except ValueError as e:
            raise ValueError(f"{self!r} cannot be applied to input of shape {x.shape}: {e}") from None
        w = self.weight.data
        if x.dtype != w.dtype:  # e.g. float64 images into a float32 layer: compute in the weights' type
            x = x.astype(w.dtype)
        self._x = x  # backward needs the input again (to rebuild its windows)
        bias = self.bias.data if self.bias is not None else None
        return conv2d_forward(x, w, bias, self.stride, self.padding)

    def backward(self, dy):
        if self._x is None:
            raise RuntimeError(f"{self!r}: backward() was called before forward()")
        dw, db, dx = conv2d_backward(np.asarray(dy, dtype=self.weight.data.dtype), self._x, self.weight.data,
                                     self.stride, self.padding, input_grad=self.input_grad)
        if self.weight.requires_grad:
            self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)
        return dx

    def extra_repr(self) -> str:
        s = f"{self.in_ch}, {self.out_ch}, kernel_size={self.kernel_size}"
        if self.stride != (1, 1):
            s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        return s + ("" if self.bias is not None else ", bias=False")

    def __repr__(self) -> str:
        return f"Conv2d({self.extra_repr()})"
