"""The audio signal path on synthetic signals, against hand-computed values (no download, no librosa)."""
import math

import numpy as np
import pytest

from minembed import audio as A
from minembed.audio.mel import savgol_coefficients
from minembed.audio.resample import resample_filter


def tone(freq, sr, n, amp=1.0, phase=0.0):
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / sr + phase)).astype(np.float64)


# ------------------------------------------------------------------ windows and frames
def test_periodic_hann_and_hamming_by_hand():
    w = A.get_window("hann", 4)                  # 0.5 - 0.5 cos(2 pi n / 4): 0, 0.5, 1, 0.5
    np.testing.assert_allclose(w, [0.0, 0.5, 1.0, 0.5], atol=1e-15)
    np.testing.assert_allclose(A.get_window("hamming", 4), [0.08, 0.54, 1.0, 0.54], atol=1e-15)
    # periodic Hann tiles exactly: shifted copies at hop N/4 sum to the constant 1.5 (= 4 * mean 0.5 * 3/4 ... )
    w = A.get_window("hann", 16)
    total = sum(np.roll(w, s) for s in range(0, 16, 4))
    np.testing.assert_allclose(total, 2.0, atol=1e-12)
    with pytest.raises(ValueError, match="window must be one of"):
        A.get_window("blackmann", 8)


