"""word2vec / GloVe files: content detection, gensim's options, and files that must be refused."""
import importlib.util
import time
import tracemalloc

import numpy as np
import pytest

from minembed.space import formats
from minembed.space.formats import load_word2vec_format
from minembed.text import WordVectors

HAS_GENSIM = importlib.util.find_spec("gensim") is not None
needs_gensim = pytest.mark.skipif(not HAS_GENSIM, reason="gensim is not importable (pip install 'minembed[interop]')")

WORDS = ["the", "ça", "o'clock", "x", "日本"]


def _binary_record(word: bytes, vec, newline=True) -> bytes:
    return word + b" " + np.asarray(vec, "<f4").tobytes() + (b"\n" if newline else b"")


@pytest.fixture
def vecs():
    return np.random.default_rng(0).standard_normal((len(WORDS), 6)).astype(np.float32)


# ----------------------------------------------------------------- reading what gensim wrote
@needs_gensim
@pytest.mark.parametrize("binary, header", [(True, True), (False, True), (False, False)])
def test_reads_gensim_files_detecting_binary_and_header(tmp_path, vecs, binary, header):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(6)
    kv.add_vectors(WORDS, vecs)
    path = tmp_path / "vectors.dat"  # an extension that says nothing
    kv.save_word2vec_format(str(path), binary=binary, write_header=header)
    assert path.read_bytes().startswith(b"5 6\n") == header  # the files differ as the test means them to
    for options in ({}, {"binary": binary}, {"no_header": not header}, {"binary": binary, "no_header": not header}):
        keys, got = load_word2vec_format(path, **options)
        assert keys == WORDS
        np.testing.assert_array_equal(got, kv.vectors)  # gensim's text is repr(float32): exact
    theirs = KeyedVectors.load_word2vec_format(str(path), binary=binary, no_header=not header, limit=2,
                                               datatype=np.float64)
    ours = WordVectors.load_word2vec_format(path, limit=2, datatype=np.float64)
    assert ours.index_to_key == list(theirs.index_to_key) and ours.vectors.dtype == theirs.vectors.dtype
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)


def test_datatype_and_limit(tmp_path, vecs):
    path = tmp_path / "v.txt"
    formats.save_word2vec_format(path, WORDS, vecs)
    for dtype in (np.float16, np.float32, np.float64):
        keys, got = load_word2vec_format(path, datatype=dtype, limit=3)
        assert keys == WORDS[:3] and got.dtype == dtype
        # text is parsed straight into the dtype: float64 gets the 9 written digits, not float32's rounding
        expected = np.array([line.split()[1:] for line in path.read_text("utf-8").splitlines()[1:4]], dtype=dtype)
        np.testing.assert_array_equal(got, expected)
    for bad in (0, -1, 2.0, True):
        with pytest.raises((TypeError, ValueError), match=r"limit must be an integer >= 1, got"):
            load_word2vec_format(path, limit=bad)
    with pytest.raises(TypeError, match="datatype must be float16, float32 or float64"):
        load_word2vec_format(path, datatype=np.int32)
    with pytest.raises(ValueError, match="unicode_errors"):
        load_word2vec_format(path, unicode_errors="no-such-handler")


def test_limit_larger_than_the_file_and_empty_header(tmp_path, vecs):
    path = tmp_path / "v.bin"
    formats.save_word2vec_format(path, WORDS, vecs, binary=True)
    keys, got = load_word2vec_format(path, limit=99)
    assert keys == WORDS and np.array_equal(got, vecs)
    (tmp_path / "e.txt").write_bytes(b"0 4\n")
    keys, got = load_word2vec_format(tmp_path / "e.txt")
    assert keys == [] and got.shape == (0, 4)


