"""The mel scale, log-mel spectrograms and MFCCs.

Why mel. We hear pitch roughly linearly below ~1 kHz and logarithmically above: 100 Hz -> 200 Hz
sounds as far apart as 1 kHz -> 2 kHz, not as 1000 -> 1100 Hz. The mel scale is a frequency axis
on which equal steps sound equal. Two formulas are in use:

* HTK: ``mel = 2595 log10(1 + f / 700)``.
* Slaney (Auditory Toolbox, librosa's default): linear below 1 kHz, ``mel = 3 f / 200``, and
  logarithmic above, ``mel = 15 + 27 ln(f / 1000) / ln(6.4)`` (so 1 kHz is mel 15 and 6.4 kHz is mel 42).

The filterbank. ``n_mels`` triangles whose centres are equally spaced in mels between ``fmin`` and
``fmax`` (``n_mels + 2`` edge points ``m_0 < ... < m_{n_mels+1}``, taken back to Hz as ``f_i``). Band
``i`` rises from 0 at ``f_i`` to 1 at ``f_{i+1}`` and falls back to 0 at ``f_{i+2}``; its weight on
FFT bin frequency ``f`` is ``max(0, min((f - f_i) / (f_{i+1} - f_i), (f_{i+2} - f) / (f_{i+2} - f_{i+1})))``.
``norm="slaney"`` scales band ``i`` by ``2 / (f_{i+2} - f_i)`` so every triangle has the same area
(wide high bands do not get more energy just for being wide); ``norm=None`` keeps peaks at 1.

Log-mel: ``10 log10(max(amin, mel_power))`` in decibels (a sound 10x as powerful is +10 dB), the
loudest value minus ``top_db`` as a floor. MFCCs: the DCT-II of each log-mel frame,
``c_k = s_k sum_n L_n cos(pi k (2n + 1) / (2N))`` with ``s_0 = sqrt(1/N)``, ``s_k = sqrt(2/N)``
(orthonormal): a smooth spectral envelope needs only its first few coefficients, and they are far
less correlated than neighbouring mel bands. Deltas: the local slope of each coefficient over time,
a least-squares fit over ``width`` frames (Savitzky-Golay).

Every function takes librosa's parameter names and defaults where it has them and gives the same
numbers (tests compare with librosa to 1e-4 relative when it is installed).
"""
from __future__ import annotations

import math

import numpy as np

from ..kernels.audio import frame_window, log_mel_kernel
from ..kernels.validate import check_positive_int
from .io import check_waveform
from .spectral import _fft_window, check_frames, fft_frequencies, spectrogram, windowed_frames

_F_SP = 200.0 / 3            # Slaney: Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP   # = 15
_LOGSTEP = math.log(6.4) / 27.0     # mels per natural-log unit above 1 kHz: 6.4 kHz is 27 mels above 1 kHz


def hz_to_mel(frequencies, htk: bool = False):
    """Hz -> mels (HTK or Slaney, see the module docstring); scalar in, float out; array in, array out."""
    f = np.asarray(frequencies, dtype=np.float64)
    if htk:
        mel = 2595.0 * np.log10(1.0 + f / 700.0)
    else:
        mel = f / _F_SP
        high = f >= _MIN_LOG_HZ
        mel = np.where(high, _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mel)
    return float(mel) if mel.ndim == 0 else mel


def mel_to_hz(mels, htk: bool = False):
    """Mels -> Hz, the inverse of :func:`hz_to_mel`."""
    m = np.asarray(mels, dtype=np.float64)
    if htk:
        f = 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    else:
        f = np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)
    return float(f) if f.ndim == 0 else f


