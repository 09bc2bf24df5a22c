"""minembed.io: atomic saves (errors naming the target, the user's umask) and .npz loading."""
import os

import numpy as np
import pytest

from minembed.io import atomic_write, load_npz, save_npz
from minembed.text import Vocab, WordVectors


def test_save_into_a_missing_folder_names_the_target(tmp_path):
    target = tmp_path / "missing" / "x.npz"
    with pytest.raises(FileNotFoundError) as info:
        save_npz(target, a=np.zeros(2))
    assert info.value.filename == str(target) and str(target) in str(info.value)
    assert ".tmp" not in str(info.value)
    wv = WordVectors(["a"], np.ones((1, 2), np.float32))
    with pytest.raises(FileNotFoundError, match="missing/v.txt"):
        wv.save_word2vec_format(tmp_path / "missing" / "v.txt")


def test_replacing_a_folder_names_the_target_and_leaves_no_temporary(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OSError) as info:
        save_npz(tmp_path / "d", a=np.zeros(2))
    assert info.value.filename == str(tmp_path / "d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.skipif(os.name != "posix", reason="file modes and umask are POSIX")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_umask_permissions(tmp_path, umask):
    old = os.umask(umask)
    try:
        save_npz(tmp_path / "x.npz", a=np.zeros(2))
        with atomic_write(tmp_path / "t.txt", "w", encoding="utf-8") as fh:
            fh.write("hi")
        reference = tmp_path / "plain"  # what open() gives a new file under this umask: the oracle
        reference.write_text("x")
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    assert reference.stat().st_mode & 0o777 == expected
    assert (tmp_path / "x.npz").stat().st_mode & 0o777 == expected
    assert (tmp_path / "t.txt").stat().st_mode & 0o777 == expected


def test_npy_renamed_npz_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "v.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"v.npz holds a single array \(a .npy file\), not the .npz archive"):
        load_npz(path)
    with pytest.raises(ValueError, match="v.npz holds a single array"):
        WordVectors.load(path)
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(ValueError, match="v.npz is not a readable .npz file"):
        load_npz(path)


def test_vectors_npz_round_trip_in_both_float_dtypes(tmp_path):
    for dtype in (np.float32, np.float64):
        wv = WordVectors(["a", "ça", "日本"], np.arange(6, dtype=dtype).reshape(3, 2) / 7, counts=[5, 3, 1])
        wv.save(tmp_path / "v.npz")
        back = WordVectors.load(tmp_path / "v.npz")
        assert back.index_to_key == wv.index_to_key and back.vectors.dtype == dtype
        np.testing.assert_array_equal(back.vectors, wv.vectors)
        np.testing.assert_array_equal(back.counts, [5, 3, 1])


def test_vocab_load_of_another_file_names_it(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_bytes(np.arange(10, dtype=np.float64).tobytes())  # binary: not UTF-8
    with pytest.raises(ValueError, match=r"vocab.json is not a minembed vocabulary file \(expected the JSON"):
        Vocab.load(path)
    path.write_text('{"words": ["a"]}', encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.json is not a minembed vocabulary file.*'counts'"):
        Vocab.load(path)
    path.write_text('{"words": ["a", "a"], "counts": [1, 1]}', encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.json: word 'a' appears twice"):
        Vocab.load(path)
    Vocab(["x", "y"], [2, 1]).save(path)
    assert Vocab.load(path).words == ["x", "y"]


def test_vectors_npz_with_bad_content_names_the_file(tmp_path):
    path = tmp_path / "v.npz"
    save_npz(path, words=np.array(["a", "b"]), vectors=np.array([[1, 2], [np.nan, 0]], np.float32))
    with pytest.raises(ValueError, match=r"v.npz: the vector of 'b' \(row 1\) has NaN"):
        WordVectors.load(path)
    save_npz(path, words=np.array(["a", "a"]), vectors=np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"v.npz: key 'a' appears twice"):
        WordVectors.load(path)
    save_npz(path, words=np.array(["a"]), vectors=np.zeros((1, 2), np.int64))
    with pytest.raises(TypeError, match=r"v.npz: vectors must be floating point"):
        WordVectors.load(path)
