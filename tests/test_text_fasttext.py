"""FastText: word2vec over character n-gram bags (text/fasttext.py) and its vectors (space/subwords.py)."""
import numpy as np
import pytest

from minembed.kernels import subwords as sw
from minembed.space import FastTextKeyedVectors, KeyedVectors
from minembed.text import FastText

LETTERS = "bcdfghjklmnpqrstvwxz"
SUFFIXES = ["ing", "ed", "er", "s", "ly", "ness", "ful", "ous"]


def stem_corpus(groups=6, sentences=600, length=12, seed=0, hold_out=()):
    """Planted structure: group g's words are one 5-letter stem with different suffixes, and a sentence
    uses the words of one group only. Words in ``hold_out`` never occur."""
    rng = np.random.default_rng(seed)
    stems = ["".join(rng.choice(list(LETTERS), size=5)) for _ in range(groups)]
    words = [[s + suf for suf in SUFFIXES] for s in stems]
    corpus = []
    for _ in range(sentences):
        g = int(rng.integers(groups))
        sent = [w for w in rng.choice(words[g], size=length) if w not in hold_out]
        corpus.append(sent)
    return corpus, stems, words


def small_model(corpus, **kw):
    settings = dict(vector_size=16, window=3, min_count=1, sample=0, epochs=4, seed=3, bucket=2000, progress=False,
                    sg=1)
    settings.update(kw)
    return FastText(corpus, **settings)


@pytest.mark.parametrize("sg", [1, 0], ids=["skip-gram", "cbow"])
def test_unseen_words_are_built_from_their_ngrams_and_land_in_their_group(sg):
    held = {"ing", "ful"}
    corpus, stems, words = stem_corpus(hold_out={s + suf for s in stem_corpus()[1] for suf in held})
    model = small_model(corpus, sg=sg)
    assert model.loss_history[-1] < model.loss_history[0]
    hits = 0
    for stem in stems:
        for suf in held:
            word = stem + suf
            assert word not in model.wv and word not in model.wv.key_to_index
            vec = model.wv[word]                                   # composed from n-grams
            expected = model.wv.vectors_ngrams[sw.ngram_buckets([word], 3, 6, 2000)[1]].mean(axis=0)
            np.testing.assert_allclose(vec, expected, rtol=1e-5, atol=1e-7)
            best = model.wv.most_similar(word, topn=1)[0][0]
            hits += best.startswith(stem)
    assert hits >= 0.9 * len(stems) * len(held), hits           # chance: 1/6


def test_wv_vectors_are_the_mean_of_each_words_rows():
    corpus, _, _ = stem_corpus(sentences=100)
    model = small_model(corpus, epochs=1)
    wv = model.wv
    for w in ["x", wv.index_to_key[0], wv.index_to_key[-1]]:
        if w not in wv:
            continue
        i = wv.get_index(w)
        rows = [wv.vectors_vocab[i]] + [wv.vectors_ngrams[b] for b in sw.ngram_buckets([w], 3, 6, 2000)[1]]
        np.testing.assert_allclose(wv[w], np.mean(rows, axis=0), rtol=1e-5, atol=1e-7)
    # the views are the model's input table: V word rows, then the buckets
    assert np.shares_memory(wv.vectors_vocab, model.syn0) and np.shares_memory(wv.vectors_ngrams, model.syn0)
    assert model.syn0.shape == (len(wv) + 2000, 16)


def test_oov_vector_equals_gensims_from_the_same_buckets():
    gensim_ft = pytest.importorskip("gensim.models.fasttext")
    corpus, _, _ = stem_corpus(sentences=100)
    model = small_model(corpus, epochs=1)
    kv = gensim_ft.FastTextKeyedVectors(16, 3, 6, 2000)
    kv.vectors_ngrams = model.wv.vectors_ngrams.copy()
    for word in ["unseenword", "été", "zq"]:
        np.testing.assert_allclose(model.wv[word], kv.get_vector(word), rtol=1e-5, atol=1e-7)


def test_workers1_is_bit_reproducible_and_workers2_trains():
    corpus, _, _ = stem_corpus(sentences=200)
    a, b = small_model(corpus), small_model(corpus)
    np.testing.assert_array_equal(a.syn0, b.syn0)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    c = small_model(corpus, workers=2)
    assert c.loss_history[-1] < c.loss_history[0]
    assert abs(c.loss_history[-1] - a.loss_history[-1]) < 0.1 * a.loss_history[-1]


def test_oov_refusals_name_the_word():
    corpus, _, _ = stem_corpus(sentences=50)
    no_ngrams = small_model(corpus, max_n=0, epochs=1)
    assert no_ngrams.syn0.shape[0] == len(no_ngrams.wv)       # no bucket rows when there are no n-grams
    with pytest.raises(KeyError, match="'unseenword'.*max_n=0"):
        no_ngrams.wv["unseenword"]
    model = small_model(corpus, min_n=4, max_n=5, epochs=1)
    with pytest.raises(KeyError, match="'a'.*no character n-grams"):   # "<a>" is shorter than 4
        model.wv["a"]
    assert model.wv["ab"].shape == (16,)                       # "<ab>" is one 4-gram
    with pytest.raises(KeyError, match="key 12"):
        model.wv[12]                                           # not a string: never built from n-grams


