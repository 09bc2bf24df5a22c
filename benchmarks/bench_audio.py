"""Log-mel spectrograms of a batch of clips: minembed (framing + numpy.fft + one fused Numba kernel for
power, mel filterbank and log) vs its NumPy reference path (MINEMBED_JIT=0) vs librosa
(``melspectrogram`` on the whole batch + ``power_to_db`` per clip), each alone in its own fresh process
(benchmarks/harness.py).

    PYTHONPATH=. python benchmarks/bench_audio.py [--clips 64 --seconds 1.0 --sr 16000]

Same work on every side: B clips of the same length, centred frames (zero padding), periodic Hann,
power spectrum, Slaney mel filterbank, ``10 log10(max(1e-10, .))`` and an 80 dB floor per clip.
Every side returns the mean of its (B, n_mels, T) result and the results are compared at the end.
"""
from __future__ import annotations

import argparse

import harness


def make_clips(n_clips, n_samples, sr, seed):
    """The same float32 (B, n) batch in every process: chirps, tones and noise at random loudness."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / sr
    out = np.empty((n_clips, n_samples), np.float32)
    for i in range(n_clips):
        f0, f1 = rng.uniform(100, sr / 8), rng.uniform(sr / 8, sr / 2.5)
        chirp = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * t[-1])))
        out[i] = rng.uniform(0.05, 0.8) * chirp + 0.01 * rng.standard_normal(n_samples)
    return out


def side_minembed(n_clips, n_samples, sr, n_fft, hop, n_mels, seed):
    from minembed.audio import log_mel_spectrogram

    y = make_clips(n_clips, n_samples, sr, seed)

    def run():
        log_mel_spectrogram(y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels)

    def after():
        s = log_mel_spectrogram(y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
        return {"shape": list(s.shape), "mean": float(s.mean()), "first": s[0, :, 5].tolist()}
    return run, after


def side_librosa(n_clips, n_samples, sr, n_fft, hop, n_mels, seed):
    import librosa

    y = make_clips(n_clips, n_samples, sr, seed)

    def compute():
        s = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
        return [librosa.power_to_db(s[b], ref=1.0, amin=1e-10, top_db=80.0) for b in range(len(s))]

    def after():
        import numpy as np

        s = np.stack(compute())
        return {"shape": list(s.shape), "mean": float(s.mean()), "first": s[0, :, 5].tolist()}
    return compute, after


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=64, help="clips per batch (default %(default)s)")
    ap.add_argument("--seconds", type=float, default=1.0, help="length of each clip (default %(default)s)")
    ap.add_argument("--settings", default="16000/512/160/64,8000/256/80/40",
                    help="comma list of sr/n_fft/hop/n_mels (default %(default)s)")
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats per process (default %(default)s)")
    ap.add_argument("--no-librosa", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    harness.add_arguments(ap, rounds=3)
    args = ap.parse_args(argv)
    with_librosa = harness.available("librosa") and not args.no_librosa
    header_done = False
    for setting in args.settings.split(","):
        sr, n_fft, hop, n_mels = (int(v) for v in setting.split("/"))
        data = dict(n_clips=args.clips, n_samples=int(args.seconds * sr), sr=sr, n_fft=n_fft, hop=hop,
                    n_mels=n_mels, seed=args.seed)
        sides = [harness.Side("minembed log_mel_spectrogram (Numba)", "side_minembed", data),
                 harness.Side("  same, MINEMBED_JIT=0 (NumPy reference)", "side_minembed", data,
                              env={"MINEMBED_JIT": "0"})]
        if with_librosa:
            sides.append(harness.Side("librosa melspectrogram + power_to_db", "side_librosa", data))
        res = harness.measure(__file__, sides, args, repeats=args.repeats)
        if not header_done:
            harness.print_header(f"log-mel spectrograms of a batch of {args.clips} clips x {args.seconds} s"
                                 + ("" if with_librosa else " (librosa not importable: no peer)"), res, args)
            header_done = True
        print(f"sr={sr} n_fft={n_fft} hop={hop} n_mels={n_mels}: ms per batch, clips/s")
        harness.print_table(res, rate=("clips/s", args.clips))
        outs = [r.after[0] for r in res.values()]
        import numpy as np

        agree = all(o["shape"] == outs[0]["shape"] and np.allclose(o["first"], outs[0]["first"], atol=1e-2)
                    for o in outs)
        print(f"results agree across sides (shape, one frame to 0.01 dB): {'yes' if agree else 'NO'}; "
              f"means {[round(o['mean'], 4) for o in outs]}")
        if with_librosa:
            labels = list(res)
            r, lo, hi = harness.speed_ratio(res, labels[0], labels[-1])
            print(f"minembed throughput / librosa's: {r:.2f}x (per round {lo:.2f}-{hi:.2f})")
        print()


if __name__ == "__main__":
    main()
