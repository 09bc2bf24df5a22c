"""Image augmentations for contrastive learning: two random views of one digit that still show that digit.

Everything geometric is one affine map per image, drawn at random and applied by one bilinear warp
(:func:`minembed.kernels.augment.affine_warp`, a Numba kernel beside its NumPy reference): a random
resized crop (a box of a random area and aspect ratio, anywhere in the image, stretched to the full
size), a shift, a small rotation and a shear. Then Gaussian noise and cutout (a blanked square).

A map sends an output pixel ``p`` = (x, y) to the input place it is read from (an inverse map)::

    source(p) = c + S R(theta) H(shear) (p - m)

``m`` = the image centre ((W-1)/2, (H-1)/2), ``c`` = the crop box's centre plus the shift, ``S`` =
diag(box width / W, box height / H) (a box smaller than the image zooms in), ``R`` a rotation,
``H`` a horizontal shear. With no crop, shift, rotation or shear this is the identity.

Randomness comes only from the Generator passed in (:func:`minembed.rng.make_rng`); the draws are
vectorised over the batch (one array of angles, one of boxes, ...), and so is every step.
"""
from __future__ import annotations

import math

import numpy as np

from ..kernels.augment import affine_warp
from ..rng import make_rng
from .pixels import prepare_images


def affine_matrices(n: int, size: tuple[int, int], *, rotation=0.0, shear=0.0, scale=(1.0, 1.0),
                    center=None) -> np.ndarray:
    """Inverse maps (n, 2, 3) float64 ``source(p) = center + diag(scale) R(rotation) H(shear) (p - m)``.

    ``size`` = (H, W); ``rotation`` and ``shear`` in degrees (scalars or (n,) arrays); ``scale`` = (sx, sy),
    each a scalar or (n,) array (the box size over the image size); ``center`` = (cx, cy) in pixels,
    scalars or (n,) arrays (default: the image centre ``m``). A positive rotation turns the *content*
    clockwise on the screen (rows grow downwards), as ``np.rot90(img, -1)`` does for 90 degrees.
    """
    h, w = size
    mx, my = (w - 1) / 2, (h - 1) / 2
    cx, cy = (mx, my) if center is None else center
    t = np.deg2rad(np.broadcast_to(np.asarray(rotation, np.float64), (n,)))
    k = np.tan(np.deg2rad(np.broadcast_to(np.asarray(shear, np.float64), (n,))))
    sx = np.broadcast_to(np.asarray(scale[0], np.float64), (n,))
    sy = np.broadcast_to(np.asarray(scale[1], np.float64), (n,))
    cos, sin = np.cos(t), np.sin(t)
    # R(theta) H(k) with R = [[cos, sin], [-sin, cos]] (reading the input rotated back = content turned by
    # +theta) and H = [[1, k], [0, 1]]; then the rows scaled by sx, sy.
    lin = np.empty((n, 2, 2))
    lin[:, 0, 0], lin[:, 0, 1] = sx * cos, sx * (cos * k + sin)
    lin[:, 1, 0], lin[:, 1, 1] = -sy * sin, sy * (-sin * k + cos)
    out = np.empty((n, 2, 3))
    out[:, :, :2] = lin
    out[:, 0, 2] = np.broadcast_to(cx, (n,)) - lin[:, 0, 0] * mx - lin[:, 0, 1] * my
    out[:, 1, 2] = np.broadcast_to(cy, (n,)) - lin[:, 1, 0] * mx - lin[:, 1, 1] * my
    return out


def warp(images, matrices, fill: float = 0.0) -> np.ndarray:
    """Images (N, H, W) or (N, C, H, W), float (any layout) -> the same shape warped by ``matrices`` (N, 2, 3)
    (every channel of an image by the image's matrix). Float32 unless the images are float64."""
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"warp expects images (N, H, W) or (N, C, H, W), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"warp expects float images (convert uint8 with prepare_images), got dtype {x.dtype}")
    x = x.astype(np.float64 if x.dtype == np.float64 else np.float32, copy=False)
    if x.ndim == 3:
        return affine_warp(x, matrices, fill)
    n, c, h, w = x.shape
    m = np.repeat(np.asarray(matrices, np.float64), c, axis=0) if len(np.shape(matrices)) == 3 else matrices
    return affine_warp(x.reshape(n * c, h, w), m, fill).reshape(n, c, h, w)


def shift(images, dy: float, dx: float) -> np.ndarray:
    """Move the content of every image ``dy`` pixels down and ``dx`` right (zeros come in; bilinear when fractional)."""
    x = np.asarray(images)
    h, w = x.shape[-2:]
    m = affine_matrices(len(x), (h, w), center=((w - 1) / 2 - dx, (h - 1) / 2 - dy))
    return warp(x, m)


def rotate(images, degrees: float) -> np.ndarray:
    """Turn the content of every image by ``degrees`` clockwise (as seen on the screen) about its centre."""
    x = np.asarray(images)
    return warp(x, affine_matrices(len(x), x.shape[-2:], rotation=degrees))


def _range(value, name: str, lo: float, hi: float | None = None) -> tuple[float, float]:
    """A (low, high) pair inside [lo, hi] from a pair or one number ``v`` (meaning (-v, v))."""
    pair = (-value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v)
                                 for v in pair):
        raise ValueError(f"{name} must be a number or a (low, high) pair of numbers, got {value!r}")
    low, high = float(pair[0]), float(pair[1])
    if low > high or low < lo or (hi is not None and high > hi):
        bound = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an ordered (low, high) range within {bound}, got {value!r}")
    return low, high


