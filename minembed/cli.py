"""The ``minembed`` command line. Each sub-command is a small function; errors are one line
on stderr and a non-zero exit code, never a traceback for a user's mistake."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from . import __version__

# Mistakes a user can make (a missing file, a bad word, a bad setting): reported in one line.
USER_ERRORS = (ValueError, KeyError, IndexError, TypeError, FileNotFoundError, IsADirectoryError,
               NotADirectoryError, PermissionError)


def _int_at_least(low: int):
    """An argparse type: an integer >= ``low``, else the one message every count option gives."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value

    parse.__name__ = "positive_int" if low == 1 else "non_negative_int"  # argparse names the type in errors
    parse.__doc__ = f"An argparse type: ``text`` as an int >= {low}; otherwise ArgumentTypeError (one message)."
    return parse


positive_int = _int_at_least(1)      # a count of things: -k, --dim, --epochs, ...
non_negative_int = _int_at_least(0)  # where 0 means "off" or "no threshold": --negative, --min-count, --seed


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(out_dir=args.out, quick=args.quick)
    return 0


def _load_vectors(args: argparse.Namespace):
    """The vectors file ``args.vectors``: ``.npz`` (WordVectors.save), else word2vec format, binary or
    text and with or without a header as its content says, unless ``--binary`` / ``--text`` /
    ``--no-header`` says otherwise."""
    from .space.subwords import FastTextKeyedVectors, is_fasttext_file
    from .text import WordVectors

    path = Path(args.vectors)
    if not path.exists():
        raise FileNotFoundError(f"no vectors file at {str(path)!r}")
    if path.suffix == ".npz":
        if args.binary is not None or args.no_header:
            raise ValueError(f"{path} is a minembed .npz file: --binary, --text and --no-header are for "
                             "word2vec-format files")
        if is_fasttext_file(path):  # `minembed fasttext train -o x.npz`: keeps the n-grams, answers unseen words
            return FastTextKeyedVectors.load(path)
        return WordVectors.load(path)
    return WordVectors.load_word2vec_format(path, binary=args.binary, no_header=True if args.no_header else None)


def _check_output(path: Path) -> None:
    """Fail before training, not after: ``path`` must be a file name in an existing, writable folder."""
    folder = path.parent  # Path("v.bin").parent is Path(".")
    if path.is_dir():
        raise IsADirectoryError(f"output {str(path)!r} is a folder; give a file name such as "
                                f"{str(path / 'vectors.bin')!r}")
    if not folder.exists():
        raise FileNotFoundError(f"the output folder {str(folder)!r} does not exist (create it first)")
    if not folder.is_dir():
        raise NotADirectoryError(f"the output folder {str(folder)!r} is a file, not a folder")
    try:  # the honest test of "writable" (permissions, read-only disks): write a file there
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise PermissionError(f"cannot write to the output folder {str(folder)!r}: {err.strerror}") from None


def save_vectors(wv, out: Path) -> None:
    """Save keyed vectors as their file name says: ``.npz`` (minembed's own), ``.bin`` (word2vec binary), else text."""
    if out.suffix == ".npz":
        wv.save(out)
    else:
        wv.save_word2vec_format(out, binary=out.suffix == ".bin")


def _word2vec_train(args: argparse.Namespace) -> int:
    from .datasets import load_corpus
    from .text import Word2Vec, tokenize

    out = Path(args.output)
    _check_output(out)
    corpus = load_corpus(args.corpus, tokenizer=tokenize if args.tokenize else None, lowercase=args.lowercase)
    model = Word2Vec(vector_size=args.dim, window=args.window, min_count=args.min_count, sample=args.sample,
                     sg=args.sg, hs=int(args.hs), negative=args.negative, epochs=args.epochs, workers=args.workers,
                     seed=args.seed, alpha=args.alpha, progress=not args.quiet)
    model.build_vocab(corpus_file=corpus)  # a file: its ids are streamed from a temporary file
    model.train()
    save_vectors(model.wv, out)
    losses = ", ".join(f"{x:.4f}" for x in model.loss_history)
    print(f"{len(model.wv)} words x {model.vector_size} dims, {model.train_words_per_second:,.0f} words/s, "
          f"loss per epoch: {losses}; saved to {out}")
    return 0


