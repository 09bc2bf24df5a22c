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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minembed", description="Embeddings from scratch: library and course.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train small real models on the bundled data and save plots")
    demo.add_argument("--out", default="minembed-demo", help="folder for the plots (default: %(default)s)")
    demo.add_argument("--quick", action="store_true", help="shorter training (used by the tests)")
    demo.set_defaults(func=_demo)
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
