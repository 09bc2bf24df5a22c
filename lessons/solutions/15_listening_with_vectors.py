"""Solutions to the exercises of lesson 15 (Listening with vectors).
Run: python lessons/solutions/15_listening_with_vectors.py — every answer checks itself.

Uses the installed recordings (Debian's asterisk-core-sounds-*-wav) when present, else synthetic signals
(said in the output)."""
import numpy as np

import minembed as me
from minembed import audio as A
from minembed.datasets import audio as data

SR = 8000


def load():
    if data.available("digits"):
        return me.load_audio("digits", sr=SR), True
    print("recordings not installed: SYNTHETIC signals instead of speech")
    return me.load_audio("synthetic", sr=SR, seed=0), False


def exercise_1(digits, speech):
    """Deltas: the 24-d statistics of the MFCCs alone vs the 48-d vectors with the deltas' statistics."""
    for deltas in (False, True):
        e = A.standardize(A.mfcc_stats(digits.clips, SR, n_mfcc=13, deltas=deltas))
        by_word = A.loo_knn_accuracy(e, digits.labels, k=1)
        line = f"deltas={deltas!s:5s} ({e.shape[1]} dims): LOO 1-NN by word {by_word:.0%}"
        if speech:
            by_voice = A.loo_knn_accuracy(e, digits.groups, k=1)
            line += f", by voice {by_voice:.0%}"
            # with or without deltas, pooled MFCCs recognise the speaker far better than the digit
            assert by_voice > by_word + 0.3
        print(line)
        assert e.shape == (len(digits), 24 if not deltas else 48)


def exercise_2(digits, speech):
    """Speed changes on or off: the CNN trained on the digits alone, 2 epochs each (a tiny budget: read the
    numbers as this run's, not the method's)."""
    for speed in (0.0, 0.15):
        cnn = A.AudioCNN(embed_dim=32, seed=0)
        hist = cnn.fit(digits.clips, epochs=2, batch_size=25, seed=0, progress=False, speed=speed)
        e = cnn.embed(digits.clips)
        line = f"speed=+-{speed:.0%}: loss {hist['train_loss'][-1]:.3f}, LOO by word " \
               f"{A.loo_knn_accuracy(e, digits.labels, k=1):.0%}"
        if speech:
            line += f", by voice {A.loo_knn_accuracy(e, digits.groups, k=1):.0%}"
        print(line)
        assert np.isfinite(hist["train_loss"]).all() and e.shape == (len(digits), 32)


def exercise_3():
    """The mel scale: 1 -> 2 kHz is a bigger step in mels than 100 -> 200 Hz, but far smaller per Hz."""
    low = A.hz_to_mel(200.0) - A.hz_to_mel(100.0)
    high = A.hz_to_mel(2000.0) - A.hz_to_mel(1000.0)
    print(f"100->200 Hz: {low:.2f} mel ({low / 100:.4f} mel/Hz); 1->2 kHz: {high:.2f} mel ({high / 1000:.4f} mel/Hz)")
    assert high > low and high / 1000 < low / 100
    # the octaves above 1 kHz are equal steps on the Slaney scale (logarithmic there)
    octaves = np.diff(A.hz_to_mel(np.array([1000.0, 2000.0, 4000.0])))
    assert np.allclose(octaves, octaves[0])
    # and the filterbank built from it gets wider with frequency
    fb = A.mel_filterbank(SR, 256, 40)
    width = (fb > 0).sum(axis=1)
    assert width[-1] > width[5]


if __name__ == "__main__":
    digits, speech = load()
    exercise_1(digits, speech)
    exercise_2(digits, speech)
    exercise_3()
    print("all solutions check out")
