"""im2col / col2im: a convolution becomes one matrix multiplication (and the fused layer kernels built on them).

A 2-D convolution slides a (C, KH, KW) filter over a (C, H, W) image and takes a dot
product at every position. *im2col* copies every window the filter will see into one
column of a matrix, so that all those dot products become a single matmul::

    x (N, C, H, W)  --im2col-->  cols (C*KH*KW, N*OH*OW)
    Y = W.reshape(OC, C*KH*KW) @ cols               (OC, N*OH*OW)   one big BLAS call

Index arithmetic (the whole trick). With stride ``s`` and zero padding ``p``::

    OH = (H + 2p - KH) // s + 1             OW = (W + 2p - KW) // s + 1
    row    q = (c * KH + i) * KW + j        one filter tap
    column r = (n * OH + oh) * OW + ow      one output position (one window)
    cols[q, r] = x[n, c, oh*s - p + i, ow*s - p + j]   (0 when that pixel lies in the padding)

The row order (c, i, j) is the order of ``W.reshape(OC, C*KH*KW)``, so no weight
reshuffling is needed. Windows are *columns* (Caffe's layout, not the one with windows as
rows) because then the innermost loop, over ``ow``, reads and writes consecutive memory
when the stride is 1, and ``Y`` is "channel-major": turning it into NCHW only moves
whole (OH*OW) planes.

*col2im* is the adjoint (the transpose) of im2col: every entry of ``dcols`` is added back
into the pixel it was copied from. A pixel covered by several windows receives the sum of
their contributions: this scatter-add *is* the convolution's backward pass with respect
to its input, ``dx = col2im(W^T @ dY)``. Padding entries are simply dropped.

Every Numba kernel is parallel over the batch: sample ``n`` only reads and writes its own
columns and its own image, so threads never collide and the result does not depend on the
number of threads.

**The whole layer, one image at a time.** ``Wm @ im2col(x)`` over the whole batch is the
clearest way to see a convolution (it is :func:`conv2d_forward_reference`), but for a small
network it is slow for a dull reason: memory. For 128 MNIST images and the second layer of
TinyCNN, ``cols`` is 72 x 25,088 floats = 7 MB, far more than a core's L2 cache: it is
written and read back in the forward, read again for the weight gradient, and a second matrix
of the same size is written and read for the input gradient. The arithmetic on it is small:
29M multiply-adds per matrix product.

:func:`conv2d_forward` / :func:`conv2d_backward` do the same arithmetic *one image at a time*:
build that image's (C*KH*KW, OH*OW) block of ``cols`` (56 KB in the example, it stays in L2),
multiply it at once, move on. Images are independent, so threads take different images::

    forward        y[n]  = Wm @ cols_n + b                       (OC, OH*OW)
    weight grad    dWm  += dy[n] @ cols_n^T,  db += row sums of dy[n]
    input grad     dx[n] = col2im_n(Wm^T @ dy[n])

``cols_n`` and ``col2im_n`` are the per-image loops of the batch kernels (``_im2col_sample``,
``_col2im_sample``). The small matrix products are loops whose innermost index runs along a
row of ``cols_n`` (``OH*OW`` consecutive floats), so LLVM vectorises them, and each pass over
``cols_n`` serves four output channels at once (one load feeds four multiply-adds).
Fast-math (:data:`~minembed.kernels.jit.FASTMATH`, which keeps NaN and inf as IEEE says) lets
LLVM reorder the sums, so these results match the references to rounding
(~1e-5 relative in float32), not bit for bit. They do not depend on the number of threads
either: weight gradients are summed over fixed blocks of ``WEIGHT_GRAD_BLOCK`` images, then
the blocks in order.
"""
from __future__ import annotations

import numpy as np

from .jit import FASTMATH, jit, jit_enabled, prange


