"""A byte-level BPE tokenizer (GPT-2 style): learned subword tokens, any UTF-8 text round-trips.

How text becomes ids
--------------------
1. **Special tokens** (``[PAD]``, ``<|endoftext|>``, ...) are cut out first and kept whole: each one
   is one id, and the text between them is tokenized on its own.
2. **Pre-tokenization** splits that text with GPT-2's regular expression :data:`GPT2_PATTERN`::

       's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

   in words: an English contraction; or a run of letters, or of digits, or of other symbols, each
   with at most one leading space; or whitespace (a run keeps its last character for the word that
   follows, so ``"a  b"`` gives ``"a"``, ``" "``, ``" b"``). Every character is matched, so the
   pieces ("pre-tokens") concatenate back to the text. Merges never cross their edges.
3. **Bytes**: each pre-token is its UTF-8 bytes, and byte ``v`` is token id ``v`` (0..255), so every
   string has an encoding and nothing is ever "unknown".
4. **Merges**: the learned rules ``(a, b) -> c`` are applied to each pre-token, the earliest learned
   first (see :mod:`minembed.kernels.bpe`). Merge ``k`` makes id ``256 + k``; the special tokens take
   the ids after the last merge, so ``vocab_size = 256 + len(merges) + len(special_tokens)``.

Training counts adjacent pairs over the corpus's pre-tokens and merges the most frequent one, again
and again (ties: the smaller pair of ids). :func:`train_naive` does it the readable way (recount
everything after each merge); :meth:`BPETokenizer.train` does it incrementally in a compiled kernel
(same merges, tested). The same merges load into Hugging Face ``tokenizers``
(:meth:`BPETokenizer.save_huggingface`) and ``tiktoken`` (:meth:`BPETokenizer.save_tiktoken`), which
then give the same ids.

The compiled pre-tokenizer handles ASCII text; a document with other characters goes through the
``regex`` package (same pattern, slower).
"""
from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from ..io import atomic_write
from ..kernels import bpe as _k

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
FORMAT = "minembed-bpe"
FORMAT_VERSION = 1
N_BYTES = 256
# The names the role properties (pad_id, ...) look for, BERT's first.
ROLES = {"pad": ("[PAD]", "<pad>", "<|pad|>"), "mask": ("[MASK]", "<mask>", "<|mask|>"),
         "cls": ("[CLS]", "<s>", "<cls>"), "sep": ("[SEP]", "</s>", "<sep>"),
         "unk": ("[UNK]", "<unk>"), "eos": ("<|endoftext|>", "</s>", "<eos>")}

_PATTERNS: dict = {}


def _regex(pattern: str = GPT2_PATTERN):
    """The compiled pattern (the ``regex`` package: Python's ``re`` has no ``\\p{L}``), imported when first
    needed so ``import minembed`` does not pay for it."""
    if pattern not in _PATTERNS:
        import regex

        _PATTERNS[pattern] = regex.compile(pattern)
    return _PATTERNS[pattern]


def pretokenize(text: str) -> list[str]:
    """The pre-tokens of ``text`` by :data:`GPT2_PATTERN` (the readable definition; the tests hold the
    compiled ASCII pre-tokenizer equal to it). ``"".join(pretokenize(t)) == t`` for every string."""
    return _regex().findall(text)


def ascii_classes() -> np.ndarray:
    """uint8 (256,): the class of each ASCII character under the pattern (letter ``\\p{L}``, digit
    ``\\p{N}``, whitespace ``\\s``, other), asked of the ``regex`` package itself so the two agree."""
    rx = __import__("regex")
    cls = np.zeros(256, np.uint8)
    for v in range(128):
        ch = chr(v)
        if rx.match(r"\p{L}", ch):
            cls[v] = _k.LETTER
        elif rx.match(r"\p{N}", ch):
            cls[v] = _k.DIGIT
        elif rx.match(r"\s", ch):
            cls[v] = _k.SPACE
    return cls


_CLASSES: list = []


def _classes() -> np.ndarray:
    if not _CLASSES:
        _CLASSES.append(ascii_classes())
    return _CLASSES[0]


