"""Element-wise non-linearities and dropout. Each has no parameters; backward is
``dx = dy * f'(x)`` with the derivative written out."""
from __future__ import annotations

import math

import numpy as np

from ..kernels.gelu import gelu_with_derivative
from ..rng import make_rng
from .functional import as_float_array
from .module import Module


class ReLU(Module):
    """``max(x, 0)``; derivative 1 where x > 0, else 0. Any shape -> same shape."""

    def forward(self, x):
        x = as_float_array(x)
        self._mask = x > 0
        return x * self._mask

    def backward(self, dy):
        return dy * self._mask


class Tanh(Module):
    """``tanh(x)``; derivative ``1 - tanh(x)^2``, computed from the cached output."""

    def forward(self, x):
        self._y = np.tanh(as_float_array(x))
        return self._y

    def backward(self, dy):
        return dy * (1.0 - self._y * self._y)


class GELU(Module):
    """Gaussian Error Linear Unit, ``x * Phi(x)`` (Hendrycks & Gimpel 2016).

    ``approximate="none"`` (PyTorch's default) uses the exact normal CDF
    ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``, with derivative ``Phi(x) + x * phi(x)``.
    ``approximate="tanh"`` uses ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        x = as_float_array(x)
        self._x = x
        if self.approximate == "none":
            # One fused pass computing y and y' (minembed.kernels.gelu); backward is dy * y'.
            y, self._dydx = gelu_with_derivative(x)
            return y
        c = math.sqrt(2.0 / math.pi)
        self._t = np.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * x * (1.0 + self._t)

    def backward(self, dy):
        x = self._x
        if self.approximate == "none":
            return dy * self._dydx
        c = math.sqrt(2.0 / math.pi)
        t = self._t
        return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * x * x))

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale
    the survivors by ``1/(1-p)`` so the expected value is unchanged; in eval, identity."""

    def __init__(self, p: float = 0.5, *, rng=None, seed=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = make_rng(rng, seed)

    def forward(self, x):
        x = as_float_array(x)
        if not self.training or self.p == 0.0:
            self._scale = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self._scale = keep.astype(x.dtype) / (1.0 - self.p)
        return x * self._scale

    def backward(self, dy):
        return dy if self._scale is None else dy * self._scale

    def extra_repr(self) -> str:
        return f"p={self.p}"
