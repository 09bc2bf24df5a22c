"""AudioCNN: gradients by finite differences, seeded training, contrastive learning on planted classes."""
import numpy as np
import pytest

from minembed import audio as A
from minembed.datasets import synthetic_sounds
from minembed.nn import check_gradients


def tiny(seed=0, **kw):
    return A.AudioCNN(embed_dim=6, proj_dim=4, n_mels=8, n_frames=8, channels=(2, 3, 4), n_fft=64, hop_length=32,
                      seed=seed, **kw)


def test_audio_cnn_gradients_by_finite_differences():
    model = tiny()
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8))
    check_gradients(model, x, atol=1e-6, rtol=1e-4)


def test_embed_shapes_and_prepare_scaling():
    model = tiny()
    clips = [np.sin(np.arange(n) / 3.0).astype(np.float32) for n in (100, 224, 500)]
    e = model.embed(clips)
    assert e.shape == (3, 6) and e.dtype == np.float32
    mels = model.log_mels(clips)
    assert mels.shape == (3, 8, 8)
    p = model.prepare(mels)
    assert p.shape == (3, 1, 8, 8)
    np.testing.assert_allclose(p.max(axis=(1, 2, 3)), 2.0)            # each clip's loudest point
    np.testing.assert_allclose(model.prepare(mels - 30.0), p, atol=1e-5)  # 30 dB quieter: the same input
    with pytest.raises(ValueError, match="clip 1 has a non-finite"):
        model.embed([clips[0], np.full(300, np.inf, np.float32)])


def test_views_pair_rows_and_differ():
    model = tiny()
    waves = np.random.default_rng(1).standard_normal((3, 400)).astype(np.float32) * 0.1
    v = model.views(waves, np.random.default_rng(0))
    assert v.shape == (6, 1, 8, 8)
    assert not np.allclose(v[0], v[3])        # two different augmentations of clip 0


def test_fit_is_seeded_and_refuses_too_few_clips():
    s = synthetic_sounds(n_per_class=2, sr=8000, seed=0)
    a, b = tiny(seed=1), tiny(seed=1)
    ha = a.fit(s.clips, epochs=1, batch_size=4, seed=3, progress=False)
    hb = b.fit(s.clips, epochs=1, batch_size=4, seed=3, progress=False)
    assert ha["train_loss"] == hb["train_loss"]
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)
    with pytest.raises(ValueError, match="at least 2 clips"):
        tiny().fit(s.clips[:1], epochs=1)
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        tiny().fit(s.clips, epochs=1, batch_size=1)


def test_contrastive_training_learns_planted_classes_without_labels():
    s = synthetic_sounds(n_per_class=8, sr=8000, seed=0)
    model = A.AudioCNN(embed_dim=16, proj_dim=8, n_mels=24, n_frames=48, channels=(4, 8, 8), n_fft=128,
                       hop_length=128, seed=0)
    before = A.loo_knn_accuracy(model.embed(s.clips), s.labels, k=1)
    hist = model.fit(s.clips, epochs=6, batch_size=16, lr=3e-3, seed=0, progress=False,
                     evaluate=lambda: A.loo_knn_accuracy(model.embed(s.clips), s.labels, k=1))
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    after = hist["knn_accuracy"][-1]
    assert after > 1 / 6 + 0.3 and after >= before - 0.05, (before, hist["knn_accuracy"])
