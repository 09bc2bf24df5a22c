"""The two hot loops of the audio path, each beside its NumPy reference.

* :func:`resample_reference` / ``_resample_kernel``: polyphase windowed-sinc resampling. Output
  sample ``m`` sits at input time ``t_m = m * down / up`` (in input samples); it is the sum of the
  input samples around ``t_m`` weighted by the filter ``h`` evaluated at the distance::

      y[m] = sum_o x[n0 + o] * h(t_m - n0 - o),      n0 = floor(t_m),  o = -K+1 .. K

  ``t_m - n0`` takes only ``up`` distinct values (``p / up``, ``p = (m * down) mod up``: the
  *phase*), so ``h`` is tabulated once per phase: ``table[p, o + K - 1] = h(p / up - o)``. Samples
  outside ``x`` count as 0.
* :func:`log_mel_reference` / ``_log_mel_kernel``: from the complex spectrum of each frame to its
  log-mel vector in one pass: power ``|X_f|^2``, the mel filterbank applied over each band's non-zero
  bins only (a mel filter touches a few bins of hundreds), then ``10 log10(max(amin, .))``. The
  dense route (``power @ fb.T``) reads the whole filterbank for every frame; this reads each bin of
  the frame once and each weight once.

The public functions (with their checks) live in :mod:`minembed.audio`; they validate shapes,
dtypes and bounds before a kernel runs (Numba does no bounds checks).
"""
from __future__ import annotations

import numpy as np

from .jit import FASTMATH, jit, jit_enabled, prange


# ------------------------------------------------------------------ resampling
def resample_reference(x: np.ndarray, table: np.ndarray, up: int, down: int, n_out: int) -> np.ndarray:
    """Polyphase resampling of ``x`` (n,) with the phase table (up, 2K) (see the module docstring): (n_out,).

    Vectorised over output samples in blocks (a gather of the 2K neighbours of each output, times
    its phase's row of the table). Accumulates in float64, returns ``x.dtype``.
    """
    taps = table.shape[1]
    k = taps // 2
    xpad = np.concatenate([np.zeros(k - 1, np.float64), x.astype(np.float64), np.zeros(k + 1, np.float64)])
    out = np.empty(n_out, dtype=np.float64)
    offsets = np.arange(taps)
    for start in range(0, n_out, 4096):
        m = np.arange(start, min(n_out, start + 4096), dtype=np.int64)
        n0, phase = np.divmod(m * down, up)
        window = xpad[n0[:, None] + offsets]  # xpad index n0 + o + K - 1 for o = -K+1..K
        out[start:start + len(m)] = np.einsum("mj,mj->m", window, table[phase])
    return out.astype(x.dtype)


@jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)
def _resample_kernel(x, table, up, down, out):
    n = x.shape[0]
    taps = table.shape[1]
    k = taps // 2
    for m in prange(out.shape[0]):  # every output is independent: no result depends on the threads
        num = m * down
        n0 = num // up
        p = num - n0 * up
        first = n0 - k + 1
        lo = max(0, -first)              # skip the taps that fall before x[0] ...
        hi = min(taps, n - first)        # ... or after x[n-1] (they multiply zeros)
        acc = 0.0
        for j in range(lo, hi):
            acc += x[first + j] * table[p, j]
        out[m] = acc


def resample_kernel(x: np.ndarray, table: np.ndarray, up: int, down: int, n_out: int) -> np.ndarray:
    """The kernel's contract is :func:`resample_reference`'s; ``x`` (n,) and ``table`` (up, 2K) C-contiguous
    float64 or float32, ``up, down >= 1`` (checked by :func:`minembed.audio.resample`). ``MINEMBED_JIT=0``:
    the reference."""
    if not jit_enabled():
        return resample_reference(x, table, up, down, n_out)
    out = np.empty(n_out, dtype=x.dtype)
    _resample_kernel(x, table, np.int64(up), np.int64(down), out)
    return out


# --------------------------------------------------------------------- framing
def frame_window_reference(y: np.ndarray, window: np.ndarray, hop: int, pad: int, n_frames: int) -> np.ndarray:
    """Frames of the zero-padded signals times the window: y (B, n), window (n_fft,) -> (B, n_frames, n_fft)
    float64, ``out[b, t, k] = window[k] * y[b, t * hop - pad + k]`` (0 outside ``y``)."""
    b, n = y.shape
    n_fft = len(window)
    padded = np.zeros((b, n + 2 * pad + n_fft), np.float64)
    padded[:, pad:pad + n] = y
    starts = np.arange(n_frames) * hop
    return padded[:, starts[:, None] + np.arange(n_fft)] * window


