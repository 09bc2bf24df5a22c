"""Bilinear affine warp of a batch of grey images: the hot part of the image augmentations.

Each image ``k`` has its own 2x3 matrix ``A_k`` mapping an *output* pixel to the place in the
*input* it is read from (an "inverse map", OpenCV's ``WARP_INVERSE_MAP``), in (x, y) = (column,
row) order, pixel centres at integer coordinates::

    [x_src]   [a00 a01 a02]   [j]
    [y_src] = [a10 a11 a12] . [i]          out[k, i, j] = bilinear(image_k, x_src, y_src)
                              [1]

Bilinear: with ``x0 = floor(x_src)``, ``fx = x_src - x0`` (and the same for y), the value is the
weighted sum of the four neighbours ``(1-fy)(1-fx) I[y0, x0] + (1-fy) fx I[y0, x0+1] + fy (1-fx)
I[y0+1, x0] + fy fx I[y0+1, x0+1]``, a neighbour outside the image counting as ``fill``. So the
identity matrix returns the image exactly (the weights are 1, 0, 0, 0), and a translation by whole
pixels moves it exactly.

The coordinates are computed in float64 (the matrices are float64); the images keep their dtype.
The Numba kernel is parallel over the batch (image ``k`` writes only ``out[k]``), so the result
does not depend on the number of threads.
"""
from __future__ import annotations

import numpy as np

from .jit import jit, jit_enabled, prange


def affine_warp_reference(images: np.ndarray, matrices: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """(N, H, W) images, (N, 2, 3) float64 inverse maps -> warped (N, H, W), vectorised over the batch."""
    n, h, w = images.shape
    ii, jj = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    a = matrices[:, :, :, None, None]                                         # (N, 2, 3, 1, 1)
    xs = a[:, 0, 0] * jj + a[:, 0, 1] * ii + a[:, 0, 2]                       # (N, H, W)
    ys = a[:, 1, 0] * jj + a[:, 1, 1] * ii + a[:, 1, 2]
    x0, y0 = np.floor(xs), np.floor(ys)
    fx, fy = xs - x0, ys - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    batch = np.arange(n)[:, None, None]
    out = np.zeros((n, h, w), np.float64)
    for dy, dx, weight in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                           (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        value = images[batch, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]   # clipped only to read safely
        out += weight * np.where(inside, value, fill)
    return out.astype(images.dtype)


@jit(nogil=True, cache=True, parallel=True)
def _affine_warp_kernel(images, matrices, fill, out):
    n, h, w = images.shape
    for k in prange(n):
        a00, a01, a02 = matrices[k, 0, 0], matrices[k, 0, 1], matrices[k, 0, 2]
        a10, a11, a12 = matrices[k, 1, 0], matrices[k, 1, 1], matrices[k, 1, 2]
        for i in range(h):
            for j in range(w):
                xs = a00 * j + a01 * i + a02
                ys = a10 * j + a11 * i + a12
                xf, yf = np.floor(xs), np.floor(ys)
                fx, fy = xs - xf, ys - yf
                # Far outside (or NaN): every neighbour is fill; also keeps the int conversion in range.
                if not (-2.0 < xf < w + 1.0 and -2.0 < yf < h + 1.0):
                    out[k, i, j] = fill
                    continue
                x0, y0 = int(xf), int(yf)
                v00 = images[k, y0, x0] if (0 <= y0 < h and 0 <= x0 < w) else fill
                v01 = images[k, y0, x0 + 1] if (0 <= y0 < h and 0 <= x0 + 1 < w) else fill
                v10 = images[k, y0 + 1, x0] if (0 <= y0 + 1 < h and 0 <= x0 < w) else fill
                v11 = images[k, y0 + 1, x0 + 1] if (0 <= y0 + 1 < h and 0 <= x0 + 1 < w) else fill
                out[k, i, j] = ((1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11))


def affine_warp(images: np.ndarray, matrices: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Warp each image by its own inverse affine map (see the module docstring): (N, H, W) -> (N, H, W).

    ``images``: a float32 or float64 array (N, H, W); ``matrices``: (N, 2, 3), converted to float64;
    ``fill``: the value of the pixels outside the image. Checked here, before the kernel runs.
    """
    if not isinstance(images, np.ndarray) or images.ndim != 3:
        raise ValueError(f"affine_warp expects images of shape (N, H, W), got {np.shape(images)}")
    if images.dtype not in (np.float32, np.float64):
        raise TypeError(f"affine_warp expects float32 or float64 images, got {images.dtype}")
    m = np.ascontiguousarray(matrices, dtype=np.float64)
    if m.shape != (len(images), 2, 3):
        raise ValueError(f"matrices must have shape ({len(images)}, 2, 3), one per image, got {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("matrices contain NaN or infinite values")
    if not np.isfinite(fill):
        raise ValueError(f"fill must be finite, got {fill}")
    images = np.ascontiguousarray(images)
    if not jit_enabled():
        return affine_warp_reference(images, m, float(fill))
    out = np.empty_like(images)
    _affine_warp_kernel(images, m, images.dtype.type(fill), out)
    return out
