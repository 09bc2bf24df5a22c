"""Pooled MFCCs, log-mel batches, augmentations and the evaluation scores, on synthetic signals."""
import math

import numpy as np
import pytest

from minembed import audio as A
from minembed.datasets import synthetic_sounds


def tone(freq, sr=8000, n=8000, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float32)


# ------------------------------------------------------------------ pooled MFCCs
def test_mfcc_stats_shape_and_loudness_invariance():
    x = tone(440.0) + tone(1330.0, amp=0.2)
    e = A.mfcc_stats([x, 0.1 * x, x[:3000]], 8000, n_mfcc=13)
    assert e.shape == (3, 4 * 12) and e.dtype == np.float32
    # 0.1 x shifts every log-mel value by -20 dB (the top_db floor moves with it), which only c0 sees:
    np.testing.assert_allclose(e[1], e[0], atol=2e-3)
    with_c0 = A.mfcc_stats([x, 0.1 * x], 8000, n_mfcc=13, drop_c0=False)
    # c0 = sum_n L_n / sqrt(n_mels): a -20 dB shift of each of the 40 bands moves its mean by -20 sqrt(40)
    assert with_c0[1, 0] - with_c0[0, 0] == pytest.approx(-20 * math.sqrt(40), abs=1e-2)
    assert A.mfcc_stats([x], 8000, n_mfcc=13, deltas=False).shape == (1, 24)


def test_mfcc_stats_errors_name_the_clip():
    with pytest.raises(ValueError, match="clip 1 has a non-finite sample"):
        A.mfcc_stats([tone(440.0), np.full(800, np.nan, np.float32)], 8000)
    with pytest.raises(ValueError, match="clip 0 has 50 samples, shorter than one frame"):
        A.mfcc_stats([np.zeros(50, np.float32)], 8000, center=False)


def test_pooled_mfccs_separate_planted_classes():
    s = synthetic_sounds(n_per_class=8, sr=8000, seed=0)
    e = A.standardize(A.mfcc_stats(s.clips, 8000))
    acc = A.loo_knn_accuracy(e, s.labels, k=1)
    assert acc > 0.5                     # 6 classes: chance is 1/6
    tones = [i for i, lab in enumerate(s.labels) if lab in ("low_tone", "high_tone")]
    assert A.loo_knn_accuracy(e[tones], [s.labels[i] for i in tones], k=1) == 1.0


def test_clip_log_mels_batch_equals_one_by_one():
    clips = [tone(300.0, n=5000), tone(900.0, n=9000)]
    batch = A.clip_log_mels(clips, 8000, n_frames=64)
    assert batch.shape == (2, 40, 64)
    padded = np.zeros(80 * 63, np.float32)
    padded[:5000] = clips[0]
    np.testing.assert_allclose(batch[0], A.log_mel_spectrogram(padded, sr=8000, n_fft=256, hop_length=80,
                                                                n_mels=40), atol=1e-4)
    one = A.clip_log_mels(clips, 8000)
    assert [m.shape for m in one] == [(40, 1 + 5000 // 80), (40, 1 + 9000 // 80)]


def test_standardize():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    z = A.standardize(x)
    np.testing.assert_allclose(z[:, 0], [-math.sqrt(1.5), 0, math.sqrt(1.5)], rtol=1e-6)
    np.testing.assert_allclose(z[:, 1], 0.0)
    np.testing.assert_allclose(A.standardize(x * 2, mean=[6.0, 10.0], std=[2.0, 1.0])[:, 0], [-2, 0, 2])


# ------------------------------------------------------------------ augmentations
def test_time_shift_by_hand():
    x = np.arange(1, 11, dtype=np.float32)
    rng = np.random.default_rng(0)
    for _ in range(10):
        y = A.time_shift(x, 3, rng=rng)
        k = int(np.flatnonzero(y == 1)[0]) if (y == 1).any() else -int(y[0] - 1)
        assert len(y) == 10 and -3 <= k <= 3
        if k >= 0:
            np.testing.assert_array_equal(y, np.r_[np.zeros(k), x[:10 - k]])
        else:
            np.testing.assert_array_equal(y, np.r_[x[-k:], np.zeros(-k)])
    np.testing.assert_array_equal(A.time_shift(x, 0, seed=1), x)


def test_change_speed_raises_pitch_and_shortens():
    sr, f = 8000, 440.0
    y = A.change_speed(tone(f, sr, 8000), 1.25, sr)
    assert abs(len(y) - 6400) <= 1
    spectrum = np.abs(np.fft.rfft(y[500:-500] * np.hanning(len(y) - 1000)))
    peak = np.argmax(spectrum) * sr / (len(y) - 1000)
    assert peak == pytest.approx(f * 1.25, abs=2.0)
    with pytest.raises(ValueError, match="speed factor"):
        A.change_speed(tone(f), 3.0, sr)


def test_add_noise_has_the_asked_snr():
    x = tone(440.0, n=80000)
    y = A.add_noise(x, 10.0, seed=0)
    snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))
    assert snr == pytest.approx(10.0, abs=0.1)
    np.testing.assert_array_equal(A.add_noise(np.zeros(10, np.float32), 10, seed=0), 0)


