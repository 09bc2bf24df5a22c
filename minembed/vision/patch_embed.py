"""Patch embedding: an image becomes a sequence of tokens, one vector per patch.

Cut a (C, H, W) image into non-overlapping p x p patches, flatten each patch into a
vector of C*p*p pixels (channel, then row, then column), and multiply by one weight
matrix. That is all a ViT "tokenizer" is::

    patches = patchify(x)             (B, C, H, W) -> (B, N, C*p*p),  N = (H/p) * (W/p)
    tokens  = patches @ W^T + b       (B, N, C*p*p) -> (B, N, D)

Because the patches do not overlap, this is exactly a convolution with D filters of size
(C, p, p) and stride p (timm and PyTorch ViTs write it as ``nn.Conv2d(C, D, p, stride=p)``);
the convolution's weight is ``W.reshape(D, C, p, p)`` (:attr:`PatchEmbed.conv_weight`).
The reshape-plus-matmul form is the cheaper one: one matrix product, no im2col copy.
"""
from __future__ import annotations

import numpy as np

from ..nn.functional import as_float_array
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.norm import LayerNorm
from ..rng import make_rng


def _pair(v, name: str) -> tuple[int, int]:
    t = (v, v) if np.isscalar(v) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i >= 1 for i in t):
        raise ValueError(f"{name} must be a positive integer or a pair of them, got {v!r}")
    return int(t[0]), int(t[1])


def patchify(x: np.ndarray, patch_size) -> np.ndarray:
    """(B, C, H, W) -> (B, N, C*p*p) with N = (H/ph)(W/pw) in row-major grid order.

    Patch ``n = i * (W/pw) + j`` holds ``x[:, :, i*ph:(i+1)*ph, j*pw:(j+1)*pw]`` flattened
    channel-first. H and W must be multiples of the patch size.
    """
    ph, pw = _pair(patch_size, "patch_size")
    b, c, h, w = x.shape
    if h % ph or w % pw:
        raise ValueError(f"image size {h}x{w} is not divisible by patch size {ph}x{pw}")
    gh, gw = h // ph, w // pw
    # (B, C, gh, ph, gw, pw) -> (B, gh, gw, C, ph, pw): one copy.
    return x.reshape(b, c, gh, ph, gw, pw).transpose(0, 2, 4, 1, 3, 5).reshape(b, gh * gw, c * ph * pw)


def unpatchify(patches: np.ndarray, patch_size, grid_size, channels: int) -> np.ndarray:
    """Inverse of :func:`patchify`: (B, N, C*p*p) -> (B, C, H, W)."""
    ph, pw = _pair(patch_size, "patch_size")
    gh, gw = grid_size
    b = patches.shape[0]
    return patches.reshape(b, gh, gw, channels, ph, pw).transpose(0, 3, 1, 4, 2, 5).reshape(
        b, channels, gh * ph, gw * pw)


