"""The ``minembed`` command line. Each sub-command is a small function; errors are one line
on stderr and a non-zero exit code, never a traceback for a user's mistake."""
from __future__ import annotations

import argparse
import sys

# Mistakes a user can make (a missing file, a bad word, a bad setting): reported in one line.
USER_ERRORS = (ValueError, KeyError, IndexError, TypeError, FileNotFoundError, IsADirectoryError,
               PermissionError)


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(out_dir=args.out, quick=args.quick)
    return 0


def _load_vectors(path):
    """A vectors file by extension: ``.npz`` (WordVectors.save), ``.bin`` (binary word2vec), else text."""
    from pathlib import Path

    from .text import WordVectors

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no vectors file at {str(path)!r}")
    if path.suffix == ".npz":
        return WordVectors.load(path)
    return WordVectors.load_word2vec_format(path, binary=path.suffix == ".bin")


def _word2vec_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .text import Word2Vec

    model = Word2Vec(vector_size=args.dim, window=args.window, min_count=args.min_count, sample=args.sample,
                     sg=args.sg, hs=int(args.hs), negative=args.negative, epochs=args.epochs, workers=args.workers,
                     seed=args.seed, alpha=args.alpha, progress=not args.quiet)
    model.build_vocab(corpus_file=args.corpus)  # a path or bundled name; its ids are streamed from a temp file
    model.train()
    out = Path(args.output)
    if out.suffix == ".npz":
        model.wv.save(out)
    else:
        model.wv.save_word2vec_format(out, binary=out.suffix == ".bin")
    losses = ", ".join(f"{x:.4f}" for x in model.loss_history)
    print(f"{len(model.wv)} words x {model.vector_size} dims, {model.train_words_per_second:,.0f} words/s, "
          f"loss per epoch: {losses}; saved to {out}")
    return 0


def _neighbors(args: argparse.Namespace) -> int:
    wv = _load_vectors(args.vectors)
    for word, score in wv.most_similar(args.word, topn=args.k):
        print(f"{score:.4f}  {word}")
    return 0


def _analogy(args: argparse.Namespace) -> int:
    wv = _load_vectors(args.vectors)
    for word, score in wv.most_similar(positive=[args.b, args.c], negative=[args.a], topn=args.k):
        print(f"{score:.4f}  {word}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if not args.analogies and not args.pairs:
        raise ValueError("give --analogies FILE and/or --pairs FILE")
    wv = _load_vectors(args.vectors)
    if args.analogies:
        acc, sections = wv.evaluate_word_analogies(args.analogies, restrict_vocab=args.restrict_vocab)
        for s in sections:
            n = len(s["correct"]) + len(s["incorrect"])
            if n:
                print(f"{s['section']:30s} {len(s['correct']) / n:7.1%}  ({len(s['correct'])}/{n})")
    if args.pairs:
        (r, _), (rho, _), oov = wv.evaluate_word_pairs(args.pairs, restrict_vocab=args.restrict_vocab)
        print(f"word pairs: Pearson {r:.4f}  Spearman {rho:.4f}  OOV {oov:.1f}%")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minembed", description="Embeddings from scratch: library and course.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train small real models on the bundled data and save plots")
    demo.add_argument("--out", default="minembed-demo", help="folder for the plots (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="shorter training (used by the tests)")
    demo.set_defaults(func=_demo)
    w2v = sub.add_parser("word2vec", help="train word vectors (skip-gram or CBOW)")
    w2v_sub = w2v.add_subparsers(dest="w2v_command", metavar="ACTION", required=True)
    tr = w2v_sub.add_parser("train", help="train on a corpus and save the vectors",
                            description="Train word2vec on CORPUS (a text file, one whitespace-tokenized sentence "
                                        "per line, .gz allowed, or a bundled name such as 'sample') and save the "
                                        "vectors: .bin = binary word2vec format, .npz = minembed, else text.")
    tr.add_argument("corpus", metavar="CORPUS")
    tr.add_argument("-o", "--output", required=True, metavar="VECTORS", help="where to save the vectors")
    mode = tr.add_mutually_exclusive_group()
    mode.add_argument("--sg", dest="sg", action="store_const", const=1, default=1, help="skip-gram (default)")
    mode.add_argument("--cbow", dest="sg", action="store_const", const=0, help="CBOW")
    tr.add_argument("--hs", action="store_true", help="hierarchical softmax (use --negative 0 for HS only)")
    tr.add_argument("--dim", type=int, default=100, help="vector size (default: %(default)s)")
    tr.add_argument("--window", type=int, default=5, help="max context distance (default: %(default)s)")
    tr.add_argument("--negative", type=int, default=5, help="noise words per example, 0 = off (default: %(default)s)")
    tr.add_argument("--epochs", type=int, default=5, help="passes over the corpus (default: %(default)s)")
    tr.add_argument("--min-count", type=int, default=5, help="ignore rarer words (default: %(default)s)")
    tr.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (default: %(default)s)")
    tr.add_argument("--alpha", type=float, default=0.025, help="initial learning rate (default: %(default)s)")
    tr.add_argument("--workers", type=int, default=1, help="threads; 1 is reproducible (default: %(default)s)")
    tr.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=_word2vec_train)

    nb = sub.add_parser("neighbors", help="nearest neighbours of a word")
    nb.add_argument("vectors", metavar="VECTORS", help="a .bin, .npz or text vectors file")
    nb.add_argument("word", metavar="WORD")
    nb.add_argument("-k", type=int, default=10, help="how many (default: %(default)s)")
    nb.set_defaults(func=_neighbors)

    an = sub.add_parser("analogy", help="A is to B as C is to ? (B - A + C)")
    an.add_argument("vectors", metavar="VECTORS")
    an.add_argument("a", metavar="A")
    an.add_argument("b", metavar="B")
    an.add_argument("c", metavar="C")
    an.add_argument("-k", type=int, default=5, help="how many answers (default: %(default)s)")
    an.set_defaults(func=_analogy)

    ev = sub.add_parser("evaluate", help="analogy accuracy and word-pair correlations")
    ev.add_argument("vectors", metavar="VECTORS")
    ev.add_argument("--analogies", metavar="F", help="questions-words.txt format")
    ev.add_argument("--pairs", metavar="F", help="word<TAB>word<TAB>score lines (e.g. wordsim353.tsv)")
    ev.add_argument("--restrict-vocab", type=int, default=300000, help="candidate words (default: %(default)s)")
    ev.set_defaults(func=_evaluate)
    # Later capabilities register their sub-commands here (word2vec, neighbors, ...).
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except USER_ERRORS as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"minembed {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
