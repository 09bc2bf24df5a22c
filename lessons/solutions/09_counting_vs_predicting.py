"""Solutions to the exercises of lesson 09 (counting vs predicting).

Run: python lessons/solutions/09_counting_vs_predicting.py

Each exercise asserts its own answer; the corpus of exercise 2 is a sixth of the bundled sample so it runs
in seconds."""
import itertools
import os
import tempfile

import numpy as np

import minembed as me
from minembed.text import Vocab, count_cooccurrences

tiny = [s.split() for s in [
    "the king rules the land", "the queen rules the land", "the king and the queen",
    "a man walks the dog", "a woman walks the dog", "the man and the woman",
    "the king is a man", "the queen is a woman", "the dog chases the cat", "a cat and a dog"]]
vocab = Vocab.build(tiny)


def exercise_1():
    """Without distance weights every pair in the window counts 1: whole numbers. The pairs that gain the
    most relative to the 1/d counts are those seen only at distance 2 (their count doubles)."""
    encoded = vocab.encode_corpus(tiny)
    plain = count_cooccurrences(encoded, vocab.words, 2, distance_weighting=False).to_dense()
    weighted = count_cooccurrences(encoded, vocab.words, 2).to_dense()
    assert np.array_equal(plain, np.round(plain))
    seen = weighted > 0
    gain = np.zeros_like(plain)
    gain[seen] = plain[seen] / weighted[seen]
    assert np.isclose(gain.max(), 2.0) and gain[seen].min() >= 1.0  # each pair gains between 1x and 2x
    i, j = np.unravel_index(np.argmax(gain), gain.shape)
    print(f"exercise 1: whole counts; e.g. ({vocab.words[i]}, {vocab.words[j]}) gains x{gain[i, j]:.0f} "
          f"({weighted[i, j]:.2f} -> {plain[i, j]:.0f}): seen only two words apart")


def exercise_2():
    """W alone vs W + C. The two tables are fitted to the same symmetric counts, so they are two noisy
    estimates of the same thing; the GloVe paper reports their sum a little better on large corpora. On 90
    questions and 170k tokens the difference is mostly noise: either can come out ahead (here W alone did,
    with seed 1), which is itself the lesson: compare choices on more than one seed and a bigger test."""
    lines = list(me.load_corpus("sample"))[::6]
    settings = dict(vector_size=50, window=10, min_count=5, x_max=10, epochs=10, seed=1, progress=False)
    both = me.GloVe(lines, **settings)
    word = me.GloVe(use_context_vectors=False, **settings).build_vocab(cooccurrence=both.cooccurrence).train()
    np.testing.assert_array_equal(word.wv.vectors, both.W)  # the same training, only the output differs
    pairs = [("man", "woman"), ("king", "queen"), ("he", "she"), ("his", "her"), ("father", "mother"),
             ("son", "daughter"), ("brother", "sister"), ("husband", "wife"), ("boy", "girl"), ("men", "women")]
    path = os.path.join(tempfile.mkdtemp(), "gender.txt")
    with open(path, "w") as fh:
        fh.write(": gender\n" + "".join(f"{a} {b} {c} {d}\n" for (a, b), (c, d) in itertools.permutations(pairs, 2)))
    acc_both, _ = both.wv.evaluate_word_analogies(path)
    acc_word, _ = word.wv.evaluate_word_analogies(path)
    print(f"exercise 2: gender analogies W + C {acc_both:.1%}, W only {acc_word:.1%}")
    assert 0.0 <= acc_word <= 1.0 and 0.0 <= acc_both <= 1.0


def sgns_optimum(k, steps=3000, seed=1):
    """w.c on the observed pairs after maximising the exact SGNS objective (as in the lesson), and PMI."""
    n = count_cooccurrences(vocab.encode_corpus(tiny), vocab.words, 2, distance_weighting=False).to_dense()
    v = len(vocab)
    n_w, total = n.sum(1), n.sum()
    seen = n > 0
    pmi = np.log(n[seen] * total / np.outer(n_w, n_w)[seen])
    noise = k * np.outer(n_w, n_w) / total
    rng = np.random.default_rng(seed)
    w, c = rng.normal(0, 0.1, (v, v)), rng.normal(0, 0.1, (v, v))
    m, s = [np.zeros_like(w), np.zeros_like(c)], [np.zeros_like(w), np.zeros_like(c)]
    for t in range(1, steps + 1):
        x = w @ c.T
        d = noise / (1 + np.exp(-x)) - n / (1 + np.exp(x))
        for p, g, mm, ss in ((w, d @ c, m[0], s[0]), (c, d.T @ w, m[1], s[1])):
            mm[:] = 0.9 * mm + 0.1 * g
            ss[:] = 0.999 * ss + 0.001 * g * g
            p -= 0.05 * (mm / (1 - 0.9**t)) / (np.sqrt(ss / (1 - 0.999**t)) + 1e-8)
    return (w @ c.T)[seen], pmi


def exercise_3():
    """The optimum is PMI - log k, so going from k = 1 to k = 8 lowers every w.c by log 8 = 2.08."""
    x1, pmi = sgns_optimum(1)
    x8, _ = sgns_optimum(8)
    shift = np.mean(x1) - np.mean(x8)
    print(f"exercise 3: mean w.c moved down by {shift:.3f} (log 8 = {np.log(8):.3f}); "
          f"k=1 fits PMI to {np.abs(x1 - pmi).max():.3f}")
    assert abs(shift - np.log(8)) < 0.1


if __name__ == "__main__":
    exercise_1()
    exercise_2()
    exercise_3()
