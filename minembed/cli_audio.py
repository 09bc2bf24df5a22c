"""``minembed audio embed / neighbors``: embeddings of a folder of sound files from the command line.

FOLDER holds .wav/.flac/.ogg/.aiff files (sub-folders included); every file is read as mono (stereo mixed
down) and resampled to ``--sr``. A clip's key is its path below FOLDER without the extension
(``kick/bd_01``). ``--method mfcc`` (default) gives pooled-MFCC vectors standardised over the folder;
``--method cnn`` trains :class:`minembed.audio.AudioCNN` contrastively on the folder first (no labels).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def _keys(root: Path, paths) -> list[str]:
    return [str(Path(p).relative_to(root).with_suffix("")) for p in paths]


def _embed_folder(args: argparse.Namespace):
    """(keys, vectors (N, D) float32) for every sound file under ``args.folder``."""
    from . import audio as A
    from .datasets import load_audio

    root = Path(args.folder)
    if not root.is_dir():
        raise NotADirectoryError(f"{str(root)!r} is not a folder of sound files")
    clips = load_audio(root, sr=args.sr, max_seconds=args.max_seconds)
    if args.method == "mfcc":
        hop = max(1, args.sr // 100)                        # 10 ms frames hop, 32 ms-ish windows
        n_fft = 1 << max(6, int(round(args.sr * 0.032)).bit_length() - 1)
        vectors = A.standardize(A.mfcc_stats(clips.clips, args.sr, n_mfcc=args.n_mfcc, n_fft=n_fft,
                                             hop_length=hop, n_mels=min(40, n_fft // 4)))
    else:
        if len(clips) < 2:
            raise ValueError(f"--method cnn trains on the folder and needs at least 2 sound files; {root} has "
                             f"{len(clips)}")
        model = A.AudioCNN(embed_dim=args.dim, sr=args.sr, n_fft=256 if args.sr <= 8000 else 512,
                           hop_length=max(1, args.sr // 100), seed=args.seed)
        model.fit(clips.clips, epochs=args.epochs, batch_size=min(32, len(clips)), seed=args.seed,
                  progress=not args.quiet)
        vectors = model.embed(clips.clips)
    return _keys(root, clips.paths), vectors


def _embed(args: argparse.Namespace) -> int:
    from .cli import _check_output, save_vectors
    from .space import KeyedVectors

    out = Path(args.output)
    _check_output(out)
    keys, vectors = _embed_folder(args)
    wv = KeyedVectors(keys, vectors)
    save_vectors(wv, out)
    print(f"{len(keys)} sound files x {vectors.shape[1]} dims ({args.method}); saved to {out}")
    return 0


def _neighbors(args: argparse.Namespace) -> int:
    from .space import KeyedVectors

    source = Path(args.source)
    if source.is_dir():
        args.folder = str(source)
        keys, vectors = _embed_folder(args)
        wv = KeyedVectors(keys, vectors)
    elif source.is_file():
        wv = KeyedVectors.load(source) if source.suffix == ".npz" else KeyedVectors.load_word2vec_format(source)
    else:
        raise FileNotFoundError(f"no folder or vectors file at {str(source)!r}")
    clip = str(Path(args.clip).with_suffix("")) if Path(args.clip).suffix.lower() in (
        ".wav", ".flac", ".ogg", ".aiff", ".aif") else args.clip
    if source.is_dir() and Path(clip).is_absolute():
        clip = str(Path(clip).relative_to(source.resolve()))
    if clip not in wv.key_to_index:
        near = [k for k in wv.index_to_key if Path(k).name == Path(clip).name][:3]
        hint = f"; did you mean {', '.join(near)}?" if near else f" (keys look like {wv.index_to_key[0]!r})"
        raise KeyError(f"no sound {clip!r} among the {len(wv)} clips{hint}")
    for key, score in wv.most_similar(clip, topn=min(args.k, len(wv) - 1)):
        print(f"{score:.4f}  {key}")
    return 0


def add_parser(sub, positive_int, non_negative_int) -> None:
    """The ``audio`` sub-command and its two actions."""
    au = sub.add_parser("audio", help="embeddings of sound files: pooled MFCCs or a contrastive CNN")
    au_sub = au.add_subparsers(dest="audio_command", metavar="ACTION", required=True)

    def options(p):
        p.add_argument("--method", choices=("mfcc", "cnn"), default="mfcc",
                       help="mfcc: pooled MFCC statistics; cnn: train AudioCNN on the folder first "
                            "(default: %(default)s)")
        p.add_argument("--sr", type=positive_int, default=16000,
                       help="sample rate every file is resampled to (default: %(default)s)")
        p.add_argument("--max-seconds", type=float, default=None, help="read only the start of long files")
        p.add_argument("--n-mfcc", type=positive_int, default=20, help="MFCCs per frame (default: %(default)s)")
        p.add_argument("--dim", type=positive_int, default=64, help="CNN embedding size (default: %(default)s)")
        p.add_argument("--epochs", type=positive_int, default=10, help="CNN training epochs (default: %(default)s)")
        p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    em = au_sub.add_parser("embed", help="embed every sound file of a folder and save the vectors",
                           description="Embed every sound file under FOLDER and save the vectors: .npz = minembed, "
                                       ".bin = binary word2vec format, else text (keys = paths without extension).")
    em.add_argument("folder", metavar="FOLDER", help="a folder of .wav/.flac/.ogg/.aiff files (sub-folders too)")
    em.add_argument("-o", "--output", required=True, metavar="VECTORS", help="where to save the vectors")
    options(em)
    em.set_defaults(func=_embed)

    nb = au_sub.add_parser("neighbors", help="the sound files closest to one of them")
    nb.add_argument("source", metavar="SOURCE",
                    help="a folder of sound files (embedded now) or a vectors file saved by 'audio embed'")
    nb.add_argument("clip", metavar="CLIP", help="the sound whose neighbours to list: its path below the folder, "
                                                 "with or without the extension (e.g. kick/bd_01.wav)")
    nb.add_argument("-k", type=positive_int, default=5, help="how many (default: %(default)s)")
    options(nb)
    nb.set_defaults(func=_neighbors)
