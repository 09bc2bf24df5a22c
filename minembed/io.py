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


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc/self/status``);
    elsewhere set and restored at once (``os.umask`` is the only portable reader)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None):
    """``with atomic_write("out.txt", "w", encoding="utf-8") as fh: ...`` — the file appears
    (or is replaced) only if the block finishes without an exception. It gets the permissions of
    any new file (``0o666`` less the umask), not the private ``0o600`` of a temporary file. Errors
    of the file system name ``path``, not the temporary file."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:  # a missing or read-only folder: the user knows the target, not our temp name
        raise type(err)(err.errno, err.strerror, str(path)) from None
    try:
        if hasattr(os, "fchmod"):  # POSIX; Windows has no umask to honour
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.replace(tmp, path)
        except OSError as err:  # e.g. the target is a folder
            raise type(err)(err.errno, err.strerror, str(path)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_npz(path, **arrays) -> None:
    """``np.savez`` through :func:`atomic_write` (no pickle: only plain arrays are stored)."""
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_npz(path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, loaded with ``allow_pickle=False``. Anything else (a ``.npy``
    renamed, a text file, a pickle) raises ``ValueError`` naming the file and what was expected."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no file at {str(path)!r}")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npz file of named arrays: {err}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):  # np.load also reads a single .npy array
        raise ValueError(f"{path} holds a single array (a .npy file), not the .npz archive of named arrays "
                         "expected here")
    try:
        with data:
            return {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path} is not a readable .npz file of named arrays: {err}") from None
