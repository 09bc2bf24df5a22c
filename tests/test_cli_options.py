"""The command line's surface: --version, help for every argument, one rule for counts."""
import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import minembed
from minembed import cli

REPO = Path(__file__).resolve().parent.parent


def _all_parsers(parser, name="minembed"):
    """(command name, parser) for the parser and every sub-command under it."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _all_parsers(sub, f"{name} {sub_name}")


def test_version_is_printed_and_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"minembed {minembed.__version__}\n"
    # One source of truth: pyproject.toml reads the version from minembed/__init__.py.
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and 'version = {attr = "minembed.__version__"}' in pyproject
    proc = subprocess.run([sys.executable, "-m", "minembed", "--version"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"minembed {minembed.__version__}"


def test_every_positional_argument_is_described_in_help():
    seen = []
    for name, parser in _all_parsers(cli.build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if action.option_strings or isinstance(action, argparse._SubParsersAction):
                continue
            seen.append(f"{name} {action.metavar}")
            assert action.help, f"'{name}': positional {action.metavar} has no help"
            assert " ".join(action.help.split()[:3]) in " ".join(text.split()), f"'{name}': {action.metavar}"
    assert "minembed word2vec train CORPUS" in seen and "minembed analogy C" in seen and len(seen) == 27
    assert "minembed glove train CORPUS" in seen and "minembed fasttext train CORPUS" in seen
    assert {"minembed recsys train RATINGS", "minembed recsys recommend USER", "minembed recsys evaluate RATINGS"} \
        <= set(seen)
    assert "minembed index search WORD" in seen and "minembed index build VECTORS" in seen
    assert {"minembed audio embed FOLDER", "minembed audio neighbors SOURCE",
            "minembed audio neighbors CLIP"} <= set(seen)
    assert "minembed tokenizer encode TEXT" in seen
    assert {"minembed bert train CORPUS", "minembed bert embed MODEL", "minembed bert embed TEXT"} <= set(seen)


@pytest.mark.parametrize("argv", [
    ["neighbors", "v.bin", "king", "-k", "-3"],
    ["neighbors", "v.bin", "king", "-k", "0"],
    ["analogy", "v.bin", "a", "b", "c", "-k", "0"],
    ["evaluate", "v.bin", "--restrict-vocab", "0"],
    ["word2vec", "train", "c.txt", "-o", "v.bin", "--dim", "0"],
    ["word2vec", "train", "c.txt", "-o", "v.bin", "--window", "-1"],
    ["word2vec", "train", "c.txt", "-o", "v.bin", "--epochs", "0"],
    ["word2vec", "train", "c.txt", "-o", "v.bin", "--workers", "0"],
    ["word2vec", "train", "c.txt", "-o", "v.bin", "--negative", "-5"],
    ["word2vec", "train", "c.txt", "-o", "v.bin", "--min-count", "-1"],
    ["word2vec", "train", "c.txt", "-o", "v.bin", "--epochs", "two"],
    ["glove", "train", "c.txt", "-o", "v.bin", "--dim", "0"],
    ["glove", "train", "c.txt", "-o", "v.bin", "--window", "0"],
    ["glove", "train", "c.txt", "-o", "v.bin", "--epochs", "0"],
    ["glove", "train", "c.txt", "-o", "v.bin", "--workers", "0"],
    ["glove", "train", "c.txt", "-o", "v.bin", "--min-count", "-1"],
])
def test_counts_below_their_minimum_are_refused_with_one_message(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    option, value = argv[-2], argv[-1]
    low = 0 if option in ("--negative", "--min-count") else 1
    assert err.endswith(f"error: argument {option}: must be an integer >= {low}, got '{value}'")


def test_zero_means_off_where_it_is_documented():
    args = cli.build_parser().parse_args(["word2vec", "train", "c.txt", "-o", "v.bin", "--negative", "0", "--hs",
                                          "--min-count", "0", "--seed", "0"])
    assert (args.negative, args.min_count, args.seed) == (0, 0, 0)
