"""Files of vectors: word2vec.c's text and binary formats, and the Embedding Projector's TSV.

* :func:`save_word2vec_format` / :func:`load_word2vec_format` — a header line ``"<count> <dim>"``,
  then one record per key: the key, a space, and ``dim`` float32 values, as text or as raw
  little-endian bytes. gensim, word2vec.c and fastText read and write the same files.
* :func:`export_projector` / :func:`load_projector_tsv` — ``vectors.tsv`` + ``metadata.tsv`` for
  the TensorBoard Embedding Projector (https://projector.tensorflow.org: "Load" and pick the two files).

Every writer is atomic (a failed save leaves the old file intact); every reader names the file and
the line or record of what it could not read.
"""
from __future__ import annotations

import codecs
import os
import re
import stat
from pathlib import Path

import numpy as np

from ..io import atomic_write
from ..kernels.validate import check_positive_int
from .search import as_vectors


# ------------------------------------------------------------------------- word2vec format
def save_word2vec_format(path, keys, vectors, binary: bool = False, write_header: bool = True) -> None:
    """word2vec.c's format: a header "V D", then one word per record followed by D float32
    values, as text (``%.9g``, exact for float32) or as raw little-endian bytes (``binary``).
    Written atomically: a failed save leaves any previous file intact."""
    keys = list(keys)
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        raise ValueError(f"need one (D,) vector per key, got {len(keys)} keys and vectors of shape {vectors.shape}")
    for w in keys:
        if not w or any(c.isspace() for c in w):
            raise ValueError(f"word {w!r} is empty or contains whitespace: it cannot be stored in this format")
    with atomic_write(path, "wb") as fh:
        if write_header:
            fh.write(f"{len(keys)} {vectors.shape[1]}\n".encode())
        if binary:
            for w, row in zip(keys, vectors, strict=True):
                fh.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            fmt = " ".join(["%.9g"] * vectors.shape[1])
            lines = []
            for w, row in zip(keys, vectors.tolist(), strict=True):
                lines.append(f"{w} {fmt % tuple(row)}\n")
                if len(lines) >= 4096:
                    fh.write("".join(lines).encode("utf-8"))
                    lines.clear()
            fh.write("".join(lines).encode("utf-8"))


_FLOAT_TYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_CONTROL_BYTE = re.compile(rb"[\x00-\x1f\x7f]")  # never in a word: word2vec.c splits words at \t and \n


