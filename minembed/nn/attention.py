"""Self-attention and the pre-norm transformer block, with every backward written out.

Shapes: B images (or sentences), T tokens, D = H * d features, H heads of d features each.

Multi-head self-attention, for one head (the H heads run side by side as a batch)::

    Q = X Wq^T,  K = X Wk^T,  V = X Wv^T                 (T, d) each      (one Linear makes all three)
    S = Q K^T / sqrt(d)                                  (T, T) scores: how much query i looks at key j
    P = softmax(S)  row-wise                             (T, T) attention weights, rows sum to 1
    O = P V                                              (T, d) each token: a weighted mean of values
    Y = concat_heads(O) Wo^T + bo                        (T, D)

Backward, given dY: ``dO`` from the output Linear, then the matrix-product rules
(for ``C = A B``: ``dA = dC B^T``, ``dB = A^T dC``) and the softmax Jacobian::

    dP = dO V^T          dV = P^T dO
    dS = P * (dP - rowsum(dP * P))                       (softmax backward, see kernels/softmax.py)
    dQ = dS K / sqrt(d)  dK = dS^T Q / sqrt(d)

Everything is a batched ``np.matmul`` over (B, H, T, ·) arrays: no Python loop over heads
or samples. Linear layers see 2-D (B*T, D) arrays so that each is one BLAS call.
"""
from __future__ import annotations

import math

import numpy as np

from ..kernels.softmax import softmax_rows, softmax_rows_backward
from ..rng import make_rng
from .activations import GELU
from .functional import as_float_array
from .linear import Linear
from .module import Module
from .norm import LayerNorm


def _check_tokens(x: np.ndarray, dim: int, layer: str) -> np.ndarray:
    x = as_float_array(x, "tokens")
    if x.ndim != 3 or x.shape[-1] != dim:
        raise ValueError(f"{layer} expects tokens of shape (B, T, {dim}), got {x.shape}")
    return x


