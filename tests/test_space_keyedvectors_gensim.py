"""KeyedVectors against gensim's KeyedVectors on the same table: the methods gensim users rely on.

gensim is the oracle (it is a dev dependency; the tests are skipped, with the reason, without it);
where minembed differs on purpose (topn < 1 raises, 3CosMul scales raw vectors) a hand computation is.
"""
import importlib.util

import numpy as np
import pytest

from minembed.space import KeyedVectors

HAS_GENSIM = importlib.util.find_spec("gensim") is not None
needs_gensim = pytest.mark.skipif(not HAS_GENSIM, reason="gensim is not importable (pip install 'minembed[interop]')")


def _table(v=40, d=6, seed=3):
    rng = np.random.default_rng(seed)
    return [f"w{i}" for i in range(v)], rng.standard_normal((v, d)).astype(np.float32)


@pytest.fixture
def pair():
    words, vecs = _table()
    ours = KeyedVectors(words, vecs.copy())
    if not HAS_GENSIM:
        return ours, None
    from gensim.models import KeyedVectors as GensimKV

    theirs = GensimKV(vecs.shape[1])
    theirs.add_vectors(words, vecs.copy())
    return ours, theirs


def _same_ranking(a, b, rtol=1e-5):
    assert [k for k, _ in a] == [k for k, _ in b]
    np.testing.assert_allclose([s for _, s in a], [s for _, s in b], rtol=rtol, atol=1e-6)


@needs_gensim
def test_most_similar_with_a_2d_array_weights_and_mixed_terms(pair):
    ours, theirs = pair
    rows = ours.vectors[[3, 7]] * np.float32(2.5)               # raw (non-unit) vectors, one term per row
    _same_ranking(ours.most_similar(positive=rows, topn=5), theirs.most_similar(positive=rows, topn=5))
    terms = dict(positive=[("w1", 2.0), "w2", ours.vectors[9] * 3], negative=["w4"])
    _same_ranking(ours.most_similar(**terms, topn=6), theirs.most_similar(**terms, topn=6))
    np.testing.assert_allclose(ours.most_similar("w5", topn=None), theirs.most_similar("w5", topn=None), rtol=1e-5)


@needs_gensim
def test_get_mean_vector_and_n_similarity(pair):
    ours, theirs = pair
    for kw in (dict(), dict(pre_normalize=False), dict(post_normalize=True), dict(weights=[1.0, -2.0, 0.5])):
        keys = ["w1", "w8", "nope"]  # a missing key is skipped by default, on both sides
        np.testing.assert_allclose(ours.get_mean_vector(keys, **kw), theirs.get_mean_vector(keys, **kw), rtol=1e-5,
                                   atol=1e-6)
    with pytest.raises(KeyError, match="nope"):
        ours.get_mean_vector(["w1", "nope"], ignore_missing=False)
    assert ours.n_similarity(["w1", "w2"], ["w3"]) == pytest.approx(theirs.n_similarity(["w1", "w2"], ["w3"]), rel=1e-5)


@needs_gensim
def test_relative_cosine_and_most_similar_to_given(pair):
    ours, theirs = pair
    assert ours.relative_cosine_similarity("w1", "w2", topn=7) == pytest.approx(
        theirs.relative_cosine_similarity("w1", "w2", topn=7), rel=1e-5)
    given = ["w3", "w10", "w20", "w30"]
    assert ours.most_similar_to_given("w0", given) == theirs.most_similar_to_given("w0", given)


@needs_gensim
def test_add_vectors_and_setitem_as_gensim(pair):
    ours, theirs = pair
    new = np.arange(12, dtype=np.float32).reshape(2, 6)
    for kv in (ours, theirs):
        kv.add_vectors(["w1", "fresh"], new)                    # w1 kept (no replace), fresh appended
        kv["w2"] = new[1]                                       # replaced
        kv[["w3", "other"]] = new                               # replaced and appended
    assert list(ours.index_to_key) == list(theirs.index_to_key)
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    _same_ranking(ours.most_similar("fresh", topn=4), theirs.most_similar("fresh", topn=4))  # the index was rebuilt


def test_failed_add_changes_nothing():
    words, vecs = _table()
    kv = KeyedVectors(words, vecs.copy())
    kv.most_similar("w0")  # build the index first
    bad = ((["a", "b"], np.ones((3, 6))), (["a", "a"], np.ones((2, 6))), (["a"], np.full((1, 6), np.nan)))
    for keys, values in bad:
        with pytest.raises(ValueError):
            kv.add_vectors(keys, values)
    assert kv.index_to_key == words and np.array_equal(kv.vectors, vecs)


@needs_gensim
def test_cosmul_with_keys_matches_gensim(pair):
    ours, theirs = pair
    q = dict(positive=["w1", "w2"], negative=["w3"])
    _same_ranking(ours.most_similar_cosmul(**q, topn=5), theirs.most_similar_cosmul(**q, topn=5))


