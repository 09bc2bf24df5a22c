"""Finite-difference gradient checking: the oracle every layer's backward is tested against.

For a scalar function ``L(θ)`` the central difference

    dL/dθ_i ≈ (L(θ + h e_i) - L(θ - h e_i)) / (2h)

has error O(h²). In float64 with h = 1e-6 it agrees with a correct analytic gradient
to about 1e-8 relative; a wrong backward is off by O(1).

To check a module we need a scalar, so we pick a fixed random ``dy`` and use
``L = sum(forward(x) * dy)``, whose gradient with respect to the output is exactly ``dy``.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..rng import make_rng
from .module import Module, RowSparseGrad


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``x`` (perturbed in place)."""
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing it perturbs x
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        g[i] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(module: Module, *inputs, dy: np.ndarray | None = None, seed: int = 0, eps: float = 1e-6,
                    atol: float = 1e-6, rtol: float = 1e-5, check_inputs: bool = True, forward_kwargs=None) -> dict:
    """Compare ``module.backward`` with finite differences, for every parameter and float input.

    The module is converted to float64 in place (``module.astype(np.float64)``); float inputs
    are converted too, integer inputs (ids) are passed unchanged. Raises ``AssertionError``
    naming the first mismatching gradient; returns ``{name: max abs error}`` otherwise.
    """
    forward_kwargs = forward_kwargs or {}
    module.astype(np.float64)
    xs = [np.array(x, dtype=np.float64) if np.issubdtype(np.asarray(x).dtype, np.floating) else x for x in inputs]
    rng = make_rng(seed=seed)
    y = module.forward(*xs, **forward_kwargs)
    if dy is None:
        dy = rng.standard_normal(np.shape(y))

    def loss() -> float:
        return float(np.sum(module.forward(*xs, **forward_kwargs) * dy))

    module.zero_grad()
    module.forward(*xs, **forward_kwargs)
    dx = module.backward(dy)
    analytic = {}
    for name, p in module.named_parameters():
        if p.requires_grad:
            g = p.grad
            analytic[name] = (p.data, g.to_dense() if isinstance(g, RowSparseGrad) else
                              (np.zeros_like(p.data) if g is None else g.copy()))
    if check_inputs and dx is not None:
        float_inputs = [x for x in xs if isinstance(x, np.ndarray) and x.dtype == np.float64]
        dxs = dx if isinstance(dx, tuple) else (dx,)
        for k, (x, g) in enumerate(zip(float_inputs, dxs, strict=False)):
            analytic[f"input{k}"] = (x, np.array(g, dtype=np.float64))

    errors = {}
    for name, (array, grad) in analytic.items():
        numeric = numerical_gradient(loss, array, eps)
        err = np.abs(numeric - grad)
        if not np.all(err <= atol + rtol * np.abs(numeric)):
            worst = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
            raise AssertionError(
                f"{type(module).__name__}: gradient of {name} wrong at {worst}: "
                f"analytic {grad[worst]:.8g}, numeric {numeric[worst]:.8g} (max abs error {err.max():.3g})"
            )
        errors[name] = float(err.max()) if err.size else 0.0
    return errors


def check_loss_gradient(loss_module: Module, logits: np.ndarray, targets, eps: float = 1e-6,
                        atol: float = 1e-7, rtol: float = 1e-5) -> float:
    """Finite-difference check of a loss's ``backward()`` with respect to its logits."""
    z = np.array(logits, dtype=np.float64)
    loss_module.forward(z, targets)
    analytic = loss_module.backward()
    numeric = numerical_gradient(lambda: loss_module.forward(z, targets), z, eps)
    err = np.abs(numeric - analytic)
    if not np.all(err <= atol + rtol * np.abs(numeric)):
        raise AssertionError(f"{type(loss_module).__name__}: max abs gradient error {err.max():.3g}")
    return float(err.max())