class PatchEmbed(Module):
    """Image to patch tokens: (B, C, H, W) -> (B, N, D)  (or (B, D, H/p, W/p) with ``flatten=False``).

    Parameters follow timm's ``PatchEmbed``:

    * ``img_size``, ``patch_size``: ints or (h, w) pairs. ``img_size`` must be divisible by
      ``patch_size`` (``ValueError`` otherwise), and inputs must have exactly that size.
    * ``dynamic_img_size=True``: any input size is accepted; a size that is not a multiple of
      the patch size is zero-padded at the bottom/right (timm's ``dynamic_img_pad``). The grid
      of the last call is in :attr:`last_grid_size`.
    * ``in_chans``: channels. A 3-D input (B, H, W) is accepted when ``in_chans == 1``.
    * ``norm``: ``None``, ``"layernorm"`` or a Module applied to the tokens (D features).

    The projection is ``self.proj = Linear(C*ph*pw, D)``; backward is the Linear's backward
    followed by :func:`unpatchify` (every pixel belongs to exactly one patch).
    """

    def __init__(self, img_size=224, patch_size=16, in_chans: int = 3, embed_dim: int = 768, flatten: bool = True,
                 norm=None, dynamic_img_size: bool = False, bias: bool = True, *, rng=None, seed=None,
                 dtype=np.float32):
        self.patch_size = _pair(patch_size, "patch_size")
        self.img_size = _pair(img_size, "img_size")
        if in_chans < 1 or embed_dim < 1:
            raise ValueError(f"in_chans and embed_dim must be positive, got {in_chans} and {embed_dim}")
        (h, w), (ph, pw) = self.img_size, self.patch_size
        if not dynamic_img_size and (h % ph or w % pw):
            raise ValueError(
                f"image size {h}x{w} is not divisible by patch size {ph}x{pw} "
                f"({h} % {ph} = {h % ph}, {w} % {pw} = {w % pw}); choose a divisor or pass dynamic_img_size=True")
        self.grid_size = (-(-h // ph), -(-w // pw))
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.in_chans, self.embed_dim = in_chans, embed_dim
        self.flatten, self.dynamic_img_size = flatten, dynamic_img_size
        gen = make_rng(rng, seed)
        self.proj = Linear(in_chans * ph * pw, embed_dim, bias=bias, rng=gen, dtype=dtype)
        if norm is None or isinstance(norm, Module):
            self.norm = norm
        elif norm == "layernorm":
            self.norm = LayerNorm(embed_dim, dtype=dtype)
        else:
            raise ValueError(f"norm must be None, 'layernorm' or a Module, got {norm!r}")
        self.last_grid_size = self.grid_size
        self._cache = None

    @property
    def conv_weight(self) -> np.ndarray:
        """The projection as the weight of a stride-p convolution: (D, C, ph, pw) (a view)."""
        return self.proj.weight.data.reshape(self.embed_dim, self.in_chans, *self.patch_size)

    def _prepare(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        if x.ndim == 3 and self.in_chans == 1:
            x = x[:, None]
        if x.ndim != 4:
            raise ValueError(f"PatchEmbed expects images (B, C, H, W)"
                             f"{' or (B, H, W)' if self.in_chans == 1 else ''}, got shape {x.shape}")
        b, c, h, w = x.shape
        if c != self.in_chans:
            raise ValueError(f"PatchEmbed was built for {self.in_chans} channel(s), got {c} (input shape {x.shape})")
        ph, pw = self.patch_size
        pad = (0, 0)
        if self.dynamic_img_size:
            pad = ((-h) % ph, (-w) % pw)
            if any(pad):
                x = np.pad(x, ((0, 0), (0, 0), (0, pad[0]), (0, pad[1])))
        elif (h, w) != self.img_size:
            raise ValueError(f"input image size {h}x{w} does not match the model's {self.img_size[0]}x"
                             f"{self.img_size[1]} (pass dynamic_img_size=True to accept other sizes)")
        return x, (b, c, h, w, pad)

    def forward(self, x):
        x = as_float_array(x, "images")
        if x.dtype != self.proj.weight.data.dtype:
            x = x.astype(self.proj.weight.data.dtype)
        in_ndim = x.ndim
        x, info = self._prepare(x)
        ph, pw = self.patch_size
        grid = (x.shape[2] // ph, x.shape[3] // pw)
        self.last_grid_size = grid
        patches = patchify(x, self.patch_size)  # (B, N, K)
        b, n, k = patches.shape
        y = self.proj.forward(patches.reshape(b * n, k))
        if self.norm is not None:
            y = self.norm.forward(y)
        self._cache = (info, grid, in_ndim)
        y = y.reshape(b, n, self.embed_dim)
        if not self.flatten:
            y = y.reshape(b, grid[0], grid[1], self.embed_dim).transpose(0, 3, 1, 2)
        return y

    def backward(self, dy):
        (b, c, h, w, pad), grid, in_ndim = self._cache
        if not self.flatten:
            dy = dy.transpose(0, 2, 3, 1)
        dy = np.ascontiguousarray(dy).reshape(-1, self.embed_dim)
        if self.norm is not None:
            dy = self.norm.backward(dy)
        dpatches = self.proj.backward(dy).reshape(b, grid[0] * grid[1], -1)
        dx = unpatchify(dpatches, self.patch_size, grid, c)
        if any(pad):
            dx = dx[:, :, :h, :w]
        return dx[:, 0] if in_ndim == 3 else dx

    def extra_repr(self) -> str:
        return (f"img_size={self.img_size}, patch_size={self.patch_size}, in_chans={self.in_chans}, "
                f"embed_dim={self.embed_dim}, num_patches={self.num_patches}")
