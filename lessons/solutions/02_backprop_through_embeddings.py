"""Solutions to the exercises of lesson 02 (Backpropagation through an embedding).
Run: python lessons/solutions/02_backprop_through_embeddings.py — every answer checks itself."""
import numpy as np

import minembed as me
from minembed.nn import Adam, CrossEntropyLoss, numerical_gradient
from minembed.nn.module import RowSparseGrad
from minembed.text import Vocab
from minembed.text.classifier import BagOfWordsClassifier, encode_lines


def exercise_1(rng):
    """With distinct ids no row is written twice, so 'dW[ids] += G' is right: the bug needs repeats."""
    ids, G = np.arange(5), rng.standard_normal((5, 3))
    buggy, right = np.zeros((6, 3)), np.zeros((6, 3))
    buggy[ids] += G
    np.add.at(right, ids, G)
    assert np.allclose(buggy, right)
    print("distinct ids: the '+=' version agrees")


class BuggyBag(me.EmbeddingBag):
    """EmbeddingBag whose backward keeps one contribution per repeated id (the '+=' bug)."""

    def _add_row_grads(self, flat_ids, rows):
        grad = np.zeros_like(self.weight.data)
        grad[flat_ids] += rows
        self.weight.accumulate(grad)


def source_task(n_train=8000, n_test=2000):
    lines, labels, names = me.load_sources()
    labels = np.array(labels)
    order = np.random.default_rng(0).permutation(len(lines))
    train, test = order[:n_train], order[n_train:n_train + n_test]
    vocab = Vocab.build((lines[i].split() for i in train), min_count=2)
    return lines, labels, names, train, test, vocab


def train_one_epoch(model, lines, labels, train, vocab, lr=0.01):
    loss_fn, opt, losses = CrossEntropyLoss(), Adam(model.parameters(), lr=lr), []
    for b in range(0, len(train), 64):
        idx = train[b:b + 64]
        model.zero_grad()
        losses.append(loss_fn(model(*encode_lines([lines[i] for i in idx], vocab)), labels[idx]))
        model.backward(loss_fn.backward())
        opt.step()
    return losses


def accuracy(model, lines, labels, test, vocab):
    return float((model(*encode_lines([lines[i] for i in test], vocab)).argmax(1) == labels[test]).mean())


def exercise_2_and_3():
    """2. The bug does not show in the loss curve or much in the accuracy: frequent words get too small a
    gradient, but the rare, telling words ('thee', 'applause') occur once per line and are updated right.
    3. mode='sum' lets long lines have long vectors (scores scale with length); 'max' keeps, per dimension,
    the strongest word. All three learn this four-way task."""
    lines, labels, names, train, test, vocab = source_task()
    chance = np.bincount(labels).max() / len(labels)
    results = {}
    for name, mode, buggy in [("mean", "mean", False), ("mean, buggy", "mean", True), ("sum", "sum", False),
                              ("max", "max", False)]:
        model = BagOfWordsClassifier(len(vocab), 32, len(names), mode=mode, seed=0)
        if buggy:
            model.embedding = BuggyBag(len(vocab), 32, mode="mean", seed=0)
            model.embedding.weight.data *= 0.1
        losses = train_one_epoch(model, lines, labels, train, vocab)
        results[name] = accuracy(model, lines, labels, test, vocab)
        print(f"mode={name:12s} last loss {np.mean(losses[-20:]):.3f}, held-out accuracy {results[name]:.1%}")
    assert all(acc > chance + 0.2 for acc in results.values()), (results, chance)

    # the buggy backward really is different on a batch with repeated words
    right, wrong = me.EmbeddingBag(len(vocab), 8, seed=0), BuggyBag(len(vocab), 8, seed=0)
    ids, offsets = encode_lines([lines[i] for i in train[:64]], vocab)
    dy = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    for layer in (right, wrong):
        layer(ids, offsets)
        layer.backward(dy)
    assert not np.allclose(right.weight.grad, wrong.weight.grad)


def exercise_4():
    """sparse=True: weight.grad holds only the rows of the batch's distinct words."""
    lines, labels, names, train, test, vocab = source_task(n_train=2000, n_test=10)
    bag = me.EmbeddingBag(len(vocab), 16, mode="mean", sparse=True, seed=0)
    ids, offsets = encode_lines([lines[i] for i in train[:64]], vocab)
    bag(ids, offsets)
    bag.backward(np.ones((64, 16), np.float32))
    grad = bag.weight.grad
    assert isinstance(grad, RowSparseGrad)
    assert np.array_equal(grad.indices, np.unique(ids))
    print(f"one batch of 64 lines touches {len(grad.indices)} of {len(vocab)} rows "
          f"({len(grad.indices) / len(vocab):.1%})")


def exercise_5(rng):
    """Row 0 influences the loss (its true gradient is not zero), but padding_idx rows are meant to stay
    fixed (a 'no word' vector shared by every padded position), so the layer reports zero for it."""
    emb = me.Embedding(6, 3, padding_idx=0, seed=0).astype(np.float64)
    emb.weight.data[0] = rng.standard_normal(3)         # give the padding row a value to perturb
    ids, G = np.array([0, 2, 0, 5]), rng.standard_normal((4, 3))
    true = numerical_gradient(lambda: float(np.sum(emb(ids) * G)), emb.weight.data)
    emb.zero_grad()
    emb(ids)
    emb.backward(G)
    assert np.allclose(true[0], G[0] + G[2]) and np.abs(true[0]).max() > 0.1
    assert not emb.weight.grad[0].any()
    assert np.allclose(emb.weight.grad[1:], true[1:], atol=1e-6)
    print("row 0: true gradient", true[0].round(3), "reported", emb.weight.grad[0])


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    exercise_1(rng)
    exercise_2_and_3()
    exercise_4()
    exercise_5(rng)
    print("lesson 02 solutions: all checks passed")