def _trunc_normal_(linear: Linear, gen: np.random.Generator, std: float) -> None:
    """Weights ~ N(0, std^2) truncated at 2 std, bias 0 (the ViT initialisation, as in timm)."""
    w = gen.standard_normal(linear.weight.shape)
    bad = np.abs(w) > 2
    while bad.any():
        w[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(w) > 2
    linear.weight.data = (w * std).astype(linear.weight.data.dtype)
    if linear.bias is not None:
        linear.bias.data[...] = 0


def padding_bias(key_padding_mask, shape: tuple[int, int], dtype) -> np.ndarray:
    """(B, T) bool, True at padding -> (B, 1, 1, T) additive score bias: 0 for real keys, -inf for padding.

    ``ValueError`` for another shape, a non-bool mask, or a sequence that is all padding (its
    softmax would be 0/0)."""
    mask = np.asarray(key_padding_mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"key_padding_mask must be a bool array (True at padding), got dtype {mask.dtype}")
    if mask.shape != tuple(shape):
        raise ValueError(f"key_padding_mask has shape {mask.shape}, expected (B, T) = {tuple(shape)}")
    if mask.size and mask.all(axis=1).any():
        row = int(np.flatnonzero(mask.all(axis=1))[0])
        raise ValueError(f"sequence {row} is all padding: attention needs at least one real token")
    bias = np.zeros(mask.shape, dtype=dtype)
    bias[mask] = -np.inf
    return bias[:, None, None, :]


class MultiHeadSelfAttention(Module):
    """Multi-head scaled dot-product self-attention: (B, T, D) -> (B, T, D).

    ``self.qkv = Linear(D, 3D)`` computes queries, keys and values at once (the output
    columns are [q | k | v], each split into H heads of d = D/H); ``self.proj = Linear(D, D)``
    mixes the heads. Set ``store_attention = True`` to keep the last forward's weights
    ``P`` (B, H, T, T) in :attr:`attention` (for plots); they are not kept otherwise.
    ``embed_dim`` must be divisible by ``num_heads`` (``ValueError`` at construction).

    Padding: ``forward(x, key_padding_mask)`` with a (B, T) bool mask, True at the padding
    tokens (PyTorch's convention), sets their scores to ``-inf`` before the softmax, so no
    query attends to them: ``P[..., j] = 0`` for a padded key j. Backward needs nothing more:
    the softmax Jacobian ``P * (dP - rowsum(dP * P))`` is already 0 where ``P`` is 0, so no
    gradient reaches the masked scores. Every sequence needs at least one real token.
    """

    def __init__(self, embed_dim: int, num_heads: int, qkv_bias: bool = True, *, rng=None, seed=None,
                 dtype=np.float32):
        if num_heads < 1 or embed_dim < 1:
            raise ValueError(f"embed_dim and num_heads must be positive, got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads} "
                             f"({embed_dim} % {num_heads} = {embed_dim % num_heads})")
        gen = make_rng(rng, seed)
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.qkv = Linear(embed_dim, 3 * embed_dim, bias=qkv_bias, rng=gen, dtype=dtype)
        self.proj = Linear(embed_dim, embed_dim, rng=gen, dtype=dtype)
        self.store_attention = False
        self.attention: np.ndarray | None = None
        self._cache = None

    def forward(self, x, key_padding_mask=None):
        x = _check_tokens(x, self.embed_dim, "MultiHeadSelfAttention")
        b, t, dim = x.shape
        bias = None if key_padding_mask is None else padding_bias(key_padding_mask, (b, t), x.dtype)
        h, d = self.num_heads, self.head_dim
        qkv = self.qkv.forward(x.reshape(b * t, dim))            # (B*T, 3D)
        # (B, T, 3, H, d) -> (3, B, H, T, d): views, no copy; BLAS reads the strided rows.
        q, k, v = qkv.reshape(b, t, 3, h, d).transpose(2, 0, 3, 1, 4)
        scores = np.matmul(q, k.transpose(0, 1, 3, 2))           # (B, H, T, T)
        scores *= scores.dtype.type(self.scale)
        if bias is not None:
            scores += bias                                       # -inf at padded keys
        p = softmax_rows(scores)
        o = np.matmul(p, v)                                      # (B, H, T, d)
        self._cache = (q, k, v, p, (b, t))
        self.attention = p if self.store_attention else None
        merged = o.transpose(0, 2, 1, 3).reshape(b * t, dim)     # heads side by side
        return self.proj.forward(merged).reshape(b, t, dim)

    def backward(self, dy):
        q, k, v, p, (b, t) = self._cache
        h, d, dim = self.num_heads, self.head_dim, self.embed_dim
        do = self.proj.backward(dy.reshape(b * t, dim))          # (B*T, D)
        do = do.reshape(b, t, h, d).transpose(0, 2, 1, 3)        # (B, H, T, d)
        dqkv = np.empty((b, t, 3, h, d), dtype=do.dtype)
        dq, dk, dv = dqkv.transpose(2, 0, 3, 1, 4)               # writable views into dqkv
        np.matmul(p.transpose(0, 1, 3, 2), do, out=dv)           # dV = P^T dO
        dp = np.matmul(do, v.transpose(0, 1, 3, 2))              # dP = dO V^T
        ds = softmax_rows_backward(p, dp)                        # dS
        ds *= ds.dtype.type(self.scale)                          # through S = scale * Q K^T
        np.matmul(ds, k, out=dq)                                 # dQ = dS K
        np.matmul(ds.transpose(0, 1, 3, 2), q, out=dk)           # dK = dS^T Q
        dx = self.qkv.backward(dqkv.reshape(b * t, 3 * dim))
        return dx.reshape(b, t, dim)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, head_dim={self.head_dim}"


class MLP(Module):
    """The transformer's feed-forward part, applied to each token: Linear -> GELU -> Linear.

    (..., D) -> (..., D) through a hidden width (usually 2-4 x D). Backward is the
    chain rule through the three layers in reverse order.
    """

    def __init__(self, in_features: int, hidden_features: int, out_features: int | None = None,
                 approximate: str = "none", *, rng=None, seed=None, dtype=np.float32):
        gen = make_rng(rng, seed)
        out_features = in_features if out_features is None else out_features
        self.fc1 = Linear(in_features, hidden_features, rng=gen, dtype=dtype)
        self.act = GELU(approximate)
        self.fc2 = Linear(hidden_features, out_features, rng=gen, dtype=dtype)
        self._shape = None

    def forward(self, x):
        x = as_float_array(x)
        self._shape = x.shape
        x2 = x.reshape(-1, x.shape[-1])
        y = self.fc2.forward(self.act.forward(self.fc1.forward(x2)))
        return y.reshape(*x.shape[:-1], y.shape[-1])

    def backward(self, dy):
        dy2 = dy.reshape(-1, dy.shape[-1])
        dx = self.fc1.backward(self.act.backward(self.fc2.backward(dy2)))
        return dx.reshape(self._shape)


class TransformerBlock(Module):
    """Pre-norm transformer encoder block: (B, T, D) -> (B, T, D)::

        x = x + Attention(LayerNorm1(x))
        x = x + MLP(LayerNorm2(x))

    ``key_padding_mask`` (B, T) bool, True at padding, is passed to the attention.
    Each residual adds its branch to the identity, so backward adds the branch's gradient
    to the gradient flowing straight through: ``dx = dy + LN1'(Attn'(dy))`` (and the same
    for the MLP part, first, because it came last).
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_hidden: int | None = None, qkv_bias: bool = True,
                 approximate: str = "none", eps: float = 1e-6, *, rng=None, seed=None, dtype=np.float32):
        gen = make_rng(rng, seed)
        mlp_hidden = 4 * embed_dim if mlp_hidden is None else mlp_hidden
        self.embed_dim = embed_dim
        self.norm1 = LayerNorm(embed_dim, eps=eps, dtype=dtype)
        self.attn = MultiHeadSelfAttention(embed_dim, num_heads, qkv_bias=qkv_bias, rng=gen, dtype=dtype)
        self.norm2 = LayerNorm(embed_dim, eps=eps, dtype=dtype)
        self.mlp = MLP(embed_dim, mlp_hidden, approximate=approximate, rng=gen, dtype=dtype)

    def forward(self, x, key_padding_mask=None):
        x = _check_tokens(x, self.embed_dim, "TransformerBlock")
        b, t, dim = x.shape
        x = x + self.attn.forward(self.norm1.forward(x.reshape(b * t, dim)).reshape(b, t, dim), key_padding_mask)
        x2 = x.reshape(b * t, dim)
        x2 = x2 + self.mlp.forward(self.norm2.forward(x2))
        return x2.reshape(b, t, dim)

    def backward(self, dy):
        b, t, dim = dy.shape
        dy2 = dy.reshape(b * t, dim)
        dx2 = dy2 + self.norm2.backward(self.mlp.backward(dy2))
        da = self.attn.backward(dx2.reshape(b, t, dim)).reshape(b * t, dim)
        dx2 += self.norm1.backward(da)
        return dx2.reshape(b, t, dim)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}"
