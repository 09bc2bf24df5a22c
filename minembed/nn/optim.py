"""Optimizers: turn gradients into parameter updates.

Every optimizer first checks that all gradients are finite (and refuses the whole
step, naming the parameter, if one is not), then updates each parameter that has
a gradient. Two kinds of gradient are understood:

* dense arrays, updated everywhere;
* :class:`~minembed.nn.module.RowSparseGrad` from ``Embedding(sparse=True)``: only the
  listed rows are read and written, so a step on a table of a million rows costs
  O(rows in the batch). Momentum / Adam moments of the other rows are left alone
  ("lazy" updates, as in PyTorch's ``SparseAdam``), and weight decay is applied to
  the touched rows only.
"""
from __future__ import annotations

import numpy as np

from ..kernels.adam import adam_step
from .module import Parameter, RowSparseGrad


class Optimizer:
    """Base class: holds the parameters, checks gradients, dispatches dense/sparse updates."""

    def __init__(self, params, lr: float):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Parameter")
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.params = params
        self.lr = lr
        self.state: dict[int, dict[str, np.ndarray]] = {}

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def _check_finite(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None or not p.requires_grad:
                continue
            values = g.values if isinstance(g, RowSparseGrad) else g
            if not np.isfinite(values).all():
                kind = "NaN" if np.isnan(values).any() else "inf"
                raise FloatingPointError(
                    f"gradient of parameter {p.name or i!r} (shape {p.data.shape}) contains {kind}; "
                    "no parameter was updated"
                )

    def step(self) -> None:
        """Update every parameter that has a gradient (all-or-nothing if any is non-finite)."""
        self._check_finite()
        for p in self.params:
            if p.grad is None or not p.requires_grad:
                continue
            state = self.state.setdefault(id(p), {})
            if isinstance(p.grad, RowSparseGrad):
                self._update_rows(p, p.grad.indices, p.grad.values, state)
            else:
                self._update_dense(p, p.grad, state)

    def _update_dense(self, p: Parameter, g: np.ndarray, state: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    def _update_rows(self, p: Parameter, rows: np.ndarray, g: np.ndarray, state: dict) -> None:  # pragma: no cover
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay.

    One step, in PyTorch's form::

        g <- g + weight_decay * w
        v <- momentum * v + g           (v starts at 0, so the first v is g)
        w <- w - lr * (g + momentum * v if nesterov else v)
    """

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"momentum and weight_decay must be >= 0, got {momentum}, {weight_decay}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov

    def _direction(self, g, w, v_prev):
        """Return (step, new velocity). ``v_prev`` starts at zeros, so the first v is g."""
        if self.weight_decay:
            g = g + self.weight_decay * w
        if not self.momentum:
            return g, v_prev
        v = self.momentum * v_prev + g
        return (g + self.momentum * v if self.nesterov else v), v

    def _velocity(self, p, state):
        if self.momentum and "v" not in state:
            state["v"] = np.zeros_like(p.data)
        return state.get("v")

    def _update_dense(self, p, g, state):
        step, v = self._direction(g, p.data, self._velocity(p, state))
        if self.momentum:
            state["v"] = v
        p.data -= (self.lr * step).astype(p.data.dtype)

    def _update_rows(self, p, rows, g, state):
        velocity = self._velocity(p, state)
        step, v = self._direction(g, p.data[rows], None if velocity is None else velocity[rows])
        if self.momentum:
            velocity[rows] = v
        p.data[rows] -= (self.lr * step).astype(p.data.dtype)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; ``weight_decay`` is L2 added to g
    (PyTorch's ``Adam``, not ``AdamW``)::

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        w <- w - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    For row-sparse gradients, ``t`` counts the steps in which each *row* was updated,
    so a rarely seen word gets a properly bias-corrected first step.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay

    def _update_dense(self, p, g, state):
        b1, b2 = self.betas
        if "m" not in state:
            state["m"], state["v"], state["t"] = np.zeros_like(p.data), np.zeros_like(p.data), 0
        elif "t" not in state:  # earlier steps were row-sparse: continue from the most-updated row's count
            state["t"] = int(state["t_rows"].max())
        state["t"] += 1
        # the formula in the class docstring, in one pass (kernels.adam; its reference is that formula in NumPy)
        adam_step(p.data, g, state["m"], state["v"], self.lr, b1, b2, self.eps, state["t"], self.weight_decay)

    def _update_rows(self, p, rows, g, state):
        b1, b2 = self.betas
        if "m" not in state:
            state["m"], state["v"] = np.zeros_like(p.data), np.zeros_like(p.data)
            state["t_rows"] = np.zeros(p.data.shape[0], dtype=np.int64)
        elif "t_rows" not in state:  # earlier steps were dense: every row has seen t steps
            state["t_rows"] = np.full(p.data.shape[0], state["t"], dtype=np.int64)
        if self.weight_decay:
            g = g + self.weight_decay * p.data[rows]
        state["t_rows"][rows] += 1
        t = state["t_rows"][rows][:, None].astype(np.float64)
        m = b1 * state["m"][rows] + (1 - b1) * g
        v = b2 * state["v"][rows] + (1 - b2) * (g * g)
        state["m"][rows], state["v"][rows] = m, v
        update = (self.lr / (1 - b1**t)) * m / (np.sqrt(v / (1 - b2**t)) + self.eps)
        p.data[rows] -= update.astype(p.data.dtype)
