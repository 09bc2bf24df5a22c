"""Corpus streaming and MNIST loading: bundled samples, files by path, and bad files."""
import gzip
import tracemalloc

import numpy as np
import pytest

from minembed.datasets import SAMPLE_SOURCES, Corpus, load_corpus, load_mnist, load_sources
from minembed.text import TokenizedLines, tokenize


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


def _one_line_corpus(path, n_tokens, seed=0):
    """A text8-style file: one line, no newline; words with multi-byte characters and mixed whitespace."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(3000)] + ["caf\u00e9", "na\u00efve", "\u4e2d\u6587", "x" * 300])
    seps = np.array([" ", " ", " ", "  ", "\t", " \x0b"])
    toks = words[rng.integers(0, len(words), n_tokens)]
    text = "".join(t + s for t, s in zip(toks, seps[rng.integers(0, len(seps), n_tokens)], strict=True))
    path.write_text(" " + text.rstrip(), encoding="utf-8")
    return text


def test_one_line_corpus_comes_in_sentences_of_10000_tokens_like_gensim(tmp_path):
    path = tmp_path / "text8ish"
    text = _one_line_corpus(path, 25_003)
    expected = text.split()  # the oracle: the whole line split at once, cut every 10,000 tokens as LineSentence does
    for block in (64, 1000, 1 << 20):  # tiny blocks cut tokens' neighbourhoods everywhere
        sentences = list(Corpus([path], block_bytes=block))
        assert [len(s) for s in sentences] == [10_000, 10_000, 5_003]
        assert [t for s in sentences for t in s] == expected
    assert list(load_corpus(path)) == sentences  # the default
    assert list(Corpus([path], max_sentence_length=7_000)) == [expected[i:i + 7_000] for i in range(0, 25_003, 7_000)]


def test_sentences_are_those_of_gensims_line_sentence(tmp_path):
    gensim_word2vec = pytest.importorskip("gensim.models.word2vec", reason="gensim is the oracle (dev extra)")
    path = tmp_path / "mixed.txt"
    one_line = _one_line_corpus(tmp_path / "tmp", 23_456)
    path.write_text("short line\n\n" + one_line.strip() + "\n  another   one \n", encoding="utf-8")
    assert list(Corpus([path], block_bytes=500)) == list(gensim_word2vec.LineSentence(str(path)))


def test_text8_prefix_comes_in_10000_token_sentences(shared_data):
    lengths = [len(s) for s in load_corpus(shared_data / "corpus" / "text8_prefix")]
    assert sum(lengths) == 2_139_748  # the token count in shared/data/README.md
    assert lengths[:-1] == [10_000] * 213 and lengths[-1] == 9_748


def test_long_line_is_read_in_pieces_of_bounded_size(tmp_path):
    path = tmp_path / "text8ish"
    text = _one_line_corpus(path, 5_000)
    longest_token = max(len(t.encode()) for t in text.split())
    pieces = list(Corpus([path], block_bytes=256).pieces())
    assert len(pieces) > 100 and [end for _, end in pieces] == [False] * (len(pieces) - 1) + [True]
    assert max(len(p.encode()) for p, _ in pieces) <= 256 + longest_token
    assert "".join(p for p, _ in pieces) == " " + text.rstrip()  # nothing lost or added at the cuts


def test_one_line_corpus_is_streamed_in_bounded_memory(tmp_path):
    path = tmp_path / "big_line"
    rng = np.random.default_rng(1)
    path.write_text(" ".join(f"w{i}" for i in rng.integers(0, 5000, 1_200_000)), encoding="utf-8")  # 6.6 MB
    tracemalloc.start()
    try:
        n = sum(len(s) for s in Corpus([path], block_bytes=1 << 16))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n == 1_200_000
    # Reading the line whole takes ~85 MB (bytes + str + 1.2M token objects); in 64 KiB blocks ~2 MB.
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MB"


def test_lines_and_tokens_are_the_same_whatever_the_block_size(tmp_path):
    path = tmp_path / "mixed.txt"
    rng = np.random.default_rng(2)
    lines = [" ".join(f"t{i}" for i in rng.integers(0, 50, rng.integers(0, 40))) for _ in range(60)]
    raw = "\r\n".join(lines) + "\r\n"  # CRLF line ends straddle the block boundaries somewhere
    path.write_bytes(raw.encode())
    whole = Corpus([path], block_bytes=1 << 20)
    assert list(whole.lines()) == [x for x in lines if x.strip()]
    for block in (3, 7, 16):
        small = Corpus([path], block_bytes=block)
        assert list(small.lines()) == list(whole.lines())
        assert list(small) == [x.split() for x in lines if x.split()]


def test_non_utf8_byte_in_a_long_line_names_line_and_column(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"first line\n" + b"word " * 40 + b"caf\xe9 " + b"more " * 40 + b"\n")
    with pytest.raises(ValueError, match=r"bad.txt: line 2 is not valid UTF-8 \(byte 0xe9 at column 204\)"):
        list(Corpus([path], block_bytes=16))


def test_tokenizer_and_lowercase_options(tmp_path):
    path = tmp_path / "raw.txt"
    path.write_text("The King's \u201cCrown\u201d, caf\u00e9!\nA  b\n" + "Rex. " * 12 + "Rex", encoding="utf-8")
    assert list(load_corpus(path, lowercase=True)) == [["the", "king's", "\u201ccrown\u201d,", "caf\u00e9!"],
                                                       ["a", "b"], ["rex."] * 12 + ["rex"]]
    expected = [tokenize(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert expected[0] == ["the", "king's", "crown", "cafe"]
    for block in (5, 1 << 20):
        assert list(Corpus([path], tokenizer=tokenize, block_bytes=block)) == expected
    assert list(TokenizedLines(path)) == expected == list(TokenizedLines(path.read_text(encoding="utf-8").split("\n")))


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
