"""Reading and writing sound files: WAV with the standard library, FLAC/AIFF/OGG through ``soundfile``.

Every reader returns ``(samples, sample_rate)`` with ``samples`` a float32 (n,) array in [-1, 1]:

* integer PCM is scaled by its full range (16-bit: ``/ 32768``; 8-bit WAV is unsigned, centred on 128);
* **stereo (or more channels) is mixed down to mono by averaging the channels**, the usual choice
  (librosa's ``to_mono`` does the same): an embedding of a sound should not depend on the speaker layout;
* NaN or infinite samples (possible in float files) are refused, naming the file and the sample.

Every failure names the file: a missing file is ``FileNotFoundError``; an unreadable, truncated or
unsupported one is ``ValueError``.
"""
from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np

from ..io import atomic_write

SOUNDFILE_HINT = "pip install soundfile (or: pip install 'minembed[audio]')"
SOUND_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def check_waveform(x, name: str = "waveform") -> np.ndarray:
    """``x`` as a float32 (n,) array; a (n, channels) array is mixed down by averaging the channels.

    ``ValueError`` naming ``name`` for another rank, an integer or complex dtype (scale PCM first:
    :func:`read_audio` does), an empty signal, or a NaN/inf sample (with its position).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "f":
        raise ValueError(f"{name} must be floating-point samples (e.g. in [-1, 1]), got dtype {x.dtype}")
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1:
        raise ValueError(f"{name} must be (n,) mono or (n, channels) samples, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} has no samples")
    finite = np.isfinite(x)
    if not finite.all():
        i = int(np.argmin(finite))
        raise ValueError(f"{name} has a non-finite sample {x[i]} at position {i}: NaN/inf samples are refused")
    return np.ascontiguousarray(x, dtype=np.float32)


def _pcm_to_float(raw: bytes, width: int, channels: int, path) -> np.ndarray:
    """Interleaved little-endian PCM bytes -> float32 (frames, channels) in [-1, 1)."""
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:  # 24-bit: widen each 3-byte sample to 4 bytes, the sign in the top byte
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        wide = np.zeros((len(b), 4), np.uint8)
        wide[:, 1:] = b
        x = wide.view("<i4").ravel().astype(np.float32) / 2.0 ** 31
    elif width == 4:
        x = np.frombuffer(raw, "<i4").astype(np.float32) / 2.0 ** 31
    else:
        raise ValueError(f"{path}: {8 * width}-bit WAV samples are not supported (8, 16, 24 or 32-bit PCM)")
    return x.reshape(-1, channels)


def _frames_wanted(n: int, rate: int, max_seconds: float | None) -> int:
    return n if max_seconds is None else min(n, max(1, int(round(max_seconds * rate))))


def _read_wav(path: Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            n = _frames_wanted(n, rate, max_seconds) if rate > 0 else n
            raw = w.readframes(n)
    except (wave.Error, EOFError, struct.error) as err:
        raise ValueError(f"{path} is not a readable PCM WAV file: {err}") from None
    if channels < 1 or rate < 1:
        raise ValueError(f"{path}: a WAV header with {channels} channels at {rate} Hz")
    if len(raw) != n * channels * width:  # the header promised more than the file holds
        raise ValueError(f"{path} is truncated: its header says {n} frames, the file holds "
                         f"{len(raw) // max(1, channels * width)}")
    return _pcm_to_float(raw, width, channels, path), rate


def _read_soundfile(path: Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    try:
        import soundfile
    except ImportError:
        raise ImportError(f"reading {path.suffix} files ({path}) needs the soundfile package: "
                          f"{SOUNDFILE_HINT}") from None
    try:
        with soundfile.SoundFile(str(path)) as f:
            rate = int(f.samplerate)
            x = f.read(_frames_wanted(f.frames, rate, max_seconds) if f.frames > 0 else -1,
                       dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, ValueError) as err:
        raise ValueError(f"{path} is not a readable sound file: {err}") from None
    return x, rate


def read_audio(path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """The samples of one sound file and its sample rate: ``(float32 (n,) mono in [-1, 1], rate)``.

    ``.wav`` is read with the standard library's :mod:`wave` (PCM, 8/16/24/32-bit), anything else
    (FLAC, AIFF, OGG; also WAV that ``wave`` cannot read, such as float WAV) through ``soundfile``
    when it is installed. Multi-channel files are mixed down by averaging the channels.
    ``max_seconds`` reads only the start of the file (that many seconds at most).
    ``FileNotFoundError`` / ``ValueError`` naming the file for a missing, unreadable, truncated or
    empty file, or one with a NaN/inf sample.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sound file at {str(path)!r}")
    if path.suffix.lower() == ".wav":
        try:
            x, rate = _read_wav(path, max_seconds)
        except ValueError as err:
            if "truncated" in str(err):
                raise
            try:  # e.g. a float WAV (format 3), which the wave module refuses: libsndfile may read it
                import soundfile  # noqa: F401
            except ImportError:
                raise err from None
            x, rate = _read_soundfile(path, max_seconds)
    else:
        x, rate = _read_soundfile(path, max_seconds)
    if x.shape[0] == 0:
        raise ValueError(f"{path} holds no samples")
    return check_waveform(x, name=str(path)), rate


def write_wav(path, samples, sample_rate: int) -> None:
    """Write float samples (n,) or (n, channels) in [-1, 1] as 16-bit PCM WAV (clipped), atomically."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"samples for {path} must be finite (n,) or (n, channels), got shape {x.shape}")
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    with atomic_write(path, "wb") as fh, wave.open(fh, "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