# ------------------------------------------------------------------------- checks
def _pair(v, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 2) -> (3, 2)``; anything else raises."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        a, b = v
    else:
        a = b = v
    for t in (a, b):
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
        if abs(int(t)) >= 2**31:  # the kernels index with 64-bit ints; nothing sensible is this large
            raise ValueError(f"{name} must be below 2**31, got {v!r}")
    return int(a), int(b)


def conv_output_size(h: int, w: int, kernel_size, stride=1, padding=0) -> tuple[int, int]:
    """``(OH, OW)`` of a convolution/pooling window sweep; ``ValueError`` naming the shapes if the
    kernel does not fit in the padded input (or a size is not positive)."""
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel_size must be positive, got {(kh, kw)}")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be positive, got {(sh, sw)}")
    if ph < 0 or pw < 0:
        raise ValueError(f"padding must be >= 0, got {(ph, pw)}")
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(
            f"kernel {kh}x{kw} is larger than the padded input {h + 2 * ph}x{w + 2 * pw} "
            f"(input {h}x{w}, padding {(ph, pw)})"
        )
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _check_images(x, name: str = "x") -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a float32/float64 array, got {type(x).__name__} "
                        f"{getattr(x, 'dtype', '')}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {x.shape}")
    return np.ascontiguousarray(x)


# ------------------------------------------------------------------------- im2col
def im2col_reference(x: np.ndarray, kernel_size, stride=1, padding=0) -> np.ndarray:
    """(N, C, H, W) -> (C*KH*KW, N*OH*OW), written with slices a student can follow.

    For each filter tap (i, j), the pixels it meets at all output positions are the strided
    slice ``xp[:, :, i : i + s*OH : s, j : j + s*OW : s]`` of the padded image ``xp``
    (output (oh, ow) meets padded pixel (oh*s + i, ow*s + j)). That slice becomes the rows
    (c, i, j) of ``cols``, one column per window (n, oh, ow).
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size, "k"), _pair(stride, "s"), _pair(padding, "p")
    oh, ow = conv_output_size(h, w, (kh, kw), (sh, sw), (ph, pw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            window = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]  # (N, C, OH, OW)
            cols[:, i, j] = window.transpose(1, 0, 2, 3)           # (C, N, OH, OW)
    return cols.reshape(c * kh * kw, n * oh * ow)


def _pad(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """x with ``ph`` zero rows above and below and ``pw`` zero columns left and right (a copy)."""
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


@jit(nogil=True, cache=True, inline="always")
def _im2col_sample(xp, n, cols, kh, kw, sh, sw, oh, ow):
    # One image's windows: cols (C*KH*KW, OH*OW) gets row q = (c, i, j), column r = (oh, ow).
    # xp is the already padded image, so every tap lands inside it: no branches. The innermost
    # loop runs along a row of pixels (consecutive memory when the stride is 1).
    for c in range(xp.shape[1]):
        for i in range(kh):
            for j in range(kw):
                q = (c * kh + i) * kw + j
                for y in range(oh):
                    for z in range(ow):
                        cols[q, y * ow + z] = xp[n, c, y * sh + i, z * sw + j]


@jit(nogil=True, cache=True, parallel=True)
def _im2col_kernel(xp, cols, kh, kw, sh, sw, oh, ow):
    p = oh * ow
    for n in prange(xp.shape[0]):  # sample n writes only its own block of columns
        _im2col_sample(xp, n, cols[:, n * p:(n + 1) * p], kh, kw, sh, sw, oh, ow)


def _check_out(out, shape, dtype, name):
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"{name} must be a C-contiguous {np.dtype(dtype)} array of shape {shape}, got "
                         f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}")


def im2col(x: np.ndarray, kernel_size, stride=1, padding=0, out: np.ndarray | None = None) -> np.ndarray:
    """Every (C, KH, KW) window of ``x`` as one column: (N, C, H, W) -> (C*KH*KW, N*OH*OW).

    ``out`` may be a preallocated C-contiguous array of that shape and dtype (it is
    overwritten). Raises ``ValueError`` naming the shapes when the kernel does not fit.
    """
    x = _check_images(x)
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size, "kernel_size"), _pair(stride, "stride"), _pair(padding, "padding")
    oh, ow = conv_output_size(h, w, (kh, kw), (sh, sw), (ph, pw))
    shape = (c * kh * kw, n * oh * ow)
    if out is not None:
        _check_out(out, shape, x.dtype, "out")
    if not jit_enabled():
        cols = im2col_reference(x, (kh, kw), (sh, sw), (ph, pw))
        if out is None:
            return cols
        out[...] = cols
        return out
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    _im2col_kernel(_pad(x, ph, pw), out, kh, kw, sh, sw, oh, ow)
    return out


# ------------------------------------------------------------------------- col2im
def col2im_reference(cols: np.ndarray, x_shape, kernel_size, stride=1, padding=0) -> np.ndarray:
    """The adjoint of :func:`im2col_reference`: (C*KH*KW, N*OH*OW) -> (N, C, H, W).

    Same loop over taps (i, j), but ``+=`` into the padded image instead of a copy out of
    it: overlapping windows add up. Finally the padding border is cut off (gradients that
    landed on padding belong to no pixel).
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size, "k"), _pair(stride, "s"), _pair(padding, "p")
    oh, ow = conv_output_size(h, w, (kh, kw), (sh, sw), (ph, pw))
    cols6 = cols.reshape(c, kh, kw, n, oh, ow)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += cols6[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, ph:ph + h, pw:pw + w].copy()


