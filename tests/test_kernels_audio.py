"""The audio kernels against their NumPy references (random inputs, NaN and inf included)."""
import numpy as np
import pytest

from minembed.audio.mel import mel_filterbank
from minembed.audio.resample import resample_filter
from minembed.kernels import audio as K
from minembed.kernels.jit import jit_enabled


@pytest.mark.parametrize("orig, target", [(8000, 16000), (44100, 8000), (16000, 11025), (22050, 16000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resample_kernel_equals_reference(orig, target, dtype):
    rng = np.random.default_rng(0)
    table, up, down = resample_filter(orig, target)
    table = table.astype(dtype)
    for n in (1, 7, 1000):
        x = rng.standard_normal(n).astype(dtype)
        n_out = -(-n * up // down)
        ref = K.resample_reference(x, table, up, down, n_out)
        got = K.resample_kernel(x, table, up, down, n_out)
        assert got.dtype == ref.dtype == dtype and got.shape == (n_out,)
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_resample_kernel_nan_and_inf_like_reference():
    table, up, down = resample_filter(8000, 16000)
    x = np.zeros(300)
    x[100], x[200] = np.nan, np.inf
    ref = K.resample_reference(x, table, up, down, 600)
    got = K.resample_kernel(x, table, up, down, 600)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    assert np.isnan(got).any()
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], atol=1e-9)


def test_mel_band_ranges():
    fb = np.array([[0, 1, 2, 0], [0, 0, 0, 0], [3, 0, 0, 4]], np.float32)
    lo, hi = K.mel_band_ranges(fb)
    np.testing.assert_array_equal(lo, [1, 0, 0])
    np.testing.assert_array_equal(hi, [3, 0, 4])


@pytest.mark.parametrize("log", [True, False])
def test_log_mel_kernel_equals_reference(log):
    rng = np.random.default_rng(1)
    fb = mel_filterbank(16000, 512, 64)
    spec = (rng.standard_normal((37, 257)) + 1j * rng.standard_normal((37, 257))).astype(np.complex64)
    spec[3] = 0                                      # a silent frame: amin floor
    got = K.log_mel_kernel(spec, fb, 1e-10, log)
    ref = K.log_mel_reference(spec, fb, 1e-10, log)
    assert got.shape == (37, 64) and got.dtype == np.float32
    if log:
        np.testing.assert_allclose(got, ref, atol=1e-4)      # dB
        assert (got[3] == -100.0).all()
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-12)


def test_log_mel_kernel_nan_and_inf_like_reference():
    # The reference multiplies the whole filterbank (0 * nan = nan: the whole frame turns NaN); the kernel
    # reads only each band's non-zero bins, so a NaN/inf bin reaches exactly the bands that weigh it.
    # Frames without one must agree; the public functions refuse non-finite samples before either runs.
    fb = mel_filterbank(8000, 256, 20)
    spec = np.ones((4, 129), np.complex64)
    spec[1, 10] = np.nan
    spec[2, 50] = np.inf
    with np.errstate(invalid="ignore"):
        got = K.log_mel_kernel(spec, fb, 1e-10)
        ref = K.log_mel_reference(spec, fb, 1e-10)
    if not jit_enabled():  # MINEMBED_JIT=0: the "kernel" is the reference
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        return
    np.testing.assert_array_equal(np.isnan(got[1]), fb[:, 10] != 0)
    np.testing.assert_array_equal(np.isposinf(got[2]), fb[:, 50] != 0)
    assert not np.isfinite(ref[1]).any() and np.isposinf(ref[2][fb[:, 50] != 0]).all()
    np.testing.assert_allclose(got[[0, 3]], ref[[0, 3]], atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_frame_window_kernel_equals_reference(dtype):
    rng = np.random.default_rng(2)
    y = rng.standard_normal((3, 1000)).astype(dtype)
    y[1, 10] = np.nan
    w = np.hanning(256)
    for hop, pad in [(80, 128), (100, 0), (7, 128)]:
        n_frames = 1 + (1000 + 2 * pad - 256) // hop
        got = K.frame_window(y, w, hop, pad, n_frames)
        ref = K.frame_window_reference(y, w, hop, pad, n_frames)
        assert got.shape == ref.shape == (3, n_frames, 256) and got.dtype == np.float64
        np.testing.assert_array_equal(got, ref)    # one product per value: the same bits, NaN where NaN
