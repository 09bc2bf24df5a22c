"""TinyCNN: a small convolutional network whose 64-d hidden layer is an image embedding.

    image (N, 1, 28, 28)
      -> Conv2d(1, 8, 3, padding=1) -> ReLU -> MaxPool2d(2)      (N, 8, 14, 14)
      -> Conv2d(8, 16, 3, padding=1) -> ReLU -> MaxPool2d(2)     (N, 16, 7, 7)
         (each ReLU -> MaxPool2d pair runs as one fused ``ReLUMaxPool2d``)
      -> Flatten -> Linear(784, 64)                              (N, 64)   <- the embedding
      -> ReLU -> Linear(64, 10)                                  (N, 10)   class scores

Trained to classify digits, the network has to put images of the same digit close together
in the 64-d layer just before the classifier, so that layer is a useful embedding even for
things the classifier never did, like finding the most similar training image.

Pixels: ``uint8`` images are divided by 255 (to [0, 1]); float images are taken to be in
[0, 1] already; other integer dtypes, NaN and inf are refused (the rule of every image model,
:mod:`minembed.vision.pixels`). Then, with ``normalize=True`` (the default), ``(x - 0.1307) / 0.3081`` is
applied: the mean and standard deviation of the MNIST training pixels, the same constants
the PyTorch MNIST example uses. See :meth:`TinyCNN.prepare`.
"""
from __future__ import annotations

import time

import numpy as np

