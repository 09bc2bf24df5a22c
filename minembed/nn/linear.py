"""The affine layer ``y = x W^T + b``."""
from __future__ import annotations

import numpy as np

from ..rng import make_rng
from .functional import as_float_array, check_last_dim
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ W.T + b``: (..., in_features) -> (..., out_features).

    Backward, with ``dy`` of shape (..., out) and the leading axes flattened to N rows::

        dW = dy^T x      (out, in)      db = sum_n dy     (out,)      dx = dy W   (..., in)

    Initialisation follows PyTorch: ``W, b ~ U(-1/sqrt(in), 1/sqrt(in))``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, rng=None, seed=None,
                 dtype=np.float32):
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got in={in_features}, out={out_features}")
        gen = make_rng(rng, seed)
        bound = 1.0 / np.sqrt(in_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(gen.uniform(-bound, bound, (out_features, in_features)).astype(dtype))
        self.bias = Parameter(gen.uniform(-bound, bound, out_features).astype(dtype)) if bias else None
        self._x = None

    def forward(self, x):
        x = as_float_array(x)
        check_last_dim(x, self.in_features, "Linear")
        self._x = x
        y = x @ self.weight.data.T
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, dy):
        x = self._x
        dy2 = dy.reshape(-1, self.out_features)
        self.weight.accumulate(dy2.T @ x.reshape(-1, self.in_features))
        if self.bias is not None:
            self.bias.accumulate(dy2.sum(axis=0))
        return dy @ self.weight.data

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"
