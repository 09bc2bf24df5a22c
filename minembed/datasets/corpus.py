"""Text corpora streamed line by line, never read into memory whole."""
from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLE_SOURCES = ("bible", "novels", "speeches", "wikipedia")


class Corpus:
    """A re-iterable text file (plain or ``.gz``), read one line at a time.

    Iterating gives each non-empty line's whitespace-separated tokens (a ``list[str]``),
    like gensim's ``LineSentence``; :meth:`lines` gives the raw lines. Each pass re-opens
    the files, so a training loop can iterate once per epoch.

    A line that is not valid UTF-8 raises ``ValueError`` naming the file and line number.
    """

    def __init__(self, paths: list[Path]):
        self.paths = paths

    def lines(self) -> Iterator[str]:
        """Each line without its newline; empty lines are skipped."""
        for path in self.paths:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rb") as fh:
                for lineno, raw in _numbered(fh, path):
                    try:
                        line = raw.decode("utf-8").rstrip("\r\n")
                    except UnicodeDecodeError as err:
                        raise ValueError(
                            f"{path}: line {lineno} is not valid UTF-8 "
                            f"(byte 0x{raw[err.start]:02x} at column {err.start + 1})"
                        ) from None
                    if line.strip():
                        yield line

    def __iter__(self) -> Iterator[list[str]]:
        for line in self.lines():
            yield line.split()

    def __repr__(self) -> str:
        return f"Corpus({', '.join(p.name for p in self.paths)})"


def _numbered(fh, path: Path) -> Iterator[tuple[int, bytes]]:
    """``enumerate(fh, 1)``, turning a broken or truncated .gz into a ValueError naming file and line."""
    lineno = 0
    try:
        for lineno, raw in enumerate(fh, start=1):
            yield lineno, raw
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: the compressed data is broken after line {lineno}: {err}") from None


def _resolve(name_or_path) -> list[Path]:
    if isinstance(name_or_path, str) and name_or_path == "sample":
        return [DATA_DIR / f"{s}.txt.gz" for s in SAMPLE_SOURCES]
    if isinstance(name_or_path, str) and name_or_path in SAMPLE_SOURCES:
        return [DATA_DIR / f"{name_or_path}.txt.gz"]
    path = Path(name_or_path)
    if not path.exists():
        raise FileNotFoundError(
            f"no corpus at {str(path)!r} (bundled names: 'sample', {', '.join(map(repr, SAMPLE_SOURCES))})"
        )
    if path.is_dir():
        raise IsADirectoryError(f"corpus path {str(path)!r} is a directory, not a text file")
    return [path]


def load_corpus(name_or_path="sample") -> Corpus:
    """Stream a corpus: a bundled name or the path of a text file (``.gz`` is read transparently).

    Bundled names: ``"sample"`` (all four sources, ~1M tokens), or one of ``"bible"``,
    ``"novels"``, ``"speeches"``, ``"wikipedia"`` (~250k tokens each, already tokenized).
    Raises ``FileNotFoundError`` for a path that does not exist.
    """
    return Corpus(_resolve(name_or_path))


def load_sources(sources=SAMPLE_SOURCES) -> tuple[list[str], list[int], list[str]]:
    """The bundled lines labelled by where they come from, for text classification.

    Returns ``(lines, labels, names)``: ``labels[i]`` indexes ``names`` (e.g. ``"bible"``).
    """
    lines, labels = [], []
    for k, name in enumerate(sources):
        if name not in SAMPLE_SOURCES:
            raise KeyError(f"unknown bundled source {name!r}; choose from {SAMPLE_SOURCES}")
        for line in load_corpus(name).lines():
            lines.append(line)
            labels.append(k)
    return lines, labels, list(sources)
