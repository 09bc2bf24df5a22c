"""Audio: from waveforms to spectrograms, MFCCs and learned embeddings of sounds.

* :mod:`~minembed.audio.io` — read WAV (standard library) and FLAC/AIFF/OGG (``soundfile``), write WAV.
* :mod:`~minembed.audio.resample` — windowed-sinc polyphase resampling.
* :mod:`~minembed.audio.spectral` — framing, windows, STFT and its inverse, spectrograms.
* :mod:`~minembed.audio.mel` — mel scale and filterbank, log-mel, DCT-II, MFCCs, deltas.
* :mod:`~minembed.audio.features` — pooled-MFCC clip embeddings, fixed-size log-mel batches.
* :mod:`~minembed.audio.augment` — time shift, speed/pitch change, noise, SpecAugment masks.
* :mod:`~minembed.audio.cnn` — :class:`AudioCNN`, a small CNN on log-mels trained contrastively (NT-Xent).
* :mod:`~minembed.audio.evaluate` — leave-one-out k-NN accuracy, retrieval across voices.

Shapes follow librosa: a clip is (n,) float32 in [-1, 1]; spectrograms are (frequency, time).
"""
from .augment import add_noise, change_speed, spec_augment, time_shift
from .cnn import AudioCNN
from .evaluate import cross_group_retrieval, loo_knn_accuracy, loo_knn_predict
from .features import clip_log_mels, mfcc_stats, standardize
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
    "clip_log_mels", "mfcc_stats", "standardize",
    "time_shift", "change_speed", "add_noise", "spec_augment",
    "AudioCNN", "loo_knn_accuracy", "loo_knn_predict", "cross_group_retrieval",
]