@jit(nogil=True, cache=True, inline="always")
def _col2im_sample(cols, dxp, n, kh, kw, sh, sw, oh, ow):
    # The adjoint of _im2col_sample: add one image's columns (C*KH*KW, OH*OW) back onto the
    # padded gradient image dxp[n], which must be zeroed first.
    for c in range(dxp.shape[1]):
        for i in range(kh):
            for j in range(kw):
                q = (c * kh + i) * kw + j
                for y in range(oh):
                    for z in range(ow):
                        dxp[n, c, y * sh + i, z * sw + j] += cols[q, y * ow + z]


@jit(nogil=True, cache=True, parallel=True)
def _col2im_kernel(cols, dxp, kh, kw, sh, sw, oh, ow):
    # dxp is the padded gradient image (zeroed here); the caller cuts the padding off.
    p = oh * ow
    for n in prange(dxp.shape[0]):  # sample n writes only dxp[n]: no two threads touch the same pixel
        dxp[n] = 0.0
        _col2im_sample(cols[:, n * p:(n + 1) * p], dxp, n, kh, kw, sh, sw, oh, ow)


def col2im(cols: np.ndarray, x_shape, kernel_size, stride=1, padding=0) -> np.ndarray:
    """Scatter-add the columns of ``cols`` back onto the image: (C*KH*KW, N*OH*OW) -> ``x_shape`` (N, C, H, W).

    ``col2im(im2col(x))`` is not ``x``: each pixel is multiplied by the number of windows
    that cover it. ``col2im`` is the transpose of ``im2col`` (``<im2col(x), g> == <x, col2im(g)>``).
    """
    if not isinstance(cols, np.ndarray) or cols.dtype not in (np.float32, np.float64):
        raise TypeError(f"cols must be a float32/float64 array, got {type(cols).__name__} {getattr(cols, 'dtype', '')}")
    x_shape = tuple(int(s) for s in x_shape)
    if len(x_shape) != 4 or min(x_shape) < 1:
        raise ValueError(f"x_shape must be (N, C, H, W) of positive sizes, got {x_shape}")
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel_size, "kernel_size"), _pair(stride, "stride"), _pair(padding, "padding")
    oh, ow = conv_output_size(h, w, (kh, kw), (sh, sw), (ph, pw))
    expected = (c * kh * kw, n * oh * ow)
    if cols.shape != expected:
        raise ValueError(f"cols for an input {x_shape} with kernel {(kh, kw)}, stride {(sh, sw)}, padding "
                         f"{(ph, pw)} must have shape {expected}, got {cols.shape}")
    if not jit_enabled():
        return col2im_reference(cols, x_shape, (kh, kw), (sh, sw), (ph, pw))
    dxp = np.empty((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    _col2im_kernel(np.ascontiguousarray(cols), dxp, kh, kw, sh, sw, oh, ow)
    if ph == 0 and pw == 0:
        return dxp
    return np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + w])


