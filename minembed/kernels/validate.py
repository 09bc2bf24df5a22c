"""Checks that run in Python before any compiled kernel touches memory."""
from __future__ import annotations

import numpy as np


def as_index_array(indices, size: int, what: str = "index") -> np.ndarray:
    """Return ``indices`` as an int64 array after checking every value is in ``[0, size)``.

    Raises ``TypeError`` for non-integer input and ``IndexError`` naming the first bad
    value and its position. Integer dtypes other than int64 are converted (one copy).
    """
    arr = np.asarray(indices)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what} must be an integer array, got dtype {arr.dtype}")
    if arr.size:
        # Checked before the cast to int64, so a huge unsigned value is named as it is, not wrapped.
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= size:
            bad_pos = np.flatnonzero((arr.ravel() < 0) | (arr.ravel() >= size))[0]
            bad = arr.ravel()[bad_pos]
            where = np.unravel_index(bad_pos, arr.shape) if arr.ndim > 1 else (int(bad_pos),)
            where = tuple(int(w) for w in where)
            valid = f"valid: 0..{size - 1}" if size else "it is empty: no index is valid"
            raise IndexError(
                f"{what} {int(bad)} at position {where if len(where) > 1 else where[0]} "
                f"is out of range for size {size} ({valid})"
            )
    # (np.ascontiguousarray would turn a 0-d id into shape (1,); asarray keeps the shape.)
    return np.asarray(arr, dtype=np.int64, order="C")


def check_float_matrix(a, name: str) -> None:
    """Require a 2-D C-contiguous float32/float64 array (what the row kernels index)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {a.shape}")
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")


def check_positive_int(value, name: str) -> int:
    """``value`` as a Python int after checking it is an integer >= 1 (a count, a batch size).

    ``TypeError`` for anything that is not an integer (``bool`` and ``2.0`` included: a float
    count is usually a mistake worth seeing); ``ValueError`` for 0 or a negative number. Both
    say ``{name} must be an integer >= 1, got {value!r}``.
    """
    message = f"{name} must be an integer >= 1, got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(message)
    if value < 1:
        raise ValueError(message)
    return int(value)