def load_word2vec_format(path, binary: bool | None = None, no_header: bool | None = None,
                         unicode_errors: str = "strict", datatype=np.float32,
                         limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Read a word2vec.c / gensim / GloVe file. Returns ``(keys, vectors (V, D) datatype)``.

    * ``binary``: ``None`` looks at the first record after the header: a text record is one line of
      UTF-8 with the word and ``D`` numbers separated by spaces; anything else is binary (a binary
      record is the word, a space and ``4 D`` raw bytes, which practically never form such a line).
    * ``no_header``: ``True`` reads a GloVe-style text file (no ``"<count> <dim>"`` line; ``D`` is
      taken from the first line); ``None`` decides from the first line: exactly two integers is a
      header (so a header-less file of 1-dimensional vectors whose first word is an integer is
      misread: pass ``no_header=True``). Binary files always have a header, as in gensim.
    * ``unicode_errors``: how words that are not valid UTF-8 are decoded, as ``bytes.decode``'s
      ``errors`` ("strict" raises ``ValueError`` naming the line/record, "replace", "ignore").
    * ``datatype``: float16, float32 or float64 result (binary files hold float32; text values are
      parsed straight into ``datatype``).
    * ``limit``: keep only the first ``limit`` records (an integer >= 1).

    Differences from gensim, on purpose: NaN or infinite values are refused (``ValueError`` naming the
    line or record and the word) instead of loaded; ``limit=0`` is an error, not "no limit"; a header
    promising more records than the file can hold is refused at once (no allocation of what it
    claims); a binary file whose records are mis-aligned (a word containing a space, a wrong
    dimension) is refused where gensim loads garbage — see :func:`_read_binary` for the signals used.
    Every error is a ``ValueError`` naming the file and the line (text) or record (binary).
    """
    path = Path(path)
    if binary not in (None, True, False):
        raise TypeError(f"binary must be True, False or None (detect), got {binary!r}")
    if no_header not in (None, True, False):
        raise TypeError(f"no_header must be True, False or None (detect), got {no_header!r}")
    try:
        codecs.lookup_error(unicode_errors)
    except (LookupError, TypeError):
        raise ValueError(f"unicode_errors must be an error handler of bytes.decode such as 'strict', 'replace' "
                         f"or 'ignore', got {unicode_errors!r}") from None
    dtype = np.dtype(datatype)
    if dtype not in _FLOAT_TYPES:
        raise TypeError(f"datatype must be float16, float32 or float64, got {dtype}")
    if limit is not None:
        limit = check_positive_int(limit, "limit")
    if not path.exists():
        raise FileNotFoundError(f"no vectors file at {str(path)!r}")
    with open(path, "rb") as fh:
        first = fh.readline()
        header = _parse_header(first)
        if no_header is None:
            no_header = header is None
        if no_header:
            if binary:
                raise ValueError(f"{path}: no_header=True reads text files only (a binary file needs its header, "
                                 "as in gensim)")
            n = None
            dim = len(first.decode("utf-8", "replace").rstrip("\r\n ").split(" ")) - 1
            if dim < 1:
                raise ValueError(f"{path}: line 1: expected a word and its numbers separated by spaces "
                                 f"(a file without a header), got {first[:60]!r}")
            fh.seek(0)
            binary = False
        else:
            if header is None:
                raise ValueError(f"{path}: line 1: header must be '<count> <dimension>', got {first[:60]!r} "
                                 "(pass no_header=True for a GloVe-style file without one)")
            n, dim = header
            if binary is None:
                binary = _looks_binary(fh, dim)
            _check_header_fits(fh, path, n, dim, binary)
        want = n if limit is None else limit if n is None else min(n, limit)
        read = _read_binary if binary else _read_text
        return read(fh, path, n, dim, want, dtype, unicode_errors)


def _parse_header(line: bytes):
    """``(count, dim)`` if ``line`` is a word2vec header (exactly two integers), else None."""
    fields = line.split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        return None
    n, dim = int(fields[0]), int(fields[1])
    return (n, dim) if dim >= 1 else None


def _looks_binary(fh, dim: int) -> bool:
    """Is the first record after the header binary? Text if it is one line holding a word and ``dim``
    numbers separated by spaces; the float bytes of a binary record practically never form one
    (they would need exactly ``dim - 1`` spaces, all between digits). The file position is restored."""
    start = fh.tell()
    want = 4096 + 64 * dim  # a word and dim "%.9g" numbers fit easily
    chunk = fh.read(want)
    fh.seek(start)
    end = chunk.find(b"\n")
    if end < 0:
        if len(chunk) == want:
            return True  # no line break in a text record's worth of bytes
        end = len(chunk)  # the last line of a text file may lack its newline
    if not chunk[:end].strip():
        return False  # no records at all: nothing to decide, read as text
    parts = chunk[:end].decode("utf-8", "replace").rstrip("\r ").split(" ")  # a word may be bad UTF-8: its reader says
    return len(parts) != dim + 1 or not all(_is_float(p) for p in parts[1:])


def _check_header_fits(fh, path, n: int, dim: int, binary: bool) -> None:
    """Refuse a header promising more than the file can hold, before allocating anything: a binary
    record takes at least ``4 dim + 2`` bytes (a 1-byte word, a space, the floats), a text record at
    least ``2 dim`` (a space and a digit per number)."""
    info = os.fstat(fh.fileno())
    if not stat.S_ISREG(info.st_mode):
        return  # a pipe or a device: its size is unknown
    left = info.st_size - fh.tell()
    per_record = 4 * dim + 2 if binary else 2 * dim
    if n * per_record > left:
        kind = "binary" if binary else "text"
        raise ValueError(f"{path}: truncated, or an impossible header '{n} {dim}': {n:,} {kind} records of "
                         f"dimension {dim:,} need at least {n * per_record:,} bytes, the file holds {left:,} after "
                         "its header")


class _Rows:
    """A (count, dim) table filled one row at a time: allocated at ``capacity`` rows and doubled
    when full, so a file of unknown length costs at most twice its vectors."""

    def __init__(self, dim: int, dtype, capacity: int):
        self.data = np.empty((max(capacity, 1), dim), dtype=dtype)
        self.count = 0

    def append(self, row) -> None:
        if self.count == len(self.data):
            bigger = np.empty((2 * len(self.data), self.data.shape[1]), dtype=self.data.dtype)
            bigger[:self.count] = self.data
            self.data = bigger
        self.data[self.count] = row
        self.count += 1

    def result(self) -> np.ndarray:
        return self.data[:self.count] if self.count == len(self.data) else self.data[:self.count].copy()


def _refuse_non_finite(path, vectors, keys, where) -> None:
    """NaN/inf have no place in a ranking (KeyedVectors refuses them too): name the first such row."""
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        i = bad[0]
        beyond = " (or values beyond float16's range)" if vectors.dtype == np.float16 else ""
        raise ValueError(f"{path}: {where(i)}: the vector of {keys[i]!r} has NaN or infinite values{beyond} "
                         f"({len(bad)} such vectors in what was read)")


# --------------------------------------------------------------------- file readers
@np.errstate(over="ignore")  # a value beyond the dtype's range becomes inf, refused at the end with its line
def _read_text(fh, path, n, dim, want, dtype, unicode_errors):
    words = []
    rows = _Rows(dim, dtype, want if n is not None else min(want or 1024, 1024))
    first_line = 1 if n is None else 2
    lineno = first_line - 1
    for raw in fh:
        lineno += 1
        if len(words) == want:
            if len(words) == n and raw.strip():
                raise ValueError(f"{path}: line {lineno}: more vectors than the header's count {n}")
            if n is None or len(words) < n:
                break
            continue
        try:
            line = raw.decode("utf-8", unicode_errors)
        except UnicodeDecodeError:
            raise ValueError(f"{path}: line {lineno}: not valid UTF-8 (pass unicode_errors='replace' to read "
                             "it anyway)") from None
        parts = line.rstrip("\r\n ").split(" ")
        if len(parts) != dim + 1:
            raise ValueError(f"{path}: line {lineno}: expected a word and {dim} numbers, got {len(parts)} fields")
        if not parts[0]:
            raise ValueError(f"{path}: line {lineno}: empty word (the line starts with a space)")
        try:
            rows.append(np.array(parts[1:], dtype=dtype))
        except ValueError:
            bad = next(p for p in parts[1:] if not _is_float(p))
            raise ValueError(f"{path}: line {lineno}: bad number {bad!r}") from None
        words.append(parts[0])
    if n is not None and len(words) < want:
        raise ValueError(f"{path}: truncated: the header promises {n} vectors, found {len(words)} "
                         f"(file ends at line {lineno})")
    if n is None and not words:
        raise ValueError(f"{path}: no vectors in the file")
    vectors = rows.result()
    _refuse_non_finite(path, vectors, words, lambda i: f"line {i + first_line}")
    return words, vectors


def _read_binary(fh, path, n, dim, want, dtype, unicode_errors):
    """Records are ``word + b" " + 4 dim bytes``, each followed by a newline (word2vec.c, minembed)
    or by nothing (gensim). Nothing marks where a record starts, so a word holding a space shifts
    every later record. Signals of such a mis-aligned file, each cheap and never true of a good file:

    * the byte after every vector is the same as after the first one (a newline, or none);
    * a word holds no control byte (0x00-0x1f, 0x7f): word2vec.c splits words at tabs and
      newlines, while bytes of floats read as a word almost always hold one (a newline included);
    * with ``unicode_errors="strict"``, a word is valid UTF-8;
    * no value is NaN or infinite; and the file ends exactly after the header's count.

    When ``limit`` stops early, the next record's word is still checked. With a newline after each
    vector the newline lands inside the next "word", so detection is practically certain (200 of 200
    random files with a spaced first word refused at record 2); in gensim's newline-free layout the
    next word may by chance be clean bytes (194 of 200 refused, the rest load garbage as gensim does).
    """
    words, vectors = [], _Rows(dim, np.float32, want)  # the file's own type; converted once at the end
    nbytes = 4 * dim
    buf = b""
    pos = 0
    newline_after = None  # does every vector end with a newline? decided by the first record

    def fill(need):
        nonlocal buf, pos
        if len(buf) - pos < need:
            buf = buf[pos:] + fh.read(max(need, 1 << 20))
            pos = 0
        return len(buf) - pos >= need

    def misaligned(rec, why):
        hint = f" (record {rec - 1} is {words[-1]!r})" if words else ""
        return ValueError(f"{path}: record {rec}: {why}: the records are mis-aligned; usually an earlier word "
                          f"contains a space{hint}, or the header's dimension {dim} is wrong")

    def read_word(rec):
        nonlocal pos
        while True:
            sp = buf.find(b" ", pos)
            if sp >= 0 or not fill(len(buf) - pos + 1):
                break
        if sp < 0:
            raise ValueError(f"{path}: record {rec}: truncated (no word); the header promises {n} vectors")
        raw = buf[pos:sp]
        if len(raw) > 1 << 16:
            raise ValueError(f"{path}: record {rec}: no word separator found (is this a text file? use binary=False)")
        if not raw or _CONTROL_BYTE.search(raw):
            raise misaligned(rec, f"{raw[:40]!r} is not a word")
        try:
            word = raw.decode("utf-8", unicode_errors)
        except UnicodeDecodeError:
            raise misaligned(rec, f"word is not valid UTF-8 ({raw[:40]!r}; if the file is aligned, "
                                  "unicode_errors='replace' reads it anyway)") from None
        pos = sp + 1
        return word

    for rec in range(1, want + 1):
        word = read_word(rec)
        if not fill(nbytes):
            raise ValueError(f"{path}: record {rec} ({word!r}): truncated vector, expected {nbytes} bytes, "
                             f"got {len(buf) - pos}")
        vectors.append(np.frombuffer(buf, dtype="<f4", count=dim, offset=pos))
        pos += nbytes
        words.append(word)
        fill(1)
        ends_line = buf[pos:pos + 1] == b"\n"
        if newline_after is None:
            newline_after = ends_line
        elif ends_line != newline_after and rec < n:
            raise misaligned(rec + 1, f"record {rec}'s vector is {'' if ends_line else 'not '}followed by a newline, "
                                      f"unlike record 1's")
        pos += ends_line
    if want < n:
        read_word(want + 1)  # the first record not kept must still start where a word can
    else:
        rest = buf[pos:] + fh.read(1 << 16)
        if rest.strip(b"\n"):
            raise ValueError(f"{path}: record {n + 1}: more data than the header's count {n}")
    with np.errstate(over="ignore"):  # float16 overflow becomes inf, refused just below with its record
        table = vectors.result().astype(dtype, copy=False)
    _refuse_non_finite(path, table, words, lambda i: f"record {i + 1}")
    return words, table


def _is_float(s) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------- projector
def _check_cell(value, what: str) -> str:
    text = str(value)
    if "\t" in text or "\n" in text or "\r" in text:
        raise ValueError(f"{what} {text!r} contains a tab or a line break, which the TSV format cannot hold")
    return text


def export_projector(vectors, labels, out_dir, columns: dict | None = None) -> dict[str, Path]:
    """Write ``vectors.tsv``, ``metadata.tsv`` and ``projector_config.pbtxt`` into ``out_dir``.

    * ``vectors.tsv``: one row per vector, values separated by tabs, no header.
    * ``metadata.tsv``: with only ``labels``, one label per line and **no header** (the
      Projector's single-column rule, the "vocab file" format); with extra ``columns``
      (name -> N values), a header line ``label<TAB>name...`` then one line per vector.
    * ``projector_config.pbtxt``: points TensorBoard's projector plugin at the two files
      (``tensorboard --logdir out_dir``).

    Open https://projector.tensorflow.org, click "Load", choose vectors.tsv as the tensor
    file and metadata.tsv as the metadata file. Files are written atomically. Labels with a
    tab or newline raise ValueError (the format has no escaping).
    """
    vectors = as_vectors(vectors, "vectors")
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D (N, D), got shape {vectors.shape}")
    n = vectors.shape[0]
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} vectors")
    columns = dict(columns or {})
    for name, values in columns.items():
        if len(values) != n:
            raise ValueError(f"metadata column {name!r} has {len(values)} values for {n} vectors")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [[_check_cell(lab, "label")] + [_check_cell(columns[c][i], f"column {c!r} value") for c in columns]
            for i, lab in enumerate(labels)]
    paths = {"vectors": out / "vectors.tsv", "metadata": out / "metadata.tsv", "config": out / "projector_config.pbtxt"}
    with atomic_write(paths["vectors"], "w", encoding="utf-8") as fh:
        np.savetxt(fh, vectors, fmt="%.9g", delimiter="\t")  # 9 digits: float32 round-trips exactly
    with atomic_write(paths["metadata"], "w", encoding="utf-8") as fh:
        if columns:
            fh.write("\t".join(["label"] + [_check_cell(c, "column name") for c in columns]) + "\n")
        for row in rows:
            fh.write("\t".join(row) + "\n")
    with atomic_write(paths["config"], "w", encoding="utf-8") as fh:
        fh.write('embeddings {\n  tensor_name: "minembed"\n  tensor_path: "vectors.tsv"\n'
                 '  metadata_path: "metadata.tsv"\n}\n')
    return paths


def load_projector_tsv(out_dir) -> tuple[np.ndarray, list[str]]:
    """Read back what :func:`export_projector` wrote with labels only: (vectors float32, labels)."""
    out = Path(out_dir)
    vectors = np.loadtxt(out / "vectors.tsv", delimiter="\t", dtype=np.float32, ndmin=2)
    labels = (out / "metadata.tsv").read_text(encoding="utf-8").split("\n")[:-1]
    return vectors, labels
