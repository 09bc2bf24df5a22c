"""A whole convolution layer, forward and backward, as three fused Numba kernels.

:mod:`minembed.kernels.conv` turns a convolution into one matrix product over the whole batch::

    cols = im2col(x)                         (C*KH*KW, N*OH*OW)
    Y    = Wm @ cols + b                     (OC, N*OH*OW)         Wm = W.reshape(OC, C*KH*KW)

That is the clearest way to see it (and it is :func:`conv2d_forward_reference` below), but for a
small network it is slow for a dull reason: memory. For 128 MNIST images and the second layer of
TinyCNN, ``cols`` is 72 x 25,088 floats = 7 MB, written once and read three times per step
(forward matmul, weight gradient, and the same size again for the input gradient), far more
than the caches hold, while the arithmetic on it is only ~30M multiply-adds.

The kernels here do the same arithmetic *one image at a time*: build that image's (C*KH*KW, OH*OW)
block of ``cols`` (56 KB for the example above, it stays in the core's cache), multiply it at once,
move on. Images are independent, so threads take different images (``prange``)::

    forward        y[n]  = Wm @ cols_n + b                       (OC, OH*OW)
    weight grad    dWm  += dy[n] @ cols_n^T,  db += rows sums of dy[n]
    input grad     dx[n] = col2im_n(Wm^T @ dy[n])

with ``cols_n`` from the same per-image loop as :func:`~minembed.kernels.conv.im2col`
(``_im2col_sample``) and ``col2im_n`` from that of :func:`~minembed.kernels.conv.col2im`.

The small matrix products are written as loops whose innermost index runs along an image row
of ``cols_n`` (``OH*OW`` consecutive floats), so LLVM vectorises them, and each pass over ``cols_n``
serves four output channels at once (one load feeds four multiply-adds).
``fastmath`` lets LLVM reorder the sums, so results match the references to rounding (~1e-6
relative in float32), not bit for bit. They do not depend on the number of threads: the weight
gradient is summed over fixed blocks of ``WEIGHT_GRAD_BLOCK`` images, then the blocks in order.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .conv import (
    _check_images,
    _col2im_sample,
    _im2col_sample,
    _pad,
    _pair,
    col2im_reference,
    conv_output_size,
    im2col_reference,
)
from .jit import jit, jit_enabled

WEIGHT_GRAD_BLOCK = 8  # images per partial weight gradient (fixed, so the sum order is too)


# ---------------------------------------------------------------------- references
def conv2d_forward_reference(x, weight, bias, stride=1, padding=0) -> np.ndarray:
    """(N, C, H, W) -> (N, OC, OH, OW): ``Wm @ im2col(x) + b`` for the whole batch, in NumPy."""
    n = x.shape[0]
    oc, kh, kw = weight.shape[0], weight.shape[2], weight.shape[3]
    oh, ow = conv_output_size(x.shape[2], x.shape[3], (kh, kw), stride, padding)
    y = weight.reshape(oc, -1) @ im2col_reference(x, (kh, kw), stride, padding)  # (OC, N*OH*OW)
    if bias is not None:
        y += bias[:, None]
    return np.ascontiguousarray(y.reshape(oc, n, oh, ow).transpose(1, 0, 2, 3))


def conv2d_backward_reference(dy, x, weight, stride=1, padding=0, input_grad=True):
    """``(dW, db, dx)`` for ``dy`` (N, OC, OH, OW): ``dWm = dY @ cols^T``, ``db`` = row sums of ``dY``,
    ``dx = col2im(Wm^T @ dY)`` (None when ``input_grad`` is False), with ``dY`` = dy as (OC, N*OH*OW)."""
    oc, kh, kw = weight.shape[0], weight.shape[2], weight.shape[3]
    dy_cm = dy.transpose(1, 0, 2, 3).reshape(oc, -1)
    cols = im2col_reference(x, (kh, kw), stride, padding)
    dw = (dy_cm @ cols.T).reshape(weight.shape)
    db = dy_cm.sum(axis=1)
    dx = col2im_reference(weight.reshape(oc, -1).T @ dy_cm, x.shape, (kh, kw), stride, padding) if input_grad else None
    return dw, db, dx


# ------------------------------------------------------------------------- kernels
@jit(nogil=True, cache=True, parallel=True, fastmath=True)
def _forward_kernel(xp, wm, b, y, kh, kw, sh, sw):
    n_img, oc = xp.shape[0], wm.shape[0]
    k, oh, ow = wm.shape[1], y.shape[2], y.shape[3]
    p = oh * ow
    for n in prange(n_img):
        cols = np.empty((k, p), dtype=xp.dtype)            # this image's windows, cache-sized
        _im2col_sample(xp, n, cols, kh, kw, sh, sw, oh, ow)
        yn = y[n].reshape(oc, p)                            # (OC, OH*OW) view of the output
        for o in range(oc):
            yn[o, :] = b[o]
        o4 = oc - oc % 4
        for o in range(0, o4, 4):                           # four output channels per pass over cols
            for q in range(k):
                w0, w1, w2, w3 = wm[o, q], wm[o + 1, q], wm[o + 2, q], wm[o + 3, q]
                for r in range(p):
                    v = cols[q, r]
                    yn[o, r] += w0 * v
                    yn[o + 1, r] += w1 * v
                    yn[o + 2, r] += w2 * v
                    yn[o + 3, r] += w3 * v
        for o in range(o4, oc):                             # the leftover channels, one at a time
            for q in range(k):
                w0 = wm[o, q]
                for r in range(p):
                    yn[o, r] += w0 * cols[q, r]


@jit(nogil=True, cache=True, parallel=True, fastmath=True)
def _weight_grad_kernel(xp, dy, dw_parts, db_parts, kh, kw, sh, sw, block):
    # dw_parts (B, OC, K) / db_parts (B, OC): block t sums images [t*block, (t+1)*block).
    n_img, oc, oh, ow = dy.shape
    k, p = dw_parts.shape[2], oh * ow
    for t in prange(dw_parts.shape[0]):
        cols = np.empty((k, p), dtype=xp.dtype)
        dw_parts[t] = 0.0
        db_parts[t] = 0.0
        for n in range(t * block, min(n_img, (t + 1) * block)):
            _im2col_sample(xp, n, cols, kh, kw, sh, sw, oh, ow)
            dyn = dy[n].reshape(oc, p)
            for o in range(oc):
                db_parts[t, o] += dyn[o].sum()
            o4 = oc - oc % 4
            for o in range(0, o4, 4):                       # dWm[o, q] += <dy[n, o], cols[q]>, four o at once
                for q in range(k):
                    a0 = a1 = a2 = a3 = 0.0
                    for r in range(p):
                        v = cols[q, r]
                        a0 += dyn[o, r] * v
                        a1 += dyn[o + 1, r] * v
                        a2 += dyn[o + 2, r] * v
                        a3 += dyn[o + 3, r] * v
                    dw_parts[t, o, q] += a0
                    dw_parts[t, o + 1, q] += a1
                    dw_parts[t, o + 2, q] += a2
                    dw_parts[t, o + 3, q] += a3
            for o in range(o4, oc):
                for q in range(k):
                    acc = 0.0
                    for r in range(p):
                        acc += dyn[o, r] * cols[q, r]
                    dw_parts[t, o, q] += acc


@jit(nogil=True, cache=True, parallel=True, fastmath=True)
def _input_grad_kernel(dy, wm, dxp, kh, kw, sh, sw):
    # dxp: the padded input gradient, (N, C, H + 2p, W + 2p); the caller cuts the border off.
    n_img, oc, oh, ow = dy.shape
    k, p = wm.shape[1], oh * ow
    for n in prange(n_img):
        dcols = np.zeros((k, p), dtype=dy.dtype)           # Wm^T @ dy[n]: this image's column gradients
        dyn = dy[n].reshape(oc, p)
        o4 = oc - oc % 4
        for o in range(0, o4, 4):
            for q in range(k):
                w0, w1, w2, w3 = wm[o, q], wm[o + 1, q], wm[o + 2, q], wm[o + 3, q]
                for r in range(p):
                    dcols[q, r] += w0 * dyn[o, r] + w1 * dyn[o + 1, r] + w2 * dyn[o + 2, r] + w3 * dyn[o + 3, r]
        for o in range(o4, oc):
            for q in range(k):
                w0 = wm[o, q]
                for r in range(p):
                    dcols[q, r] += w0 * dyn[o, r]
        dxp[n] = 0.0
        _col2im_sample(dcols, dxp, n, kh, kw, sh, sw, oh, ow)


# -------------------------------------------------------------------------- checks
def _check_conv(x, weight, stride, padding, name="x"):
    x = _check_images(x, name)
    if not isinstance(weight, np.ndarray) or weight.ndim != 4 or weight.dtype != x.dtype:
        raise ValueError(f"weight must be a {x.dtype} array of shape (OC, C, KH, KW), got "
                         f"{getattr(weight, 'dtype', type(weight).__name__)} {getattr(weight, 'shape', '')}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight of shape {weight.shape} expects {weight.shape[1]} input channel(s), "
                         f"got {name} of shape {x.shape}")
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    oh, ow = conv_output_size(x.shape[2], x.shape[3], weight.shape[2:], stride, padding)
    return x, np.ascontiguousarray(weight), stride, padding, oh, ow


# -------------------------------------------------------------------------- public
def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, stride=1,
                   padding=0) -> np.ndarray:
    """Convolution (N, C, H, W) -> (N, OC, OH, OW) with ``weight`` (OC, C, KH, KW) and ``bias`` (OC,) or None.

    ``x``, ``weight`` and ``bias`` share one float dtype. Raises ``ValueError`` naming the shapes
    when they do not fit together.
    """
    x, weight, stride, padding, oh, ow = _check_conv(x, weight, stride, padding)
    oc = weight.shape[0]
    if bias is not None and (not isinstance(bias, np.ndarray) or bias.shape != (oc,) or bias.dtype != x.dtype):
        raise ValueError(f"bias must be a {x.dtype} array of shape ({oc},), got "
                         f"{getattr(bias, 'dtype', type(bias).__name__)} {getattr(bias, 'shape', '')}")
    if not jit_enabled():
        return conv2d_forward_reference(x, weight, bias, stride, padding)
    b = np.zeros(oc, x.dtype) if bias is None else bias
    y = np.empty((x.shape[0], oc, oh, ow), dtype=x.dtype)
    _forward_kernel(_pad(x, *padding), weight.reshape(oc, -1), b, y, *weight.shape[2:], *stride)
    return y


def conv2d_backward(dy: np.ndarray, x: np.ndarray, weight: np.ndarray, stride=1, padding=0,
                    input_grad: bool = True):
    """Gradients of :func:`conv2d_forward` for the upstream gradient ``dy`` (N, OC, OH, OW):
    ``(dweight (OC, C, KH, KW), dbias (OC,), dx (N, C, H, W) or None)``.

    ``x`` is the forward's input. ``input_grad=False`` skips ``dx`` (a first layer's input is data).
    """
    x, weight, stride, padding, oh, ow = _check_conv(x, weight, stride, padding)
    dy = _check_images(dy, "dy")
    expected = (x.shape[0], weight.shape[0], oh, ow)
    if dy.shape != expected or dy.dtype != x.dtype:
        raise ValueError(f"dy must be a {x.dtype} array of shape {expected} (the forward's output), "
                         f"got {dy.dtype} {dy.shape}")
    if not jit_enabled():
        return conv2d_backward_reference(dy, x, weight, stride, padding, input_grad)
    n, oc = x.shape[0], weight.shape[0]
    kh, kw = weight.shape[2:]
    (sh, sw), (ph, pw) = stride, padding
    wm = weight.reshape(oc, -1)
    blocks = (n + WEIGHT_GRAD_BLOCK - 1) // WEIGHT_GRAD_BLOCK
    dw_parts = np.empty((blocks, oc, wm.shape[1]), dtype=x.dtype)
    db_parts = np.empty((blocks, oc), dtype=x.dtype)
    _weight_grad_kernel(_pad(x, ph, pw), dy, dw_parts, db_parts, kh, kw, sh, sw, WEIGHT_GRAD_BLOCK)
    dw = dw_parts.sum(axis=0).reshape(weight.shape)
    db = db_parts.sum(axis=0)
    if not input_grad:
        return dw, db, None
    h, w = x.shape[2], x.shape[3]
    dxp = np.empty((n, x.shape[1], h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    _input_grad_kernel(dy, wm, dxp, kh, kw, sh, sw)
    dx = dxp if ph == 0 and pw == 0 else np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + w])
    return dw, db, dx
