"""The gradient array kept by zero_grad(): it is reused, only the rows written since the last
zeroing are cleared, and every gradient a user or an optimizer sees equals a fresh recomputation
(the oracle: np.add.at into new zeros, or the same training run with a new array every step)."""
import weakref

import numpy as np
import pytest

import minembed.nn as nn
from minembed.nn import Embedding, EmbeddingBag, Parameter


def fresh_embedding_grad(shape, ids, dy, padding_idx=None):
    """The definition: dW = sum over positions of dy rows, padding rows excluded, from zeros."""
    expected = np.zeros(shape, dy.dtype)
    keep = ids.ravel() != padding_idx
    np.add.at(expected, ids.ravel()[keep], dy.reshape(-1, shape[1])[keep])
    return expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_kept_gradient_equals_dense_recomputation_across_steps(rng, dtype, padding_idx):
    V, D = 40, 5
    emb = Embedding(V, D, padding_idx=padding_idx, dtype=dtype, seed=0)
    batches = [rng.integers(0, V, (4, 6)),           # anywhere
               rng.integers(0, 8, (3, 5)),           # only low rows: the earlier high rows must be cleared
               np.array([[30, 31, 31, 3]]),          # disjoint from the step before
               np.zeros((0, 2), np.int64),           # an empty batch: the whole gradient is zero
               rng.integers(20, V, (2, 7))]
    first = None
    for step, ids in enumerate(batches):
        emb.zero_grad()
        assert emb.weight.grad is None
        expected = np.zeros((V, D), dtype)
        for _ in range(1 + step % 2):  # every other step: two backwards accumulate
            dy = rng.standard_normal((*ids.shape, D)).astype(dtype)
            emb(ids)
            emb.backward(dy)
            expected += fresh_embedding_grad((V, D), ids, dy, padding_idx)
        np.testing.assert_allclose(emb.weight.grad, expected, rtol=1e-6, atol=1e-6)
        first = weakref.ref(emb.weight.grad) if first is None else first  # (a weak reference: not a holder)
        assert first() is emb.weight.grad  # one array, reused every step (no new (V, D) allocation)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradient_is_right_after_zero_grad(rng, mode):
    bag, ref = (EmbeddingBag(30, 4, mode=mode, padding_idx=0, seed=1) for _ in range(2))
    for ids in (rng.integers(0, 30, 20), rng.integers(0, 5, 20), rng.integers(25, 30, 20)):
        offsets = np.array([0, 4, 4, 11])
        dy = rng.standard_normal((4, 4)).astype(np.float32)
        bag.zero_grad()
        bag(ids, offsets)
        bag.backward(dy)
        ref.weight.grad = None  # drop the array: the next backward starts from new zeros
        ref(ids, offsets)
        ref.backward(dy)
        np.testing.assert_array_equal(bag.weight.grad, ref.weight.grad)


@pytest.mark.parametrize("write", ["scale", "assign", "accumulate", "add_in_place"])
def test_writes_from_outside_make_every_row_count(rng, write):
    emb = Embedding(20, 3, seed=0)
    emb(np.array([1, 2]))
    emb.backward(np.ones((2, 3), np.float32))
    noise = rng.standard_normal((20, 3)).astype(np.float32)
    if write == "scale":
        emb.weight.grad *= 0.5  # clipping-style: no new non-zero row, but not tracked either
    elif write == "assign":
        emb.weight.grad = emb.weight.grad + noise
    elif write == "accumulate":
        emb.weight.accumulate(noise)  # e.g. a tied output layer adding a dense gradient
    else:
        emb.weight.grad += noise
    emb.zero_grad()
    emb(np.array([7]))
    emb.backward(np.full((1, 3), 2.0, np.float32))
    expected = np.zeros((20, 3), np.float32)
    expected[7] = 2.0
    np.testing.assert_array_equal(emb.weight.grad, expected)


def test_a_gradient_the_caller_kept_is_never_overwritten():
    emb = Embedding(10, 2, seed=0)
    kept, views = [], []
    for ids in (np.array([1, 1]), np.array([4]), np.array([1, 9])):
        emb.zero_grad()
        emb(ids)
        emb.backward(np.ones((len(ids), 2), np.float32))
        kept.append(emb.weight.grad)
        views.append(emb.weight.grad[1])  # a view keeps its array alive too
    np.testing.assert_array_equal(kept[0][1], [2, 2])
    np.testing.assert_array_equal(kept[1], fresh_embedding_grad((10, 2), np.array([4]), np.ones((1, 2))))
    np.testing.assert_array_equal([v.tolist() for v in views], [[2, 2], [0, 0], [1, 1]])
    assert len({id(g) for g in kept}) == 3