def test_glove_file_without_header_grows_its_table(tmp_path):
    rng = np.random.default_rng(1)
    table = rng.standard_normal((3000, 3)).round(4)  # more rows than the first allocation (1024)
    path = tmp_path / "glove.6B.3d.txt"
    path.write_text("".join(f"w{i} " + " ".join(map(str, row)) + "\n" for i, row in enumerate(table)), "utf-8")
    keys, got = load_word2vec_format(path)  # detected: the first line is not two integers
    assert keys == [f"w{i}" for i in range(3000)]
    oracle = np.loadtxt(path, usecols=(1, 2, 3), dtype=np.float32)
    np.testing.assert_array_equal(got, oracle)
    keys, got = load_word2vec_format(path, no_header=True, limit=1500)
    assert len(keys) == 1500 and np.array_equal(got, oracle[:1500])
    with pytest.raises(ValueError, match="no_header=True reads text files only"):
        load_word2vec_format(path, no_header=True, binary=True)
    with pytest.raises(ValueError, match="line 1: header must be .*no_header=True"):
        load_word2vec_format(path, no_header=False)


def test_text_under_a_binary_name_and_binary_under_a_text_name(tmp_path, vecs):
    formats.save_word2vec_format(tmp_path / "x.bin", WORDS, vecs, binary=False)
    formats.save_word2vec_format(tmp_path / "x.txt", WORDS, vecs, binary=True)
    for name in ("x.bin", "x.txt"):
        keys, got = load_word2vec_format(tmp_path / name)
        assert keys == WORDS and np.array_equal(got, vecs)


def test_unicode_errors(tmp_path):
    text = tmp_path / "t.txt"
    text.write_bytes(b"2 2\nok 1 2\nb\xffd 3 4\n")
    with pytest.raises(ValueError, match=r"t.txt: line 3: not valid UTF-8"):
        load_word2vec_format(text)
    assert load_word2vec_format(text, unicode_errors="replace")[0] == ["ok", "b\ufffdd"]
    assert load_word2vec_format(text, unicode_errors="ignore")[0] == ["ok", "bd"]
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"2 2\n" + _binary_record(b"ok", [1, 2]) + _binary_record(b"b\xffd", [3, 4]))
    with pytest.raises(ValueError, match=r"b.bin: record 2: word is not valid UTF-8"):
        load_word2vec_format(binary)
    keys, got = load_word2vec_format(binary, unicode_errors="replace")
    assert keys == ["ok", "b\ufffdd"] and got.tolist() == [[1, 2], [3, 4]]


# -------------------------------------------------------------------------- refused files
@pytest.mark.parametrize("bad", ["nan", "-inf", "NaN", "1e39"])  # 1e39 overflows float32
def test_nan_or_inf_in_a_text_file_is_refused_naming_the_line(tmp_path, bad):
    path = tmp_path / "v.txt"
    path.write_text(f"3 2\na 1 2\nb 3 {bad}\nc 5 6\n", "utf-8")
    with pytest.raises(ValueError, match=r"v.txt: line 3: the vector of 'b' has NaN or infinite values"):
        WordVectors.load_word2vec_format(path)
    path.write_text(f"a 1 2\nb 3 {bad}\n", "utf-8")  # no header: the second line
    with pytest.raises(ValueError, match=r"v.txt: line 2: the vector of 'b'"):
        load_word2vec_format(path)


def test_nan_in_a_binary_file_and_float16_overflow_are_refused(tmp_path):
    path = tmp_path / "v.bin"
    path.write_bytes(b"3 2\n" + _binary_record(b"a", [1, 2]) + _binary_record(b"b", [1, 2])
                     + _binary_record(b"c", [np.nan, 0]))
    with pytest.raises(ValueError, match=r"v.bin: record 3: the vector of 'c' has NaN"):
        load_word2vec_format(path)
    path.write_bytes(b"1 2\n" + _binary_record(b"big", [1e5, 0]))  # finite in float32, inf in float16
    assert load_word2vec_format(path)[1].tolist() == [[1e5, 0]]
    with pytest.raises(ValueError, match=r"record 1: the vector of 'big' .*beyond float16's range"):
        load_word2vec_format(path, datatype=np.float16)