def pretokenize_spans(docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The UTF-8 bytes of ``docs`` one after another, and the ``(starts, ends)`` byte spans of their
    pre-tokens (in order; none crosses from one document into the next).

    ASCII documents go through the compiled state machine; the others through :func:`pretokenize`.
    """
    encoded = [d.encode("utf-8") for d in docs]
    lengths = np.fromiter((len(e) for e in encoded), np.int64, len(encoded))
    bounds = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum(lengths, out=bounds[1:])
    data = np.frombuffer(b"".join(encoded), np.uint8)
    is_ascii = np.fromiter((d.isascii() for d in docs), bool, len(docs))
    if not _k.jit_enabled():
        is_ascii[:] = False  # MINEMBED_JIT=0: the regex, the readable definition, for every document
    starts, ends = _k.pretokenize_ascii(data, bounds[:-1][is_ascii], bounds[1:][is_ascii], _classes())
    if is_ascii.all():
        return data, starts, ends
    other_starts, other_ends = [], []
    for i in np.flatnonzero(~is_ascii).tolist():
        pos = int(bounds[i])
        for piece in pretokenize(docs[i]):
            other_starts.append(pos)
            pos += len(piece.encode("utf-8"))
            other_ends.append(pos)
    starts = np.concatenate([starts, np.array(other_starts, np.int64)])
    ends = np.concatenate([ends, np.array(other_ends, np.int64)])
    order = np.argsort(starts, kind="stable")
    return data, starts[order], ends[order]


# ------------------------------------------------------------------------------------------- training
def word_counts(docs: Sequence[str]) -> tuple[list[bytes], list[int]]:
    """The unique pre-tokens of ``docs`` (as bytes, in order of first occurrence) and their counts."""
    data, starts, ends = pretokenize_spans(docs)
    first, count = _k.count_spans(data, starts, ends)
    raw = data.tobytes()
    return [raw[starts[s]:ends[s]] for s in first.tolist()], count.tolist()


def train_naive(words: Sequence[bytes], counts: Sequence[int], n_merges: int) -> list[tuple[int, int]]:
    """Learn merges the readable way: after each merge, count every adjacent pair again.

    ``words``: unique pre-tokens as bytes; ``counts``: how often each occurs. Each step merges the pair
    with the largest count ``n(a, b) = sum_w count_w * #{(a, b) adjacent in w}``; ties go to the smaller
    ``(a, b)``; a pair whose bytes are already a token is skipped. Cost: every step reads every symbol of
    every word, ``O(n_merges x symbols)``, which is why :func:`minembed.kernels.bpe.train_merges` exists.
    """
    seqs = [list(w) for w in words]
    tok_bytes = [bytes([v]) for v in range(N_BYTES)]
    existing = set(tok_bytes)
    merges: list[tuple[int, int]] = []
    while len(merges) < n_merges:
        pairs: Counter = Counter()
        for seq, c in zip(seqs, counts, strict=True):
            for pair in pairwise(seq):
                pairs[pair] += c
        candidates = [(n, -a, -b) for (a, b), n in pairs.items() if tok_bytes[a] + tok_bytes[b] not in existing]
        if not candidates:
            break
        _, a, b = max(candidates)
        a, b = -a, -b
        new = N_BYTES + len(merges)
        merges.append((a, b))
        tok_bytes.append(tok_bytes[a] + tok_bytes[b])
        existing.add(tok_bytes[-1])
        for k, seq in enumerate(seqs):
            seqs[k] = _k.merge_pair(seq, a, b, new)
    return merges


def _words_arrays(words: Sequence[bytes], counts: Sequence[int]):
    offsets = np.zeros(len(words) + 1, np.int64)
    np.cumsum([len(w) for w in words], out=offsets[1:])
    symbols = np.frombuffer(b"".join(words), np.uint8).astype(np.int32)
    return symbols, offsets, np.asarray(counts, np.int64)


def _read_corpus(corpus) -> list[str]:
    """A text, a path or an iterable of texts -> the list of documents."""
    if isinstance(corpus, str):
        return [corpus]
    if isinstance(corpus, os.PathLike):
        path = Path(corpus)
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise type(err)(f"cannot read the training corpus {str(path)!r}: {err.strerror}") from None
        try:
            return [raw.decode("utf-8")]
        except UnicodeDecodeError as err:
            line = raw.count(b"\n", 0, err.start) + 1
            raise ValueError(f"{path}: line {line} is not valid UTF-8 ({err.reason} at byte {err.start})") from None
    if isinstance(corpus, (bytes, bytearray)):
        raise TypeError("the corpus must be text (str), a path, or an iterable of str; decode bytes first")
    docs = []
    for i, doc in enumerate(corpus):
        if not isinstance(doc, str):
            raise TypeError(f"document {i} of the corpus is a {type(doc).__name__}, not a str")
        docs.append(doc)
    return docs


# ------------------------------------------------------------------------------------------ tokenizer
class BPETokenizer:
    """Byte-level BPE: ``merges`` (pairs of ids, in the order learned) and ``special_tokens``.

    Make one with :meth:`train` or :meth:`load`. Ids: 0..255 the bytes, ``256 + k`` merge ``k``, then the
    special tokens in the order given (``tok.special_tokens`` maps each to its id).

    >>> tok = BPETokenizer.train("low lower lowest " * 50, vocab_size=262, special_tokens=["[PAD]"])
    >>> tok.decode(tok.encode("lowest[PAD]")) == "lowest[PAD]"
    True
    """

    def __init__(self, merges: Iterable[Sequence[int]] = (), special_tokens: Sequence[str] = ()):
        merges = np.asarray(list(merges), dtype=np.int64).reshape(-1, 2)
        for k, (a, b) in enumerate(merges.tolist()):
            if not (0 <= a < N_BYTES + k and 0 <= b < N_BYTES + k):
                raise ValueError(f"merge {k} ({a}, {b}) joins an id that is not a byte or an earlier merge "
                                 f"(valid: 0..{N_BYTES + k - 1})")
        specials = list(special_tokens)
        for s in specials:
            if not isinstance(s, str) or not s:
                raise ValueError(f"special tokens must be non-empty strings, got {s!r}")
        if len(set(specials)) != len(specials):
            dup = next(s for s in specials if specials.count(s) > 1)
            raise ValueError(f"special token {dup!r} is given twice")
        self._table = _k.MergeTable(merges.astype(np.int32), N_BYTES)
        self.merges: list[tuple[int, int]] = [tuple(m) for m in merges.tolist()]
        tok = [bytes([v]) for v in range(N_BYTES)]
        for a, b in self.merges:
            tok.append(tok[a] + tok[b])
        if len(set(tok)) != len(tok):
            raise ValueError("two merges make the same bytes; every token must have one id")
        first_special = len(tok)
        self.special_tokens: dict[str, int] = {s: first_special + i for i, s in enumerate(specials)}
        tok += [s.encode("utf-8") for s in specials]
        self._bytes = tok
        self._special_rx = None
        if specials:  # longest first, so "[MASK]x" never loses to a shorter special that is its prefix
            import regex

            alternatives = "|".join(regex.escape(s) for s in sorted(specials, key=len, reverse=True))
            self._special_rx = regex.compile(f"({alternatives})")

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, corpus, vocab_size: int, special_tokens: Sequence[str] = (), method: str = "fast"
              ) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``corpus``.

        ``corpus``: one text (``str``), a file (``pathlib.Path``; read as UTF-8), or an iterable of texts
        (each pre-tokenized on its own). Special tokens found in the text are cut out and not learned
        from. ``method="naive"`` runs :func:`train_naive` (slow; for teaching and testing) instead of the
        incremental compiled trainer; both give the same merges. If the corpus runs out of pairs first,
        fewer merges are learned (``tok.vocab_size`` says how many tokens there are).
        """
        specials = list(special_tokens)
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)):
            raise TypeError(f"vocab_size must be an integer, got {vocab_size!r}")
        smallest = N_BYTES + len(specials)
        if vocab_size < smallest:
            raise ValueError(f"vocab_size={vocab_size} is below the {N_BYTES} byte tokens + {len(specials)} "
                             f"special tokens = {smallest}")
        if method not in ("fast", "naive"):
            raise ValueError(f"method must be 'fast' or 'naive', got {method!r}")
        probe = cls((), specials)  # checks the special tokens before any work
        docs = _read_corpus(corpus)
        if probe._special_rx is not None:
            docs = [piece for d in docs for piece in probe._special_rx.split(d)[::2]]
        total = sum(len(d) for d in docs)
        if total == 0:
            raise ValueError(f"the training text is empty ({len(docs)} document(s), 0 characters); "
                             "BPE needs text to count pairs in")
        words, counts = word_counts([d for d in docs if d])
        n_merges = int(vocab_size) - smallest
        if method == "naive":
            merges = train_naive(words, counts, n_merges)
        else:
            merges = _k.train_merges(*_words_arrays(words, counts), n_merges).tolist()
        return cls(merges, specials)

    # ------------------------------------------------------------------ encoding
    @property
    def vocab_size(self) -> int:
        """256 bytes + the merges + the special tokens: every id is in ``range(vocab_size)``."""
        return len(self._bytes)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return (f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
                f"special_tokens={list(self.special_tokens)})")

    def _pieces(self, text: str, special: bool) -> list[tuple[bool, str]]:
        if not special or self._special_rx is None:
            return [(False, text)]
        parts = self._special_rx.split(text)
        return [(i % 2 == 1, p) for i, p in enumerate(parts) if p]

    def encode(self, text: str, special: bool = True) -> np.ndarray:
        """``text`` -> int32 ids, shape (T,). ``special=True``: special-token strings in the text become
        their ids; ``special=False``: they are encoded as ordinary text."""
        return self.encode_batch([text], special)[0]

    def encode_batch(self, texts: Iterable[str], special: bool = True) -> list[np.ndarray]:
        """Encode many texts in one compiled call (shared work for repeated words): a list of int32 arrays."""
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text {i} is a {type(t).__name__}, not a str")
        docs: list[str] = []
        plan: list[list[tuple[str, int]]] = []  # per text: ("special", id) or ("doc", index into docs)
        for t in texts:
            steps = []
            for is_special, piece in self._pieces(t, special):
                if is_special:
                    steps.append(("special", self.special_tokens[piece]))
                else:
                    steps.append(("doc", len(docs)))
                    docs.append(piece)
            plan.append(steps)
        data, starts, ends = pretokenize_spans(docs)
        ids, cum = _k.encode_spans(data, starts, ends, self._table)
        # document d owns the spans that start in its bytes, so its ids are ids[cum[first]:cum[last]]
        byte_bounds = np.zeros(len(docs) + 1, np.int64)
        np.cumsum([len(d) if d.isascii() else len(d.encode("utf-8")) for d in docs], out=byte_bounds[1:])
        span_bounds = np.searchsorted(starts, byte_bounds, side="left")
        id_bounds = cum[span_bounds].tolist()
        out = []
        for steps in plan:
            parts = [ids[id_bounds[s]:id_bounds[s + 1]] if kind == "doc" else np.array([s], np.int32)
                     for kind, s in steps]
            out.append(np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else np.zeros(0, np.int32))
        return out

    # ------------------------------------------------------------------ decoding
    def _check_ids(self, ids) -> np.ndarray:
        arr = np.asarray(ids)
        if arr.ndim != 1:
            raise ValueError(f"ids must be a 1-D sequence, got shape {arr.shape}")
        if arr.size == 0:
            return arr.astype(np.int64)
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"ids must be integers, got dtype {arr.dtype}")
        bad = np.flatnonzero((arr < 0) | (arr >= self.vocab_size))
        if bad.size:
            raise ValueError(f"id {int(arr[bad[0]])} at position {int(bad[0])} is outside the vocabulary "
                             f"(valid ids: 0..{self.vocab_size - 1})")
        return arr.astype(np.int64)

    def decode_bytes(self, ids) -> bytes:
        """The bytes the ids stand for (a special token gives its UTF-8 text)."""
        table = self._bytes
        return b"".join([table[i] for i in self._check_ids(ids).tolist()])

    def decode(self, ids, errors: str = "replace") -> str:
        """``ids`` -> text. ``decode(encode(t)) == t`` for every string ``t``. Ids cut in the middle of a
        character give invalid UTF-8, shown as U+FFFD (``errors="replace"``, as tiktoken and HF do) or
        refused with ``errors="strict"``. An id outside the vocabulary raises ``ValueError`` naming it."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes of one token."""
        return self.decode_bytes([token_id])

    def id_to_token(self, token_id: int) -> str:
        """One token as readable text (bytes that are not valid UTF-8 on their own shown as ``\\xNN``)."""
        return self.token_bytes(token_id).decode("utf-8", errors="backslashreplace")

    def token_to_id(self, token: str | bytes) -> int:
        """The id of a token given as its text or bytes (``KeyError`` if it is not one token)."""
        if isinstance(token, str) and token in self.special_tokens:
            return self.special_tokens[token]
        key = token.encode("utf-8") if isinstance(token, str) else bytes(token)
        if not hasattr(self, "_index"):
            self._index = {b: i for i, b in enumerate(self._bytes[:N_BYTES + len(self.merges)])}
        if key not in self._index:
            raise KeyError(f"{token!r} is not a token of this vocabulary")
        return self._index[key]

    def _role(self, role: str) -> int:
        for name in ROLES[role]:
            if name in self.special_tokens:
                return self.special_tokens[name]
        raise ValueError(f"this tokenizer has no {role} token (looked for {', '.join(ROLES[role])}); train it with "
                         f"special_tokens=[{ROLES[role][0]!r}, ...]")

    pad_id = property(lambda self: self._role("pad"), doc="Id of [PAD] (or <pad>); ValueError if absent.")
    mask_id = property(lambda self: self._role("mask"), doc="Id of [MASK] (or <mask>); ValueError if absent.")
    cls_id = property(lambda self: self._role("cls"), doc="Id of [CLS] (or <s>); ValueError if absent.")
    sep_id = property(lambda self: self._role("sep"), doc="Id of [SEP] (or </s>); ValueError if absent.")
    unk_id = property(lambda self: self._role("unk"), doc="Id of [UNK] (or <unk>); ValueError if absent.")

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        """Everything that defines the tokenizer, as JSON-able values."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "pattern": GPT2_PATTERN,
                "merges": [list(m) for m in self.merges], "special_tokens": list(self.special_tokens)}

    def save(self, path) -> None:
        """Write the tokenizer as JSON (merges as id pairs, special tokens in id order); atomic."""
        with atomic_write(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh)

    @classmethod
    def load(cls, path) -> BPETokenizer:
        """Read a file written by :meth:`save`. Another file (not JSON, a Hugging Face ``tokenizer.json``,
        a newer version) raises ``ValueError`` naming the file."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no tokenizer file at {str(path)!r}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path} is not a minembed BPE tokenizer file (not JSON text: {err})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            hint = ""
            if isinstance(data, dict) and "model" in data and "added_tokens" in data:
                hint = " (it looks like a Hugging Face tokenizers file: load it with the tokenizers library)"
            raise ValueError(f"{path} is not a minembed BPE tokenizer file: no \"format\": \"{FORMAT}\" entry{hint}")
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path} has format version {data.get('version')!r}; this minembed reads "
                             f"version {FORMAT_VERSION}")
        if data.get("pattern") != GPT2_PATTERN:
            raise ValueError(f"{path} uses another pre-tokenization pattern ({data.get('pattern')!r}); only "
                             "GPT-2's is supported")
        try:
            return cls(data["merges"], data["special_tokens"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path} is not a valid minembed BPE tokenizer file: {err}") from None

    # ------------------------------------------------------------------ other libraries
    def mergeable_ranks(self) -> dict[bytes, int]:
        """tiktoken's view: each non-special token's bytes -> its id (= its rank)."""
        return {b: i for i, b in enumerate(self._bytes[:N_BYTES + len(self.merges)])}

    def save_tiktoken(self, path) -> None:
        """Write the merges in tiktoken's ``.tiktoken`` format (``base64(token bytes) rank`` per line).
        Load with ``tiktoken.load.load_tiktoken_bpe(path)`` and build ``tiktoken.Encoding(name,
        pat_str=GPT2_PATTERN, mergeable_ranks=..., special_tokens=tok.special_tokens)``."""
        with atomic_write(path, "w", encoding="ascii") as fh:
            for rank, b in enumerate(self._bytes[:N_BYTES + len(self.merges)]):
                fh.write(f"{base64.b64encode(b).decode('ascii')} {rank}\n")

    def to_huggingface(self) -> dict:
        """A Hugging Face ``tokenizers`` JSON document: ByteLevel pre-tokenizer (GPT-2's pattern, no
        prefix space), a BPE model with this vocabulary and these merges, the special tokens as added
        tokens, and a ByteLevel decoder. ``tokenizers.Tokenizer.from_str(json.dumps(...))`` gives the
        same ids as :meth:`encode`."""
        sym = byte_level_alphabet()
        def name(i: int) -> str:
            return "".join(sym[v] for v in self._bytes[i])
        n = N_BYTES + len(self.merges)
        vocab = {name(i): i for i in range(n)}
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for s, i in self.special_tokens.items()]
        level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True}
        return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
                "normalizer": None, "pre_tokenizer": level, "post_processor": None, "decoder": level,
                "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                          "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                          "ignore_merges": False, "vocab": vocab,
                          "merges": [[name(a), name(b)] for a, b in self.merges]}}

    def save_huggingface(self, path) -> None:
        """Write :meth:`to_huggingface` as ``tokenizer.json`` (atomic); ``tokenizers.Tokenizer.from_file``
        reads it."""
        with atomic_write(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_huggingface(), fh, ensure_ascii=False)


def byte_level_alphabet() -> list[str]:
    """GPT-2's printable stand-in for each byte (used by the HF ``ByteLevel`` vocabulary): bytes that are
    printable Latin-1 characters stand for themselves; the other 68 (controls, space, ...) are mapped
    in order to the characters from U+0100 on, so ``" "`` is ``"Ġ"`` and ``"\\n"`` is ``"Ċ"``."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for v in range(256):
        if v in printable:
            table[v] = chr(v)
        else:
            table[v] = chr(256 + extra)
            extra += 1
    return [table[v] for v in range(256)]