def test_zero_grad_twice_and_a_dtype_change_keep_gradients_right():
    emb = Embedding(6, 2, seed=0)
    emb(np.array([5]))
    emb.backward(np.ones((1, 2), np.float32))
    emb.zero_grad()
    emb.zero_grad()  # nothing to clear: the kept array stays kept (and zero)
    emb(np.array([0]))
    emb.backward(np.ones((1, 2), np.float32))
    assert emb.weight.grad[:, 0].tolist() == [1, 0, 0, 0, 0, 0]
    emb.zero_grad()
    emb.astype(np.float64)  # the kept float32 array no longer fits
    emb(np.array([2]))
    emb.backward(np.ones((1, 2)))
    assert emb.weight.grad.dtype == np.float64 and emb.weight.grad[:, 1].tolist() == [0, 0, 1, 0, 0, 0]


def test_dense_grad_of_a_row_sparse_gradient_then_zeroing():
    p = Parameter(np.zeros((5, 2), np.float32))
    p.grad = nn.RowSparseGrad(np.array([1, 3]), np.ones((2, 2), np.float32), (5, 2))
    dense = p.dense_grad()
    assert dense[:, 0].tolist() == [0, 1, 0, 1, 0]
    p.zero_grad()
    assert not p.dense_grad().any()  # rows 1 and 3 (written by the sparse gradient) were cleared


class Bag(nn.Module):
    """Embedding + Linear: a table gradient touching a few rows, and dense ones."""

    def __init__(self):
        self.emb = Embedding(50, 6, padding_idx=0, seed=0)
        self.head = nn.Linear(6, 3, seed=1)

    def forward(self, ids):
        return self.head(self.emb(ids).mean(axis=1))

    def backward(self, dy):
        dh = self.head.backward(dy)
        return self.emb.backward(np.repeat(dh[:, None, :] / 4, 4, axis=1).astype(np.float32))


@pytest.mark.parametrize("make_opt", [lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
                                      lambda ps: nn.Adam(ps, lr=0.01)])
@pytest.mark.parametrize("zeroing", ["module", "optimizer"])
def test_optimizer_steps_are_unchanged_by_the_kept_buffer(make_opt, zeroing):
    # Reference run: every step drops the gradient arrays (p.grad = None), as before buffers were kept.
    runs = []
    for keep in (True, False):
        model, rng = Bag(), np.random.default_rng(7)
        opt = make_opt(model.parameters())
        for _ in range(6):
            ids = rng.integers(0, 50, (8, 4)) if rng.random() < 0.5 else rng.integers(0, 6, (8, 4))
            if keep:
                (model if zeroing == "module" else opt).zero_grad()
            else:
                for p in model.parameters():
                    p.grad = None
            model(ids)
            model.backward(rng.standard_normal((8, 3)).astype(np.float32))
            opt.step()
        runs.append([p.data.copy() for p in model.parameters()])
    for kept, fresh in zip(*runs, strict=True):
        np.testing.assert_array_equal(kept, fresh)


def test_stale_rows_are_cleared_before_any_other_use_of_the_kept_array(rng):
    # zero_grad() leaves the rows add_rows wrote to be cleared later: every way back in must clear them.
    noise = rng.standard_normal((8, 3))
    for use in ("accumulate", "dense_grad", "add_rows"):
        p = Parameter(np.zeros((8, 3)))
        p.add_rows(np.array([1, 5, 5]), np.ones((3, 3)))
        p.zero_grad()
        if use == "accumulate":
            p.accumulate(noise)
            np.testing.assert_array_equal(p.grad, noise)
        elif use == "dense_grad":
            assert not p.dense_grad().any()
        else:
            p.add_rows(np.array([5, 2]), np.full((2, 3), 4.0))  # row 5 overwritten, row 1 zeroed, row 2 added
            assert p.grad[:, 0].tolist() == [0, 0, 4, 0, 0, 4, 0, 0]
