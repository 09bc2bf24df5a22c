"""Audio: from waveforms to spectrograms, MFCCs and learned embeddings of sounds.

* :mod:`~minembed.audio.io` — read WAV (standard library) and FLAC/AIFF/OGG (``soundfile``), write WAV.
* :mod:`~minembed.audio.resample` — windowed-sinc polyphase resampling.
* :mod:`~minembed.audio.spectral` — framing, windows, STFT and its inverse, spectrograms.
* :mod:`~minembed.audio.mel` — mel scale and filterbank, log-mel, DCT-II, MFCCs, deltas.

Shapes follow librosa: a clip is (n,) float32 in [-1, 1]; spectrograms are (frequency, time).
"""
from .io import read_audio, write_wav
from .mel import (
    dct_matrix,
    delta,
    hz_to_mel,
    log_mel_spectrogram,
    mel_filterbank,
    mel_frequencies,
    mel_to_hz,
    melspectrogram,
    mfcc,
    power_to_db,
)
from .resample import resample
from .spectral import fft_frequencies, frame, get_window, istft, spectrogram, stft

__all__ = [
    "read_audio", "write_wav", "resample",
    "get_window", "frame", "stft", "istft", "spectrogram", "fft_frequencies",
    "hz_to_mel", "mel_to_hz", "mel_frequencies", "mel_filterbank", "melspectrogram", "log_mel_spectrogram",
    "power_to_db", "dct_matrix", "mfcc", "delta",
]