@jit(nogil=True, cache=True, parallel=True)
def _frame_window_kernel(y, window, hop, pad, out):
    b, n = y.shape
    n_frames, n_fft = out.shape[1], out.shape[2]
    for bt in prange(b * n_frames):
        i, t = bt // n_frames, bt % n_frames
        start = t * hop - pad
        for k in range(n_fft):
            j = start + k
            out[i, t, k] = window[k] * y[i, j] if 0 <= j < n else 0.0


def frame_window(y: np.ndarray, window: np.ndarray, hop: int, pad: int, n_frames: int) -> np.ndarray:
    """:func:`frame_window_reference` in one pass (no padded copy of the signals): y (B, n) float32/64
    C-contiguous, window (n_fft,) float64, hop >= 1, pad >= 0 (checked by the caller). ``MINEMBED_JIT=0``:
    the reference."""
    if not jit_enabled():
        return frame_window_reference(y, window, hop, pad, n_frames)
    out = np.empty((y.shape[0], n_frames, len(window)), np.float64)
    _frame_window_kernel(y, window, np.int64(hop), np.int64(pad), out)
    return out


# --------------------------------------------------------------------- log-mel
def mel_band_ranges(fb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of the filterbank (M, F): the first non-zero bin and one past the last, (M,) int64 each
    (0, 0 for an all-zero band)."""
    nz = fb != 0
    any_nz = nz.any(axis=1)
    lo = np.where(any_nz, nz.argmax(axis=1), 0)
    hi = np.where(any_nz, fb.shape[1] - nz[:, ::-1].argmax(axis=1), 0)
    return lo.astype(np.int64), hi.astype(np.int64)


def log_mel_reference(spec: np.ndarray, fb: np.ndarray, amin: float, log: bool = True) -> np.ndarray:
    """Complex spectra of frames (T, F) and filterbank (M, F) -> (T, M) float32:
    ``10 log10(max(amin, |spec|^2 @ fb.T))`` (or the mel power itself when ``log=False``)."""
    power = spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2
    mel = power @ fb.astype(np.float64).T
    if log:
        mel = 10.0 * np.log10(np.maximum(amin, mel))
    return mel.astype(np.float32)


@jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)
def _log_mel_kernel(spec, fb, lo, hi, amin, log, out):
    t_frames, n_freq = spec.shape
    n_mels = fb.shape[0]
    for t in prange(t_frames):  # frames are independent; each writes its own row of out
        power = np.empty(n_freq, dtype=np.float32)
        for f in range(n_freq):
            c = spec[t, f]
            power[f] = c.real * c.real + c.imag * c.imag
        for m in range(n_mels):
            s = np.float32(0.0)      # float32 sums of ~10 products: 1e-6 relative, 4e-6 dB
            for f in range(lo[m], hi[m]):
                s += fb[m, f] * power[f]
            if log:
                if s < amin:  # not max(amin, s): a NaN must stay NaN, as np.maximum keeps it
                    s = amin
                out[t, m] = np.float32(10.0) * np.log10(s)   # log10f: the log is most of this kernel's time
            else:
                out[t, m] = s


def log_mel_kernel(spec: np.ndarray, fb: np.ndarray, amin: float, log: bool = True) -> np.ndarray:
    """The contract of :func:`log_mel_reference` for complex64 or complex128 ``spec`` (T, F) and float32 ``fb``
    (M, F), both C-contiguous (checked by the caller). Float32 arithmetic after ``|X|^2``: it matches the
    reference to ~1e-6 relative (~1e-5 dB), not bit for bit. A NaN/inf bin reaches only the bands that weigh it (the
    reference's dense product spreads it, as ``0 * nan``, over the frame); the public functions refuse
    non-finite samples first. ``MINEMBED_JIT=0``: the reference."""
    if not jit_enabled():
        return log_mel_reference(spec, fb, amin, log)
    lo, hi = mel_band_ranges(fb)
    out = np.empty((spec.shape[0], fb.shape[0]), dtype=np.float32)
    _log_mel_kernel(spec, fb, lo, hi, np.float32(amin), bool(log), out)
    return out
