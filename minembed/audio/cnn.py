"""A learned audio embedding: a small CNN on log-mel spectrograms, trained contrastively (no labels).

    log-mel image (N, 1, n_mels, n_frames), dB scaled per clip
      -> Conv2d(1, c1, 3, padding=1) -> ReLU -> MaxPool2d(2)
      -> Conv2d(c1, c2, 3, padding=1) -> ReLU -> MaxPool2d(2)
      -> Conv2d(c2, c3, 3, padding=1) -> ReLU -> GlobalAvgPool2d          (N, c3): where in time does not matter
      -> Linear(c3, embed_dim)                                              (N, embed_dim)   <- the embedding
      -> ReLU -> Linear(embed_dim, proj_dim)                                (N, proj_dim)    the loss sees this

Training (SimCLR's recipe, on sounds). Each batch of B clips becomes 2B views: every clip is augmented
twice at random (:mod:`minembed.audio.augment`: speed/pitch change by resampling, a time shift, added
noise, then SpecAugment masks on its log-mel spectrogram). :class:`~minembed.nn.NTXentLoss` pulls the
two views of a clip together and pushes them from the other 2B - 2 views. As in SimCLR the loss acts
on a small projection head and the embedding is taken before it: the head may throw away what the
augmentations vary, the layer below keeps more. The loop is :func:`minembed.nn.train.fit`.

Log-mel scaling: ``(dB - max_dB_of_the_clip) / 20 + 2``: the loudest point of every clip is 2, 80 dB
below it is -2, so a quiet and a loud recording of the same sound look alike.
"""
from __future__ import annotations

import numpy as np

from ..kernels.blas import blas_threads as _blas_threads
from ..kernels.validate import check_positive_int
from ..nn.activations import ReLU
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.losses import NTXentLoss
from ..nn.module import Module, Sequential
from ..nn.optim import Adam
from ..nn.pool import GlobalAvgPool2d, ReLUMaxPool2d
from ..nn.train import History, batch_ranges
from ..nn.train import fit as train_loop
from ..rng import make_rng
from .augment import add_noise, change_speed, spec_augment, time_shift
from .features import clip_log_mels
from .io import check_waveform


