"""The one way minembed gets randomness: a ``numpy.random.Generator`` passed in, or one made from a seed.

Every function or model that draws random numbers takes ``rng=`` or ``seed=`` (never both) and calls
:func:`make_rng`; nothing touches NumPy's global random state, so two runs with the same seed agree.
"""
from __future__ import annotations

import numpy as np


def make_rng(rng=None, seed=None) -> np.random.Generator:
    """``rng`` itself when it is a Generator; otherwise a new Generator from ``seed``: an int, a sequence
    of ints (``[seed, epoch]``: an independent stream per epoch, as word2vec uses) or ``None`` (fresh entropy)."""
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    return np.random.default_rng(seed)