WEIGHT_GRAD_BLOCK = 8  # images per partial weight gradient (fixed, so the sum order is too)


# ------------------------------------------------------- the whole layer: references
def conv2d_forward_reference(x, weight, bias=None, stride=1, padding=0) -> np.ndarray:
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


# ------------------------------------------------ the whole layer: fused kernels
@jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)
def _conv_forward_kernel(xp, wm, b, y, kh, kw, sh, sw):
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


@jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)
def _conv_weight_grad_kernel(xp, dy, dw_parts, db_parts, kh, kw, sh, sw, block):
    # dw_parts (B, OC, K) / db_parts (B, OC): block t sums images [t*block, (t+1)*block).
    n_img, oc, oh, ow = dy.shape
    k, p = dw_parts.shape[2], oh * ow
    for t in prange(dw_parts.shape[0]):
        cols = np.empty((k, p), dtype=xp.dtype)
        dw_parts[t] = 0.0
        db_parts[t] = 0.0
        zero = db_parts[t, 0]  # a 0 of the arrays' dtype (OC >= 1 is checked): float32 sums stay float32
        for n in range(t * block, min(n_img, (t + 1) * block)):
            _im2col_sample(xp, n, cols, kh, kw, sh, sw, oh, ow)
            dyn = dy[n].reshape(oc, p)
            for o in range(oc):
                db_parts[t, o] += dyn[o].sum()
            o4 = oc - oc % 4
            for o in range(0, o4, 4):                       # dWm[o, q] += <dy[n, o], cols[q]>, four o at once
                for q in range(k):
                    a0 = a1 = a2 = a3 = zero
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
                    acc = zero
                    for r in range(p):
                        acc += dyn[o, r] * cols[q, r]
                    dw_parts[t, o, q] += acc


@jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)
def _conv_input_grad_kernel(dy, wm, dxp, kh, kw, sh, sw):
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


def _check_conv(x, weight, stride, padding, name="x"):
    x = _check_images(x, name)
    if not isinstance(weight, np.ndarray) or weight.ndim != 4 or weight.dtype != x.dtype:
        raise ValueError(f"weight must be a {x.dtype} array of shape (OC, C, KH, KW), got "
                         f"{getattr(weight, 'dtype', type(weight).__name__)} {getattr(weight, 'shape', '')}")
    if weight.shape[0] < 1:
        raise ValueError(f"weight of shape {weight.shape} has no output channels")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight of shape {weight.shape} expects {weight.shape[1]} input channel(s), "
                         f"got {name} of shape {x.shape}")
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    oh, ow = conv_output_size(x.shape[2], x.shape[3], weight.shape[2:], stride, padding)
    return x, np.ascontiguousarray(weight), stride, padding, oh, ow


# ------------------------------------------------------ the whole layer: public
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
    _conv_forward_kernel(_pad(x, *padding), weight.reshape(oc, -1), b, y, *weight.shape[2:], *stride)
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
    _conv_weight_grad_kernel(_pad(x, ph, pw), dy, dw_parts, db_parts, kh, kw, sh, sw, WEIGHT_GRAD_BLOCK)
    dw = dw_parts.sum(axis=0).reshape(weight.shape)
    db = db_parts.sum(axis=0)
    if not input_grad:
        return dw, db, None
    h, w = x.shape[2], x.shape[3]
    dxp = np.empty((n, x.shape[1], h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    _conv_input_grad_kernel(dy, wm, dxp, kh, kw, sh, sw)
    dx = dxp if ph == 0 and pw == 0 else np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + w])
    return dw, db, dx
