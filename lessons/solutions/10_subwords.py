"""Solutions to the exercises of lesson 10 (subwords). Run: python lessons/solutions/10_subwords.py

Kept small (a quarter of the bundled corpus, 2 epochs) so it runs in seconds; the answers do not
depend on the size."""
import numpy as np

import minembed as me
from minembed.kernels import subwords as sw

lines = list(me.load_corpus("sample"))[::4]
settings = dict(vector_size=32, window=5, min_count=3, sg=1, epochs=2, seed=1, workers=1, progress=False)


def exercise_1():
    """max_n=0: no n-grams, so no bucket rows: the input table is (V, D) and an unseen word raises KeyError."""
    model = me.FastText(lines, max_n=0, **settings)
    assert model.syn0.shape == (len(model.wv), settings["vector_size"])
    try:
        model.wv["kingz"]
    except KeyError as err:
        print("exercise 1:", model.syn0.shape, "->", err)
    else:
        raise AssertionError("an unseen word should raise KeyError without n-grams")


def exercise_2():
    """A tiny table: every bucket row is shared by ~100 n-grams, so an n-gram row is an average of unrelated
    pieces. Known words still have their own row; an unseen word has nothing but the n-gram rows."""
    for bucket in (1_000, 200_000):
        model = me.FastText(lines, bucket=bucket, **settings)
        for word in ("king", "kingz"):
            print(f"exercise 2: bucket {bucket:>7,} {word:6s}", [w for w, _ in model.wv.most_similar(word, topn=5)])


def exercise_3():
    """min_n=1: the single characters of the word itself, never the lone marks '<' or '>'."""
    grams = sw.char_ngrams("ab", 1, 6)
    singles = [g for g in grams if len(g) == 1]
    assert singles == ["a", "b"]
    print("exercise 3:", grams)


def exercise_4(show=True):
    """Mean vector norm per frequency decile (decile 1 = the most frequent tenth of the vocabulary)."""
    import matplotlib.pyplot as plt

    model = me.FastText(lines, bucket=200_000, **settings)
    norms = np.linalg.norm(model.wv.vectors, axis=1)
    deciles = np.array_split(np.argsort(-model.wv.counts, kind="stable"), 10)
    means = [float(norms[d].mean()) for d in deciles]
    print("exercise 4: mean norm by decile", np.round(means, 2))
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(np.arange(1, 11), means)
    ax.set_xticks(np.arange(1, 11))
    ax.set_xlabel("frequency decile (1 = most frequent words)")
    ax.set_ylabel("mean vector norm")
    ax.set_title("fastText: vector norm by word frequency")
    fig.tight_layout()
    if show:
        plt.show()
    plt.close(fig)
    return means


if __name__ == "__main__":
    exercise_1()
    exercise_2()
    exercise_3()
    exercise_4()