def mel_frequencies(n_mels: int = 128, fmin: float = 0.0, fmax: float = 11025.0, htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies (Hz) equally spaced on the mel scale from ``fmin`` to ``fmax`` inclusive."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels), htk)


def mel_filterbank(sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                   htk: bool = False, norm: str | None = "slaney", dtype=np.float32) -> np.ndarray:
    """Triangular mel filters as a matrix (n_mels, 1 + n_fft // 2): ``mel_power = fb @ power_spectrum``.

    Same as ``librosa.filters.mel`` (``norm="slaney"`` or ``None``). ``ValueError`` for
    ``fmax > sr / 2`` or ``fmin >= fmax``. Bands narrower than one FFT bin come out all zero;
    :func:`log_mel_spectrogram` then floors them at ``amin`` (use fewer mels or a larger n_fft).
    """
    n_fft, n_mels = check_positive_int(n_fft, "n_fft"), check_positive_int(n_mels, "n_mels")
    fmax = sr / 2.0 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sr / 2.0:
        raise ValueError(f"need 0 <= fmin < fmax <= sr / 2 = {sr / 2}, got fmin={fmin}, fmax={fmax}")
    if norm not in ("slaney", None):
        raise ValueError(f"norm must be 'slaney' or None, got {norm!r}")
    freqs = fft_frequencies(sr, n_fft)                                  # (F,)
    edges = mel_frequencies(n_mels + 2, fmin, fmax, htk)                # (n_mels + 2,)
    widths = np.diff(edges)                                             # (n_mels + 1,)
    rising = (freqs[None, :] - edges[:-2, None]) / widths[:-1, None]    # 0 at f_i, 1 at f_{i+1}
    falling = (edges[2:, None] - freqs[None, :]) / widths[1:, None]     # 1 at f_{i+1}, 0 at f_{i+2}
    fb = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        fb *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return fb.astype(dtype)


def power_to_db(s, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """``10 log10(max(amin, s)) - 10 log10(max(amin, ref))``, floored at (its maximum - ``top_db``) when given.

    As ``librosa.power_to_db`` with a number as ``ref``; the floor is taken over the whole array.
    """
    s = np.asarray(s)
    if amin <= 0:
        raise ValueError(f"amin must be > 0, got {amin}")
    db = 10.0 * np.log10(np.maximum(amin, s)) - 10.0 * np.log10(max(amin, ref))
    if top_db is not None:
        if top_db < 0:
            raise ValueError(f"top_db must be >= 0, got {top_db}")
        db = np.maximum(db, db.max() - top_db)
    return db


def melspectrogram(y, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512, n_mels: int = 128,
                   fmin: float = 0.0, fmax: float | None = None, htk: bool = False, norm: str | None = "slaney",
                   power: float = 2.0, **stft_kwargs) -> np.ndarray:
    """Mel spectrogram: (..., n) -> (..., n_mels, n_frames) = ``filterbank @ |stft|^power``.

    The same as ``librosa.feature.melspectrogram`` with the same parameters.

    The readable reference of :func:`log_mel_spectrogram` (which fuses the same steps into one kernel).
    """
    s = spectrogram(y, n_fft, hop_length, power=power, **stft_kwargs)
    fb = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm, dtype=s.dtype)
    return np.einsum("mf,...ft->...mt", fb, s)


def log_mel_spectrogram(y, sr: int = 16000, n_fft: int = 512, hop_length: int = 160, n_mels: int = 64,
                        fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
                        norm: str | None = "slaney", window="hann", center: bool = True, pad_mode: str = "constant",
                        amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """Log-mel spectrogram in dB of one clip (n,) or a batch (B, n): float32 (n_mels, T) or (B, n_mels, T).

    The fast path: frames are windowed in one copy, ``numpy.fft.rfft`` transforms them all at once,
    and one Numba kernel turns each frame's spectrum into its log-mel
    vector (power, the sparse filterbank, log; :func:`minembed.kernels.audio.log_mel_kernel`).
    Equals ``power_to_db(melspectrogram(y, ...), amin=amin, top_db=top_db)`` per clip: the
    ``top_db`` floor is taken per clip, not over the batch. Waveforms are checked (float, finite, at
    least one frame long) first.
    """
    y = np.asarray(y)
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be one clip (n,) or a batch (B, n) of equal-length clips, got shape {y.shape}")
    clips = y[None] if y.ndim == 1 else y
    if clips.dtype.kind != "f":
        raise ValueError(f"y must be floating-point samples, got dtype {clips.dtype}")
    if not np.isfinite(clips).all():
        b, i = np.argwhere(~np.isfinite(clips))[0]
        raise ValueError(f"y has a non-finite sample {clips[b, i]} at clip {b}, position {i}: NaN/inf refused")
    n_frames = check_frames(clips.shape[-1], n_fft, hop_length, center, "y")
    # float64 frames: numpy's pocketfft transforms float64 faster than float32 (measured 19 vs 26-33 ms CPU
    # for 64 x 101 frames of 512), and the kernel reads complex128 as fast as complex64.
    if pad_mode == "constant":   # zero padding: frames and window in one pass, no padded copy
        w = _fft_window(window, n_fft, None)
        frames = frame_window(np.ascontiguousarray(clips), w, hop_length, n_fft // 2 if center else 0, n_frames)
    else:
        frames = windowed_frames(clips.astype(np.float64), n_fft, hop_length, None, window, center, pad_mode)
    spec = np.fft.rfft(frames, axis=-1)                                                  # (B, T, F) complex128
    b, t, f = spec.shape
    fb = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    db = log_mel_kernel(spec.reshape(b * t, f), fb, amin)
    db = db.reshape(b, t, n_mels)
    if top_db is not None:   # in the kernel's contiguous (B, T, n_mels) layout: one fast pass
        floor = db.reshape(b, -1).max(axis=1) - np.float32(top_db)
        np.maximum(db, floor[:, None, None], out=db)
    db = np.ascontiguousarray(db.transpose(0, 2, 1))                                     # (B, n_mels, T)
    return db[0] if y.ndim == 1 else db


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """The orthonormal DCT-II as a matrix (n_out, n_in): ``D[k, n] = s_k cos(pi k (2n + 1) / (2 n_in))``.

    ``D @ x`` is ``scipy.fft.dct(x, type=2, norm="ortho")[:n_out]``; with ``n_out = n_in``, ``D @ D.T = I``.
    """
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    d = np.cos(np.pi * k * (2 * n + 1) / (2.0 * n_in)) * math.sqrt(2.0 / n_in)
    d[0] /= math.sqrt(2.0)
    return d


def mfcc(y=None, sr: int = 22050, S=None, n_mfcc: int = 20, **mel_kwargs) -> np.ndarray:
    """MFCCs (..., n_mfcc, n_frames): the orthonormal DCT-II over the mel axis of the log-mel spectrogram.

    ``S``: a log-mel spectrogram (..., n_mels, T) in dB to start from; otherwise it is
    ``power_to_db(melspectrogram(y, sr, **mel_kwargs))`` as in ``librosa.feature.mfcc`` (``mel_kwargs``
    may hold ``n_fft``, ``hop_length``, ``n_mels``, ``fmin``, ``fmax``, ``htk``, ``norm``, ...).
    """
    if S is None:
        if y is None:
            raise ValueError("mfcc needs a waveform y or a log-mel spectrogram S")
        S = power_to_db(melspectrogram(check_waveform(y, "y"), sr, **mel_kwargs))
    S = np.asarray(S)
    n_mfcc = check_positive_int(n_mfcc, "n_mfcc")
    if n_mfcc > S.shape[-2]:
        raise ValueError(f"n_mfcc ({n_mfcc}) cannot exceed the number of mel bands ({S.shape[-2]})")
    return np.einsum("km,...mt->...kt", dct_matrix(n_mfcc, S.shape[-2]).astype(S.dtype), S)


def savgol_coefficients(width: int, order: int) -> np.ndarray:
    """Weights (width,) that give the ``order``-th derivative at the centre of a least-squares polynomial of
    degree ``order`` fitted to ``width`` equally spaced points (positions ``-h .. h``, h = width // 2).

    For order 1 this is ``n / sum(n^2)``: the slope of the regression line.
    """
    h = width // 2
    positions = np.arange(-h, h + 1, dtype=np.float64)
    vander = positions[:, None] ** np.arange(order + 1)[None, :]       # (width, order + 1)
    return math.factorial(order) * np.linalg.pinv(vander)[order]


def delta(data, width: int = 9, order: int = 1) -> np.ndarray:
    """Delta features along the last (time) axis: the ``order``-th derivative of a local polynomial fit.

    Same as ``librosa.feature.delta(data, width, order)`` (``mode="interp"``): inside, a Savitzky-Golay
    filter; in the first and last ``width // 2`` frames, where the window would leave the data, the
    polynomial fitted to the first (last) ``width`` frames is used, whose ``order``-th derivative is
    constant: the value at the first (last) full window.
    ``width`` must be odd, >= 3 and <= the number of frames.
    """
    x = np.asarray(data)
    if not isinstance(width, (int, np.integer)) or width < 3 or width % 2 == 0:
        raise ValueError(f"width must be an odd integer >= 3, got {width!r}")
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    if x.shape[-1] < width:
        raise ValueError(f"delta needs at least width = {width} frames along the last axis, got {x.shape[-1]}")
    w = savgol_coefficients(width, order)
    h = width // 2
    windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=-1)   # (..., T - 2h, width)
    inner = windows @ w.astype(x.dtype if x.dtype.kind == "f" else np.float64)
    first, last = inner[..., :1], inner[..., -1:]
    return np.concatenate([np.repeat(first, h, axis=-1), inner, np.repeat(last, h, axis=-1)], axis=-1)
