"""Captions for digit images, and the small word vocabulary a caption encoder reads them with.

MNIST has labels, not sentences, so the sentences are made from the labels with templates:
``"a handwritten {word}"`` gives "a handwritten seven", ``"the digit {digit}"`` gives "the digit 7".
:data:`TRAIN_TEMPLATES` are used for training; :data:`TEST_TEMPLATES` are HELD OUT -- no training
caption uses them, so zero-shot accuracy with them measures whether the text encoder understood
the class words rather than memorised whole sentences. One held-out template holds a word no
training caption has ("sketch"), so the unknown-word rule below is exercised too.

Tokens (:func:`caption_tokens`): the caption lower-cased, then every run of letters and every run
of digits is a word (``"A 7!"`` -> ``["a", "7"]``); anything else separates words.

The vocabulary (:class:`CaptionVocab`) maps words to ids, id 0 being ``<unk>``. The rule for a word
it does not hold: it becomes ``<unk>`` (never an error). A caption without any word becomes the
single token ``<unk>`` (an empty bag would give every such caption the same vector by accident,
the encoder's bias). During training :class:`~minembed.vision.TinyCLIP` replaces a few known words
by ``<unk>`` too (``unk_prob``), so ``<unk>``'s vector learns to mean "a word that says nothing
about the picture" instead of staying at its random start.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

TRAIN_TEMPLATES = (
    "a handwritten {word}",
    "the digit {digit}",
    "{digit}",
    "{word}",
    "a photo of the number {word}",
    "a drawing of a {digit}",
    "the number {word} written by hand",
    "a picture of the digit {word}",
    "an image of a {digit}",
    "a scanned {word}",
    "{word} written in ink",
    "the handwritten digit {digit}",
    "a photo of a {digit}",
    "the number {digit}",
)

TEST_TEMPLATES = (                      # held out: never used for training
    "a picture of a handwritten {digit}",
    "an image of the number {word}",
    "the digit {word} written by hand",
    "a scanned photo of a {word}",
    "a sketch of the number {digit}",   # "sketch": a word no training caption has -> <unk>
)

UNK = "<unk>"
_WORD = re.compile(r"[^\W\d_]+|\d+")


def caption_tokens(caption: str) -> list[str]:
    """The words of a caption: lower-cased runs of letters or of digits (``"The digit 7."`` -> the, digit, 7)."""
    if not isinstance(caption, str):
        raise TypeError(f"a caption must be a str, got {type(caption).__name__}")
    return _WORD.findall(caption.lower())


def digit_captions(label: int, templates: Sequence[str] = TRAIN_TEMPLATES) -> list[str]:
    """Every template filled in for one digit: ``digit_captions(7)[:2]`` -> ["a handwritten seven", "the digit 7"]."""
    label = int(label)
    if not 0 <= label <= 9:
        raise ValueError(f"a digit label must be in 0..9, got {label}")
    return [t.format(word=DIGIT_WORDS[label], digit=label) for t in templates]


def class_captions(templates: Sequence[str] = TEST_TEMPLATES, num_classes: int = 10) -> list[list[str]]:
    """``[digit_captions(c, templates) for c in range(num_classes)]``: the texts zero-shot classification scores."""
    return [digit_captions(c, templates) for c in range(num_classes)]


class CaptionVocab:
    """Words <-> ids for captions; id 0 is ``<unk>``, the id of every word not in the vocabulary.

    ``CaptionVocab(words)`` keeps the words in the order given (duplicates and ``<unk>`` itself
    dropped); :meth:`from_captions` collects the words of some captions. ``encode`` turns captions
    into the flat ids + offsets an :class:`~minembed.nn.EmbeddingBag` reads.
    """

    def __init__(self, words: Iterable[str]):
        seen = {UNK: 0}
        for w in words:
            if not isinstance(w, str) or not w:
                raise ValueError(f"vocabulary words must be non-empty strings, got {w!r}")
            seen.setdefault(w, len(seen))
        self.words = list(seen)
        self.index = seen

    @classmethod
    def from_captions(cls, captions: Iterable[str]) -> CaptionVocab:
        """The vocabulary of every word in ``captions``, in order of first appearance."""
        return cls(w for c in captions for w in caption_tokens(c))

    @classmethod
    def default(cls) -> CaptionVocab:
        """The words of :data:`TRAIN_TEMPLATES` filled in with every digit (what TinyCLIP uses by default)."""
        return cls.from_captions(c for label in range(10) for c in digit_captions(label))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def ids(self, caption: str) -> np.ndarray:
        """The ids of one caption's words (unknown words -> 0 = ``<unk>``; no words at all -> ``[0]``)."""
        ids = [self.index.get(w, 0) for w in caption_tokens(caption)]
        return np.array(ids or [0], dtype=np.int64)

    def encode(self, captions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Captions -> ``(ids, offsets)``: caption b is ``ids[offsets[b]:offsets[b + 1]]`` (the last: to the end)."""
        if isinstance(captions, str):
            raise TypeError("encode takes a list of captions, not one str (wrap it: [caption])")
        parts = [self.ids(c) for c in captions]
        lengths = np.array([len(p) for p in parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if parts else np.zeros(0, np.int64)
        ids = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return ids, offsets

    def __repr__(self) -> str:
        return f"CaptionVocab({len(self)} words incl. {UNK})"
