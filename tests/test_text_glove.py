"""minembed.text.GloVe: what it learns on corpora with planted structure, reproducibility, files, bad input."""
import numpy as np
import pytest

from minembed.nn.train import Callback
from minembed.text import Cooccurrence, GloVe


def topic_corpus(seed=0, n_sent=600):
    """Two topics whose words only meet words of their own topic, plus shared function words."""
    rng = np.random.default_rng(seed)
    topics = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    glue = ["the", "of", "and"]
    out = []
    for s in range(n_sent):
        words = topics[s % 2]
        out.append([str(rng.choice(words)) if rng.random() < 0.7 else str(rng.choice(glue)) for _ in range(12)])
    return out


SMALL = dict(vector_size=10, window=3, min_count=1, x_max=10.0, epochs=15, progress=False)


def test_planted_topics_are_learned():
    model = GloVe(topic_corpus(), seed=3, **SMALL)
    wv = model.wv
    same = np.mean([wv.similarity(f"a{i}", f"a{j}") for i in range(8) for j in range(i + 1, 8)])
    across = np.mean([wv.similarity(f"a{i}", f"b{j}") for i in range(8) for j in range(8)])
    assert same > across + 0.5
    assert all(w.startswith("a") for w, _ in wv.most_similar("a0", topn=5))
    assert model.loss_history[-1] < 0.5 * model.loss_history[0]   # the cost falls
    assert len(model.loss_history) == len(model.epoch_cpu_times) == 15


def test_workers_1_seed_is_bit_reproducible_and_seeds_differ():
    a = GloVe(topic_corpus(), seed=5, **SMALL)
    b = GloVe(topic_corpus(), seed=5, **SMALL)
    c = GloVe(topic_corpus(), seed=6, **SMALL)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    assert a.loss_history == b.loss_history
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)


def test_two_workers_learn_the_same_structure():
    model = GloVe(topic_corpus(), seed=3, workers=2, **SMALL)
    wv = model.wv
    same = np.mean([wv.similarity(f"b{i}", f"b{j}") for i in range(8) for j in range(i + 1, 8)])
    across = np.mean([wv.similarity(f"a{i}", f"b{j}") for i in range(8) for j in range(8)])
    assert same > across + 0.5


def test_vectors_are_w_plus_c_or_w_only():
    both = GloVe(topic_corpus(), seed=1, **SMALL)
    np.testing.assert_array_equal(both.wv.vectors, both.W + both.C)
    word = GloVe(topic_corpus(), seed=1, use_context_vectors=False, **SMALL)
    np.testing.assert_array_equal(word.wv.vectors, word.W)
    np.testing.assert_array_equal(word.W, both.W)  # the same training, only the output differs
    assert word.wv.index_to_key == both.vocab.words


def test_counts_saved_and_given_back_train_the_same(tmp_path):
    model = GloVe(topic_corpus(), seed=2, **SMALL)
    model.cooccurrence.save(tmp_path / "counts.npz")
    again = GloVe(seed=2, **SMALL).build_vocab(cooccurrence=tmp_path / "counts.npz").train()
    np.testing.assert_array_equal(model.wv.vectors, again.wv.vectors)
    np.testing.assert_array_equal(again.vocab.counts, model.vocab.counts)  # the word counts travel too
    loaded = Cooccurrence.load(tmp_path / "counts.npz")
    assert len(loaded) == len(model.cooccurrence)


def test_corpus_file_equals_sentences(tmp_path):
    sents = topic_corpus(n_sent=100)
    path = tmp_path / "c.txt"
    path.write_text("\n".join(" ".join(s) for s in sents) + "\n")
    a = GloVe(sents, seed=4, **SMALL)
    b = GloVe(corpus_file=str(path), seed=4, **SMALL)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)


def test_training_continues_and_callbacks_are_called():
    seen = []

    class Log(Callback):
        def on_epoch_end(self, model):
            seen.append(model.loss_history[-1])

    model = GloVe(topic_corpus(), seed=1, callbacks=[Log()], **SMALL)
    assert seen == model.loss_history
    model.train(epochs=2)
    assert len(model.loss_history) == 17 and model.loss_history[-1] < model.loss_history[14]


def test_x_max_changes_the_weights():
    # x_max 100 down-weights every pair of this small corpus more than x_max 10: the summed weights differ
    low = GloVe(topic_corpus(), seed=1, **{**SMALL, "x_max": 100.0, "epochs": 1})
    high = GloVe(topic_corpus(), seed=1, **{**SMALL, "epochs": 1})
    assert low.loss_history[0] < high.loss_history[0]


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name, value", [
    ("x_max", 0), ("x_max", -1.0), ("x_max", float("nan")), ("vector_size", 0), ("window", 0), ("min_count", -1),
    ("epochs", 0), ("workers", 0), ("seed", -1), ("learning_rate", 0.0), ("alpha", -0.5), ("grad_clip", 0.0),
    ("bias_learning_rate", 0.0), ("memory", 0), ("max_vocab_size", 0), ("max_final_vocab", 0),
    ("use_context_vectors", "yes"), ("vector_size", 2.5), ("window", True),
])
def test_bad_settings_name_the_parameter(name, value):
    with pytest.raises(ValueError, match=name):
        GloVe(**{name: value})


def test_bad_corpora_are_refused_like_word2vec():
    from minembed.text import Word2Vec

    for corpus, error, match in [([], ValueError, "empty"), ([["a", "b"]] * 2, ValueError, "min_count"),
                                 ("a b c", TypeError, "str"), (iter([["a", "b"]]), TypeError, "re-iterable")]:
        with pytest.raises(error, match=match):
            GloVe(corpus, min_count=5, progress=False)
        with pytest.raises(error, match=match):
            Word2Vec(corpus, min_count=5, progress=False)
    with pytest.raises(ValueError, match="either sentences or corpus_file"):
        GloVe([["a"]], corpus_file="x.txt")
    with pytest.raises(FileNotFoundError):
        GloVe(corpus_file="/no/such/file.txt", progress=False)
    with pytest.raises(TypeError, match="trim_rule"):
        GloVe(trim_rule="keep")
    with pytest.raises(TypeError, match="callbacks"):
        GloVe(callbacks=[print])


def test_a_corpus_without_pairs_is_refused_and_the_model_is_unchanged():
    model = GloVe(topic_corpus(), seed=1, **SMALL)
    before = model.wv.vectors.copy()
    with pytest.raises(ValueError, match="no two in-vocabulary words share a window"):
        model.build_vocab([["one"], ["two"], ["one"]])
    np.testing.assert_array_equal(model.wv.vectors, before)
    assert "a0" in model.vocab


def test_train_before_build_vocab_and_bad_cooccurrence_file(tmp_path):
    with pytest.raises(ValueError, match="build_vocab"):
        GloVe().train()
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        GloVe().build_vocab(cooccurrence=tmp_path / "bad.npz")


def test_divergence_is_reported():
    with pytest.raises(ValueError, match="diverged.*learning_rate"):
        GloVe(topic_corpus(), seed=1, learning_rate=1e30, grad_clip=1e30, **{**SMALL, "x_max": 1.0})
