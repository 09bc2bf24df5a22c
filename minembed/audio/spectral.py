"""From a waveform to a spectrogram and back: framing, windows, the short-time Fourier transform.

Framing. A sound changes over time, but over ~25 ms a voice is nearly steady, so we cut it into
overlapping frames of ``n_fft`` samples, one every ``hop_length`` samples. With ``center=True`` the
signal is first padded with ``n_fft // 2`` zeros on each side, so frame ``t`` is centred on sample
``t * hop_length``::

    n_frames = 1 + (n + 2 * (n_fft // 2) - n_fft) // hop_length        (center=True)
    n_frames = 1 + (n - n_fft) // hop_length                            (center=False)

Windowing. Cutting a frame out with sharp edges adds a jump that smears every frequency over the
whole spectrum (leakage); multiplying by a window that falls to 0 at the edges (Hann:
``w[n] = 0.5 - 0.5 cos(2 pi n / N)``, the *periodic* form that tiles exactly at 50% or 75% overlap)
keeps a pure tone's energy in a few bins.

STFT. The FFT of each windowed frame: ``S[f, t] = sum_n w[n] x[t*hop - n_fft//2 + n] exp(-2 pi i f n / n_fft)``
for ``f = 0 .. n_fft // 2`` (a real signal's spectrum is symmetric, so half of it says everything).
Bin ``f`` is the frequency ``f * sr / n_fft``. Shapes follow librosa: ``(1 + n_fft // 2, n_frames)``.

Inverse. Overlap-add of the inverse FFTs, each multiplied by the window again, divided by the
overlap-added squared window: exact wherever that sum is not ~0 (every sample for Hann at
``hop <= n_fft / 2``).
"""
from __future__ import annotations

import numpy as np

from ..kernels.validate import check_positive_int

WINDOWS = ("hann", "hamming", "rectangular")


def get_window(name: str, n: int) -> np.ndarray:
    """The periodic window of length ``n`` (float64): ``hann``, ``hamming`` (0.54 - 0.46 cos) or ``rectangular``.

    Periodic means ``w[n] = f(2 pi n / N)`` for ``n < N`` (the symmetric form would divide by N - 1);
    it is scipy's ``get_window(name, N, fftbins=True)``, which librosa uses.
    """
    n = check_positive_int(n, "window length")
    phase = 2.0 * np.pi * np.arange(n) / n
    if name == "hann":
        return 0.5 - 0.5 * np.cos(phase)
    if name == "hamming":
        return 0.54 - 0.46 * np.cos(phase)
    if name in ("rectangular", "boxcar", "ones"):
        return np.ones(n)
    raise ValueError(f"window must be one of {WINDOWS}, got {name!r}")


def _fft_window(window, n_fft: int, win_length: int | None) -> np.ndarray:
    """The window as an (n_fft,) array: a name or an array of ``win_length`` values, zero-padded to n_fft
    on both sides (centred)."""
    win_length = n_fft if win_length is None else check_positive_int(win_length, "win_length")
    if win_length > n_fft:
        raise ValueError(f"win_length ({win_length}) must be <= n_fft ({n_fft})")
    w = get_window(window, win_length) if isinstance(window, str) else np.asarray(window, dtype=np.float64)
    if w.shape != (win_length,):
        raise ValueError(f"a window array must have win_length = {win_length} values, got shape {w.shape}")
    left = (n_fft - win_length) // 2
    return np.pad(w, (left, n_fft - win_length - left))


