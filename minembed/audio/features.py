"""Clip-level features: the classic pooled-MFCC embedding, and fixed-size log-mel images for a CNN.

Pooled MFCCs. A clip of any length becomes one vector by statistics over time of its MFCCs and their
deltas: the mean says what the sound is like on average (its spectral envelope: vowel colour, timbre),
the standard deviation how much it moves, the deltas' statistics how fast. ``c0`` (the frame's overall
loudness) is left out by default, so a louder recording of the same word lands on the same point.
The dimensions have very different scales, so before comparing with cosine similarity they are
standardised over the set (:func:`standardize`).
"""
from __future__ import annotations

import numpy as np

from .io import check_waveform
from .mel import dct_matrix, delta, log_mel_spectrogram
from .spectral import check_frames


def clip_log_mels(clips, sr: int, n_frames: int | None = None, n_fft: int = 256, hop_length: int = 80,
                  n_mels: int = 40, top_db: float | None = 80.0, **mel_kwargs) -> list[np.ndarray] | np.ndarray:
    """Log-mel spectrograms (dB) of clips of any lengths.

    ``n_frames=None``: a list of (n_mels, T_i) float32 arrays, one per clip. ``n_frames=T``: every clip
    is zero-padded or cut to ``hop_length * (T - 1)`` samples first, so all come out as one
    (N, n_mels, T) batch, computed in one call of the fused kernel.
    Each clip is checked (float, finite, at least one frame long) with its index in the message.
    """
    checked = [check_waveform(c, f"clip {i}") for i, c in enumerate(clips)]
    kw = dict(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, top_db=top_db, **mel_kwargs)
    if n_frames is None:
        for i, c in enumerate(checked):
            check_frames(len(c), n_fft, hop_length, kw.get("center", True), f"clip {i}")
        return [log_mel_spectrogram(c, **kw) for c in checked]
    n = hop_length * (int(n_frames) - 1)
    batch = np.zeros((len(checked), n), np.float32)
    for i, c in enumerate(checked):
        batch[i, :min(n, len(c))] = c[:n]
    if len(batch) == 0:
        return np.zeros((0, n_mels, int(n_frames)), np.float32)
    return log_mel_spectrogram(batch, **kw)


def mfcc_stats(clips, sr: int, n_mfcc: int = 20, n_fft: int = 256, hop_length: int = 80, n_mels: int = 40,
               drop_c0: bool = True, deltas: bool = True, **mel_kwargs) -> np.ndarray:
    """The pooled-MFCC embedding of each clip: (N, D) float32.

    Per clip: MFCCs (n_mfcc, T) from its log-mel spectrogram (``top_db`` floor per clip), minus ``c0``
    when ``drop_c0``; then ``[mean_t, std_t]`` of the MFCCs and, with ``deltas``, of their deltas
    (width 9, or the largest odd width the clip allows; 0 for clips of fewer than 3 frames).
    ``D = 2 * k`` or ``4 * k`` with ``k = n_mfcc - drop_c0``.
    """
    mels = clip_log_mels(clips, sr, None, n_fft, hop_length, n_mels, **mel_kwargs)
    d = dct_matrix(n_mfcc, n_mels).astype(np.float32)
    rows = []
    for lm in mels:
        m = d @ lm
        if drop_c0:
            m = m[1:]
        feats = [m.mean(axis=1), m.std(axis=1)]
        if deltas:
            t = m.shape[1]
            width = min(9, t if t % 2 else t - 1)
            dm = delta(m, width=width) if width >= 3 else np.zeros_like(m)
            feats += [dm.mean(axis=1), dm.std(axis=1)]
        rows.append(np.concatenate(feats))
    width = (n_mfcc - int(drop_c0)) * (4 if deltas else 2)
    return np.array(rows, dtype=np.float32).reshape(len(rows), width)


def standardize(x, mean=None, std=None) -> np.ndarray:
    """Each column to mean 0 and standard deviation 1 (columns that never vary are only centred).

    ``mean``/``std`` from a training set can be passed to transform other vectors the same way.
    """
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=0) if mean is None else np.asarray(mean, dtype=np.float32)
    std = x.std(axis=0) if std is None else np.asarray(std, dtype=np.float32)
    return ((x - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
