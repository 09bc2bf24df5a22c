"""Layer normalisation."""
from __future__ import annotations

import numpy as np

from ..kernels.layernorm import layer_norm_rows, layer_norm_rows_backward
from .functional import as_float_array, check_last_dim
from .module import Module, Parameter


class LayerNorm(Module):
    """Normalise each vector over its last axis, then scale and shift (Ba et al. 2016).

    ``xhat = (x - mean) / sqrt(var + eps)``, ``y = gamma * xhat + beta``; (..., D) -> (..., D).
    ``var`` is the biased variance, as in PyTorch. Backward (per vector, D elements)::

        dxhat = dy * gamma
        dx    = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5, elementwise_affine: bool = True,
                 dtype=np.float32):
        if normalized_shape < 1:
            raise ValueError(f"LayerNorm needs a positive size, got {normalized_shape}")
        self.dim, self.eps = normalized_shape, eps
        self.weight = Parameter(np.ones(normalized_shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(normalized_shape, dtype)) if elementwise_affine else None

    def forward(self, x):
        x = as_float_array(x)
        check_last_dim(x, self.dim, "LayerNorm")
        # One fused pass per row (minembed.kernels.layernorm; its NumPy reference is the formula above).
        self._shape = x.shape
        x2 = x.reshape(-1, self.dim)
        w = self.weight.data if self.weight is not None else np.ones(self.dim, x.dtype)
        b = self.bias.data if self.bias is not None else np.zeros(self.dim, x.dtype)
        if w.dtype != x.dtype:
            w, b = w.astype(x.dtype), b.astype(x.dtype)
        y, self._xhat, self._inv_std = layer_norm_rows(x2, w, b, self.eps)
        return y.reshape(x.shape)

    def backward(self, dy):
        xhat = self._xhat
        w = self.weight.data if self.weight is not None else np.ones(self.dim, xhat.dtype)
        if w.dtype != xhat.dtype:
            w = w.astype(xhat.dtype)
        dx, dw, db = layer_norm_rows_backward(np.reshape(dy, xhat.shape), xhat, self._inv_std, w)
        if self.weight is not None:
            self.weight.accumulate(dw)
            self.bias.accumulate(db)
        return dx.reshape(self._shape)

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}"
