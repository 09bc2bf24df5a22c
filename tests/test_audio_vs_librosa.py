"""The signal path against librosa with the same parameters (skipped when librosa is not installed)."""
import numpy as np
import pytest

from minembed import audio as A

librosa = pytest.importorskip("librosa")


def rel_err(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(b).max())


@pytest.fixture
def clip():
    rng = np.random.default_rng(7)
    t = np.arange(12000) / 16000
    chirp = np.sin(2 * np.pi * (100 + 2000 * t) * t)
    return (0.3 * chirp + 0.05 * rng.standard_normal(len(t))).astype(np.float64)


@pytest.mark.parametrize("center, pad_mode", [(True, "constant"), (True, "reflect"), (False, "constant")])
@pytest.mark.parametrize("win_length", [None, 300])
def test_stft(clip, center, pad_mode, win_length):
    ours = A.stft(clip, n_fft=512, hop_length=128, win_length=win_length, center=center, pad_mode=pad_mode)
    theirs = librosa.stft(clip, n_fft=512, hop_length=128, win_length=win_length, center=center, pad_mode=pad_mode)
    assert ours.shape == theirs.shape
    assert rel_err(ours, theirs) < 1e-4


def test_istft(clip):
    s = librosa.stft(clip, n_fft=512, hop_length=128)
    assert rel_err(A.istft(s, hop_length=128, length=len(clip)),
                   librosa.istft(s, hop_length=128, length=len(clip))) < 1e-4


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("norm", ["slaney", None])
def test_mel_filterbank_and_scale(htk, norm):
    ours = A.mel_filterbank(22050, 1024, 80, fmin=30.0, fmax=8000.0, htk=htk, norm=norm, dtype=np.float64)
    theirs = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=30.0, fmax=8000.0, htk=htk, norm=norm,
                                 dtype=np.float64)
    assert rel_err(ours, theirs) < 1e-4
    f = np.linspace(0, 11025, 50)
    np.testing.assert_allclose(A.hz_to_mel(f, htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-4)


@pytest.mark.parametrize("htk", [False, True])
def test_melspectrogram_log_mel_and_mfcc(clip, htk):
    kw = dict(sr=16000, n_fft=512, hop_length=160, n_mels=40, htk=htk)
    mel = A.melspectrogram(clip, **kw)
    ref = librosa.feature.melspectrogram(y=clip, **kw)
    assert rel_err(mel, ref) < 1e-4
    db = A.log_mel_spectrogram(clip.astype(np.float32), **kw)              # the fused float32 fast path
    np.testing.assert_allclose(db, librosa.power_to_db(ref), rtol=1e-4, atol=1e-3)
    ours = A.mfcc(clip.astype(np.float32), n_mfcc=13, **kw)
    theirs = librosa.feature.mfcc(y=clip.astype(np.float32), n_mfcc=13, **kw)
    assert rel_err(ours, theirs) < 1e-4


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("width", [3, 9])
def test_delta(clip, order, width):
    m = librosa.feature.mfcc(y=clip, sr=16000, n_mfcc=13, n_fft=512, hop_length=160)
    assert rel_err(A.delta(m, width=width, order=order), librosa.feature.delta(m, width=width, order=order)) < 1e-4


def test_resample_agrees_with_librosa_on_a_band_limited_signal():
    # Different filters (ours: a Kaiser-windowed sinc; librosa's default: soxr), the same answer for a signal
    # inside both pass bands: a chirp from 100 Hz to 3.1 kHz, taken from 16 kHz to 8 kHz and to 22.05 kHz.
    t = np.arange(12000) / 16000
    chirp = (0.5 * np.sin(2 * np.pi * (100 + 2000 * t) * t)).astype(np.float32)
    for target in (8000, 22050):
        y = A.resample(chirp, 16000, target)
        ref = librosa.resample(chirp, orig_sr=16000, target_sr=target)
        assert len(y) == len(ref)
        assert np.abs(y - ref)[100:-100].max() < 2e-3
