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
"""
from __future__ import annotations

import numpy as np

from ..kernels.conv import _pair, col2im, conv_output_size, im2col
from .functional import as_float_array
from .module import Module, Parameter, make_rng


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
        self._cache = None
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, shape, dtype) -> np.ndarray:
        """A scratch array reused from call to call (the im2col matrix of a batch of 128 MNIST
        images is 7 MB; allocating it afresh every step costs page faults). Its contents are
        only valid until the next forward."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(shape, dtype=dtype)
        return buf

    def output_shape(self, x_shape) -> tuple[int, int, int, int]:
        """(N, out_ch, OH, OW) for an input of shape (N, in_ch, H, W)."""
        oh, ow = conv_output_size(x_shape[2], x_shape[3], self.kernel_size, self.stride, self.padding)
        return (x_shape[0], self.out_ch, oh, ow)

    def forward(self, x):
        x = check_images(x, repr(self), self.in_ch, self.check_finite)
        try:
            n, oc, oh, ow = self.output_shape(x.shape)
        except ValueError as e:
            raise ValueError(f"{self!r} cannot be applied to input of shape {x.shape}: {e}") from None
        w = self.weight.data
        if x.dtype != w.dtype:  # e.g. float64 images into a float32 layer: compute in the weights' type
            x = x.astype(w.dtype)
        kh, kw = self.kernel_size
        cols = self._buffer("cols", (self.in_ch * kh * kw, n * oh * ow), x.dtype)
        im2col(x, self.kernel_size, self.stride, self.padding, out=cols)  # (C*KH*KW, N*OH*OW)
        wm = w.reshape(oc, -1)
        y_cm = np.matmul(wm, cols, out=self._buffer("y_cm", (oc, cols.shape[1]), np.result_type(wm, cols)))
        #     ^ (OC, C*KH*KW) @ (C*KH*KW, N*OH*OW): the whole convolution is this one BLAS call
        y = np.empty((n, oc, oh * ow), dtype=y_cm.dtype)
        planes = y_cm.reshape(oc, n, oh * ow).transpose(1, 0, 2)         # a view: (N, OC, OH*OW)
        if self.bias is not None:
            np.add(planes, self.bias.data.reshape(1, oc, 1), out=y)      # rearrange + bias in one pass
        else:
            np.copyto(y, planes)
        self._cache = (x.shape, cols)
        return y.reshape(n, oc, oh, ow)

    def backward(self, dy):
        x_shape, cols = self._cache
        n, oc, oh, ow = dy.shape
        dy_cm = np.empty((oc, n, oh * ow), dtype=dy.dtype)                # (OC, N, OH*OW): whole planes move
        np.copyto(dy_cm, dy.reshape(n, oc, oh * ow).transpose(1, 0, 2))
        dy_cm = dy_cm.reshape(oc, n * oh * ow)
        wm = self.weight.data.reshape(oc, -1)
        if self.weight.requires_grad:
            self.weight.accumulate((dy_cm @ cols.T).reshape(self.weight.data.shape))
        if self.bias is not None:
            self.bias.accumulate(dy_cm.sum(axis=1))
        if not self.input_grad:
            return None
        dcols = np.matmul(wm.T, dy_cm, out=self._buffer("dcols", (wm.shape[1], dy_cm.shape[1]), dy_cm.dtype))
        return col2im(dcols, x_shape, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        s = f"{self.in_ch}, {self.out_ch}, kernel_size={self.kernel_size}"
        if self.stride != (1, 1):
            s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        return s + ("" if self.bias is not None else ", bias=False")

    def __repr__(self) -> str:
        return f"Conv2d({self.extra_repr()})"
