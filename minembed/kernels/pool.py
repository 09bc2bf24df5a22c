"""Max pooling: the forward keeps, for each output, which tap of its window won; the backward
routes the gradient to exactly that pixel ("argmax routing").

Each Numba kernel is parallel over the batch (sample ``n`` writes only its own outputs), so the
result does not depend on the number of threads.
"""
from __future__ import annotations

import numpy as np

from .conv import _check_images, _pair, conv_output_size
from .jit import jit, jit_enabled, prange


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


@jit(nogil=True, cache=True, parallel=True, error_model="numpy")
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


@jit(nogil=True, cache=True, parallel=True, error_model="numpy")
def _maxpool_backward_kernel(dy, arg, dx, tap_row, tap_col, sh, sw):
    # tap_row[t], tap_col[t]: where tap t sits in its window (a table lookup, not a division per pixel)
    n_img, c_in, oh, ow = dy.shape
    for n in prange(n_img):  # sample n writes only dx[n]
        dx[n] = 0.0
        for c in range(c_in):
            for y in range(oh):
                for z in range(ow):
                    t = arg[n, c, y, z]
                    if t >= 0:
                        dx[n, c, y * sh + tap_row[t], z * sw + tap_col[t]] += dy[n, c, y, z]


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
    taps = np.arange(kh * kw)
    _maxpool_backward_kernel(dy, arg, dx, taps // kw, taps % kw, sh, sw)
    return dx
