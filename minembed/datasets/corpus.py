"""Text corpora streamed in bounded pieces, never read into memory whole."""
from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLE_SOURCES = ("bible", "novels", "speeches", "wikipedia")
MAX_SENTENCE_LENGTH = 10_000  # tokens per sentence at most, as gensim's LineSentence (MAX_WORDS_IN_BATCH)
BLOCK_BYTES = 1 << 20         # a longer line is read this many bytes at a time, cut at whitespace
# The ASCII bytes str.split() treats as whitespace. None of them occurs inside a UTF-8 multi-byte
# character, so cutting just after one never splits a character or a token.
_ASCII_SPACE = bytes(b for b in range(128) if chr(b).isspace())


class Corpus:
    """A re-iterable text file (plain or ``.gz``), streamed in pieces of bounded size.

    Iterating gives token lists (``list[str]``), like gensim's ``LineSentence``: each non-empty
    line's tokens, a line of more than ``max_sentence_length`` tokens (text8 is one 100 MB line)
    being cut into sentences of that many tokens (the last one shorter). A long line is never held
    whole: it is read ``block_bytes`` at a time and cut after the last whitespace of each block, so
    the tokens are exactly those of the whole line; only a single token longer than a block makes
    a piece grow past it. Each pass re-opens the files, so a training loop can iterate once per epoch.
    The sentences are gensim's (tested against ``LineSentence``), so word2vec's context windows stop
    at the same 10,000-token boundaries as gensim's; where the blocks are cut changes nothing.

    ``tokenizer`` (default ``str.split``) turns a piece of text into tokens; it must never make a
    token across whitespace (``minembed.text.tokenize`` and ``str.split`` do not), so cutting a line
    at whitespace changes nothing. ``lowercase=True`` lowercases every token.

    :meth:`lines` gives the raw lines (each one held whole). A line that is not valid UTF-8 raises
    ``ValueError`` naming the file, line number and column.
    """

    def __init__(self, paths: list[Path], tokenizer: Callable[[str], list[str]] | None = None,
                 lowercase: bool = False, max_sentence_length: int = MAX_SENTENCE_LENGTH,
                 block_bytes: int = BLOCK_BYTES):
        if max_sentence_length < 1 or block_bytes < 1:
            raise ValueError(f"max_sentence_length and block_bytes must be >= 1, got {max_sentence_length} "
                             f"and {block_bytes}")
        self.paths = [Path(p) for p in paths]
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.max_sentence_length = max_sentence_length
        self.block_bytes = block_bytes

    def pieces(self) -> Iterator[tuple[str, bool]]:
        """``(text, ends_line)`` pieces: a line shorter than ``block_bytes`` is one piece (without its
        newline); a longer one comes in pieces cut just after a whitespace character, whose
        concatenation is the line."""
        for path in self.paths:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rb") as fh:
                buf = bytearray()  # bytes of the current line not yet given out (a partial token)
                done = 0           # bytes of the current line already given out, for error columns
                lineno = 1
                try:
                    while chunk := fh.readline(self.block_bytes):
                        if not buf and chunk.endswith(b"\n"):  # the common case: a whole, short line
                            yield _decode(chunk, path, lineno, 0).rstrip("\r\n"), True
                            lineno += 1
                            continue
                        searched = len(buf)
                        buf += chunk
                        if chunk.endswith(b"\n"):
                            yield _decode(buf, path, lineno, done).rstrip("\r\n"), True
                            buf.clear()
                            done, lineno = 0, lineno + 1
                            continue
                        cut = max(buf.rfind(c, searched) for c in _ASCII_SPACE) + 1  # 0: no whitespace yet
                        if cut:
                            yield _decode(buf[:cut], path, lineno, done), False
                            del buf[:cut]
                            done += cut
                except (gzip.BadGzipFile, EOFError, zlib.error) as err:
                    raise ValueError(f"{path}: the compressed data is broken after line {lineno - 1}: {err}") from None
                if buf:  # the file's last line has no newline
                    yield _decode(buf, path, lineno, done).rstrip("\r\n"), True

    def lines(self) -> Iterator[str]:
        """Each line without its newline, held whole; empty lines are skipped."""
        parts: list[str] = []
        for text, ends_line in self.pieces():
            parts.append(text)
            if ends_line:
                line = "".join(parts).rstrip("\r\n")  # a "\r\n" may straddle two pieces
                parts.clear()
                if line.strip():
                    yield line

    def __iter__(self) -> Iterator[list[str]]:
        split, n = self.tokenizer or str.split, self.max_sentence_length
        pending: list[str] = []  # tokens of the current line not yet given out (fewer than n)
        for text, ends_line in self.pieces():
            tokens = split(text)
            if self.lowercase:
                tokens = [t.lower() for t in tokens]
            if ends_line and not pending and len(tokens) <= n:  # the common case: a short line
                if tokens:
                    yield tokens
                continue
            if pending:
                tokens = pending + tokens
            full = len(tokens) - len(tokens) % n
            for start in range(0, full, n):
                yield tokens[start:start + n]
            pending = tokens[full:]
            if ends_line and pending:
                yield pending
                pending = []

    def __repr__(self) -> str:
        return f"Corpus({', '.join(p.name for p in self.paths)})"


def _decode(raw: bytes | bytearray, path: Path, lineno: int, column0: int) -> str:
    """UTF-8 text of ``raw``, the part of line ``lineno`` that starts after byte ``column0``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: line {lineno} is not valid UTF-8 "
                         f"(byte 0x{raw[err.start]:02x} at column {column0 + err.start + 1})") from None


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


def load_corpus(name_or_path="sample", tokenizer: Callable[[str], list[str]] | None = None,
                lowercase: bool = False) -> Corpus:
    """Stream a corpus: a bundled name or the path of a text file (``.gz`` is read transparently).

    Bundled names: ``"sample"`` (all four sources, ~1M tokens), or one of ``"bible"``,
    ``"novels"``, ``"speeches"``, ``"wikipedia"`` (~250k tokens each, already tokenized).
    Tokens are whitespace-separated unless a ``tokenizer`` is given (e.g. ``minembed.text.tokenize``);
    ``lowercase=True`` lowercases them. Raises ``FileNotFoundError`` for a path that does not exist.
    """
    return Corpus(_resolve(name_or_path), tokenizer=tokenizer, lowercase=lowercase)


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
