"""``minembed bert train / embed``: pretrain a tiny BERT on a text file, then embed sentences with it.

``train`` reads CORPUS (one text per line), holds out a share of the lines, trains a BPE tokenizer and a
:class:`minembed.text.TinyBERT` by masked-language modelling, prints the held-out masked-token accuracy
next to the most-frequent-token baseline, and saves model + tokenizer in one ``.npz``. ``embed`` turns
texts (arguments, or one per line of ``--file``) into pooled sentence vectors saved as a ``.npy`` array.
"""
from __future__ import annotations

import argparse
from itertools import islice
from pathlib import Path


def _train(args: argparse.Namespace) -> int:
    from .cli import _check_output
    from .text.mlm import train_tiny_bert

    out = Path(args.output)
    _check_output(out)
    corpus = Path(args.corpus)
    if not corpus.is_file():
        raise FileNotFoundError(f"no corpus file at {str(corpus)!r}")
    with open(corpus, encoding="utf-8") as fh:
        lines = list(islice(fh, args.lines)) if args.lines else fh.readlines()
    model, rep = train_tiny_bert(lines, vocab_size=args.vocab_size, max_len=args.max_len, dim=args.dim,
                                 depth=args.depth, num_heads=args.heads, mlp_hidden=args.mlp, epochs=args.epochs,
                                 batch_size=args.batch_size, lr=args.lr, held_out=args.held_out, seed=args.seed,
                                 progress=not args.quiet)
    model.save(out)
    print(f"{rep['train_lines']} training lines -> {rep['train_sequences']} sequences of {args.max_len} tokens; "
          f"held-out masked-token accuracy {rep['accuracy']:.2%} (most frequent token: {rep['baseline']:.2%}, "
          f"{rep['n_masked']} masked tokens); {rep['seconds']:.0f} s; saved to {out}")
    return 0


def _embed(args: argparse.Namespace) -> int:
    import numpy as np

    from .cli import _check_output
    from .io import atomic_write
    from .text import TinyBERT

    out = Path(args.output)
    _check_output(out)
    if bool(args.texts) == bool(args.file):
        raise ValueError("give the texts to embed, or --file PATH (one of them)")
    texts = args.texts or [s.rstrip("\n") for s in Path(args.file).read_text(encoding="utf-8").splitlines()]
    model = TinyBERT.from_file(args.model)
    vectors = model.embed(texts, pooling=args.pooling, truncate=args.truncate)
    with atomic_write(out, "wb") as fh:
        np.save(fh, vectors)
    print(f"{len(texts)} texts x {vectors.shape[1]} dims ({args.pooling} pooling); saved to {out}")
    return 0


def add_parser(sub, positive_int, non_negative_int) -> None:
    """The ``bert`` sub-command and its two actions."""
    from .text.mlm import TINY

    bt = sub.add_parser("bert", help="pretrain a tiny BERT (masked LM) on a text file; embed sentences with it")
    bt_sub = bt.add_subparsers(dest="bert_command", metavar="ACTION", required=True)
    tr = bt_sub.add_parser("train", help="tokenizer + masked-LM pretraining; reports held-out accuracy",
                           description="Train a BPE tokenizer and a tiny BERT on CORPUS (one text per line).")
    tr.add_argument("corpus", metavar="CORPUS", help="a UTF-8 text file, one text per line")
    tr.add_argument("-o", "--output", required=True, metavar="MODEL", help="where to save model + tokenizer (.npz)")
    tr.add_argument("--lines", type=non_negative_int, default=0, help="read only the first N lines (0: all)")
    tr.add_argument("--vocab-size", type=positive_int, default=TINY["vocab_size"], help="(default: %(default)s)")
    tr.add_argument("--max-len", type=positive_int, default=TINY["max_len"], help="positions (default: %(default)s)")
    tr.add_argument("--dim", type=positive_int, default=TINY["dim"], help="(default: %(default)s)")
    tr.add_argument("--depth", type=positive_int, default=TINY["depth"], help="blocks (default: %(default)s)")
    tr.add_argument("--heads", type=positive_int, default=TINY["num_heads"], help="(default: %(default)s)")
    tr.add_argument("--mlp", type=positive_int, default=TINY["mlp_hidden"], help="MLP width (default: %(default)s)")
    tr.add_argument("--epochs", type=positive_int, default=1, help="(default: %(default)s)")
    tr.add_argument("--batch-size", type=positive_int, default=64, help="(default: %(default)s)")
    tr.add_argument("--lr", type=float, default=1e-3, help="peak Adam lr, cosine decay (default: %(default)s)")
    tr.add_argument("--held-out", type=float, default=0.02, help="share of lines held out (default: %(default)s)")
    tr.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=_train)
    em = bt_sub.add_parser("embed", help="sentence vectors from a trained model, saved as .npy (N, D)")
    em.add_argument("model", metavar="MODEL", help="a file saved by 'minembed bert train'")
    em.add_argument("texts", metavar="TEXT", nargs="*", help="texts to embed (or --file)")
    em.add_argument("--file", metavar="PATH", help="embed each line of this UTF-8 file instead")
    em.add_argument("-o", "--output", required=True, metavar="VECTORS", help="where to save the (N, D) array (.npy)")
    em.add_argument("--pooling", choices=("mean", "cls", "max"), default="mean", help="(default: %(default)s)")
    em.add_argument("--truncate", action="store_true", help="cut texts longer than the model's positions")
    em.set_defaults(func=_embed)
