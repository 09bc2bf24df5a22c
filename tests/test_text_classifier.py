"""Bags (mini-batches of lines for EmbeddingBag) and BagOfWordsClassifier.fit on data with known structure."""
import numpy as np
import pytest

from minembed.text.classifier import BagOfWordsClassifier, Bags, encode_lines
from minembed.text.vocab import Vocab


def test_bags_pick_the_same_ids_as_a_python_loop(rng):
    lengths = rng.integers(0, 5, 30)
    ids = rng.integers(0, 100, int(lengths.sum()))
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    bags = Bags(ids, offsets)
    rows = rng.integers(0, 30, 12)                      # with repeats, in any order
    got_ids, got_offsets = bags[rows]
    want = [ids[offsets[r]:offsets[r] + lengths[r]] for r in rows]
    np.testing.assert_array_equal(got_ids, np.concatenate(want))
    np.testing.assert_array_equal(got_offsets, np.concatenate([[0], np.cumsum([len(w) for w in want])[:-1]]))


def test_bags_refuse_bad_offsets_and_rows():
    with pytest.raises(ValueError, match="non-decreasing"):
        Bags([1, 2, 3], [0, 2, 1])
    with pytest.raises((ValueError, IndexError), match="bag"):
        Bags([1, 2, 3], [0, 2])[np.array([2])]


def test_fit_learns_two_separable_sources():
    # class 0 lines use words a*, class 1 lines use words b*: a bag-of-words model must get them all
    rng = np.random.default_rng(0)
    words = [[f"a{i}" for i in range(10)], [f"b{i}" for i in range(10)]]
    labels = rng.integers(0, 2, 200)
    lines = [" ".join(rng.choice(words[c], 5)) for c in labels]
    vocab = Vocab.build((line.split() for line in lines), min_count=1)
    bags = Bags(*encode_lines(lines, vocab))
    model = BagOfWordsClassifier(len(vocab), 8, 2, seed=0)
    hist = model.fit(Bags(*bags[np.arange(150)]), labels[:150], epochs=5, lr=0.05,
                     bags_test=Bags(*bags[np.arange(150, 200)]), labels_test=labels[150:], progress=False)
    assert hist["epoch"] == [1, 2, 3, 4, 5]
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["test_accuracy"][-1] == 1.0


def test_fit_refuses_labels_of_another_length():
    bags = Bags([1, 2], [0, 1])
    with pytest.raises(ValueError, match="one per bag"):
        BagOfWordsClassifier(5, 4, 2, seed=0).fit(bags, [0, 1, 1], progress=False)


def test_fit_refuses_labels_outside_the_classes_before_any_step():
    bags = Bags([1, 2, 3], [0, 1, 2])
    model = BagOfWordsClassifier(5, 4, 2, seed=0)
    before = [p.data.copy() for p in model.parameters()]
    for bad in ([0, 1, 2], [0, -1, 1]):
        with pytest.raises(ValueError, match=r"class ids in \[0, 2\)"):
            model.fit(bags, bad, progress=False)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before, strict=True))


@pytest.mark.parametrize("mode", ["mean", "sum", "max"])
def test_mode_pools_the_bag_as_told(mode):
    # logits = W pool(rows) + c, pooled by hand from the table
    model = BagOfWordsClassifier(6, 3, 2, mode=mode, seed=0)
    assert model.embedding.mode == mode
    ids, offsets = np.array([1, 4, 4, 2, 5]), np.array([0, 3])
    table = model.embedding.weight.data
    pool = {"mean": np.mean, "sum": np.sum, "max": np.max}[mode]
    pooled = np.stack([pool(table[ids[:3]], axis=0), pool(table[ids[3:]], axis=0)])
    want = pooled @ model.head.weight.data.T + model.head.bias.data
    np.testing.assert_allclose(model(ids, offsets), want, rtol=1e-6, atol=1e-7)


def test_mode_sum_learns_two_separable_sources_too():
    rng = np.random.default_rng(1)
    words = [[f"a{i}" for i in range(10)], [f"b{i}" for i in range(10)]]
    labels = rng.integers(0, 2, 120)
    lines = [" ".join(rng.choice(words[c], 4)) for c in labels]
    vocab = Vocab.build((line.split() for line in lines), min_count=1)
    bags = Bags(*encode_lines(lines, vocab))
    model = BagOfWordsClassifier(len(vocab), 8, 2, mode="sum", seed=0)
    model.fit(bags, labels, epochs=5, lr=0.05, progress=False)
    assert model.accuracy(bags, labels) == 1.0


def test_mode_refuses_an_unknown_pooling():
    with pytest.raises(ValueError, match="mode must be 'mean', 'sum' or 'max', got 'median'"):
        BagOfWordsClassifier(5, 4, 2, mode="median")
