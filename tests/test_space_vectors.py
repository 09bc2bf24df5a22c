"""WordVectors: queries, evaluation, statistics, file formats (and gensim interop when importable)."""
import importlib.util

import numpy as np
import pytest

from minembed.space.evaluate import pearson_r, rankdata, spearman_rho
from minembed.text import WordVectors

HAS_GENSIM = importlib.util.find_spec("gensim") is not None


@pytest.fixture
def wv():
    # 2-D toy space: royalty along x, gender along y, plus two fruits far away
    words = ["king", "queen", "man", "woman", "prince", "apple", "pear"]
    vecs = np.array([[3, 1], [3, -1], [1, 1], [1, -1], [2.6, 1.2], [-1, 0.05], [-1, -0.05]], dtype=np.float32)
    return WordVectors(words, vecs, counts=[70, 60, 50, 40, 30, 20, 10])


def test_basics(wv):
    assert len(wv) == 7 and "king" in wv and "dog" not in wv and wv.vector_size == 2
    np.testing.assert_array_equal(wv["queen"], [3, -1])
    assert wv[["man", "woman"]].shape == (2, 2)
    assert wv.key_to_index["man"] == 2 and wv.index_to_key[2] == "man"
    with pytest.raises(KeyError, match="'dog'"):
        wv["dog"]
    with pytest.raises(KeyError, match="'dog'"):
        wv.most_similar("dog")
    with pytest.raises(KeyError, match="'cat'"):
        wv.similarity("king", "cat")


def test_similarity_queries(wv):
    assert wv.similarity("apple", "pear") == pytest.approx((1 - 0.05**2) / (1 + 0.05**2), rel=1e-5)
    top = wv.most_similar("king", topn=2)
    assert [w for w, _ in top] == ["prince", "man"]
    assert top[0][1] == pytest.approx(float(np.dot([3, 1], [2.6, 1.2]) / np.hypot(3, 1) / np.hypot(2.6, 1.2)), rel=1e-5)
    assert wv.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    assert wv.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    assert [w for w, _ in wv.most_similar("king", topn=3, restrict_vocab=4)] == ["man", "queen", "woman"]
    assert wv.most_similar("king", topn=None).shape == (7,)
    assert wv.similar_by_vector(np.array([3.0, -1.0]), topn=1)[0][0] == "queen"
    assert wv.doesnt_match(["king", "queen", "prince", "apple"]) == "apple"
    assert wv.closer_than("king", "man") == ["prince"]
    assert wv.rank("king", "man") == 2
    assert len(wv.most_similar("king", topn=100)) == 6  # every other word, never the query


def test_analogy_and_pair_evaluation(tmp_path, wv):
    q = tmp_path / "q.txt"
    q.write_text(": royalty\nMAN KING WOMAN QUEEN\nman woman king queen\nman king woman prince\n"
                 ": fruit\napple pear king dog\n", encoding="utf-8")
    acc, sections = wv.evaluate_word_analogies(q)
    assert [s["section"] for s in sections] == ["royalty", "fruit", "Total accuracy"]
    assert len(sections[0]["correct"]) == 2 and len(sections[0]["incorrect"]) == 1
    assert sections[1]["correct"] == sections[1]["incorrect"] == []  # 'dog' unknown: skipped
    assert acc == pytest.approx(2 / 3)
    acc_dummy, _ = wv.evaluate_word_analogies(q, dummy4unknown=True)
    assert acc_dummy == pytest.approx(2 / 4)
    acc_small, _ = wv.evaluate_word_analogies(q, restrict_vocab=3)  # queen is not a candidate any more
    assert acc_small == 0.0

    pairs = tmp_path / "p.tsv"
    pairs.write_text("# comment\nking\tqueen\t8\nking\tman\t7\napple\tpear\t9\nking\tapple\t1\ndog\tcat\t5\n",
                     encoding="utf-8")
    (r, p_r), (rho, p_rho), oov = wv.evaluate_word_pairs(pairs)
    sims = [wv.similarity(a, b) for a, b in [("king", "queen"), ("king", "man"), ("apple", "pear"), ("king", "apple")]]
    assert r == pytest.approx(pearson_r([8, 7, 9, 1], sims))
    assert rho == pytest.approx(spearman_rho([8, 7, 9, 1], sims))
    assert oov == pytest.approx(20.0)
    assert 0 <= p_r <= 1 and 0 <= p_rho <= 1

    bad = tmp_path / "bad.txt"
    bad.write_text(": s\na b c\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        wv.evaluate_word_analogies(bad)
    bad.write_text("king queen 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        wv.evaluate_word_pairs(bad)


def test_unit_vectors_are_lazy_and_follow_changes():
    vectors = np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]], dtype=np.float32)
    wv = WordVectors(["a", "zero", "b"], vectors)
    assert wv._unit is None  # nothing computed until a query needs it
    np.testing.assert_allclose(wv.unit_vectors, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], rtol=1e-6)
    assert wv.similarity("a", "b") == pytest.approx(-0.6)
    wv.vectors[2] = [0.0, 2.0]  # changed in place (as training does), then the cache is cleared
    wv.clear_norms()
    assert wv.similarity("a", "b") == pytest.approx(0.8)
    assert wv.unit_vectors.dtype == np.float32


