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

from pathlib import Path

import numpy as np

from ..io import atomic_write
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


def load_word2vec_format(path, binary: bool = False, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Read a word2vec.c / gensim file (text or ``binary``); ``limit`` keeps only the first
    records. Returns ``(keys, vectors (V, D) float32)``. A wrong header, a short or extra record,
    a bad number or a non-UTF-8 word raises ``ValueError`` naming the line (text) or record (binary)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no vectors file at {str(path)!r}")
    with open(path, "rb") as fh:
        header = fh.readline()
        try:
            n, dim = (int(x) for x in header.split())
            if n < 0 or dim < 1:
                raise ValueError
        except ValueError:
            raise ValueError(f"{path}: line 1: header must be '<count> <dimension>', got {header[:60]!r}") \
                from None
        want = n if limit is None else min(n, int(limit))
        if binary:
            words, vectors = _read_binary(fh, path, n, dim, want)
        else:
            words, vectors = _read_text(fh, path, n, dim, want)
    return words, vectors


# --------------------------------------------------------------------- file readers
def _read_text(fh, path, n, dim, want):
    words, vectors = [], np.empty((want, dim), dtype=np.float32)
    lineno = 1
    for raw in fh:
        lineno += 1
        if len(words) == want:
            if len(words) == n and raw.strip():
                raise ValueError(f"{path}: line {lineno}: more vectors than the header's count {n}")
            if len(words) < n:
                break
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: line {lineno}: not valid UTF-8") from None
        parts = line.rstrip("\r\n ").split(" ")
        if len(parts) != dim + 1:
            raise ValueError(f"{path}: line {lineno}: expected a word and {dim} numbers, got {len(parts)} fields")
        try:
            vectors[len(words)] = np.array(parts[1:], dtype=np.float32)
        except ValueError:
            bad = next(p for p in parts[1:] if not _is_float(p))
            raise ValueError(f"{path}: line {lineno}: bad number {bad!r}") from None
        words.append(parts[0])
    if len(words) < want:
        raise ValueError(f"{path}: truncated: the header promises {n} vectors, found {len(words)} "
                         f"(file ends at line {lineno})")
    return words, vectors


def _read_binary(fh, path, n, dim, want):
    words, vectors = [], np.empty((want, dim), dtype=np.float32)
    nbytes = 4 * dim
    buf = b""
    pos = 0

    def fill(need):
        nonlocal buf, pos
        if len(buf) - pos < need:
            buf = buf[pos:] + fh.read(max(need, 1 << 20))
            pos = 0
        return len(buf) - pos >= need

    for rec in range(1, want + 1):
        fill(1)
        while pos < len(buf) and buf[pos:pos + 1] in (b"\n", b"\r"):  # newline after the previous vector
            pos += 1
            fill(1)
        while True:
            sp = buf.find(b" ", pos)
            if sp >= 0 or not fill(len(buf) - pos + 1):
                break
        if sp < 0:
            raise ValueError(f"{path}: record {rec}: truncated (no word); the header promises {n} vectors")
        raw = buf[pos:sp]
        if len(raw) > 1 << 16:
            raise ValueError(f"{path}: record {rec}: no word separator found (is this a text file? use binary=False)")
        try:
            word = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: record {rec}: word is not valid UTF-8 ({raw[:40]!r})") from None
        pos = sp + 1
        if not fill(nbytes):
            raise ValueError(f"{path}: record {rec} ({word!r}): truncated vector, expected {nbytes} bytes, "
                             f"got {len(buf) - pos}")
        vectors[rec - 1] = np.frombuffer(buf, dtype="<f4", count=dim, offset=pos)
        pos += nbytes
        words.append(word)
    if want == n:
        rest = buf[pos:] + fh.read(1 << 16)
        if rest.strip(b"\r\n"):
            raise ValueError(f"{path}: record {n + 1}: more data than the header's count {n}")
    return words, vectors


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
