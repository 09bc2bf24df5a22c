"""One Adam step of a dense parameter in one pass over memory.

For each element, with gradient ``g`` and step number ``t`` (Kingma & Ba 2015, Algorithm 1)::

    g <- g + weight_decay * w                        (L2, as PyTorch's Adam; not AdamW)
    m <- b1 m + (1 - b1) g                           first moment
    v <- b2 v + (1 - b2) g^2                         second moment
    w <- w - lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)

In NumPy that is about a dozen passes over the parameter, each making a temporary array; for a model
of a million weights the optimizer then costs as much as a matrix product. The kernel reads ``w``,
``g``, ``m``, ``v`` once and writes ``w``, ``m``, ``v`` once. :func:`adam_step_reference` is the NumPy
formula above, the test oracle (and what runs with ``MINEMBED_JIT=0``).
"""
from __future__ import annotations

import math

import numpy as np

from .jit import jit, jit_enabled


def adam_step_reference(w, g, m, v, lr, b1, b2, eps, t, weight_decay=0.0) -> None:
    """In place: one Adam step ``t`` (1-based) of ``w`` with gradient ``g``, moments ``m``, ``v`` (all one shape)."""
    if weight_decay:
        g = g + weight_decay * w
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * (g * g)
    step_size = lr / (1 - b1**t)
    w -= (step_size * m / (np.sqrt(v / (1 - b2**t)) + eps)).astype(w.dtype)


@jit(nogil=True, cache=True, fastmath={"contract"}, error_model="numpy")
def _adam_kernel(w, g, m, v, step_size, b1, c1, b2, c2, eps, inv_bias2, weight_decay):
    # every scalar arrives in the parameters' float type (c1 = 1 - b1, c2 = 1 - b2), so that float32
    # parameters are updated in float32 arithmetic, as the NumPy formula does
    for i in range(w.shape[0]):
        gi = g[i] + weight_decay * w[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        w[i] -= step_size * mi / (math.sqrt(vi * inv_bias2) + eps)


def adam_step(w, g, m, v, lr, b1, b2, eps, t, weight_decay=0.0) -> None:
    """:func:`adam_step_reference`, fused: float32/float64 ``w``, ``m``, ``v`` (C-contiguous, one shape and
    dtype); ``g`` the same shape, cast to that dtype if needed. Anything else goes to the reference."""
    fused = (jit_enabled() and isinstance(w, np.ndarray) and w.dtype in (np.float32, np.float64)
             and all(isinstance(a, np.ndarray) and a.dtype == w.dtype and a.shape == w.shape
                     and a.flags.c_contiguous for a in (w, m, v)) and w.flags.writeable and np.shape(g) == w.shape)
    if not fused:
        adam_step_reference(w, g, m, v, lr, b1, b2, eps, t, weight_decay)
        return
    f = w.dtype.type
    g = np.ascontiguousarray(g, dtype=w.dtype).reshape(-1)
    _adam_kernel(w.reshape(-1), g, m.reshape(-1), v.reshape(-1), f(lr / (1 - b1**t)), f(b1), f(1 - b1), f(b2),
                 f(1 - b2), f(eps), f(1 / (1 - b2**t)), f(weight_decay))
