"""TinyCNN: a small convolutional network whose 64-d hidden layer is an image embedding.

::

    image (N, 1, 28, 28)
      -> Conv2d(1, 8, 3, padding=1) -> ReLU -> MaxPool2d(2)      (N, 8, 14, 14)
      -> Conv2d(8, 16, 3, padding=1) -> ReLU -> MaxPool2d(2)     (N, 16, 7, 7)
         (each ReLU -> MaxPool2d pair runs as one fused ReLUMaxPool2d)
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
from ..nn.schedule import make_schedule
from ..nn.train import History, batch_ranges
from ..nn.train import fit as train_loop
from ..rng import make_rng
from .pixels import check_training_data, prepare_images

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class TinyCNN(Module):
    """conv(in_chans→8) → ReLU → maxpool 2 → conv(8→16) → ReLU → maxpool 2 → flatten → linear(784→64)
    = the embedding → ReLU → linear(64→num_classes).

    ``img_size`` (28), ``in_chans`` (1), ``channels`` ((8, 16)) and ``embed_dim`` (64) can be
    changed for tests and experiments (the names are PyTorch/timm's, as :class:`~minembed.vision.ViT`'s);
    ``img_size`` must be divisible by 4. Parameters are float32, initialised as in PyTorch from
    ``seed`` / ``rng``.

    ``forward(x)`` takes *prepared* float images (N, in_chans, S, S) (see :meth:`prepare`) and returns
    logits (N, num_classes); ``backward(dlogits)`` fills the gradients (the first convolution
    does not compute a gradient for the pixels, which nobody needs; backward returns None).
    """

    def __init__(self, num_classes: int = 10, embed_dim: int = 64, *, img_size: int = 28, in_chans: int = 1,
                 channels: tuple[int, int] = (8, 16), normalize: bool = True, rng=None, seed=None):
        if img_size < 4 or img_size % 4:
            raise ValueError(f"img_size must be a positive multiple of 4 (two 2x2 poolings), got {img_size}")
        gen = make_rng(rng, seed)
        c1, c2 = channels
        self.num_classes, self.embed_dim, self.img_size, self.in_chans = num_classes, embed_dim, img_size, in_chans
        self.channels, self.normalize = (c1, c2), normalize
        flat = c2 * (img_size // 4) ** 2
        # ReLU -> MaxPool2d(2) runs as one fused layer (same values and gradients, one pass fewer).
        self.features = Sequential(
            Conv2d(in_chans, c1, 3, padding=1, rng=gen, input_grad=False), ReLUMaxPool2d(2),
            Conv2d(c1, c2, 3, padding=1, rng=gen), ReLUMaxPool2d(2),
            Flatten(), Linear(flat, embed_dim, rng=gen),
        )
        self.head = Sequential(ReLU(), Linear(embed_dim, num_classes, rng=gen))
        self.history = History()  # every fit call adds its epochs (callbacks see them as they come)

    # ----------------------------------------------------------------- pixels
    def prepare(self, images) -> np.ndarray:
        """Images (N, S, S) (grey) or (N, in_chans, S, S) -> float32 (N, in_chans, S, S), scaled and normalised.

        Pixels follow the rule of every image model (:func:`minembed.vision.pixels.prepare_images`):
        ``uint8`` -> ``/ 255``; float -> used as is (expected in [0, 1]); other integer dtypes,
        NaN and inf are refused. Then, if ``normalize``, ``(x - 0.1307) / 0.3081``.
        ``ValueError`` naming the shape for a wrong rank, channel count or size.
        """
        s = self.img_size
        x = prepare_images(images, channels=self.in_chans, size=(s, s), model="TinyCNN")
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
        x_all = np.asarray(images)
        outs = []
        for start in batch_ranges(len(x_all), batch_size):
            x = self.features.forward(self.prepare(x_all[start:start + batch_size]))
            outs.append(self.head.forward(x) if head else x)
        width = self.num_classes if head else self.embed_dim
        return np.concatenate(outs) if outs else np.zeros((0, width), np.float32)

    def embed(self, images, batch_size: int = 1000) -> np.ndarray:
        """The image embeddings (the output of ``Linear(784, embed_dim)``, before its ReLU): (N, embed_dim) float32."""
        return self._batched(images, batch_size, head=False)

    def logits(self, images, batch_size: int = 1000) -> np.ndarray:
        """Class scores (N, num_classes) for raw images."""
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
            seed: int = 0, progress: bool = True, blas_threads: int | None = 1, schedule: str = "constant",
            warmup_steps: int = 0, callbacks=()):
        """Train with Adam on shuffled mini-batches (cross-entropy) by :func:`minembed.nn.train.fit`;
        returns ``self.history``.

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

        Every image and label (and ``x_test``/``y_test``) is checked before the first step. Each
        epoch appends to ``history`` (:class:`~minembed.nn.train.History`): ``epoch`` (1, 2, ...
        continuing over calls), ``train_loss`` (the mean cross-entropy over the epoch's images,
        float64), ``lr`` (of the epoch's last step), ``seconds`` (training time, evaluation
        excluded) and, when ``x_test``/``y_test`` are given, ``test_accuracy`` after the epoch.
        ``seed`` fixes the shuffling; a new Adam optimizer (``lr``, PyTorch's default betas) and a
        new schedule are created for each call. ``callbacks``: :class:`~minembed.nn.train.Callback` objects.
        """
        x, y, x_test, y_test = check_training_data(x, y, x_test, y_test, channels=self.in_chans,
                                                   size=(self.img_size, self.img_size),
                                                   num_classes=self.num_classes, model="TinyCNN")
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        opt = Adam(self.parameters(), lr=lr)
        sched = make_schedule(opt, schedule, epochs * -(-len(x) // batch_size), warmup_steps)
        evaluate = None if x_test is None else (lambda: self.accuracy(x_test, y_test))
        with _blas_threads(blas_threads):
            self.history = train_loop(self, x, y, loss_fn=CrossEntropyLoss(), optimizer=opt, schedule=sched,
                                      epochs=epochs, batch_size=batch_size, seed=seed, prepare=self.prepare,
                                      evaluate=evaluate, history=self.history, progress=progress,
                                      callbacks=callbacks, desc="TinyCNN epoch")
        return self.history

    def extra_repr(self) -> str:
        return (f"num_classes={self.num_classes}, embed_dim={self.embed_dim}, img_size={self.img_size}, "
                f"in_chans={self.in_chans}, channels={self.channels}")
