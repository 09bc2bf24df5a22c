"""Small helpers shared by the layers: input checks and numerically stable formulas."""
from __future__ import annotations

import numpy as np


def as_float_array(x, name: str = "input") -> np.ndarray:
    """``x`` as a floating array (integers become float32).

    Only the type is checked: scanning values for NaN would cost a pass per layer.
    """
    x = np.asarray(x)
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x


def check_last_dim(x: np.ndarray, expected: int, layer: str) -> None:
    """Raise ``ValueError`` naming the shapes when ``x.shape[-1] != expected``."""
    if x.ndim == 0 or x.shape[-1] != expected:
        raise ValueError(f"{layer} expects input of shape (..., {expected}), got {x.shape}")


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``z - logsumexp(z)`` computed after subtracting the max, so exp never overflows."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow warnings for large ``|x|``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(x, np.float32))
