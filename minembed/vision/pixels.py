"""The one pixel rule of every image model: which arrays are accepted and how they become floats.

TinyCNN and ViT both call :func:`prepare_images` before their first layer, so an image
means the same thing to every model.
"""
from __future__ import annotations

import numpy as np


def prepare_images(images, *, channels: int, size: tuple[int, int], dtype=np.float32,
                   model: str = "the model") -> np.ndarray:
    """Images (N, H, W) or (N, C, H, W) -> a C-contiguous ``dtype`` array (N, C, H, W) of values in [0, 1].

    The rule (what a PyTorch user gets from torchvision's ``ToTensor``, which scales uint8 only):

    * ``uint8``: ``x / 255`` (0..255 -> 0..1).
    * float (float16/32/64): taken as already scaled (expected in [0, 1]), cast to ``dtype``.
      NaN or inf anywhere is a ``ValueError`` naming the first bad pixel's index.
    * any other integer dtype (int64, int32, uint16, ...) is refused with a ``TypeError``: its
      scale is a guess (0..255 stored as int64? a 16-bit scan, 0..65535?), so the caller says
      which by converting, e.g. ``images.astype(np.uint8)`` or ``images / 65535``. bool and
      non-numbers are refused too.

    Shapes: (N, H, W) is accepted when ``channels == 1`` and gets the channel axis; otherwise
    the input must be (N, channels, H, W) with (H, W) == ``size``. A wrong shape is a
    ``ValueError`` that says what ``model`` expects and what it got. N may be 0. The result
    never shares memory with ``images``, so the caller may scale it in place.
    """
    x = np.asarray(images)
    h, w = size
    grey = x.ndim == 3 and channels == 1
    shape4 = (x.shape[0], 1) + x.shape[1:] if grey else x.shape
    if len(shape4) != 4 or shape4[1] != channels or shape4[2:] != (h, w):
        grey_shape = f"(N, {h}, {w}) or " if channels == 1 else ""
        raise ValueError(f"{model} expects images of shape {grey_shape}(N, {channels}, {h}, {w}); got {x.shape}")
    if x.dtype == np.uint8:
        x = np.array(x, dtype=dtype, order="C")
        x *= np.dtype(dtype).type(1.0 / 255.0)
    elif np.issubdtype(x.dtype, np.floating):
        # Always a copy (models scale it in place); a float64 pixel beyond float32's range becomes inf: caught next.
        with np.errstate(over="ignore"):
            x = np.array(x, dtype=dtype, order="C")
        finite = np.isfinite(x)
        if not finite.all():
            bad = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise ValueError(f"images of shape {x.shape} contain a non-finite pixel ({x[bad]}) at {bad}")
    elif np.issubdtype(x.dtype, np.integer):
        lo, hi = (int(x.min()), int(x.max())) if x.size else (0, 0)
        raise TypeError(f"images have dtype {x.dtype} (values {lo}..{hi}); pass uint8 pixels 0..255 (divided by "
                        f"255) or floats already in [0, 1], e.g. images.astype(np.uint8) or images / 255")
    else:
        raise TypeError(f"images must be uint8 (0..255) or float (0..1), got dtype {x.dtype}")
    return np.ascontiguousarray(x.reshape(shape4))
