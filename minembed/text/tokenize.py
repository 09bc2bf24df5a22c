"""A small, documented word tokenizer: the same rules that made ``bench.txt`` and the bundled samples.

Rules, applied in this order:

1. Curly apostrophes (``’`` ``‘`` ``ʼ``) become ``'``.
2. Accents are removed (Unicode NFKD), then anything that is not ASCII is dropped (``café`` -> ``cafe``).
3. Lowercased when ``lowercase=True`` (the default).
4. Every character other than a letter, a digit or ``'`` separates tokens.
5. Apostrophes at the start or end of a token are stripped, so only apostrophes *inside* a word
   survive: ``don't``, ``o'clock``, ``father's`` stay whole; ``'tis`` becomes ``tis``.

>>> tokenize("“Don’t!” said O'Brien — it's 5 o'clock, café time.")
["don't", 'said', "o'brien", "it's", '5', "o'clock", 'cafe', 'time']
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator

_CURLY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'"})
_TOKEN_LOWER = re.compile(r"[a-z0-9']+")
_TOKEN_CASED = re.compile(r"[A-Za-z0-9']+")


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """One string -> its list of word tokens (rules in the module docstring)."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a str, got {type(text).__name__}")
    text = text.translate(_CURLY)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    if lowercase:
        text = text.lower()
        pattern = _TOKEN_LOWER
    else:
        pattern = _TOKEN_CASED
    tokens = []
    for tok in pattern.findall(text):
        tok = tok.strip("'")
        if tok:
            tokens.append(tok)
    return tokens


class TokenizedLines:
    """Re-iterable token lists of raw text lines (a file path or any re-iterable of strings).

    Each pass re-reads the source; lines with no tokens are skipped. A file is streamed by
    :class:`~minembed.datasets.Corpus` (so a line of more than 10,000 tokens comes as several
    sentences, read in bounded pieces); strings are tokenized one at a time. Use it to feed raw
    text to :class:`~minembed.text.Word2Vec`::

        Word2Vec(TokenizedLines("my_book.txt"), vector_size=50)
    """

    def __init__(self, source, lowercase: bool = True):
        if isinstance(source, Iterator):
            raise TypeError("TokenizedLines needs a path or a re-iterable of strings (e.g. a list), "
                            "not a one-shot iterator")
        self.source = source
        self.lowercase = lowercase

    def __iter__(self) -> Iterator[list[str]]:
        if isinstance(self.source, (str, bytes)) or hasattr(self.source, "__fspath__"):
            from ..datasets.corpus import load_corpus

            yield from load_corpus(self.source, tokenizer=functools.partial(tokenize, lowercase=self.lowercase))
            return
        for line in self.source:
            tokens = tokenize(line, self.lowercase)
            if tokens:
                yield tokens