class Augment:
    """Random views of images: resized crop + shift + rotation + shear (one warp), then noise and cutout.

    ``crop_scale`` (area of the crop box over the image's, (low, high) within (0, 1]); ``crop_ratio``
    (its width / height, log-uniform); ``max_shift`` (pixels, uniform in [-v, v] on each axis);
    ``degrees`` (rotation, uniform in [-v, v]); ``shear`` (degrees, uniform in [-v, v]); ``noise``
    (the standard deviation of added Gaussian noise, pixel scale 0..1); ``cutout`` (the side of a
    square set to 0, at a uniform centre, with probability ``cutout_p``; 0 = never).

    ``aug(images, rng=..., seed=...)``: images (N, H, W) or (N, C, H, W), uint8 (0..255) or float (0..1),
    refused like every image model refuses them (:func:`minembed.vision.pixels.prepare_images`) ->
    float32 (N, C, H, W) in [0, 1]. The defaults are a mild MNIST recipe (digits must stay readable:
    no flips, a 6 rotated by 180 degrees is a 9).
    """

    def __init__(self, crop_scale=(0.6, 1.0), crop_ratio=(0.8, 1.25), max_shift: float = 2.0,
                 degrees: float = 12.0, shear: float = 10.0, noise: float = 0.05, cutout: int = 8,
                 cutout_p: float = 0.5, *, img_size: int = 28, in_chans: int = 1):
        self.crop_scale = _range(crop_scale, "crop_scale", 0.0, 1.0)
        if self.crop_scale[0] <= 0:
            raise ValueError(f"crop_scale must be > 0 (a box of no area shows nothing), got {crop_scale!r}")
        self.crop_ratio = _range(crop_ratio, "crop_ratio", 1e-3)
        for name, v in (("max_shift", max_shift), ("degrees", degrees), ("shear", shear), ("noise", noise)):
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if shear >= 90:
            raise ValueError(f"shear must be < 90 degrees, got {shear}")
        if not isinstance(cutout, (int, np.integer)) or cutout < 0:
            raise ValueError(f"cutout must be an integer >= 0 (the side of the blanked square), got {cutout!r}")
        if not 0 <= cutout_p <= 1:
            raise ValueError(f"cutout_p must be a probability in [0, 1], got {cutout_p!r}")
        self.max_shift, self.degrees = float(max_shift), float(degrees)
        self.shear, self.noise = float(shear), float(noise)
        self.cutout, self.cutout_p = int(cutout), float(cutout_p)
        self.img_size, self.in_chans = img_size, in_chans

    def matrices(self, n: int, rng) -> np.ndarray:
        """The random inverse maps (n, 2, 3) of a batch of n images (crop box, shift, rotation, shear)."""
        s = self.img_size
        area = rng.uniform(*self.crop_scale, n)
        ratio = np.exp(rng.uniform(np.log(self.crop_ratio[0]), np.log(self.crop_ratio[1]), n))
        bw = np.minimum(np.sqrt(area * ratio), 1.0)            # box size over the image size
        bh = np.minimum(np.sqrt(area / ratio), 1.0)
        # The box lies inside the image (its edges at -0.5 .. s - 0.5); its centre is uniform where it fits.
        cx = -0.5 + s * (bw / 2 + rng.uniform(0, 1, n) * (1 - bw))
        cy = -0.5 + s * (bh / 2 + rng.uniform(0, 1, n) * (1 - bh))
        cx -= rng.uniform(-self.max_shift, self.max_shift, n)  # content moves by +shift
        cy -= rng.uniform(-self.max_shift, self.max_shift, n)
        return affine_matrices(n, (s, s), rotation=rng.uniform(-self.degrees, self.degrees, n),
                               shear=rng.uniform(-self.shear, self.shear, n), scale=(bw, bh), center=(cx, cy))

    def __call__(self, images, rng=None, seed=None) -> np.ndarray:
        gen = make_rng(rng, seed)
        s = self.img_size
        x = prepare_images(images, channels=self.in_chans, size=(s, s), model="Augment")
        n = len(x)
        out = warp(x, self.matrices(n, gen))
        if self.noise > 0:
            out += np.float32(self.noise) * gen.standard_normal(out.shape, dtype=np.float32)
        if self.cutout > 0 and self.cutout_p > 0:
            # A square of side `cutout` around a uniform centre (may stick out of the image), in a
            # random subset of the images; the mask is built for the whole batch by broadcasting.
            hit = gen.uniform(0, 1, n) < self.cutout_p
            top = gen.integers(0, s, n) - self.cutout // 2
            left = gen.integers(0, s, n) - self.cutout // 2
            rows = np.arange(s)
            in_rows = (rows[None, :] >= top[:, None]) & (rows[None, :] < top[:, None] + self.cutout)
            in_cols = (rows[None, :] >= left[:, None]) & (rows[None, :] < left[:, None] + self.cutout)
            mask = hit[:, None, None] & in_rows[:, :, None] & in_cols[:, None, :]     # (N, S, S)
            out[np.broadcast_to(mask[:, None], out.shape)] = 0.0
        np.clip(out, 0.0, 1.0, out=out)
        return out

    def __repr__(self) -> str:
        return (f"Augment(crop_scale={self.crop_scale}, crop_ratio={self.crop_ratio}, max_shift={self.max_shift}, "
                f"degrees={self.degrees}, shear={self.shear}, noise={self.noise}, cutout={self.cutout}, "
                f"cutout_p={self.cutout_p})")
