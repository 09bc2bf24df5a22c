"""Numba kernels, each beside the plain NumPy/Python reference it must match.

Nothing here imports from the rest of minembed: kernels are the bottom layer.
"""
from .jit import jit_enabled, set_num_threads
from .scatter import gather_rows, scatter_add_rows, segment_max_rows, zero_marked_rows

__all__ = ["jit_enabled", "set_num_threads", "gather_rows", "scatter_add_rows", "segment_max_rows",
           "zero_marked_rows"]