def test_spec_augment_masks_with_the_mean():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((3, 20, 30)).astype(np.float32) + 5
    out = A.spec_augment(s, freq_masks=1, max_freq=4, time_masks=1, max_time=6, seed=2)
    assert out.shape == s.shape and not np.shares_memory(out, s)
    for b in range(3):
        fill = s[b].mean()
        changed = out[b] != s[b]
        np.testing.assert_allclose(out[b][changed], fill, rtol=1e-6)
        rows = np.flatnonzero(changed.all(axis=1))
        cols = np.flatnonzero(changed.all(axis=0))
        assert len(rows) <= 4 and len(cols) <= 6
    np.testing.assert_array_equal(out, A.spec_augment(s, 1, 4, 1, 6, seed=2))


# ------------------------------------------------------------------ evaluation
def test_loo_knn_by_hand():
    v = np.array([[1, 0.0], [0.99, 0.1], [0, 1.0], [0.1, 0.99], [0.72, 0.69]])
    labels = ["a", "a", "b", "b", "b"]
    assert A.loo_knn_predict(v, labels, k=1) == ["a", "a", "b", "b", "a"]   # v4's nearest other is v1 (a)
    assert A.loo_knn_accuracy(v, labels, k=1) == pytest.approx(0.8)
    # k=2 for v4: votes a (v1, nearer) and b (v3): a tie, the nearer voter's label wins
    assert A.loo_knn_predict(v, labels, k=2)[4] == "a"
    with pytest.raises(ValueError, match="k must be in"):
        A.loo_knn_accuracy(v, labels, k=5)
    with pytest.raises(ValueError, match="labels"):
        A.loo_knn_accuracy(v, labels[:3])


def test_cross_group_retrieval_by_hand():
    v = np.array([[1, 0.0], [0, 1.0], [0.9, 0.1], [0.2, 0.8], [1, 0.05]])
    labels = ["x", "y", "x", "y", "y"]
    groups = ["en", "en", "fr", "fr", "it"]
    r = A.cross_group_retrieval(v, labels, groups)
    # en/x -> best among fr, it is it/y (1, .05): miss, first x at rank 2; en/y -> fr/y: hit;
    # fr/x -> it/y: miss (rank 2); fr/y -> en/y: hit; it/y -> en/x: miss, then fr/x, then fr/y... rank 4
    assert r["queries"] == 5
    assert r["precision_at_1"] == pytest.approx(2 / 5)
    assert r["mrr"] == pytest.approx((1 / 2 + 1 + 1 / 2 + 1 + 1 / 3) / 5)


def test_time_shift_longer_than_the_clip_gives_silence():
    x = np.ones(5, np.float32)
    outs = [A.time_shift(x, 50, seed=s) for s in range(20)]
    assert all(len(y) == 5 for y in outs) and any((y == 0).all() for y in outs)