def test_frame_is_a_view_with_the_frame_count_formula():
    x = np.arange(10.0)
    f = A.frame(x, 4, 3)                         # starts 0, 3, 6; the tail 9 is left out
    assert f.shape == (3, 4)
    np.testing.assert_array_equal(f[1], [3, 4, 5, 6])
    assert np.shares_memory(f, x)
    s = A.stft(np.zeros(1000), n_fft=256, hop_length=100)
    assert s.shape == (129, 1 + (1000 + 256 - 256) // 100)
    s = A.stft(np.zeros(1000), n_fft=256, hop_length=100, center=False)
    assert s.shape == (129, 1 + (1000 - 256) // 100)


def test_clip_shorter_than_one_frame_is_refused_with_the_numbers():
    with pytest.raises(ValueError, match="100 samples, shorter than one frame of n_fft = 256"):
        A.stft(np.zeros(100), n_fft=256, center=False)
    with pytest.raises(ValueError, match="shorter than one frame"):
        A.log_mel_spectrogram(np.zeros(100, np.float32), n_fft=512, center=False)
    with pytest.raises(ValueError, match="shorter than one frame"):
        A.frame(np.zeros(3), 4, 1)


# ------------------------------------------------------------------ STFT by hand
def test_stft_of_a_bin_centred_tone_by_hand():
    # A sine of amplitude a at bin k0: sin = (e^{i.} - e^{-i.}) / 2i, so its windowed DFT at k0 is
    # a/2 * sum(w) = a/2 * N/2 for the periodic Hann window, and a/2 * N/4 at k0 +- 1 (Hann's DFT is
    # N/2 at 0 and -N/4 at +-1); every other bin is 0.
    n_fft, sr, k0, a = 256, 8000, 20, 0.7
    y = tone(k0 * sr / n_fft, sr, 4096, amp=a)
    mag = np.abs(A.stft(y, n_fft=n_fft, hop_length=64))
    frame = mag[:, 10]                                  # well inside the signal
    assert frame[k0] == pytest.approx(a * n_fft / 4, rel=1e-9)
    assert frame[k0 - 1] == pytest.approx(a * n_fft / 8, rel=1e-9)
    assert frame[k0 + 1] == pytest.approx(a * n_fft / 8, rel=1e-9)
    others = np.delete(frame, [k0 - 1, k0, k0 + 1])
    assert others.max() < 1e-9 * frame[k0]
    power = A.spectrogram(y, n_fft=n_fft, hop_length=64, power=2.0)
    np.testing.assert_allclose(power, mag ** 2, rtol=1e-12)
    assert A.fft_frequencies(sr, n_fft)[k0] == pytest.approx(k0 * sr / n_fft)


def test_rectangular_window_parseval():
    # With a rectangular window and a full frame, sum |X_f|^2 over the full spectrum = N sum x^2 (Parseval);
    # the half spectrum counts every bin but 0 and N/2 twice.
    rng = np.random.default_rng(0)
    x = rng.standard_normal(64)
    s = A.stft(x, n_fft=64, hop_length=64, window="rectangular", center=False)[:, 0]
    p = np.abs(s) ** 2
    assert p[0] + 2 * p[1:-1].sum() + p[-1] == pytest.approx(64 * (x ** 2).sum(), rel=1e-12)


@pytest.mark.parametrize("hop", [64, 128])
def test_istft_round_trip(hop):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(3001)
    s = A.stft(x, n_fft=256, hop_length=hop)
    y = A.istft(s, hop_length=hop, length=len(x))
    np.testing.assert_allclose(y, x, atol=1e-10)
    chirp = np.sin(2 * np.pi * (200 + 1500 * np.arange(8000) / 8000) * np.arange(8000) / 8000).astype(np.float32)
    back = A.istft(A.stft(chirp, n_fft=512, hop_length=128), hop_length=128, length=len(chirp))
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, chirp, atol=1e-5)


# ------------------------------------------------------------------ mel scale
def test_mel_scales_by_hand():
    assert A.hz_to_mel(1000.0) == pytest.approx(15.0)                # Slaney: 1 kHz is mel 15
    assert A.hz_to_mel(600.0) == pytest.approx(9.0)                  # linear below: 3 f / 200
    assert A.mel_to_hz(42.0) == pytest.approx(6400.0)                # 27 mels above 1 kHz is 6.4 kHz
    assert A.hz_to_mel(1000.0, htk=True) == pytest.approx(2595 * math.log10(1 + 1000 / 700))
    f = np.array([0.0, 100.0, 999.0, 1000.0, 5000.0, 11025.0])
    for htk in (False, True):
        np.testing.assert_allclose(A.mel_to_hz(A.hz_to_mel(f, htk), htk), f, rtol=1e-12, atol=1e-9)
    m = A.hz_to_mel(A.mel_frequencies(10, 50.0, 4000.0))
    np.testing.assert_allclose(np.diff(m), np.diff(m)[0])          # equally spaced in mels


@pytest.mark.parametrize("htk", [False, True])
def test_mel_filterbank_triangles(htk):
    sr, n_fft = 16000, 512
    fb = A.mel_filterbank(sr, n_fft, 20, htk=htk, norm=None, dtype=np.float64)
    assert fb.shape == (20, 257)
    assert fb.min() >= 0 and fb.max() <= 1 + 1e-12
    edges = A.mel_frequencies(22, 0.0, sr / 2, htk)
    freqs = A.fft_frequencies(sr, n_fft)
    for i in (3, 10, 19):
        support = freqs[fb[i] > 0]                                  # strictly inside (f_i, f_{i+2})
        assert support.min() > edges[i] and support.max() < edges[i + 2]
        peak = freqs[np.argmax(fb[i])]                               # the bin nearest the centre f_{i+1}
        assert abs(peak - edges[i + 1]) <= sr / n_fft
    # Slaney normalisation: each triangle (height 1, base f_{i+2} - f_i) scaled to area 1 in Hz
    fbn = A.mel_filterbank(sr, 4096, 20, htk=htk, norm="slaney", dtype=np.float64)
    area = fbn.sum(axis=1) * sr / 4096
    np.testing.assert_allclose(area[5:], 1.0, rtol=0.02)
    with pytest.raises(ValueError, match="fmax"):
        A.mel_filterbank(sr, n_fft, 20, fmax=9000)


def test_log_mel_of_a_tone_peaks_in_its_band_and_equals_the_reference_path():
    sr = 16000
    y = tone(1234.0, sr, sr, amp=0.5).astype(np.float32)
    lm = A.log_mel_spectrogram(y, sr=sr, n_fft=512, hop_length=160, n_mels=40, top_db=None)
    centres = A.mel_frequencies(42, 0.0, sr / 2)[1:-1]
    band = int(np.argmax(lm[:, 50]))
    assert abs(centres[band] - 1234.0) < (centres[band + 1] - centres[band - 1]) / 2 + 1e-9
    ref = A.power_to_db(A.melspectrogram(y.astype(np.float64), sr, n_fft=512, hop_length=160, n_mels=40),
                        top_db=None)
    np.testing.assert_allclose(lm, ref, atol=2e-3)               # dB; float32 FFT vs float64 path
    # top_db floors per clip: a batch of a loud and a quiet clip gives each its own floor
    batch = A.log_mel_spectrogram(np.stack([y, 1e-3 * y]), sr=sr, n_mels=40, top_db=30.0)
    for b in range(2):
        assert batch[b].max() - batch[b].min() == pytest.approx(30.0, abs=1e-3)
    assert batch[0].max() - batch[1].max() == pytest.approx(60.0, abs=1e-2)   # 20 log10(1000)


def test_power_to_db_by_hand():
    s = np.array([1.0, 10.0, 100.0, 0.0])
    np.testing.assert_allclose(A.power_to_db(s, top_db=None), [0.0, 10.0, 20.0, -100.0])
    np.testing.assert_allclose(A.power_to_db(s, ref=10.0, top_db=25.0), [-10.0, 0.0, 10.0, -15.0])


# ------------------------------------------------------------------ DCT, MFCC, deltas
def test_dct_matrix_is_orthonormal_and_a_constant_has_only_c0():
    d = A.dct_matrix(12, 12)
    np.testing.assert_allclose(d @ d.T, np.eye(12), atol=1e-12)
    c = d @ np.full(12, 3.0)
    assert c[0] == pytest.approx(3.0 * math.sqrt(12))
    np.testing.assert_allclose(c[1:], 0.0, atol=1e-12)
    # a cosine at DCT frequency k is picked up by c_k alone
    n = np.arange(12)
    c = d @ np.cos(np.pi * 3 * (2 * n + 1) / 24)
    assert np.argmax(np.abs(c)) == 3 and np.abs(np.delete(c, 3)).max() < 1e-12


def test_mfcc_is_the_dct_of_the_log_mel():
    rng = np.random.default_rng(2)
    y = (rng.standard_normal(8000) * 0.1).astype(np.float32)
    lm = A.power_to_db(A.melspectrogram(y, 8000, n_fft=256, hop_length=80, n_mels=32))
    m = A.mfcc(y, 8000, n_mfcc=13, n_fft=256, hop_length=80, n_mels=32)
    assert m.shape == (13, lm.shape[1])
    np.testing.assert_allclose(m, A.dct_matrix(13, 32) @ lm, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(A.mfcc(S=lm, n_mfcc=13), m, rtol=1e-6, atol=1e-5)
    with pytest.raises(ValueError, match="cannot exceed"):
        A.mfcc(S=lm, n_mfcc=40)


def test_deltas_of_polynomials_by_hand():
    t = np.arange(30.0)
    np.testing.assert_allclose(A.delta(3.0 * t + 1, width=9), 3.0, rtol=1e-10)         # edges too
    np.testing.assert_allclose(A.delta(0.5 * t ** 2, width=5, order=2), 1.0, rtol=1e-10)
    d = A.delta(0.5 * t ** 2, width=5, order=1)                                          # slope t inside
    np.testing.assert_allclose(d[2:-2], t[2:-2], rtol=1e-10)
    np.testing.assert_allclose(d[:2], d[2]) and np.testing.assert_allclose(d[-2:], d[-3])
    np.testing.assert_allclose(savgol_coefficients(5, 1), np.array([-2, -1, 0, 1, 2]) / 10.0, atol=1e-12)
    with pytest.raises(ValueError, match="odd"):
        A.delta(t, width=4)
    with pytest.raises(ValueError, match="at least width"):
        A.delta(t[:5], width=9)


# ------------------------------------------------------------------ resampling on sines
@pytest.mark.parametrize("orig, target, freq", [(8000, 16000, 440.0), (8000, 44100, 1000.0),
                                                (44100, 8000, 1000.0), (16000, 22050, 3000.0)])
def test_resampled_sine_is_the_sine_at_the_new_rate(orig, target, freq):
    n = orig // 2
    y = A.resample(tone(freq, orig, n).astype(np.float32), orig, target)
    assert len(y) == math.ceil(n * target / orig) and y.dtype == np.float32
    edge = 64 * max(1, target // orig)                      # the ends see the zeros beyond the signal
    truth = tone(freq, target, len(y))
    assert np.abs(y - truth)[edge:-edge].max() < 1e-3


def test_downsampling_removes_what_the_new_rate_cannot_hold():
    sr = 44100
    high = tone(6000.0, sr, sr)                      # above 8 kHz's Nyquist (4 kHz): must vanish, not alias
    y = A.resample(high.astype(np.float32), sr, 8000)
    assert np.abs(y[200:-200]).max() < 1e-3           # > 60 dB down
    const = A.resample(np.full(5000, 0.25, np.float32), 8000, 11025)
    np.testing.assert_allclose(const[200:-200], 0.25, rtol=1e-3)


def test_resample_rates_checked_with_the_numbers():
    x = np.zeros(100, np.float32)
    assert A.resample(x, 8000, 8000) is not x
    for bad in (0, -8000, 8000.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            A.resample(x, bad, 16000)
    with pytest.raises(ValueError, match="8000 Hz -> 192001 Hz is the ratio 192001/8000"):
        A.resample(x, 8000, 192001)
    table, up, down = resample_filter(8000, 16000)
    assert (up, down) == (2, 1)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, atol=2e-3)   # the filter passes DC with gain 1


def test_waveforms_with_nan_or_inf_are_refused():
    x = np.zeros(1000, np.float32)
    x[123] = np.nan
    for fn in (lambda v: A.resample(v, 8000, 16000), lambda v: A.log_mel_spectrogram(v),
               lambda v: A.mfcc(v, 8000, n_fft=256, n_mels=20)):
        with pytest.raises(ValueError, match="non-finite sample nan at .*123"):
            fn(x)
    x[123] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        A.resample(x, 8000, 16000)
    with pytest.raises(ValueError, match="floating-point"):
        A.resample(np.zeros(100, np.int16), 8000, 16000)
