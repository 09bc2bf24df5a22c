"""im2col / col2im: a convolution becomes one matrix multiplication.

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

Max pooling lives here too: its forward keeps, for each output, which tap of its window
won; its backward routes the gradient to exactly that pixel.

Every Numba kernel is parallel over the batch: sample ``n`` only reads and writes its own
columns and its own image, so threads never collide and the result does not depend on the
number of threads.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .jit import jit, jit_enabled


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


# ---------------------------------------------------------------------- max pool
def maxpool2d_forward_reference(x: np.ndarray, kernel_size, stride, relu: bool = False
                                ) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, H, W) -> (out (N, C, OH, OW), arg (N, C, OH, OW) int8): max over each window.

    ``arg`` is the winning tap ``i*KW + j`` of each window (the first maximum wins ties,
    like ``argmax``), which is all the backward needs to route the gradient.

    ``relu=True`` computes ``maxpool(relu(x))`` in the same pass: since ReLU is monotone,
    ``max(relu(x)) = relu(max(x))``. A window whose max is <= 0 outputs 0 and gets
    ``arg = -1``: no pixel receives its gradient, exactly as the ReLU's zero slope would decide.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = _pair(kernel_size, "k"), _pair(stride, "s")
    oh, ow = conv_output_size(h, w, (kh, kw), (sh, sw), 0)
    out = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    arg = np.zeros((n, c, oh, ow), dtype=np.int8)
    for i in range(kh):
        for j in range(kw):
            tap = x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
            better = tap > out  # strict: an earlier tap keeps a tie
            out[better] = tap[better]
            arg[better] = i * kw + j
    if relu:
        dead = out <= 0
        out[dead] = 0
        arg[dead] = -1
    return out, arg


def maxpool2d_backward_reference(dy: np.ndarray, arg: np.ndarray, x_shape, kernel_size, stride) -> np.ndarray:
    """Route ``dy[n, c, oh, ow]`` to the input pixel that won window (oh, ow); others get 0
    (and nobody gets it where ``arg == -1``).

    With overlapping windows (stride < kernel) a pixel that wins several windows receives the sum.
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw) = _pair(kernel_size, "k"), _pair(stride, "s")
    oh, ow = dy.shape[2], dy.shape[3]
    dx = np.zeros(x_shape, dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += dy * (arg == i * kw + j)
    return dx


@jit(nogil=True, cache=True, parallel=True)
def _maxpool_forward_kernel(x, out, arg, kh, kw, sh, sw, relu):
    n_img, c_in, oh, ow = out.shape
    for n in prange(n_img):
        for c in range(c_in):
            for y in range(oh):
                for z in range(ow):
                    best = x[n, c, y * sh, z * sw]
                    best_t = 0
                    for i in range(kh):
                        for j in range(kw):
                            v = x[n, c, y * sh + i, z * sw + j]
                            if v > best:
                                best = v
                                best_t = i * kw + j
                    if relu and not best > 0:
                        best = 0.0
                        best_t = -1
                    out[n, c, y, z] = best
                    arg[n, c, y, z] = best_t


@jit(nogil=True, cache=True, parallel=True)
def _maxpool_backward_kernel(dy, arg, dx, kw, sh, sw):
    n_img, c_in, oh, ow = dy.shape
    for n in prange(n_img):  # sample n writes only dx[n]
        dx[n] = 0.0
        for c in range(c_in):
            for y in range(oh):
                for z in range(ow):
                    t = arg[n, c, y, z]
                    if t >= 0:
                        dx[n, c, y * sh + t // kw, z * sw + t % kw] += dy[n, c, y, z]


def maxpool2d_forward(x: np.ndarray, kernel_size, stride=None, relu: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Checked front end of :func:`maxpool2d_forward_reference` (same contract); ``stride`` defaults
    to ``kernel_size``. Windows need at most 127 taps (``arg`` is int8)."""
    x = _check_images(x)
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride")
    if kh * kw > 127:
        raise ValueError(f"max-pool windows of more than 127 taps are not supported, got {kh}x{kw}")
    oh, ow = conv_output_size(x.shape[2], x.shape[3], (kh, kw), (sh, sw), 0)
    if not jit_enabled():
        return maxpool2d_forward_reference(x, (kh, kw), (sh, sw), relu)
    out = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    arg = np.empty(out.shape, dtype=np.int8)
    _maxpool_forward_kernel(x, out, arg, kh, kw, sh, sw, bool(relu))
    return out, arg


def maxpool2d_backward(dy: np.ndarray, arg: np.ndarray, x_shape, kernel_size, stride=None) -> np.ndarray:
    """Checked front end of :func:`maxpool2d_backward_reference`: (N, C, OH, OW) -> ``x_shape``."""
    kh, kw = _pair(kernel_size, "kernel_size")
    sh, sw = (kh, kw) if stride is None else _pair(stride, "stride")
    x_shape = tuple(int(s) for s in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {x_shape}")
    oh, ow = conv_output_size(x_shape[2], x_shape[3], (kh, kw), (sh, sw), 0)
    dy = _check_images(dy, "dy")
    expected = x_shape[:2] + (oh, ow)
    if dy.shape != expected or not isinstance(arg, np.ndarray) or arg.shape != expected or arg.dtype != np.int8:
        raise ValueError(f"dy and arg must have shape {expected} (arg int8), got {dy.shape} and "
                         f"{getattr(arg, 'shape', None)} {getattr(arg, 'dtype', '')}")
    arg = np.ascontiguousarray(arg)
    if arg.size and (arg.min() < -1 or arg.max() >= kh * kw):
        raise ValueError(f"arg holds taps outside [-1, {kh * kw}): {arg.min()}..{arg.max()}")
    if not jit_enabled():
        return maxpool2d_backward_reference(dy, arg, x_shape, (kh, kw), (sh, sw))
    dx = np.empty(x_shape, dtype=dy.dtype)
    _maxpool_backward_kernel(dy, arg, dx, kw, sh, sw)
    return dx
