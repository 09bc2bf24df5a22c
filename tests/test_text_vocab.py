"""Vocab: counting, trimming, encoding, and saving safely."""
import json

import numpy as np
import pytest

from minembed.io import atomic_write
from minembed.text import Vocab

SENTENCES = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "the"]]


def test_build_orders_by_count_then_first_seen():
    v = Vocab.build(SENTENCES)
    assert v.words == ["the", "cat", "sat", "dog", "a"]
    assert v.counts.tolist() == [3, 2, 2, 1, 1]
    assert v["the"] == 0 and v["dog"] == 3 and len(v) == 5 and "cat" in v and "cow" not in v


def test_min_count_and_max_size():
    assert Vocab.build(SENTENCES, min_count=2).words == ["the", "cat", "sat"]
    assert Vocab.build(SENTENCES, max_size=2).words == ["the", "cat"]
    with pytest.raises(ValueError, match="min_count=5.*'the', occurs 3"):
        Vocab.build(SENTENCES, min_count=5)
    with pytest.raises(ValueError, match="min_count must be (an integer )?>= 1"):
        Vocab.build(SENTENCES, min_count=0)
    with pytest.raises(ValueError, match="empty"):
        Vocab.build([])


def test_encode_skips_or_raises_naming_the_word():
    v = Vocab.build(SENTENCES)
    np.testing.assert_array_equal(v.encode(["a", "cow", "the"]), [4, 0])
    with pytest.raises(KeyError, match="'cow' is not in the vocabulary"):
        v.encode(["a", "cow"], unknown="error")
    with pytest.raises(KeyError, match="'cow'"):
        v["cow"]
    assert v.encode([]).shape == (0,)


def test_save_load_round_trip(tmp_path):
    v = Vocab.build(SENTENCES)
    path = tmp_path / "vocab.json"
    v.save(path)
    w = Vocab.load(path)
    assert w.words == v.words and w.counts.tolist() == v.counts.tolist()
    assert json.loads(path.read_text(encoding="utf-8"))["words"][0] == "the"  # plain JSON


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "vocab.json"
    Vocab.build(SENTENCES).save(path)
    before = path.read_text(encoding="utf-8")

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        Vocab.build([["other", "words"]]).save(path)
    assert path.read_text(encoding="utf-8") == before
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]


def test_atomic_write_on_interrupt(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write("half of the new")
        raise KeyboardInterrupt
    assert path.read_text() == "old"


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"something": "else"}')
    with pytest.raises(ValueError, match="not a minembed vocabulary"):
        Vocab.load(path)
    with pytest.raises(FileNotFoundError):
        Vocab.load(tmp_path / "none.json")
    with pytest.raises(ValueError, match="'a' appears twice"):
        Vocab(["a", "b", "a"], [3, 2, 1])
