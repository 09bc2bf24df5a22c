"""Changing the sample rate with a windowed-sinc low-pass filter, evaluated polyphase.

The math. A band-limited signal is a sum of shifted sincs through its samples (Shannon): between
samples, ``x(t) = sum_n x[n] sinc(t - n)``. To sample it at a new rate we evaluate ``x(t)`` at the
new instants ``t_m = m * orig_sr / target_sr`` (in input samples). When the new rate is lower, the
frequencies between the new and the old Nyquist frequency must go first (or they fold back as
aliases), so the sinc is stretched into a low-pass filter with cutoff ``fc`` (a fraction of the input
Nyquist)::

    h(t) = fc * sinc(fc * t) * w(t / half_width),       fc = rolloff * min(1, target_sr / orig_sr)

``w`` is a Kaiser window (``I0(beta sqrt(1 - u^2)) / I0(beta)``) that ends the infinite sinc after
``zeros`` zero crossings on each side, ``half_width = zeros / fc`` input samples; ``rolloff`` < 1
leaves room for the window's transition band below the new Nyquist frequency. ``h`` sums to ~1, so a
constant stays constant.

Polyphase: with ``up / down = target_sr / orig_sr`` in lowest terms, the fractional part of ``t_m``
is one of ``up`` values, so ``h`` is tabulated once per *phase* and each output is one dot product
of 2K input samples with a row of the table (:mod:`minembed.kernels.audio`).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..kernels.audio import resample_kernel
from .io import check_waveform

MAX_TABLE = 4_000_000  # phases x taps: a ratio like 44101/8000 would need a table this large


def _check_rate(rate, name: str) -> int:
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, np.integer)) or rate < 1:
        raise ValueError(f"{name} must be a positive integer number of samples per second, got {rate!r}")
    return int(rate)


@functools.lru_cache(maxsize=64)  # speed augmentation asks for the same few ratios over and over
def resample_filter(orig_sr: int, target_sr: int, zeros: int = 16, rolloff: float = 0.945,
                    beta: float = 8.6) -> tuple[np.ndarray, int, int]:
    """The phase table of the resampling filter: ``(table (up, 2K) float32, read-only, up, down)``.

    ``table[p, o + K - 1] = h(p / up - o)`` for ``o = -K+1 .. K``, ``K = ceil(zeros / fc)``.
    ``ValueError`` with the numbers when the reduced ratio ``up / down`` needs more than
    ``MAX_TABLE`` coefficients (resample to a rate with a simpler ratio first).
    """
    orig_sr, target_sr = _check_rate(orig_sr, "orig_sr"), _check_rate(target_sr, "target_sr")
    if not 0 < rolloff <= 1 or zeros < 1:
        raise ValueError(f"rolloff must be in (0, 1] and zeros >= 1, got rolloff={rolloff}, zeros={zeros}")
    g = math.gcd(orig_sr, target_sr)
    up, down = target_sr // g, orig_sr // g
    fc = rolloff * min(1.0, up / down)
    half_width = zeros / fc
    k = int(math.ceil(half_width))
    if up * 2 * k > MAX_TABLE:
        raise ValueError(f"resampling {orig_sr} Hz -> {target_sr} Hz is the ratio {up}/{down} in lowest terms, "
                         f"which needs a table of {up} phases x {2 * k} taps (> {MAX_TABLE:,}); "
                         "pick a target rate with a simpler ratio")
    offsets = np.arange(-k + 1, k + 1)
    t = np.arange(up)[:, None] / up - offsets[None, :]  # (up, 2K): distance from each tap to the output
    u = np.clip(t / half_width, -1.0, 1.0)
    window = np.i0(beta * np.sqrt(1.0 - u ** 2)) / np.i0(beta)
    window[np.abs(t) > half_width] = 0.0
    table = np.ascontiguousarray(fc * np.sinc(fc * t) * window, dtype=np.float32)
    table.setflags(write=False)  # shared by every call with the same rates (cached)
    return table, up, down


def resample(x, orig_sr: int, target_sr: int, zeros: int = 16, rolloff: float = 0.945) -> np.ndarray:
    """``x`` (n,) sampled at ``orig_sr`` -> (ceil(n * target_sr / orig_sr),) at ``target_sr``, float32.

    Output sample ``m`` is the input's band-limited interpolation at time ``m / target_sr``
    (samples before 0 and after the end count as zeros). Frequencies above ``rolloff`` times the
    lower Nyquist frequency are removed (attenuated by the Kaiser window's ~80 dB stop band); those
    below pass with a gain of 1 to ~1e-3. Equal rates return a copy. NaN/inf samples are refused.
    """
    x = check_waveform(x, "x")
    orig_sr, target_sr = _check_rate(orig_sr, "orig_sr"), _check_rate(target_sr, "target_sr")
    if orig_sr == target_sr:
        return x.copy()
    table, up, down = resample_filter(orig_sr, target_sr, zeros, rolloff)
    n_out = -(-len(x) * up // down)
    return resample_kernel(x, table, up, down, n_out)
