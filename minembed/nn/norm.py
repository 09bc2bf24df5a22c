"""Layer normalisation."""
from __future__ import annotations

import numpy as np

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
        mean = x.mean(axis=-1, keepdims=True)
        centered = x - mean
        self._inv_std = 1.0 / np.sqrt((centered * centered).mean(axis=-1, keepdims=True) + self.eps)
        self._xhat = centered * self._inv_std
        if self.weight is None:
            return self._xhat
        return self._xhat * self.weight.data + self.bias.data

    def backward(self, dy):
        xhat = self._xhat
        if self.weight is not None:
            lead = tuple(range(dy.ndim - 1))
            self.weight.accumulate((dy * xhat).sum(axis=lead))
            self.bias.accumulate(dy.sum(axis=lead))
            dxhat = dy * self.weight.data
        else:
            dxhat = dy
        return self._inv_std * (
            dxhat - dxhat.mean(axis=-1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True)
        )

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}"