@pytest.mark.parametrize("kwargs, match", [
    (dict(min_n=5, max_n=3), "min_n=5 > max_n=3"),
    (dict(bucket=0), "bucket"),
    (dict(bucket=-5), "bucket"),
    (dict(min_n=0), "min_n"),
    (dict(max_n=-1), "max_n"),
    (dict(bucket=2**31), "bucket"),
    (dict(window=0), "window"),
    (dict(negative=0, hs=0), "negative=0"),
    (dict(vector_size=0), "vector_size"),
    (dict(epochs=0), "epochs"),
    (dict(alpha=0), "alpha"),
    (dict(sample=-1), "sample"),
    (dict(implementation="numpy"), "implementation"),
])
def test_bad_settings_fail_before_work(kwargs, match):
    class Exploding:
        def __iter__(self):
            raise AssertionError("the corpus was read")

    with pytest.raises(ValueError, match=match):
        FastText(Exploding(), **kwargs)


def test_bad_corpora_are_refused_as_word2vec_refuses_them():
    with pytest.raises(ValueError, match="empty"):
        FastText([], progress=False, bucket=10)
    with pytest.raises(ValueError, match="min_count=5"):
        FastText([["a", "b"], ["a"]], min_count=5, progress=False, bucket=10)
    with pytest.raises(TypeError, match="generator"):
        FastText((s for s in [["a"]]), progress=False, bucket=10)
    with pytest.raises(TypeError, match="str"):
        FastText("some text", progress=False, bucket=10)
    model = FastText([["a", "b"]] * 5, min_count=1, progress=False, bucket=10, epochs=1)
    before = model.syn0.copy()
    with pytest.raises(NotImplementedError, match="update=True"):
        model.build_vocab([["c", "d"]], update=True)
    np.testing.assert_array_equal(model.syn0, before)
    assert model.wv.index_to_key == ["a", "b"] or set(model.wv.index_to_key) == {"a", "b"}


def test_save_load_round_trip_and_continued_training(tmp_path):
    corpus, _, _ = stem_corpus(sentences=150)
    model = small_model(corpus, epochs=2)
    model.save(tmp_path / "m.npz")
    loaded = FastText.load(tmp_path / "m.npz")
    assert (loaded.min_n, loaded.max_n, loaded.bucket) == (3, 6, 2000)
    np.testing.assert_array_equal(loaded.syn0, model.syn0)
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    np.testing.assert_array_equal(loaded.wv["neverseen"], model.wv["neverseen"])
    model.train(corpus, epochs=1)
    loaded.train(corpus, epochs=1)
    np.testing.assert_array_equal(loaded.syn0, model.syn0)
    # a Word2Vec file is not a FastText file, and the reverse
    from minembed.text import Word2Vec
    Word2Vec([["a", "b"]] * 5, min_count=1, progress=False, epochs=1).save(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="w.npz.*minembed.FastText"):
        FastText.load(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="m.npz"):
        Word2Vec.load(tmp_path / "m.npz")


def test_keyed_vectors_file_keeps_the_ngrams(tmp_path):
    corpus, _, _ = stem_corpus(sentences=80)
    wv = small_model(corpus, epochs=1).wv
    wv.save(tmp_path / "v.npz")
    back = FastTextKeyedVectors.load(tmp_path / "v.npz")
    np.testing.assert_array_equal(back.vectors, wv.vectors)
    np.testing.assert_array_equal(back["notaword"], wv["notaword"])
    plain = KeyedVectors.load(tmp_path / "v.npz")              # the same file, read without n-grams
    np.testing.assert_array_equal(plain.vectors, wv.vectors)
    with pytest.raises(KeyError):
        plain["notaword"]
    KeyedVectors(["a"], np.ones((1, 3), np.float32)).save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="plain.npz.*vectors_vocab"):
        FastTextKeyedVectors.load(tmp_path / "plain.npz")


def test_vec_text_format_round_trip_and_facebooks_trailing_spaces(tmp_path):
    corpus, _, _ = stem_corpus(sentences=80)
    wv = small_model(corpus, epochs=1).wv
    wv.save_word2vec_format(tmp_path / "v.vec")
    back = KeyedVectors.load_word2vec_format(tmp_path / "v.vec")
    assert back.index_to_key == wv.index_to_key
    np.testing.assert_array_equal(back.vectors, wv.vectors)
    # Facebook's .vec: "V D" header, then "word v1 ... vD " with a space before the newline
    (tmp_path / "fb.vec").write_text("2 3\nthe 0.1 0.2 0.3 \nété -1 0 2.5 \n", encoding="utf-8")
    fb = KeyedVectors.load_word2vec_format(tmp_path / "fb.vec")
    assert fb.index_to_key == ["the", "été"]
    np.testing.assert_allclose(fb["été"], [-1, 0, 2.5])