def _glove_train(args: argparse.Namespace) -> int:
    from .datasets import load_corpus
    from .text import GloVe, tokenize

    out = Path(args.output)
    _check_output(out)
    if args.counts:
        _check_output(Path(args.counts))
    corpus = load_corpus(args.corpus, tokenizer=tokenize if args.tokenize else None, lowercase=args.lowercase)
    model = GloVe(vector_size=args.dim, window=args.window, min_count=args.min_count, x_max=args.x_max,
                  alpha=args.alpha, learning_rate=args.learning_rate, epochs=args.epochs, workers=args.workers,
                  seed=args.seed, use_context_vectors=not args.word_only, memory=args.memory, progress=not args.quiet)
    model.build_vocab(corpus_file=corpus)  # a file: its ids are streamed from a temporary file while counting
    if args.counts:
        model.cooccurrence.save(args.counts)
    model.train()
    save_vectors(model.wv, out)
    costs = ", ".join(f"{x:.4f}" for x in model.loss_history)
    print(f"{len(model.wv)} words x {model.vector_size} dims, {len(model.cooccurrence):,} co-occurring pairs "
          f"(counted in {model.count_seconds:.1f} s), cost per iteration: {costs}; saved to {out}")
    return 0


def _fasttext_train(args: argparse.Namespace) -> int:
    from .datasets import load_corpus
    from .text import FastText, tokenize

    out = Path(args.output)
    if out.suffix == ".bin":
        raise ValueError(f"{out}: minembed does not write Facebook's .bin models; use .npz (minembed, keeps the "
                         "n-grams: neighbors/analogy/evaluate then answer unseen words) or .vec (text, vocabulary "
                         "only)")
    _check_output(out)
    corpus = load_corpus(args.corpus, tokenizer=tokenize if args.tokenize else None, lowercase=args.lowercase)
    model = FastText(vector_size=args.dim, window=args.window, min_count=args.min_count, sample=args.sample,
                     sg=args.sg, hs=int(args.hs), negative=args.negative, epochs=args.epochs, workers=args.workers,
                     seed=args.seed, alpha=args.alpha, min_n=args.min_n, max_n=args.max_n, bucket=args.bucket,
                     progress=not args.quiet)
    model.build_vocab(corpus_file=corpus)
    model.train()
    if out.suffix == ".npz":
        model.wv.save(out)
    else:
        model.wv.save_word2vec_format(out, binary=False)
    losses = ", ".join(f"{x:.4f}" for x in model.loss_history)
    print(f"{len(model.wv)} words x {model.vector_size} dims + {model.syn0.shape[0] - len(model.wv):,} n-gram "
          f"buckets, {model.train_words_per_second:,.0f} words/s, loss per epoch: {losses}; saved to {out}")
    return 0


def _tokenizer_train(args: argparse.Namespace) -> int:
    from .text import BPETokenizer

    out = Path(args.output)
    _check_output(out)
    corpus = Path(args.corpus)
    if not corpus.is_file():
        raise FileNotFoundError(f"no corpus file at {str(corpus)!r}")
    tok = BPETokenizer.train(corpus, args.vocab_size, special_tokens=args.special)
    tok.save(out)
    specials = ", ".join(f"{s}={i}" for s, i in tok.special_tokens.items()) or "none"
    short = (f"; asked for {args.vocab_size}: the corpus has no pair left to merge"
             if tok.vocab_size < args.vocab_size else "")
    print(f"{tok.vocab_size} tokens (256 bytes + {len(tok.merges)} merges, special: {specials}){short}; saved to {out}")
    return 0


def _tokenizer_encode(args: argparse.Namespace) -> int:
    from .text import BPETokenizer

    tok = BPETokenizer.load(args.tokenizer)
    if (args.text is None) == (args.file is None):
        raise ValueError("give the text to encode, or --file PATH (one of them)")
    text = args.text if args.text is not None else Path(args.file).read_text(encoding="utf-8")
    ids = tok.encode(text, special=not args.no_special)
    if args.tokens:
        # one token per field: a space inside a token shown as U+2423, control characters escaped
        print(" ".join(repr(tok.id_to_token(i))[1:-1].replace(" ", "\u2423") for i in ids.tolist()))
    else:
        print(" ".join(map(str, ids.tolist())))
    return 0


