"""The one input rule of every image model: which pixel arrays are accepted and how they become
floats, and which labels ``fit`` takes.

TinyCNN and ViT both call :func:`prepare_images` before their first layer, so an image
means the same thing to every model; their ``fit`` checks every image (:func:`check_images`)
and label (:func:`check_labels`) before the first training step.
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
    shape4 = _nchw_shape(x.shape, channels, size, model)
    if x.dtype == np.uint8:
        x = np.array(x, dtype=dtype, order="C")
        x *= np.dtype(dtype).type(1.0 / 255.0)
    elif np.issubdtype(x.dtype, np.floating):
        x = _finite_copy(x, dtype)
    elif np.issubdtype(x.dtype, np.integer):
        lo, hi = (int(x.min()), int(x.max())) if x.size else (0, 0)
        raise TypeError(f"images have dtype {x.dtype} (values {lo}..{hi}); pass uint8 pixels 0..255 (divided by "
                        f"255) or floats already in [0, 1], e.g. images.astype(np.uint8) or images / 255")
    else:
        raise TypeError(f"images must be uint8 (0..255) or float (0..1), got dtype {x.dtype}")
    return np.ascontiguousarray(x.reshape(shape4))


def _nchw_shape(shape: tuple, channels: int, size: tuple[int, int], model: str) -> tuple:
    """The (N, C, H, W) shape of images of ``shape``; ``ValueError`` saying what ``model`` expects."""
    h, w = size
    grey = len(shape) == 3 and channels == 1
    shape4 = (shape[0], 1) + shape[1:] if grey else shape
    if len(shape4) != 4 or shape4[1] != channels or shape4[2:] != (h, w):
        grey_shape = f"(N, {h}, {w}) or " if channels == 1 else ""
        raise ValueError(f"{model} expects images of shape {grey_shape}(N, {channels}, {h}, {w}); got {shape}")
    return shape4


def _finite_copy(x: np.ndarray, dtype, first: int = 0, shape=None) -> np.ndarray:
    """Float images ``x`` copied to ``dtype``; ``ValueError`` naming the first NaN or inf pixel.

    Always a copy (models scale it in place). A float64 pixel beyond float32's range becomes inf
    in the copy and is refused too. ``x`` may be images ``first:`` of a larger array of ``shape``:
    the message then gives the pixel's index in that array.
    """
    with np.errstate(over="ignore"):
        x_cast = np.array(x, dtype=dtype, order="C")
    finite = np.isfinite(x_cast)
    if not finite.all():
        bad = tuple(int(i) for i in np.argwhere(~finite)[0])
        where = (bad[0] + first,) + bad[1:]
        raise ValueError(f"images of shape {shape or x.shape} contain a non-finite pixel ({x_cast[bad]}) at {where}")
    return x_cast


def check_images(images, *, channels: int, size: tuple[int, int], dtype=np.float32, model: str = "the model",
                 chunk: int = 4096) -> np.ndarray:
    """``images`` as an array, after checking all of them by :func:`prepare_images`' rule.

    Raises what ``prepare_images`` would raise for the whole array (the index of a bad pixel is
    its index in ``images``), but float images are converted ``chunk`` at a time and thrown away,
    so memory stays bounded. A model's ``fit`` calls it first: a NaN in the last image stops
    training before the first step, not after a thousand.
    """
    x = np.asarray(images)
    _nchw_shape(x.shape, channels, size, model)
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
        prepare_images(x, channels=channels, size=size, dtype=dtype, model=model)  # raises, naming the dtype
    if np.issubdtype(x.dtype, np.floating):
        for start in range(0, len(x), chunk):
            _finite_copy(x[start:start + chunk], dtype, first=start, shape=x.shape)
    return x


def check_labels(labels, n_images: int, num_classes: int, name: str = "y") -> np.ndarray:
    """Class ids for ``n_images`` images as an int64 array (N,), each in ``[0, num_classes)``.

    ``ValueError`` for another shape or length, or a label out of range (naming the first one and
    its index); ``TypeError`` for anything but integers (bool included).
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"{name} must be (N,) class ids, one per image, got shape {y.shape}")
    if len(y) != n_images:
        raise ValueError(f"{n_images} images but {name} has {len(y)} labels")
    if y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must be integer class ids, got dtype {y.dtype}")
    outside = np.flatnonzero((y < 0) | (y >= num_classes))
    if len(outside):
        i = int(outside[0])
        raise ValueError(f"{name} holds labels outside [0, {num_classes}): {name}[{i}] = {y[i]}")
    return y.astype(np.int64)


def check_training_data(x, y, x_test, y_test, *, channels: int, size: tuple[int, int], num_classes: int,
                        model: str, dtype=np.float32):
    """What a model's ``fit`` trains and evaluates on, every image and label checked: ``(x, y, x_test, y_test)``.

    ``x`` must hold at least one image; ``x_test``/``y_test`` are both given or both None. The
    images come back as arrays (not converted), the labels as int64 (:func:`check_labels`).
    """
    x = check_images(x, channels=channels, size=size, dtype=dtype, model=model)
    if len(x) == 0:
        raise ValueError(f"{model}.fit needs at least one training image, got x of shape {x.shape}")
    y = check_labels(y, len(x), num_classes, "y")
    if (x_test is None) != (y_test is None):
        raise ValueError("pass both x_test and y_test, or neither")
    if x_test is not None:
        x_test = check_images(x_test, channels=channels, size=size, dtype=dtype, model=model)
        y_test = check_labels(y_test, len(x_test), num_classes, "y_test")
    return x, y, x_test, y_test
