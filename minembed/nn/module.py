"""Parameters and modules: the two ideas backpropagation is built from.

A :class:`Parameter` is an array of weights together with the gradient of the loss
with respect to it. A :class:`Module` is a function with parameters that knows its
own derivative:

* ``forward(x)`` computes ``y = f(x; θ)`` and caches whatever the backward needs;
* ``backward(dy)`` receives ``dL/dy``, *adds* ``dL/dθ`` into each ``Parameter.grad``
  and returns ``dL/dx`` for the module before it.

Chaining ``backward`` calls in reverse order is the chain rule, i.e. backpropagation.
Gradients accumulate (``+=``) so a parameter used twice gets both contributions;
call :meth:`Module.zero_grad` before each step.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np

from ..kernels import scatter_add_rows, zero_marked_rows


class RowSparseGrad:
    """The gradient of an embedding table in which only some rows are non-zero.

    ``indices`` (K,) int64 are distinct row numbers, sorted; ``values`` (K, D) hold the
    gradient of those rows. Every other row's gradient is zero. A step on a table of
    a million rows then touches only K of them (see :mod:`minembed.nn.optim`).
    """

    __slots__ = ("indices", "values", "shape")

    def __init__(self, indices: np.ndarray, values: np.ndarray, shape: tuple[int, int]):
        self.indices = indices
        self.values = values
        self.shape = shape

    def to_dense(self) -> np.ndarray:
        """The full (V, D) gradient, zeros in the rows that received none."""
        dense = np.zeros(self.shape, dtype=self.values.dtype)
        dense[self.indices] = self.values
        return dense

    def __repr__(self) -> str:
        return f"RowSparseGrad({len(self.indices)} of {self.shape[0]} rows, dim {self.shape[1]})"


class Parameter:
    """A trainable array: ``data`` (the weights) and ``grad`` (dL/d data, or None).

    ``requires_grad=False`` freezes it: layers skip its gradient and optimizers skip it.
    ``grad`` is a dense array of ``data``'s shape, or a :class:`RowSparseGrad`.

    Gradient memory. :meth:`zero_grad` sets ``grad`` to None (optimizers then skip the
    parameter, as in PyTorch) but keeps the array for the next backward to add into: a
    fresh (V, D) array every step would be paid for in page faults on all of it. Clearing
    it is cheap too. A layer that adds into a few rows only (Embedding's scatter-add) does so
    with :meth:`add_rows`, which records the rows; ``zero_grad`` then only remembers them
    as stale, and the next ``add_rows`` overwrites a stale row at its first addition and
    zeroes the stale rows it did not reach (one pass, where zero-then-add would take two;
    :meth:`dense_grad` zeroes them all first). Any other write -- ``p.grad = g``,
    ``p.grad *= c``, :meth:`accumulate` -- counts as touching every row, and the kept array
    is then zeroed whole. (Writing single elements, ``p.grad[i] = x``, is not seen: assign
    the whole array instead.) An array that something else still refers to (a list of past
    gradients, a view) is never reused, so values you kept do not change.
    """

    __slots__ = ("data", "_grad", "requires_grad", "name", "_marked", "_spare", "_stale")

    def __init__(self, data: np.ndarray, requires_grad: bool = True, name: str | None = None):
        self.data = np.asarray(data)
        self.requires_grad = requires_grad
        self.name = name
        self._spare: np.ndarray | None = None  # the array zero_grad kept, for the next backward
        self._stale: np.ndarray | None = None  # its rows still holding old values, (rows,) bool
        self.grad = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def grad(self) -> np.ndarray | RowSparseGrad | None:
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = value
        # The rows of grad that may be non-zero: a (rows,) bool mask, or None for "any row"
        # (a value from outside, or written by something other than add_rows).
        self._marked: np.ndarray | None = None

    def _take_spare(self, clear_stale: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """The kept array (or new zeros) and its stale rows, zeroed first if ``clear_stale``."""
        spare, stale, self._spare, self._stale = self._spare, self._stale, None, None
        if spare is None or spare.shape != self.data.shape or spare.dtype != self.data.dtype:
            return np.zeros_like(self.data), None
        if stale is not None and clear_stale:
            zero_marked_rows(spare, stale)
            stale = None
        return spare, stale

    def dense_grad(self) -> np.ndarray:
        """``grad`` as a dense array to add into, made if needed: the array kept by :meth:`zero_grad`
        (zeroed) when there is one, else new zeros (a RowSparseGrad is densified)."""
        if self._grad is None:
            self.grad, _ = self._take_spare(clear_stale=True)
        elif isinstance(self._grad, RowSparseGrad):
            self.grad = self._grad.to_dense()
        return self._grad

    def add_rows(self, idx: np.ndarray, values: np.ndarray) -> None:
        """``grad[idx[i]] += values[i]`` for every i (a scatter-add; 2-D ``data``), remembering the rows
        so that :meth:`zero_grad` clears only them. idx (N,) int, values (N, D)."""
        if self._grad is None:
            grad, stale = self._take_spare(clear_stale=False)
            scatter_add_rows(grad, idx, values, stale=stale)  # clears the stale rows on the way
            self.grad = grad
            self._marked = np.zeros(grad.shape[0], dtype=np.bool_) if stale is None else stale  # (all False now)
        else:
            scatter_add_rows(self.dense_grad(), idx, values)
        if self._marked is not None:
            self._marked[idx] = True

    def accumulate(self, g: np.ndarray) -> None:
        """``grad += g`` (into the kept array, or new zeros, the first time). Skipped when frozen."""
        if not self.requires_grad:
            return
        grad = self.dense_grad()
        grad += g
        self._marked = None  # g may be non-zero anywhere

    def zero_grad(self) -> None:
        """``grad = None``, keeping its array for the next backward unless something else refers to
        it; the rows :meth:`add_rows` marked are left to be cleared then, any other array is zeroed now."""
        g, marked = self._grad, self._marked
        self.grad = None
        if not isinstance(g, np.ndarray) or g.shape != self.data.shape or g.dtype != self.data.dtype:
            return
        # References to g now: the local name and getrefcount's argument. A third one is the
        # caller's (a kept gradient, or a view's .base): then the array is theirs, not reused.
        if sys.getrefcount(g) > 2 or not (g.flags.owndata and g.flags.writeable and g.flags.c_contiguous):
            return
        if marked is None:
            g.fill(0)
        self._spare, self._stale = g, marked

    def __repr__(self) -> str:
        frozen = "" if self.requires_grad else ", frozen"
        return f"Parameter({self.name or '?'}, shape={self.data.shape}, dtype={self.data.dtype}{frozen})"


class Module:
    """Base class of every layer. Subclasses implement ``forward`` and ``backward``.

    Parameters and sub-modules are found by looking at the instance's attributes
    (also inside lists and tuples), in the order they were assigned, so a subclass
    only has to store them: ``self.weight = Parameter(...)``.
    """

    training: bool = True

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dy):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.backward")

    # -------------------------------------------------------------- tree walking
    def _children(self) -> Iterator[tuple[str, object]]:
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, (Parameter, Module)):
                        yield f"{name}.{i}", item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``("block.0.weight", Parameter)`` pairs, each parameter once, depth first in the
        order the attributes were assigned (a parameter shared by two attributes keeps the first name)."""
        seen: set[int] = set()

        def walk(pre: str, module: Module):
            for name, child in module._children():
                full = f"{pre}{name}"
                if isinstance(child, Parameter):
                    if id(child) not in seen:
                        seen.add(id(child))
                        if child.name is None:
                            child.name = full
                        yield full, child
                else:
                    yield from walk(full + ".", child)

        yield from walk(prefix, self)

    def parameters(self) -> list[Parameter]:
        """All parameters of this module and its sub-modules (frozen ones included)."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module, depth first."""
        yield self
        for _, child in self._children():
            if isinstance(child, Module):
                yield from child.modules()

    # ------------------------------------------------------------------ utilities
    def zero_grad(self) -> None:
        """Forget accumulated gradients: every ``grad`` becomes None (see :meth:`Parameter.zero_grad`)."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Switch this module and its children to training (or, with False, evaluation) mode."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout off; layers behave deterministically."""
        return self.train(False)

    def astype(self, dtype) -> Module:
        """Convert every parameter (and gradient) to ``dtype`` in place; returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            if isinstance(p.grad, np.ndarray):
                p.grad = p.grad.astype(dtype)
        return self

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: array}`` copies of every parameter, for saving with ``np.savez``."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray], *, source=None) -> None:
        """Copy arrays into the parameters of the same names (each cast to its parameter's dtype).

        All or nothing: every name, shape and dtype is checked before the first parameter is
        replaced, so a mismatch leaves the module exactly as it was. ``KeyError`` for missing or
        unexpected names, ``ValueError`` for a shape, ``TypeError`` for an array that is not of
        the parameter's kind (an integer or text array for float weights). ``source`` (a file
        name) starts every message.
        """
        where = f"{source}: " if source is not None else ""
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise KeyError(f"{where}state does not match the {type(self).__name__}: missing {missing}, "
                           f"unexpected {unexpected}")
        values = {}
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.data.shape:
                raise ValueError(f"{where}parameter {name!r}: expected shape {p.data.shape}, found {value.shape}")
            if value.dtype.kind != p.data.dtype.kind:
                raise TypeError(f"{where}parameter {name!r}: expected a {p.data.dtype} array, found {value.dtype}")
            values[name] = value
        for name, p in own.items():   # only now that everything fits
            p.data = values[name].astype(p.data.dtype, copy=True)

    def save(self, path) -> None:
        """Write every parameter to an ``.npz`` file (atomically: a failed save keeps the old file)."""
        from ..io import save_npz

        save_npz(path, **self.state_dict())

    def load(self, path) -> Module:
        """Read parameters saved by :meth:`save` into this (identically built) module; returns self.

        A file that does not fit (another size, a missing or extra array) raises, naming the file
        and the parameter, and leaves the module untouched (see :meth:`load_state_dict`).
        """
        from ..io import load_npz

        self.load_state_dict(load_npz(path), source=path)
        return self

    def __repr__(self) -> str:
        extra = self.extra_repr()
        inner = [f"  ({n}): {repr(c)}".replace("\n", "\n  ") for n, c in self._children() if isinstance(c, Module)]
        if not inner:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}({extra}\n" + "\n".join(inner) + "\n)"

    def extra_repr(self) -> str:
        return ""


class Sequential(Module):
    """Layers applied one after another; backward runs them in reverse.

    ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``: forward is ``f3(f2(f1(x)))``,
    backward is ``f1'(f2'(f3'(dy)))`` — the chain rule, literally.
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a Module")
        self.layers = list(layers)

    def _children(self):
        # Children are named "0", "1", ... as in PyTorch, so parameters read "2.weight".
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)