@pytest.mark.parametrize("binary", [None, True, False])
def test_huge_header_is_refused_without_allocating_it(tmp_path, binary):
    path = tmp_path / "v.bin"
    path.write_bytes(b"1000000000000 100\n" + _binary_record(b"a", np.ones(100)))  # 400-byte floats
    tracemalloc.start()
    start = time.process_time()
    try:
        with pytest.raises(ValueError, match=r"v.bin: truncated, or an impossible header '1000000000000 100'"):
            load_word2vec_format(path, binary=binary)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # the header claims 400 GB
    assert time.process_time() - start < 5  # generous: it reads 400 bytes


def test_short_file_is_refused_by_its_size(tmp_path):
    # A text record needs >= 2 D bytes: "1 2 3\n" (6 bytes) cannot hold a 3-dim vector with its word.
    path = tmp_path / "v.txt"
    path.write_bytes(b"2 3\na 1 2 3\n")
    with pytest.raises(ValueError, match="truncated"):
        load_word2vec_format(path)


def _file_with_a_spaced_word(path, seed, newline):
    rng = np.random.default_rng(seed)
    words = ["new york"] + [f"w{i}" for i in range(20)]
    vecs = (0.3 * rng.standard_normal((21, 50))).astype(np.float32)
    if newline:  # word2vec.c's and minembed's layout
        path.write_bytes(b"21 50\n" + b"".join(_binary_record(w.encode(), v) for w, v in zip(words, vecs, strict=True)))
    else:
        from gensim.models import KeyedVectors

        kv = KeyedVectors(50)
        kv.add_vectors(words, vecs)
        kv.save_word2vec_format(str(path), binary=True)  # gensim writes the bad word without complaint
        assert path.stat().st_size == 6 + sum(len(w.encode()) + 1 + 200 for w in words)  # no newline after a vector


@needs_gensim
@pytest.mark.parametrize("newline", [True, False])  # word2vec.c / minembed end each vector with one; gensim does not
def test_binary_word_with_a_space_is_refused_as_misaligned(tmp_path, newline):
    path = tmp_path / "v.bin"
    _file_with_a_spaced_word(path, 3, newline)
    with pytest.raises(ValueError, match=r"v.bin: record 2: .*the records are mis-aligned; usually an earlier word "
                                         r"contains a space \(record 1 is 'new'\)"):
        load_word2vec_format(path)
    with pytest.raises(ValueError, match="record 2: .*mis-aligned"):  # limit=1 still checks where record 2 starts
        load_word2vec_format(path, limit=1)
    refused = 0
    for seed in range(20):  # how reliable the signal is (the docstring's figure, on fewer files)
        _file_with_a_spaced_word(path, seed, newline)
        try:
            load_word2vec_format(path)
        except ValueError as err:
            assert "mis-aligned" in str(err)
            refused += 1
    assert refused >= (20 if newline else 17)


def test_separator_after_each_vector_must_not_change(tmp_path):
    path = tmp_path / "v.bin"
    path.write_bytes(b"3 1\n" + _binary_record(b"a", [1]) + _binary_record(b"b", [2], newline=False)
                     + _binary_record(b"c", [3]))
    with pytest.raises(ValueError, match="record 3: record 2's vector is not followed by a newline, unlike record 1"):
        load_word2vec_format(path)
    path.write_bytes(b"2 1\n" + _binary_record(b"a", [1], newline=False) + _binary_record(b"b", [2]))
    assert load_word2vec_format(path)[0] == ["a", "b"]  # gensim's layout; a final newline is fine


def test_failed_load_leaves_nothing_behind(tmp_path, vecs):
    path = tmp_path / "v.txt"
    formats.save_word2vec_format(path, WORDS, vecs)
    before = sorted(p.name for p in tmp_path.iterdir())
    path.write_bytes(path.read_bytes() + b"extra 1 2 3 4 5 6\n")
    with pytest.raises(ValueError, match="more vectors"):
        WordVectors.load_word2vec_format(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    dup = tmp_path / "d.txt"
    dup.write_text("2 1\na 1\na 2\n", "utf-8")
    with pytest.raises(ValueError, match=r"d.txt: key 'a' appears twice"):
        WordVectors.load_word2vec_format(dup)
