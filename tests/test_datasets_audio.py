"""load_audio: folders, synthetic clips, the installed recordings (skipped when absent), install messages."""
import numpy as np
import pytest

from minembed import audio as A
from minembed.datasets import audio as D
from minembed.datasets import load_audio


def test_synthetic_sounds_are_seeded_and_labelled_synthetic():
    a = load_audio("synthetic", sr=8000, seed=3)
    b = load_audio("synthetic", sr=8000, seed=3)
    assert a.synthetic and len(a) == 6 * 10 and a.classes == sorted(D.SYNTHETIC_CLASSES)
    assert all(c.dtype == np.float32 and c.shape == (6400,) for c in a.clips)
    for x, y in zip(a.clips, b.clips, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.clips[0], load_audio("synthetic", seed=4).clips[0])
    ids = a.label_ids()
    assert ids.dtype == np.int64 and set(ids) == set(range(6))
    assert a.names()[0] == f"{a.labels[0]}_0"


def test_folder_with_subfolders_labels_resamples_and_mixes(tmp_path):
    sf = pytest.importorskip("soundfile")
    (tmp_path / "kick").mkdir()
    (tmp_path / "hat").mkdir()
    A.write_wav(tmp_path / "kick" / "k1.wav", np.sin(np.arange(8000) / 9), 8000)
    A.write_wav(tmp_path / "kick" / "k2.wav", np.stack([np.ones(4000) * 0.5, np.zeros(4000)], 1), 16000)  # stereo
    sf.write(tmp_path / "hat" / "h1.flac", np.zeros(22050, np.float32), 22050)
    s = load_audio(tmp_path, sr=8000)
    assert s.labels == ["hat", "kick", "kick"] and s.sr == 8000
    assert [len(c) for c in s.clips] == [8000, 8000, 2000]
    np.testing.assert_allclose(s.clips[2][100:-100], 0.25, atol=1e-3)       # (0.5 + 0) / 2, resampled
    assert s.names() == ["hat/h1", "kick/k1", "kick/k2"]
    short = load_audio(tmp_path, sr=8000, max_seconds=0.5)
    assert [len(c) for c in short.clips] == [4000, 4000, 2000]
    flat = load_audio(tmp_path / "kick", sr=8000)
    assert flat.labels == ["k1", "k2"]
    sub = s.subset([2, 0])
    assert sub.labels == ["kick", "hat"] and sub.fixed_length(5000).shape == (2, 5000)


def test_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sound files"):
        load_audio(tmp_path)
    A.write_wav(tmp_path / "ok.wav", np.zeros(100), 8000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(ValueError, match="broken.wav"):
        load_audio(tmp_path)
    with pytest.raises(NotADirectoryError, match="ok.wav"):
        load_audio(tmp_path / "ok.wav")
    with pytest.raises(FileNotFoundError, match="neither a folder nor a known data set"):
        load_audio(tmp_path / "nowhere")
    for bad in (0, 8000.0):
        with pytest.raises(ValueError, match="sr must be a positive integer"):
            load_audio("synthetic", sr=bad)
    with pytest.raises(ValueError, match="labels_from"):
        D.load_audio(tmp_path, labels_from="colour")


def test_missing_packages_say_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("MINEMBED_ASTERISK_SOUNDS", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(D, "samples_folder", lambda: None)
    with pytest.raises(FileNotFoundError, match="apt-get install asterisk-core-sounds-en-wav"):
        load_audio("digits")
    with pytest.raises(FileNotFoundError, match="npm install --prefix ~/.cache/minembed supersonic-scsynth-samples"):
        load_audio("sounds")
    assert not D.available("digits") and not D.available("sounds") and D.available("synthetic")
    with pytest.raises(ValueError, match="unknown language"):
        load_audio("digits", languages=["de"])


def test_installed_spoken_digits():
    if not D.available("digits"):
        pytest.skip(f"the asterisk sound packages are not installed ({D.APT_HINT})")
    d = load_audio("digits", sr=8000)
    assert set(d.labels) == {str(i) for i in range(10)} and len(d) == 10 * len(set(d.groups))
    assert all(0.2 * 8000 < len(c) < 3 * 8000 and np.abs(c).max() > 0.05 for c in d.clips)
    d16 = load_audio("digits", sr=16000, languages=["en"])
    assert len(d16) == 10 and abs(len(d16.clips[0]) - 2 * len(d.clips[0])) <= 1


def test_installed_sound_samples():
    pytest.importorskip("soundfile")
    if not D.available("sounds"):
        pytest.skip(f"the sound samples are not installed ({D.NPM_HINT})")
    s = load_audio("sounds", sr=8000, max_seconds=0.25)
    assert len(s) >= 200 and {"bd", "hat", "tabla"} <= set(s.classes)
    assert all(len(c) <= 2000 + 1 for c in s.clips)
