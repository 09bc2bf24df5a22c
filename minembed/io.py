"""Saving files safely: write to a temporary file in the same folder, then rename.

``os.replace`` is atomic on POSIX and Windows, so a save that fails half-way (a full
disk, an exception, Ctrl-C) leaves the previous file exactly as it was.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None):
    """``with atomic_write("out.txt", "w", encoding="utf-8") as fh: ...`` — the file appears
    (or is replaced) only if the block finishes without an exception."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_npz(path, **arrays) -> None:
    """``np.savez`` through :func:`atomic_write` (no pickle: only plain arrays are stored)."""
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_npz(path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, loaded with ``allow_pickle=False``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no file at {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise ValueError("it holds a single array, not named arrays")
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npz file: {err}") from None