def test_cosmul_with_vectors_by_hand():
    words, vecs = _table()
    kv = KeyedVectors(words, vecs)
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    p, n = vecs[4] * 5, vecs[11]                     # raw vectors: minembed scales them to unit length
    pu, nu = p / np.linalg.norm(p), n / np.linalg.norm(n)
    want = ((1 + unit @ unit[1]) / 2) * ((1 + unit @ pu) / 2) / ((1 + unit @ nu) / 2 + 1e-6)
    want[1] = -np.inf                                # the key used in the query is left out
    order = np.argsort(-want, kind="stable")[:5]
    got = kv.most_similar_cosmul(positive=["w1", p], negative=np.stack([n]), topn=5)
    assert [k for k, _ in got] == [words[i] for i in order]
    np.testing.assert_allclose([s for _, s in got], want[order], rtol=1e-5)


def test_distance_to_itself_is_exactly_zero():
    words, vecs = _table(v=200, d=100)
    kv = KeyedVectors(words, vecs)
    assert all(kv.distance(w, w) == 0.0 and kv.similarity(w, w) == 1.0 for w in words)
    with pytest.raises(KeyError, match="nope"):
        kv.distance("nope", "nope")


@pytest.mark.parametrize("topn", [0, -1, -3])
def test_counts_below_one_are_errors(topn):
    kv = KeyedVectors(*_table())
    for call in (lambda: kv.most_similar("w1", topn=topn), lambda: kv.most_similar_cosmul("w1", topn=topn),
                 lambda: kv.relative_cosine_similarity("w1", "w2", topn=topn)):
        with pytest.raises(ValueError, match="topn must be an integer >= 1"):
            call()


def test_nan_is_refused_everywhere():
    words, vecs = _table()
    bad = vecs.copy()
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match="'w5' .*NaN"):
        KeyedVectors(words, bad)
    kv = KeyedVectors(words, vecs)
    with pytest.raises(ValueError, match="NaN"):
        kv.most_similar(positive=[np.full(6, np.nan, np.float32)])
    with pytest.raises(ValueError, match="NaN"):
        kv.similar_by_vector(np.full(6, np.nan, np.float32))


def test_lowercase_hint_in_the_key_error():
    kv = KeyedVectors(["king", "queen"], np.eye(2, dtype=np.float32))
    with pytest.raises(KeyError, match="did you mean 'king'"):
        kv["King"]
    with pytest.raises(KeyError) as err:
        kv["Prince"]
    assert "did you mean" not in str(err.value)


def test_unseen_key_hook():
    class Composed(KeyedVectors):
        """Unseen keys: the mean of the stored vectors of their characters (a toy fastText)."""

        def __contains__(self, key):
            return self.has_index_for(key) or all(self.has_index_for(c) for c in key)

        def vector_for_unseen(self, key):
            if not all(self.has_index_for(c) for c in key):
                return super().vector_for_unseen(key)
            return np.mean([self.vectors[self.key_to_index[c]] for c in key], axis=0)

    kv = Composed(["a", "b", "c"], np.array([[1, 0], [0, 1], [-1, 0]], dtype=np.float32))
    np.testing.assert_allclose(kv["ab"], [0.5, 0.5])
    assert kv.most_similar("ab", topn=1)[0][0] in ("a", "b")
    with pytest.raises(KeyError, match="'xyz'"):
        kv["xyz"]


@needs_gensim
def test_evaluate_analogies_matches_gensim_and_cosmul_matches_its_own_queries(tmp_path, pair):
    ours, theirs = pair
    rng = np.random.default_rng(1)
    quads = [[f"w{i}" for i in rng.choice(40, 4, replace=False)] for _ in range(60)]
    path = tmp_path / "q.txt"
    path.write_text(": section-a\n" + "\n".join(" ".join(q) for q in quads[:30]) + "\n: section-b\n"
                    + "\n".join(" ".join(q) for q in quads[30:]) + "\n")
    acc, sections = ours.evaluate_word_analogies(path, case_insensitive=False)
    g_acc, g_sections = theirs.evaluate_word_analogies(str(path), case_insensitive=False)
    assert acc == pytest.approx(g_acc)
    assert [sorted(s["correct"]) for s in sections] == [sorted(s["correct"]) for s in g_sections]
    # gensim 4 accepts similarity_function but always calls most_similar, so the 3CosMul oracle is
    # most_similar_cosmul asked one question at a time (itself checked against gensim's above)
    acc, sections = ours.evaluate_word_analogies(path, similarity_function="most_similar_cosmul",
                                                 case_insensitive=False)
    want = [tuple(q) for q in quads
            if ours.most_similar_cosmul(positive=[q[1], q[2]], negative=[q[0]], topn=1)[0][0] == q[3]]
    assert sorted(sections[-1]["correct"]) == sorted(want) and acc == len(want) / len(quads)
    with pytest.raises(ValueError, match="similarity_function"):
        ours.evaluate_word_analogies(path, similarity_function="nope")


def test_restricted_index_is_reused_and_rebuilt_after_changes():
    words, vecs = _table()
    kv = KeyedVectors(words, vecs)
    first = kv._search_index(10)
    assert kv._search_index(10) is first and len(first) == 10      # reused, not rebuilt per query
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    want = np.argsort(-(unit[:10] @ unit[12]), kind="stable")[:3]  # brute force over the first 10 rows
    assert [k for k, _ in kv.most_similar("w12", topn=3, restrict_vocab=10)] == [words[i] for i in want]
    assert len(kv._search_index(None)) == len(words)
    kv.add_vectors(["new"], np.ones((1, 6), np.float32))
    assert len(kv._search_index(None)) == len(words) + 1                # the table changed: a new index