from ..kernels.blas import blas_threads as _blas_threads
from ..kernels.validate import check_positive_int
from ..nn.activations import ReLU
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.losses import CrossEntropyLoss
from ..nn.module import Module, Sequential
from ..nn.optim import Adam
from ..nn.pool import Flatten, ReLUMaxPool2d
from ..nn.schedule import CosineSchedule
from ..progress import progress as _progress
from ..rng import make_rng
from .pixels import prepare_images

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class TinyCNN(Module):
    """conv(1→8) → ReLU → maxpool 2 → conv(8→16) → ReLU → maxpool 2 → flatten → linear(784→64)
    = the embedding → ReLU → linear(64→n_classes).

    ``image_size`` (28), ``channels`` ((8, 16)) and ``embedding_dim`` (64) can be shrunk for
    tests and experiments; ``image_size`` must be divisible by 4. Parameters are float32,
    initialised as in PyTorch from ``seed`` / ``rng``.

    ``forward(x)`` takes *prepared* float images (N, 1, S, S) (see :meth:`prepare`) and returns
    logits (N, n_classes); ``backward(dlogits)`` fills the gradients (the first convolution
    does not compute a gradient for the pixels, which nobody needs; backward returns None).
    """

    def __init__(self, n_classes: int = 10, embedding_dim: int = 64, *, image_size: int = 28,
                 channels: tuple[int, int] = (8, 16), normalize: bool = True, rng=None, seed=None):
        if image_size < 4 or image_size % 4:
            raise ValueError(f"image_size must be a positive multiple of 4 (two 2x2 poolings), got {image_size}")
        gen = make_rng(rng, seed)
        c1, c2 = channels
        self.n_classes, self.embedding_dim, self.image_size = n_classes, embedding_dim, image_size
        self.channels, self.normalize = (c1, c2), normalize
        flat = c2 * (image_size // 4) ** 2
        # ReLU -> MaxPool2d(2) runs as one fused layer (same values and gradients, one pass fewer).
        self.features = Sequential(
            Conv2d(1, c1, 3, padding=1, rng=gen, input_grad=False), ReLUMaxPool2d(2),
            Conv2d(c1, c2, 3, padding=1, rng=gen), ReLUMaxPool2d(2),
            Flatten(), Linear(flat, embedding_dim, rng=gen),
        )
        self.head = Sequential(ReLU(), Linear(embedding_dim, n_classes, rng=gen))
        self.history: dict[str, list] = {"epoch": [], "train_loss": [], "test_accuracy": [], "seconds": [], "lr": []}

    # ----------------------------------------------------------------- pixels
    def prepare(self, images) -> np.ndarray:
        """Images (N, S, S) or (N, 1, S, S) -> float32 (N, 1, S, S), scaled and normalised.

        Pixels follow the rule of every image model (:func:`minembed.vision.pixels.prepare_images`):
        ``uint8`` -> ``/ 255``; float -> used as is (expected in [0, 1]); other integer dtypes,
        NaN and inf are refused. Then, if ``normalize``, ``(x - 0.1307) / 0.3081``.
        ``ValueError`` naming the shape for a wrong rank, channel count or size.
        """
        s = self.image_size
        x = prepare_images(images, channels=1, size=(s, s), model="TinyCNN")
        if self.normalize:
            x -= np.float32(MNIST_MEAN)
            x *= np.float32(1 / MNIST_STD)
        return x

    # ---------------------------------------------------------------- network
    def forward(self, x):
        return self.head.forward(self.features.forward(x))

    def backward(self, dy):
        return self.features.backward(self.head.backward(dy))

    def _batched(self, images, batch_size: int, head: bool) -> np.ndarray:
        batch_size = check_positive_int(batch_size, "batch_size")
        x_all = np.asarray(images)
        outs = []
        for start in range(0, len(x_all), batch_size):
            x = self.features.forward(self.prepare(x_all[start:start + batch_size]))
            outs.append(self.head.forward(x) if head else x)
        width = self.n_classes if head else self.embedding_dim
        return np.concatenate(outs) if outs else np.zeros((0, width), np.float32)

    def embed(self, images, batch_size: int = 1000) -> np.ndarray:
        """The 64-d image embeddings (the output of ``Linear(784, 64)``, before its ReLU): (N, 64) float32."""
        return self._batched(images, batch_size, head=False)

    def logits(self, images, batch_size: int = 1000) -> np.ndarray:
        """Class scores (N, n_classes) for raw images."""
        return self._batched(images, batch_size, head=True)

    def predict(self, images, batch_size: int = 1000) -> np.ndarray:
        """The most likely class of each image: (N,) int64."""
        return self.logits(images, batch_size).argmax(axis=1)

    def accuracy(self, images, labels, batch_size: int = 1000) -> float:
        """Fraction of ``images`` whose predicted class equals ``labels``."""
        labels = np.asarray(labels)
        return float((self.predict(images, batch_size) == labels).mean())

    # --------------------------------------------------------------- training
    def fit(self, x, y, epochs: int = 3, batch_size: int = 128, lr: float = 1e-3, x_test=None, y_test=None,
            seed: int | None = None, progress: bool = True, blas_threads: int | None = 1,
            schedule: str = "constant", warmup_steps: int = 0) -> dict[str, list]:
        """Train with Adam on shuffled mini-batches (cross-entropy); returns ``self.history``.

        ``schedule="constant"`` uses ``lr`` for every step (after ``warmup_steps`` of linear
        warm-up, if any); ``"cosine"`` decays it per batch along a half cosine from ``lr`` to 0 over
        all ``epochs`` of this call (:class:`~minembed.nn.CosineSchedule`; the same values as
        PyTorch's ``CosineAnnealingLR`` with ``T_max`` = the number of steps). Constant is the
        default because, measured on full MNIST (3 epochs, batch 128, peak lr 1e-3, seeds 0-2),
        cosine decay *lowered* the test accuracy: 97.92% vs 98.25% on average here, 98.15% vs
        98.38% for the identical PyTorch network (``benchmarks/bench_cnn.py --schedule``). Three
        epochs at 1e-3 are still limited by how far the weights can move, and decay moves them less.

        ``blas_threads=1`` (default) runs NumPy's OpenBLAS (the two Linear layers) on one thread
        while training, leaving the cores to the (parallel) Numba convolution and pooling kernels:
        the two thread pools otherwise wait on each other, and a 2-core step of full MNIST took
        40 ms instead of 12.5 ms. ``None`` leaves BLAS alone.

        Each epoch appends to ``history``: ``epoch`` (1, 2, ... continuing over calls),
        ``train_loss`` (the mean cross-entropy over the epoch's batches, float64),
        ``test_accuracy`` (on ``x_test``/``y_test`` after the epoch, or None) and ``seconds``
        (training time of the epoch, evaluation excluded) and ``lr`` (the learning rate of the
        epoch's last step). ``seed`` fixes the shuffling; a new Adam optimizer (``lr``, PyTorch's
        default betas) and a new schedule are created for each call.
        """
        x = np.asarray(x)
        y = self._check_labels(x, y, "y")
        if len(x) == 0:
            raise ValueError(f"TinyCNN.fit needs at least one training image, got x of shape {x.shape}")
        if (x_test is None) != (y_test is None):
            raise ValueError("pass both x_test and y_test, or neither")
        if x_test is not None:
            y_test = self._check_labels(np.asarray(x_test), y_test, "y_test")
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        if schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
        n_batches = (len(x) + batch_size - 1) // batch_size
        if not 0 <= warmup_steps <= epochs * n_batches:
            raise ValueError(f"warmup_steps must be in [0, {epochs * n_batches}] (all steps of this call), "
                             f"got {warmup_steps}")
        with _blas_threads(blas_threads):
            return self._fit(x, y, epochs, batch_size, lr, x_test, y_test, seed, progress, schedule, warmup_steps)

    def _fit(self, x, y, epochs, batch_size, lr, x_test, y_test, seed, progress, schedule,
             warmup_steps) -> dict[str, list]:
        rng = np.random.default_rng(seed)
        loss_fn, opt = CrossEntropyLoss(), Adam(self.parameters(), lr=lr)
        n = len(x)
        n_batches = (n + batch_size - 1) // batch_size
        steps = epochs * n_batches
        # "constant" is the same schedule with min_lr = lr: a flat line after the warm-up (if any)
        sched = CosineSchedule(opt, steps, warmup_steps, min_lr=0.0 if schedule == "cosine" else lr)
        for _ in range(epochs):
            epoch = len(self.history["epoch"]) + 1
            self.train()
            order = rng.permutation(n)
            total, start = 0.0, time.perf_counter()
            bar = _progress(range(n_batches), enabled=progress, desc=f"epoch {epoch}", unit="batch", leave=False)
            for b in bar:
                idx = order[b * batch_size:(b + 1) * batch_size]
                xb = self.prepare(x[idx])
                opt.zero_grad()
                loss = loss_fn(self.forward(xb), y[idx])
                self.backward(loss_fn.backward())
                opt.step()
                last_lr = opt.lr
                sched.step()
                total += loss * len(idx)
                if b % 20 == 0:
                    bar.set_postfix(loss=f"{loss:.4f}")
            bar.close()
            seconds = time.perf_counter() - start
            self.eval()
            acc = self.accuracy(x_test, y_test) if x_test is not None else None
            self.train()
            self.history["epoch"].append(epoch)
            self.history["train_loss"].append(total / n)
            self.history["test_accuracy"].append(acc)
            self.history["seconds"].append(seconds)
            self.history["lr"].append(last_lr)
            if progress:
                test = f", test accuracy {acc:.2%}" if acc is not None else ""
                print(f"epoch {epoch}: train loss {total / n:.4f}{test} ({seconds:.1f} s)")
        return self.history

    def _check_labels(self, x: np.ndarray, y, name: str) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(f"{name} must be (N,) labels for {len(x)} images, got shape {y.shape}")
        if y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{name} must be integer class labels, got dtype {y.dtype}")
        if len(y) and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(f"{name} holds labels outside [0, {self.n_classes}): {y.min()}..{y.max()}")
        return y.astype(np.int64)

    def extra_repr(self) -> str:
        return (f"n_classes={self.n_classes}, embedding_dim={self.embedding_dim}, image_size={self.image_size}, "
                f"channels={self.channels}")
