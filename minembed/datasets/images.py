"""MNIST: a bundled 12,000-image subset, or the full Keras-format ``mnist.npz`` by path."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import load_npz
from .corpus import DATA_DIR

_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_mnist(path=None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((x_train, y_train), (x_test, y_test))`` as in Keras: images (N, 28, 28) uint8, labels (N,) uint8.

    ``path=None`` loads the bundled subset (10,000 train / 2,000 test images); otherwise
    a Keras-layout ``.npz`` such as ``../shared/data/images/mnist.npz`` (60,000 / 10,000).
    Loaded with ``allow_pickle=False``: an npz can never run code.
    """
    path = DATA_DIR / "mnist_sample.npz" if path is None else Path(path)
    arrays = load_npz(path)  # FileNotFoundError / ValueError naming the file for a missing or broken npz
    missing = [k for k in _KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} is not a Keras-format MNIST npz: missing arrays {missing}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (x.shape[0],):
            raise ValueError(f"{path}: x_{split} {x.shape} / y_{split} {y.shape} are not (N, 28, 28) / (N,)")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