def test_rank_statistics_by_hand():
    np.testing.assert_array_equal(rankdata([10, 20, 20, 5]), [2, 3.5, 3.5, 1])
    x, y = np.array([1, 2, 3, 4, 5.0]), np.array([2, 1, 4, 3, 5.0])
    d = rankdata(x) - rankdata(y)
    assert spearman_rho(x, y) == pytest.approx(1 - 6 * (d @ d) / (5 * (25 - 1)))  # no-ties formula
    assert pearson_r([1, 2, 3], [2, 4, 7]) == pytest.approx(0.9933992677987828)
    # p-value of r = 0.5 with n = 10: I_x(4, 1/2) at x = 8 / (8 + t^2) = 0.75, which is exactly
    # 1 - sqrt(y) (1 + x/2 + 3x^2/8 + 5x^3/16) with y = 1 - x (the finite series of I_y(1/2, 4))
    from minembed.space.evaluate import _betainc
    from minembed.space.evaluate import t_test_pvalue as _t_pvalue

    x, y = 0.75, 0.25
    assert _t_pvalue(0.5, 10) == pytest.approx(1 - np.sqrt(y) * (1 + x / 2 + 3 * x**2 / 8 + 5 * x**3 / 16), rel=1e-10)
    assert _betainc(2, 3, 0.4) == pytest.approx(6 * .4**2 * .6**2 + 4 * .4**3 * .6 + .4**4, rel=1e-12)


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_format_round_trip_and_limit(tmp_path, wv, binary):
    path = tmp_path / "v.bin"
    wv.index_to_key[0] = "kïng"  # non-ASCII words survive
    wv.key_to_index = {w: i for i, w in enumerate(wv.index_to_key)}
    wv.vectors[0] = [np.float32(1 / 3), np.float32(-1e-8)]
    wv.save_word2vec_format(path, binary=binary)
    back = WordVectors.load_word2vec_format(path, binary=binary)
    assert back.index_to_key == wv.index_to_key
    np.testing.assert_array_equal(back.vectors, wv.vectors)  # exact, text included (%.9g)
    first = WordVectors.load_word2vec_format(path, binary=binary, limit=3)
    assert first.index_to_key == wv.index_to_key[:3]


def test_malformed_text_files(tmp_path):
    p = tmp_path / "v.txt"
    cases = {
        "2 2\na 1 2\n": "truncated",
        "x y\na 1 2\n": "line 1",
        "2 2\na 1 2\nb 1\n": "line 3",
        "2 2\na 1 2\nb 1 zz\n": "line 3: bad number 'zz'",
        "1 2\na 1 2\nb 3 4\n": "line 3: more vectors",
    }
    for text, match in cases.items():
        p.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=match):
            WordVectors.load_word2vec_format(p)
    p.write_bytes(b"1 2\n\xff\xfe 1 2\n")
    with pytest.raises(ValueError, match="line 2: not valid UTF-8"):
        WordVectors.load_word2vec_format(p)


def test_malformed_binary_files(tmp_path):
    p = tmp_path / "v.bin"
    rec = b"a " + np.array([1, 2], "<f4").tobytes() + b"\n"
    p.write_bytes(b"2 2\n" + rec + b"bbbbbbb " + np.array([1], "<f4").tobytes())  # long enough for the header
    with pytest.raises(ValueError, match="record 2 .*truncated vector"):
        WordVectors.load_word2vec_format(p, binary=True)
    p.write_bytes(b"1 2\n\xff\xfe " + np.array([1, 2], "<f4").tobytes())
    with pytest.raises(ValueError, match="record 1: word is not valid UTF-8"):
        WordVectors.load_word2vec_format(p, binary=True)
    p.write_bytes(b"1 2\n" + rec + rec)
    with pytest.raises(ValueError, match="record 2: more data"):
        WordVectors.load_word2vec_format(p, binary=True)


def test_failed_save_keeps_old_file(tmp_path, wv):
    path = tmp_path / "v.txt"
    wv.save_word2vec_format(path)
    before = path.read_bytes()
    bad = WordVectors(["ok", "two words"], np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="'two words'"):
        bad.save_word2vec_format(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt"]


def test_npz_round_trip(tmp_path, wv):
    path = tmp_path / "v.npz"
    wv.save(path)
    back = WordVectors.load(path)
    assert back.index_to_key == wv.index_to_key
    np.testing.assert_array_equal(back.vectors, wv.vectors)
    np.testing.assert_array_equal(back.counts, wv.counts)


@pytest.mark.skipif(not HAS_GENSIM, reason="gensim is not importable (pip install 'minembed[interop]' to run)")
@pytest.mark.parametrize("binary", [False, True])
def test_gensim_interop(tmp_path, binary):
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(0)
    words = ["the", "ça", "o'clock", "x"]
    vecs = rng.standard_normal((4, 5)).astype(np.float32)
    kv = KeyedVectors(5)
    kv.add_vectors(words, vecs)
    # gensim writes, minembed reads
    kv.save_word2vec_format(str(tmp_path / "g"), binary=binary)
    ours = WordVectors.load_word2vec_format(tmp_path / "g", binary=binary)
    assert ours.index_to_key == words
    np.testing.assert_allclose(ours.vectors, vecs, rtol=1e-6)
    # minembed writes, gensim reads
    ours.save_word2vec_format(tmp_path / "m", binary=binary)
    theirs = KeyedVectors.load_word2vec_format(str(tmp_path / "m"), binary=binary)
    assert list(theirs.index_to_key) == words
    np.testing.assert_array_equal(theirs.vectors, ours.vectors)
    assert theirs.most_similar("the", topn=3)[0][0] == ours.most_similar("the", topn=3)[0][0]
