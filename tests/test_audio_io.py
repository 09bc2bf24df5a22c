"""Reading sound files: formats, mixing down, and every kind of bad file (each error names the file)."""
import wave

import numpy as np
import pytest

from minembed import audio as A


def _write_pcm(path, frames: np.ndarray, width: int, rate: int = 8000, channels: int = 1):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())


def test_wav_round_trip_16_bit(tmp_path):
    x = (0.5 * np.sin(np.arange(800) / 5)).astype(np.float32)
    A.write_wav(tmp_path / "a.wav", x, 8000)
    y, sr = A.read_audio(tmp_path / "a.wav")
    assert sr == 8000 and y.dtype == np.float32 and y.shape == (800,)
    np.testing.assert_allclose(y, x, atol=1 / 32768)


def test_pcm_widths_scaled_by_hand(tmp_path):
    _write_pcm(tmp_path / "u8.wav", np.array([0, 128, 255, 64], np.uint8), 1)
    y, _ = A.read_audio(tmp_path / "u8.wav")
    np.testing.assert_allclose(y, [-1.0, 0.0, 127 / 128, -0.5])        # 8-bit WAV is unsigned, centred on 128
    _write_pcm(tmp_path / "i16.wav", np.array([-32768, 16384, 0], "<i2"), 2)
    np.testing.assert_allclose(A.read_audio(tmp_path / "i16.wav")[0], [-1.0, 0.5, 0.0])
    # 24-bit little-endian: 0x400000 = 2^22 -> 0.5; 0xC00000 = -2^22 -> -0.5
    raw = np.array([0x00, 0x00, 0x40, 0x00, 0x00, 0xC0], np.uint8)
    _write_pcm(tmp_path / "i24.wav", raw, 3)
    np.testing.assert_allclose(A.read_audio(tmp_path / "i24.wav")[0], [0.5, -0.5])
    _write_pcm(tmp_path / "i32.wav", np.array([2 ** 30, -(2 ** 31)], "<i4"), 4)
    np.testing.assert_allclose(A.read_audio(tmp_path / "i32.wav")[0], [0.5, -1.0])


def test_stereo_is_mixed_down_by_averaging(tmp_path):
    left = np.array([16384, 0, -16384], "<i2")
    right = np.array([0, 16384, -16384], "<i2")
    _write_pcm(tmp_path / "st.wav", np.stack([left, right], axis=1), 2, channels=2)
    y, _ = A.read_audio(tmp_path / "st.wav")
    np.testing.assert_allclose(y, [0.25, 0.25, -0.5])


def test_missing_unreadable_truncated_empty_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        A.read_audio(tmp_path / "nope.wav")
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"this is not a RIFF file at all" * 10)
    with pytest.raises(ValueError, match="noise.wav"):
        A.read_audio(bad)
    A.write_wav(tmp_path / "full.wav", np.zeros(1000), 8000)
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:len(data) // 2])      # the header still says 1000 frames
    with pytest.raises(ValueError, match=r"cut.wav is truncated: its header says 1000 frames"):
        A.read_audio(tmp_path / "cut.wav")
    (tmp_path / "stub.wav").write_bytes(data[:20])                 # cut inside the header
    with pytest.raises(ValueError, match="stub.wav"):
        A.read_audio(tmp_path / "stub.wav")
    A.write_wav(tmp_path / "empty.wav", np.zeros(0), 8000)
    with pytest.raises(ValueError, match="empty.wav holds no samples"):
        A.read_audio(tmp_path / "empty.wav")


def test_flac_and_float_wav_through_soundfile(tmp_path):
    sf = pytest.importorskip("soundfile")
    x = (0.3 * np.sin(np.arange(2000) / 7)).astype(np.float32)
    sf.write(tmp_path / "a.flac", np.stack([x, -x / 3], axis=1), 22050, subtype="PCM_16")
    y, sr = A.read_audio(tmp_path / "a.flac")
    assert sr == 22050
    np.testing.assert_allclose(y, (x - x / 3) / 2, atol=2 / 32768)    # stereo mixed down
    z = x.copy()
    z[42] = np.nan
    sf.write(tmp_path / "nan.wav", z, 8000, subtype="FLOAT")           # float WAV: read by soundfile
    with pytest.raises(ValueError, match=r"nan.wav has a non-finite sample nan at position 42"):
        A.read_audio(tmp_path / "nan.wav")
    (tmp_path / "bad.flac").write_bytes(b"fLaC" + b"\0" * 50)
    with pytest.raises(ValueError, match="bad.flac is not a readable sound file"):
        A.read_audio(tmp_path / "bad.flac")
    data = (tmp_path / "a.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[:len(data) // 3])
    try:  # libsndfile reads what is there of a cut FLAC; either a clean error naming it or the start
        y, _ = A.read_audio(tmp_path / "cut.flac")
        assert 0 < len(y) < 2000
    except ValueError as err:
        assert "cut.flac" in str(err)


def test_check_waveform():
    from minembed.audio.io import check_waveform
    with pytest.raises(ValueError, match="no samples"):
        check_waveform(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="floating-point"):
        check_waveform(np.zeros(5, np.int16))
    with pytest.raises(ValueError, match="shape"):
        check_waveform(np.zeros((2, 2, 2), np.float32))
    np.testing.assert_allclose(check_waveform(np.array([[1.0, 0.0], [0.5, 0.5]])), [0.5, 0.5])


def test_max_seconds_reads_only_the_start(tmp_path):
    x = np.linspace(-0.5, 0.5, 8000)
    A.write_wav(tmp_path / "a.wav", x, 8000)
    y, _ = A.read_audio(tmp_path / "a.wav", max_seconds=0.25)
    assert len(y) == 2000
    np.testing.assert_allclose(y, x[:2000], atol=1 / 32768)
    assert len(A.read_audio(tmp_path / "a.wav", max_seconds=5)[0]) == 8000
