"""Solutions to the exercises of lesson 01 (What is an embedding?).
Run: python lessons/solutions/01_what_is_an_embedding.py

Each exercise is a function that prints what it found and asserts the facts the answer rests on. Times are
printed, never asserted: they depend on the machine."""
import time

import numpy as np

import minembed as me
from minembed.nn import Adam, CrossEntropyLoss
from minembed.text import Vocab
from minembed.text.classifier import BagOfWordsClassifier, encode_lines


def best_time(f, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def exercise_1(rng):
    """np.take and W[ids] copy N rows: their time does not depend on V. X @ W does N*V*D multiply-adds
    (and X itself has N*V entries), so it grows linearly with V."""
    D, batch = 8, rng.integers(0, 1000, 512)
    for V in (1_000, 10_000):
        W = rng.standard_normal((V, D)).astype(np.float32)
        X = np.zeros((len(batch), V), np.float32)
        X[np.arange(len(batch)), batch] = 1.0
        assert np.array_equal(np.take(W, batch, axis=0), W[batch])
        assert np.allclose(X @ W, W[batch])
        t_lookup = best_time(lambda W=W: W[batch])
        t_take = best_time(lambda W=W: np.take(W, batch, axis=0))
        t_matmul = best_time(lambda W=W, X=X: X @ W)
        print(f"V={V:6d}: W[ids] {1e6 * t_lookup:7.1f} us, np.take {1e6 * t_take:7.1f} us, "
              f"X @ W {1e6 * t_matmul:9.1f} us")


def exercise_2(rng):
    """A row with two ones picks two rows of W and adds them: a 'bag' of two words, the sum that
    EmbeddingBag(mode='sum') computes (lesson 02 uses the mean)."""
    W = rng.standard_normal((6, 3))
    x = np.zeros(6)
    x[[1, 4]] = 1.0
    assert np.allclose(x @ W, W[1] + W[4])
    bag = me.EmbeddingBag(6, 3, mode="sum", seed=0)
    bag.weight.data[:] = W
    assert np.allclose(bag(np.array([1, 4]), offsets=np.array([0]))[0], W[1] + W[4])
    print("two ones -> the sum of two rows, as EmbeddingBag(mode='sum') gives")


def exercise_3():
    """More training lines: the curve keeps rising a little further before it flattens (printed; a few
    dimensions already separate four sources, so the gain is small)."""
    lines, labels, names = me.load_sources()
    labels = np.array(labels)
    order = np.random.default_rng(1).permutation(len(lines))
    train, test = order[:15000], order[15000:18000]
    vocab = Vocab.build((lines[i].split() for i in train), min_count=2)
    test_ids, test_offsets = encode_lines([lines[i] for i in test], vocab)
    scores = {}
    for dim in (2, 8, 32):
        model = BagOfWordsClassifier(len(vocab), dim, len(names), seed=0)
        loss_fn, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=0.02)
        for b in range(0, len(train), 64):
            idx = train[b:b + 64]
            model.zero_grad()
            loss_fn(model(*encode_lines([lines[i] for i in idx], vocab)), labels[idx])
            model.backward(loss_fn.backward())
            opt.step()
        scores[dim] = float((model(test_ids, test_offsets).argmax(1) == labels[test]).mean())
        print(f"15,000 lines, 1 epoch, D={dim:2d}: held-out accuracy {scores[dim]:.1%}")
    assert scores[32] > scores[2]


def exercise_4():
    """padding_idx=-1 means the last row (counted from the end, as in PyTorch); it starts at zero."""
    for padding_idx, row in ((0, 0), (-1, 9)):
        emb = me.Embedding(10, 4, padding_idx=padding_idx, seed=0)
        assert emb.padding_idx == row and not emb.weight.data[row].any()
        assert all(emb.weight.data[r].any() for r in range(10) if r != row)
    print("padding_idx=-1 is row 9, all zeros")


def exercise_5():
    """max_norm rescales, in place, only the rows that are looked up and longer than max_norm."""
    emb = me.Embedding(10, 4, max_norm=1.0, seed=0)
    before = np.linalg.norm(emb.weight.data, axis=1)
    looked_up = np.array([1, 3, 3, 7])
    emb(looked_up)
    after = np.linalg.norm(emb.weight.data, axis=1)
    changed = np.flatnonzero(~np.isclose(before, after))
    print("norms before", before.round(2), "\nnorms after ", after.round(2), "\nrows changed", changed)
    assert set(changed) <= set(looked_up.tolist())
    assert np.all(after[looked_up] <= 1.0 + 1e-5)
    assert all(before[r] > 1.0 for r in changed)


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    exercise_1(rng)
    exercise_2(rng)
    exercise_3()
    exercise_4()
    exercise_5()
    print("lesson 01 solutions: all checks passed")