def check_frames(n_samples: int, n_fft: int, hop_length: int, center: bool, name: str = "waveform") -> int:
    """The number of frames; ``ValueError`` with the numbers when the clip is shorter than one frame."""
    n_fft = check_positive_int(n_fft, "n_fft")
    hop_length = check_positive_int(hop_length, "hop_length")
    padded = n_samples + 2 * (n_fft // 2) if center else n_samples
    if padded < n_fft:
        raise ValueError(f"{name} has {n_samples} samples, shorter than one frame of n_fft = {n_fft} samples"
                         + ("" if center else " (with center=False)") + ": use a smaller n_fft or a longer clip")
    return 1 + (padded - n_fft) // hop_length


def frame(x, frame_length: int, hop_length: int) -> np.ndarray:
    """Overlapping frames of ``x`` (..., n) as a read-only view (..., n_frames, frame_length), no copy.

    Frame ``t`` is ``x[..., t*hop : t*hop + frame_length]``; a tail shorter than a frame is left out.
    """
    x = np.asarray(x)
    check_frames(x.shape[-1], frame_length, hop_length, center=False, name="x")
    view = np.lib.stride_tricks.sliding_window_view(x, frame_length, axis=-1)
    return view[..., ::hop_length, :]


def _pad_center(x: np.ndarray, n_fft: int, pad_mode: str) -> np.ndarray:
    if pad_mode not in ("constant", "reflect"):
        raise ValueError(f"pad_mode must be 'constant' (zeros) or 'reflect', got {pad_mode!r}")
    half = n_fft // 2
    if pad_mode == "reflect" and x.shape[-1] <= half:
        raise ValueError(f"pad_mode='reflect' needs more than n_fft // 2 = {half} samples, got {x.shape[-1]}")
    widths = [(0, 0)] * (x.ndim - 1) + [(half, half)]
    return np.pad(x, widths, mode=pad_mode)


def windowed_frames(y, n_fft: int = 512, hop_length: int | None = None, win_length: int | None = None,
                    window="hann", center: bool = True, pad_mode: str = "constant") -> np.ndarray:
    """Padded, framed and windowed signal: (..., n) float -> (..., n_frames, n_fft) of y's float dtype (a copy).

    ``hop_length`` defaults to ``win_length // 4`` (librosa's default).
    """
    y = np.asarray(y)
    if y.dtype.kind != "f":
        raise ValueError(f"y must be floating-point samples, got dtype {y.dtype}")
    n_fft = check_positive_int(n_fft, "n_fft")
    hop_length = max(1, (win_length or n_fft) // 4) if hop_length is None else hop_length
    check_frames(y.shape[-1], n_fft, hop_length, center, "y")
    w = _fft_window(window, n_fft, win_length).astype(y.dtype)
    if center:
        y = _pad_center(y, n_fft, pad_mode)
    return frame(y, n_fft, hop_length) * w


def stft(y, n_fft: int = 512, hop_length: int | None = None, win_length: int | None = None, window="hann",
         center: bool = True, pad_mode: str = "constant") -> np.ndarray:
    """Short-time Fourier transform: (..., n) -> complex (..., 1 + n_fft // 2, n_frames).

    Same parameters and result as ``librosa.stft`` (complex64 for float32 input, complex128 for
    float64). ``ValueError`` for a clip shorter than one frame.
    """
    frames = windowed_frames(y, n_fft, hop_length, win_length, window, center, pad_mode)
    return np.swapaxes(np.fft.rfft(frames, axis=-1), -1, -2)


def istft(stft_matrix, hop_length: int | None = None, win_length: int | None = None, window="hann",
          center: bool = True, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft` for one signal: complex (1 + n_fft // 2, n_frames) -> (n,) float.

    Overlap-add of ``w * irfft(frame)``, divided by the overlap-added ``w^2`` where it exceeds 1e-10
    (so the round trip ``istft(stft(x))`` gives ``x`` back, to rounding, when ``hop <= win / 2``).
    ``length`` trims or zero-pads the result to that many samples.
    """
    s = np.asarray(stft_matrix)
    if s.ndim != 2:
        raise ValueError(f"istft takes one (1 + n_fft // 2, n_frames) matrix, got shape {s.shape}")
    n_fft = 2 * (s.shape[0] - 1)
    hop_length = max(1, (win_length or n_fft) // 4) if hop_length is None else check_positive_int(hop_length,
                                                                                                  "hop_length")
    w = _fft_window(window, n_fft, win_length)
    frames = np.fft.irfft(s.T, n=n_fft, axis=-1) * w                # (n_frames, n_fft)
    n_frames = frames.shape[0]
    total = n_fft + hop_length * (n_frames - 1)
    y = np.zeros(total)
    wss = np.zeros(total)
    for t in range(n_frames):
        y[t * hop_length:t * hop_length + n_fft] += frames[t]
        wss[t * hop_length:t * hop_length + n_fft] += w ** 2
    ok = wss > 1e-10
    y[ok] /= wss[ok]
    if center:
        y = y[n_fft // 2:]
    if length is not None:
        y = y[:length] if len(y) >= length else np.pad(y, (0, length - len(y)))
    elif center:
        y = y[:len(y) - n_fft // 2]
    return y.astype(np.float32 if s.dtype == np.complex64 else np.float64)


def spectrogram(y, n_fft: int = 512, hop_length: int | None = None, power: float = 2.0, **stft_kwargs) -> np.ndarray:
    """``|stft(y)| ** power``: magnitude (power=1) or power (power=2) spectrogram, (..., 1 + n_fft // 2, n_frames)."""
    if power <= 0:
        raise ValueError(f"power must be > 0 (1: magnitude, 2: power), got {power}")
    mag = np.abs(stft(y, n_fft, hop_length, **stft_kwargs))
    return mag if power == 1 else mag ** power


def fft_frequencies(sr: int, n_fft: int) -> np.ndarray:
    """The centre frequency of each STFT bin in Hz: ``f * sr / n_fft`` for ``f = 0 .. n_fft // 2``."""
    return np.arange(1 + n_fft // 2) * (sr / n_fft)

