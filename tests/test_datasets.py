"""Corpus streaming and MNIST loading: bundled samples, files by path, and bad files."""
import gzip

import numpy as np
import pytest

from minembed.datasets import SAMPLE_SOURCES, load_corpus, load_mnist, load_sources


def test_corpus_streams_tokens_and_is_re_iterable(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("the cat sat\n\n  \nthe dog\r\n", encoding="utf-8")
    corpus = load_corpus(path)
    assert list(corpus) == [["the", "cat", "sat"], ["the", "dog"]]
    assert list(corpus) == list(corpus)  # each pass re-opens the file
    assert list(corpus.lines()) == ["the cat sat", "the dog"]


def test_gzip_corpus_is_read_transparently(tmp_path):
    path = tmp_path / "tiny.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("un deux\ntrois caf\u00e9\n")
    assert list(load_corpus(path)) == [["un", "deux"], ["trois", "caf\u00e9"]]


def test_broken_gzip_corpus_names_the_file(tmp_path):
    path = tmp_path / "broken.txt.gz"
    path.write_bytes(gzip.compress(b"one line\n" * 1000)[:60])  # truncated download
    with pytest.raises(ValueError, match="broken.txt.gz: the compressed data is broken"):
        list(load_corpus(path))
    path.write_bytes(b"plain text with a .gz name\n")
    with pytest.raises(ValueError, match="broken.txt.gz"):
        list(load_corpus(path))


def test_missing_corpus_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_corpus(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError):
        load_corpus(tmp_path)


def test_non_utf8_line_names_the_line_number(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"fine line\nanother\ncaf\xe9 au lait\n")
    corpus = load_corpus(path)
    with pytest.raises(ValueError, match=r"latin1.txt: line 3 is not valid UTF-8 \(byte 0xe9 at column 4\)"):
        list(corpus)


def test_bundled_samples():
    bible = load_corpus("bible")
    first = next(iter(bible))
    assert first and all(t == t.lower() for t in first)
    n_tokens = sum(len(s) for s in bible)
    assert 200_000 < n_tokens < 300_000
    assert len(load_corpus("sample").paths) == len(SAMPLE_SOURCES)


def test_load_sources_labels_every_line():
    lines, labels, names = load_sources(("bible", "speeches"))
    assert names == ["bible", "speeches"] and len(lines) == len(labels)
    assert set(labels) == {0, 1} and labels == sorted(labels)
    with pytest.raises(KeyError, match="poems"):
        load_sources(("poems",))


def test_bundled_mnist_shapes_and_dtypes():
    (x, y), (xt, yt) = load_mnist()
    assert x.shape == (10_000, 28, 28) and xt.shape == (2_000, 28, 28)
    assert x.dtype == y.dtype == np.uint8
    assert set(np.unique(y)) == set(range(10))
    assert 0 < x.mean() < 255 and x.max() == 255


def test_full_mnist_from_shared_data(shared_data):
    (x, y), (xt, yt) = load_mnist(shared_data / "images" / "mnist.npz")
    assert x.shape == (60_000, 28, 28) and xt.shape == (10_000, 28, 28) and yt.shape == (10_000,)
    (xs, ys), _ = load_mnist()
    np.testing.assert_array_equal(xs, x[:10_000])  # the bundled subset is the first 10,000 images
    np.testing.assert_array_equal(ys, y[:10_000])


def test_bad_mnist_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_mnist(tmp_path / "missing.npz")
    wrong_keys = tmp_path / "wrong.npz"
    np.savez(wrong_keys, images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"wrong.npz is not a Keras-format MNIST npz: missing arrays"):
        load_mnist(wrong_keys)
    wrong_shape = tmp_path / "shape.npz"
    np.savez(wrong_shape, x_train=np.zeros((2, 28)), y_train=np.zeros(2), x_test=np.zeros((1, 28, 28)),
             y_test=np.zeros(1))
    with pytest.raises(ValueError, match="x_train"):
        load_mnist(wrong_shape)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not an npz at all")
    with pytest.raises(ValueError, match="garbage.npz"):
        load_mnist(garbage)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1), x_test=np.zeros(1),
             y_test=np.zeros(1))
    with pytest.raises(ValueError, match="pickled.npz"):  # allow_pickle=False: never runs code
        load_mnist(pickled)