class AudioCNN(Module):
    """Contrastive CNN audio embedder (see the module docstring).

    ``sr``, ``n_fft``, ``hop_length``, ``n_mels`` and ``n_frames`` fix the input: clips are cut or
    zero-padded to ``hop_length * (n_frames - 1)`` samples (0.95 s with the defaults at 8 kHz).
    ``embed(clips)`` returns (N, embed_dim) float32 for clips (lists of (n,) arrays) of any length.
    """

    def __init__(self, embed_dim: int = 64, proj_dim: int = 32, *, sr: int = 8000, n_fft: int = 256,
                 hop_length: int = 80, n_mels: int = 40, n_frames: int = 96, channels=(8, 16, 32),
                 rng=None, seed=None):
        gen = make_rng(rng, seed)
        c1, c2, c3 = channels
        self.embed_dim, self.proj_dim = check_positive_int(embed_dim, "embed_dim"), check_positive_int(proj_dim,
                                                                                                     "proj_dim")
        self.sr, self.n_fft, self.hop_length, self.n_mels = sr, n_fft, hop_length, n_mels
        self.n_frames = check_positive_int(n_frames, "n_frames")
        if n_frames < 4 or n_mels < 4:
            raise ValueError(f"n_frames and n_mels must be >= 4 (two 2x2 poolings), got {n_frames}, {n_mels}")
        self.channels = (c1, c2, c3)
        self.features = Sequential(
            Conv2d(1, c1, 3, padding=1, rng=gen, input_grad=False), ReLUMaxPool2d(2),
            Conv2d(c1, c2, 3, padding=1, rng=gen), ReLUMaxPool2d(2),
            Conv2d(c2, c3, 3, padding=1, rng=gen), ReLU(), GlobalAvgPool2d(),
            Linear(c3, embed_dim, rng=gen),
        )
        self.head = Sequential(ReLU(), Linear(embed_dim, proj_dim, rng=gen))
        self.history = History()

    @property
    def n_samples(self) -> int:
        """The clip length the network sees: ``hop_length * (n_frames - 1)`` samples."""
        return self.hop_length * (self.n_frames - 1)

    # ------------------------------------------------------------------ inputs
    def log_mels(self, clips) -> np.ndarray:
        """Clips of any length -> dB log-mel images (N, n_mels, n_frames), cut/padded to :attr:`n_samples`."""
        return clip_log_mels(clips, self.sr, self.n_frames, self.n_fft, self.hop_length, self.n_mels)

    @staticmethod
    def prepare(mels) -> np.ndarray:
        """dB log-mels (N, n_mels, T) -> network input (N, 1, n_mels, T): ``(dB - clip max) / 20 + 2``."""
        m = np.asarray(mels, dtype=np.float32)
        return ((m - m.max(axis=(1, 2), keepdims=True)) / 20.0 + 2.0)[:, None]

    # ----------------------------------------------------------------- network
    def forward(self, x):
        return self.head.forward(self.features.forward(x))

    def backward(self, dy):
        return self.features.backward(self.head.backward(dy))

    def embed(self, clips, batch_size: int = 256) -> np.ndarray:
        """The embeddings (output of ``Linear(c3, embed_dim)``) of clips: (N, embed_dim) float32."""
        mels = self.log_mels(clips)
        outs = [self.features.forward(self.prepare(mels[s:s + batch_size]))
                for s in batch_ranges(len(mels), batch_size)]
        return np.concatenate(outs).astype(np.float32) if outs else np.zeros((0, self.embed_dim), np.float32)

    # ---------------------------------------------------------------- training
    def views(self, waves: np.ndarray, rng: np.random.Generator, speed: float = 0.15, shift: float = 0.1,
              snr_db=(10.0, 30.0), spec_masks: bool = True) -> np.ndarray:
        """Two random augmentations of each clip of ``waves`` (B, n): network input (2B, 1, n_mels, n_frames),
        rows ``i`` and ``i + B`` from the same clip."""
        out = []
        for _ in range(2):
            batch = np.zeros((len(waves), self.n_samples), np.float32)
            for i, w in enumerate(waves):
                factor = round(float(rng.uniform(1 - speed, 1 + speed)), 2)  # a 0.01 grid: few filter tables
                v = change_speed(w, factor, self.sr)
                v = time_shift(v, int(shift * self.sr), rng=rng)
                v = add_noise(v, float(rng.uniform(*snr_db)), rng=rng)
                batch[i, :min(len(v), self.n_samples)] = v[:self.n_samples]
            out.append(batch)
        mels = self.log_mels(np.concatenate(out))
        if spec_masks:
            mels = spec_augment(mels, 1, max(1, self.n_mels // 8), 1, max(1, self.n_frames // 10), rng=rng)
        return self.prepare(mels)

    def fit(self, clips, epochs: int = 10, batch_size: int = 32, lr: float = 3e-3, temperature: float = 0.2,
            seed: int = 0, evaluate=None, progress: bool = True, blas_threads: int | None = 1, callbacks=(),
            **augment) -> History:
        """Contrastive training on unlabelled ``clips`` (a list of (n,) arrays at ``sr``): returns ``self.history``.

        Adam(lr), :class:`~minembed.nn.NTXentLoss` (``temperature``), batches of ``batch_size`` clips
        (2 x batch_size views; at least 2 clips per batch, a last batch of 1 is dropped from the
        shuffle), through :func:`minembed.nn.train.fit`. ``evaluate``: a function of no arguments
        whose value is recorded per epoch as ``knn_accuracy`` (e.g. a leave-one-out k-NN accuracy of
        :meth:`embed` on labelled clips, labels never used for training). ``augment``: ``speed``,
        ``shift`` (seconds), ``snr_db``, ``spec_masks`` for :meth:`views`.
        """
        waves = [check_waveform(c, f"clip {i}") for i, c in enumerate(clips)]
        if len(waves) < 2:
            raise ValueError(f"contrastive training needs at least 2 clips (the other clips are the negatives), "
                             f"got {len(waves)}")
        epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
        if batch_size < 2:
            raise ValueError("batch_size must be >= 2: a clip's negatives are the other clips of its batch")
        longest = self.n_samples + int(self.n_samples * 0.2)   # room for slowing down by up to 1 / 0.85
        x = np.zeros((len(waves), longest), np.float32)
        for i, w in enumerate(waves):
            x[i, :min(len(w), longest)] = w[:longest]
        aug_rng = make_rng(seed=[seed, 1])                     # augmentations: their own stream

        def prepare(xb):
            if len(xb) < 2:  # a last batch of one clip has no negative: pair it with a random other clip
                xb = np.concatenate([xb, x[aug_rng.integers(0, len(x), 1)]])
            return self.views(xb, aug_rng, **augment)

        loss = NTXentLoss(temperature)
        opt = Adam(self.parameters(), lr=lr)
        dummy = np.zeros(len(x), np.int64)                      # fit wants targets; the pairs are the labels
        with _blas_threads(blas_threads):
            self.history = train_loop(self, x, dummy, loss_fn=loss, optimizer=opt, epochs=epochs,
                                      batch_size=batch_size, seed=seed, prepare=prepare, evaluate=evaluate,
                                      metric="knn_accuracy", history=self.history, progress=progress,
                                      callbacks=callbacks, desc="AudioCNN epoch")
        return self.history

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, proj_dim={self.proj_dim}, sr={self.sr}, n_mels={self.n_mels}, "
                f"n_frames={self.n_frames}, channels={self.channels}")