def _neighbors(args: argparse.Namespace) -> int:
    wv = _load_vectors(args)
    for word, score in wv.most_similar(args.word, topn=args.k):
        print(f"{score:.4f}  {word}")
    return 0


def _analogy(args: argparse.Namespace) -> int:
    wv = _load_vectors(args)
    for word, score in wv.most_similar(positive=[args.b, args.c], negative=[args.a], topn=args.k):
        print(f"{score:.4f}  {word}")
    return 0


def _count_records(path, comment: str) -> int:
    """Non-empty lines of ``path`` not starting with ``comment``: the questions or pairs in the file."""
    with open(path, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip() and not line.strip().startswith(comment))


def _scored(what: str, n: int, total: int, noun: str) -> str:
    """'analogies: 8,123 of 19,544 questions scored (41.6%)': how much of the file the figures cover."""
    share = f" ({n / total:.1%})" if total else ""
    return f"{what}: {n:,} of {total:,} {noun} scored{share}; the others have a word outside the vocabulary"


def _evaluate(args: argparse.Namespace) -> int:
    if not args.analogies and not args.pairs:
        raise ValueError("give --analogies FILE and/or --pairs FILE")
    wv = _load_vectors(args)
    if args.analogies:
        acc, sections = wv.evaluate_word_analogies(args.analogies, restrict_vocab=args.restrict_vocab)
        for s in sections:
            n = len(s["correct"]) + len(s["incorrect"])
            if n:
                print(f"{s['section']:30s} {len(s['correct']) / n:7.1%}  ({len(s['correct'])}/{n})")
        scored = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])  # the "Total accuracy" entry
        print(_scored("analogies", scored, _count_records(args.analogies, ":"), "questions"))
    if args.pairs:
        (r, _), (rho, _), oov = wv.evaluate_word_pairs(args.pairs, restrict_vocab=args.restrict_vocab)
        print(f"word pairs: Pearson {r:.4f}  Spearman {rho:.4f}  OOV {oov:.1f}%")
        total = _count_records(args.pairs, "#")  # oov is 100 * (pairs skipped) / total
        print(_scored("word pairs", total - round(total * oov / 100), total, "pairs"))
    return 0


def _index_build(args: argparse.Namespace) -> int:
    import time

    from .space import HNSWIndex, IVFIndex

    out = Path(args.output)
    _check_output(out)
    wv = _load_vectors(args)
    started = time.perf_counter()
    if args.kind == "hnsw":
        index = HNSWIndex(wv.vectors, metric=args.metric, M=args.M, ef_construction=args.ef_construction,
                          ef=args.ef, seed=args.seed)
    else:
        index = IVFIndex(wv.vectors, nlist=args.nlist, metric=args.metric, nprobe=args.nprobe, seed=args.seed)
    seconds = time.perf_counter() - started
    index.save(out)
    print(f"{index!r} built from {args.vectors} in {seconds:.1f} s; saved to {out}")
    return 0


def _index_search(args: argparse.Namespace) -> int:
    from .space import load_index

    index = load_index(args.index)
    wv = _load_vectors(args)
    if len(wv) != len(index) or wv.vectors.shape[1] != index.dim:
        raise ValueError(f"{args.vectors} holds {len(wv)} vectors of dimension {wv.vectors.shape[1]}, the index "
                         f"{args.index} {len(index)} of dimension {index.dim}: give the file the index was built from")
    rows = [wv.get_index(word) for word in args.words]  # KeyError names a word missing from the file
    knob = {"ef": args.ef} if hasattr(index, "ef_construction") else {"nprobe": args.nprobe}
    knob = {name: value for name, value in knob.items() if value is not None}
    k = min(args.k + 1, len(index))  # one more: the query word itself is usually its own first hit
    ids, scores = index.search(wv.vectors[rows], k, **knob)
    for word, row, found, score in zip(args.words, rows, ids, scores, strict=True):
        print(f"{word}:")
        shown = [(i, s) for i, s in zip(found, score, strict=True) if i >= 0 and i != row][:args.k]
        for i, s in shown:
            print(f"  {s:.4f}  {wv.index_to_key[i]}")
    return 0


