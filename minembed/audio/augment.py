"""Audio augmentations: ways to change a clip that keep what it *is* (the word, the instrument).

A contrastive model learns to give two augmented views of one clip the same embedding and other
clips different ones, so whatever the augmentations change, it learns to ignore:

* :func:`time_shift` — when the sound starts (a shift with zeros filled in, not a wrap-around);
* :func:`change_speed` — tempo and pitch together, by resampling: a clip played ``factor`` times
  faster is the same samples read as if recorded at ``sr * factor``;
* :func:`add_noise` — background hiss, at a given signal-to-noise ratio in dB;
* :func:`spec_augment` — SpecAugment's masks on the log-mel spectrogram: whole mel bands and whole
  frames replaced by the spectrogram's mean, so no single band or moment can carry the decision.

Every function draws from a ``numpy.random.Generator`` passed as ``rng`` (:func:`minembed.rng.make_rng`).
"""
from __future__ import annotations

import numpy as np

from ..rng import make_rng
from .io import check_waveform
from .resample import resample


def time_shift(x, max_shift: int, rng=None, seed=None) -> np.ndarray:
    """``x`` (n,) moved by a random whole number of samples in ``[-max_shift, max_shift]``; the samples that
    leave are dropped, zeros come in: same length."""
    x = check_waveform(x, "x")
    gen = make_rng(rng, seed)
    k = int(gen.integers(-max_shift, max_shift + 1)) if max_shift > 0 else 0
    out = np.zeros_like(x)
    if abs(k) >= len(x):   # shifted out entirely (a clip shorter than the shift)
        return out
    if k >= 0:
        out[k:] = x[:len(x) - k]
    else:
        out[:k] = x[-k:]
    return out


def change_speed(x, factor: float, sr: int) -> np.ndarray:
    """Play ``x`` ``factor`` times as fast (pitch up by the same ratio): (about n / factor,) samples.

    Resamples from ``round(sr * factor)`` Hz to ``sr`` Hz with :func:`minembed.audio.resample`.
    ``factor`` must lie in [0.5, 2].
    """
    if not 0.5 <= factor <= 2.0:
        raise ValueError(f"speed factor must be in [0.5, 2], got {factor}")
    orig = int(round(sr * factor))
    return resample(x, orig, sr) if orig != sr else check_waveform(x, "x").copy()


def add_noise(x, snr_db: float, rng=None, seed=None) -> np.ndarray:
    """``x`` plus white Gaussian noise whose power is the clip's power divided by ``10^(snr_db / 10)``."""
    x = check_waveform(x, "x")
    gen = make_rng(rng, seed)
    power = float(np.mean(x.astype(np.float64) ** 2))
    if power == 0.0:
        return x.copy()
    sigma = np.sqrt(power / 10.0 ** (snr_db / 10.0))
    return (x + sigma * gen.standard_normal(len(x))).astype(np.float32)


def spec_augment(spec, freq_masks: int = 1, max_freq: int = 6, time_masks: int = 1, max_time: int = 10,
                 rng=None, seed=None) -> np.ndarray:
    """SpecAugment masks on a spectrogram (..., F, T): ``freq_masks`` bands of up to ``max_freq`` rows and
    ``time_masks`` stretches of up to ``max_time`` frames set to the spectrogram's mean. Returns a copy;
    a batch (B, F, T) gets independent masks per clip."""
    s = np.array(spec, dtype=np.float32, copy=True)
    gen = make_rng(rng, seed)
    flat = s.reshape(-1, s.shape[-2], s.shape[-1])
    for one in flat:
        fill = one.mean()
        n_f, n_t = one.shape
        for _ in range(freq_masks):
            w = int(gen.integers(0, min(max_freq, n_f) + 1))
            f0 = int(gen.integers(0, n_f - w + 1))
            one[f0:f0 + w, :] = fill
        for _ in range(time_masks):
            w = int(gen.integers(0, min(max_time, n_t) + 1))
            t0 = int(gen.integers(0, n_t - w + 1))
            one[:, t0:t0 + w] = fill
    return s