def _vector_file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("vectors", metavar="VECTORS",
                   help="a vectors file: .npz (minembed), else word2vec or GloVe format, binary or text, "
                        "with or without a header: detected from the content")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--binary", dest="binary", action="store_const", const=True, default=None,
                      help="read VECTORS as binary word2vec format (default: detected from the content)")
    kind.add_argument("--text", dest="binary", action="store_const", const=False,
                      help="read VECTORS as text word2vec format (default: detected from the content)")
    p.add_argument("--no-header", action="store_true",
                   help="the file has no 'count dim' first line, as GloVe's text files (default: detected: "
                        "a first line of exactly two integers is a header)")


def _training_options(tr: argparse.ArgumentParser) -> None:
    """The options `word2vec train` and `fasttext train` share."""
    tr.add_argument("corpus", metavar="CORPUS",
                    help="a text file, one sentence per line, tokens separated by whitespace (.gz allowed; lines "
                         "of more than 10,000 tokens are cut, as gensim does), or a bundled name such as 'sample'")
    tr.add_argument("-o", "--output", required=True, metavar="VECTORS", help="where to save the vectors")
    mode = tr.add_mutually_exclusive_group()
    mode.add_argument("--sg", dest="sg", action="store_const", const=1, default=1, help="skip-gram (default)")
    mode.add_argument("--cbow", dest="sg", action="store_const", const=0, help="CBOW")
    tr.add_argument("--lowercase", action="store_true", help="lowercase every token ('King' and 'king' become one)")
    tr.add_argument("--tokenize", action="store_true",
                    help="split lines with minembed.text.tokenize (lowercases, drops punctuation and accents) "
                         "instead of at whitespace")
    tr.add_argument("--hs", action="store_true", help="hierarchical softmax (use --negative 0 for HS only)")
    tr.add_argument("--dim", type=positive_int, default=100, help="vector size (default: %(default)s)")
    tr.add_argument("--window", type=positive_int, default=5, help="max context distance (default: %(default)s)")
    tr.add_argument("--negative", type=non_negative_int, default=5,
                    help="noise words per example, 0 = off (default: %(default)s)")
    tr.add_argument("--epochs", type=positive_int, default=5, help="passes over the corpus (default: %(default)s)")
    tr.add_argument("--min-count", type=non_negative_int, default=5,
                    help="ignore rarer words (default: %(default)s)")
    tr.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (default: %(default)s)")
    tr.add_argument("--alpha", type=float, default=0.025, help="initial learning rate (default: %(default)s)")
    tr.add_argument("--workers", type=positive_int, default=1,
                    help="threads; 1 is reproducible (default: %(default)s)")
    tr.add_argument("--seed", type=non_negative_int, default=1, help="random seed (default: %(default)s)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The ``minembed`` argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="minembed", description="Embeddings from scratch: library and course.")
    parser.add_argument("--version", action="version", version=f"minembed {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train small real models on the bundled data and save plots")
    demo.add_argument("--out", default="minembed-demo", help="folder for the plots (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="shorter training (used by the tests)")
    demo.set_defaults(func=_demo)
    w2v = sub.add_parser("word2vec", help="train word vectors (skip-gram or CBOW)")
    w2v_sub = w2v.add_subparsers(dest="w2v_command", metavar="ACTION", required=True)
    tr = w2v_sub.add_parser("train", help="train on a corpus and save the vectors",
                            description="Train word2vec on CORPUS and save the vectors: .bin = binary word2vec "
                                        "format, .npz = minembed, else text.")
    _training_options(tr)
    tr.set_defaults(func=_word2vec_train)

    gl = sub.add_parser("glove", help="train GloVe word vectors from co-occurrence counts")
    gl_sub = gl.add_subparsers(dest="glove_command", metavar="ACTION", required=True)
    gt = gl_sub.add_parser("train", help="count co-occurrences in a corpus, train, save the vectors",
                           description="Train GloVe on CORPUS and save the vectors (W + C unless --word-only): "
                                       ".bin = binary word2vec format, .npz = minembed, else text.")
    gt.add_argument("corpus", metavar="CORPUS",
                    help="a text file, one sentence per line (windows stop at line ends), tokens separated by "
                         "whitespace (.gz allowed), or a bundled name such as 'sample'")
    gt.add_argument("-o", "--output", required=True, metavar="VECTORS", help="where to save the vectors")
    gt.add_argument("--counts", metavar="FILE.npz", help="also save the co-occurrence counts here")
    gt.add_argument("--lowercase", action="store_true", help="lowercase every token ('King' and 'king' become one)")
    gt.add_argument("--tokenize", action="store_true",
                    help="split lines with minembed.text.tokenize (lowercases, drops punctuation and accents) "
                         "instead of at whitespace")
    gt.add_argument("--dim", type=positive_int, default=100, help="vector size (default: %(default)s)")
    gt.add_argument("--window", type=positive_int, default=15, help="max context distance (default: %(default)s)")
    gt.add_argument("--epochs", type=positive_int, default=25, help="passes over the pairs (default: %(default)s)")
    gt.add_argument("--min-count", type=non_negative_int, default=5, help="ignore rarer words (default: %(default)s)")
    gt.add_argument("--x-max", type=float, default=100.0,
                    help="counts above this get full weight; 10 suits corpora of a few million words "
                         "(default: %(default)s)")
    gt.add_argument("--alpha", type=float, default=0.75, help="exponent of the weighting (default: %(default)s)")
    gt.add_argument("--learning-rate", type=float, default=0.05, help="AdaGrad's initial step (default: %(default)s)")
    gt.add_argument("--word-only", action="store_true", help="save W only, not W + C")
    gt.add_argument("--memory", type=float, default=1.0, help="GiB for counting (soft limit; default: %(default)s)")
    gt.add_argument("--workers", type=positive_int, default=1,
                    help="threads; 1 is reproducible (default: %(default)s)")
    gt.add_argument("--seed", type=non_negative_int, default=1, help="random seed (default: %(default)s)")
    gt.add_argument("--quiet", action="store_true", help="no progress bar")
    gt.set_defaults(func=_glove_train)

    ft = sub.add_parser("fasttext", help="train word vectors from words and their character n-grams")
    ft_sub = ft.add_subparsers(dest="ft_command", metavar="ACTION", required=True)
    tf = ft_sub.add_parser("train", help="train on a corpus and save the vectors",
                           description="Train fastText (word2vec over character n-grams) on CORPUS and save: "
                                       ".npz = minembed with the n-grams (neighbors/analogy/evaluate then answer "
                                       "words outside the vocabulary), else the .vec text format (vocabulary only).")
    _training_options(tf)
    tf.add_argument("--min-n", type=positive_int, default=3, help="shortest n-gram, '<' '>' included "
                                                                   "(default: %(default)s)")
    tf.add_argument("--max-n", type=non_negative_int, default=6, help="longest n-gram; 0 = no n-grams "
                                                                       "(default: %(default)s)")
    tf.add_argument("--bucket", type=positive_int, default=2_000_000,
                    help="rows shared by the n-grams; memory = bucket x dim x 4 bytes (default: %(default)s)")
    tf.set_defaults(func=_fasttext_train)

    tk = sub.add_parser("tokenizer", help="train a byte-level BPE tokenizer, encode text with one")
    tk_sub = tk.add_subparsers(dest="tk_command", metavar="ACTION", required=True)
    tt = tk_sub.add_parser("train", help="learn BPE merges from a text file and save them (JSON)",
                           description="Learn a byte-level BPE vocabulary (GPT-2's pre-tokenization) from CORPUS.")
    tt.add_argument("corpus", metavar="CORPUS", help="a UTF-8 text file, read whole")
    tt.add_argument("-o", "--output", required=True, metavar="TOKENIZER", help="where to save it (.json)")
    tt.add_argument("--vocab-size", type=_int_at_least(256), default=8000,
                    help="256 bytes + merges + special tokens (default: %(default)s)")
    tt.add_argument("--special", nargs="*", default=[], metavar="TOKEN",
                    help="special tokens kept whole, e.g. [PAD] [CLS] [SEP] [MASK]; ids after the merges")
    tt.set_defaults(func=_tokenizer_train)
    te = tk_sub.add_parser("encode", help="print the ids (or tokens) of a text")
    te.add_argument("tokenizer", metavar="TOKENIZER", help="a file saved by 'minembed tokenizer train'")
    te.add_argument("text", metavar="TEXT", nargs="?", help="the text to encode (or --file)")
    te.add_argument("--file", metavar="PATH", help="encode this UTF-8 file instead of TEXT")
    te.add_argument("--tokens", action="store_true", help="print the tokens (a space shown as \u2423) instead of ids")
    te.add_argument("--no-special", action="store_true", help="treat special-token strings as ordinary text")
    te.set_defaults(func=_tokenizer_encode)

    nb = sub.add_parser("neighbors", help="nearest neighbours of a word")
    _vector_file_options(nb)
    nb.add_argument("word", metavar="WORD", help="the word whose neighbours to list")
    nb.add_argument("-k", type=positive_int, default=10, help="how many (default: %(default)s)")
    nb.set_defaults(func=_neighbors)

    an = sub.add_parser("analogy", help="A is to B as C is to ? (B - A + C)")
    _vector_file_options(an)
    an.add_argument("a", metavar="A", help="e.g. man")
    an.add_argument("b", metavar="B", help="e.g. king")
    an.add_argument("c", metavar="C", help="e.g. woman (the answer should be queen)")
    an.add_argument("-k", type=positive_int, default=5, help="how many answers (default: %(default)s)")
    an.set_defaults(func=_analogy)

    ev = sub.add_parser("evaluate", help="analogy accuracy and word-pair correlations")
    _vector_file_options(ev)
    ev.add_argument("--analogies", metavar="F", help="questions-words.txt format")
    ev.add_argument("--pairs", metavar="F", help="word<TAB>word<TAB>score lines (e.g. wordsim353.tsv)")
    ev.add_argument("--restrict-vocab", type=positive_int, default=300000,
                    help="candidate words (default: %(default)s)")
    ev.set_defaults(func=_evaluate)

    from .cli_recsys import add_parser as add_recsys_parser

    add_recsys_parser(sub, positive_int, non_negative_int)

    ix = sub.add_parser("index", help="approximate nearest-neighbour indexes (HNSW, IVF) over a vectors file")
    ix_sub = ix.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    bd = ix_sub.add_parser("build", help="build an index over every vector of a file and save it (.npz)",
                           description="Build an HNSW or IVF index over the rows of VECTORS; ids are row numbers.")
    _vector_file_options(bd)
    bd.add_argument("-o", "--output", required=True, metavar="INDEX", help="where to save the index (.npz)")
    bd.add_argument("--kind", choices=("hnsw", "ivf"), default="hnsw", help="index type (default: %(default)s)")
    bd.add_argument("--metric", choices=("cosine", "dot", "euclidean"), default="cosine",
                    help="similarity (default: %(default)s)")
    bd.add_argument("--M", type=positive_int, default=16, help="HNSW: links per node (default: %(default)s)")
    bd.add_argument("--ef-construction", type=positive_int, default=200,
                    help="HNSW: candidates while building (default: %(default)s)")
    bd.add_argument("--ef", type=positive_int, default=64, help="HNSW: default candidates while searching "
                                                                 "(default: %(default)s)")
    bd.add_argument("--nlist", type=positive_int, default=256, help="IVF: k-means cells (default: %(default)s)")
    bd.add_argument("--nprobe", type=positive_int, default=8, help="IVF: default cells scanned per query "
                                                                   "(default: %(default)s)")
    bd.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    bd.set_defaults(func=_index_build)
    se = ix_sub.add_parser("search", help="nearest neighbours of words, from a saved index",
                           description="Search INDEX (built from VECTORS) for the neighbours of each WORD.")
    se.add_argument("index", metavar="INDEX", help="an index saved by 'minembed index build'")
    _vector_file_options(se)
    se.add_argument("words", metavar="WORD", nargs="+", help="the words whose neighbours to list")
    se.add_argument("-k", type=positive_int, default=10, help="how many per word (default: %(default)s)")
    se.add_argument("--ef", type=positive_int, default=None, help="HNSW: candidates (default: the index's)")
    se.add_argument("--nprobe", type=positive_int, default=None, help="IVF: cells scanned (default: the index's)")
    se.set_defaults(func=_index_search)

    from .cli_audio import add_parser as add_audio_parser

    add_audio_parser(sub, positive_int, non_negative_int)
    from .cli_bert import add_parser as add_bert_parser

    add_bert_parser(sub, positive_int, non_negative_int)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit code (0 on success)."""
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
