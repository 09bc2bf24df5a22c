"""SGD and Adam against hand-computed scalar steps; row-sparse updates against dense ones;
non-finite gradients refused before anything changes."""
import math

import numpy as np
import pytest

from minembed.nn import SGD, Adam, Embedding, Parameter, RowSparseGrad


def param(value, grad=None):
    p = Parameter(np.array(value, dtype=np.float64), name="w")
    p.grad = None if grad is None else np.array(grad, dtype=np.float64)
    return p


def run(opt_factory, grads, w0=1.0):
    p = param([w0])
    opt = opt_factory([p])
    for g in grads:
        p.grad = np.array([g])
        opt.step()
    return float(p.data[0])


def test_plain_sgd():
    assert run(lambda ps: SGD(ps, lr=0.1), [2.0, -1.0]) == pytest.approx(1.0 - 0.2 + 0.1)


def test_sgd_momentum_by_hand():
    # v1 = g1 = 2 ; w = 1 - .1*2 = .8 ; v2 = .9*2 + 1 = 2.8 ; w = .8 - .28 = .52
    assert run(lambda ps: SGD(ps, lr=0.1, momentum=0.9), [2.0, 1.0]) == pytest.approx(0.52)


def test_sgd_nesterov_by_hand():
    # v1 = 2, step = g + .9 v = 3.8 -> w = .62 ; v2 = 2.8, step = 1 + 2.52 = 3.52 -> w = .268
    assert run(lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True), [2.0, 1.0]) == pytest.approx(0.268)


def test_sgd_weight_decay_by_hand():
    # g' = 2 + .5 * 1 = 2.5 -> w = 1 - .25 = .75
    assert run(lambda ps: SGD(ps, lr=0.1, weight_decay=0.5), [2.0]) == pytest.approx(0.75)


def test_adam_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    w, m, v = 1.0, 0.0, 0.0
    for t, g in enumerate([2.0, -1.0, 0.5], start=1):
        g = g + 0.01 * w  # weight decay 0.01, L2 form
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
    got = run(lambda ps: Adam(ps, lr=lr, weight_decay=0.01), [2.0, -1.0, 0.5])
    assert got == pytest.approx(w, rel=1e-12)
    # The first Adam step moves every coordinate by about lr, whatever the gradient's scale.
    assert run(lambda ps: Adam(ps, lr=0.1), [1e-4]) == pytest.approx(0.9, rel=1e-3)


def test_parameters_without_gradient_are_left_alone():
    a, b = param([1.0, 2.0], [1.0, 1.0]), param([5.0])
    SGD([a, b], lr=1.0).step()
    assert a.data.tolist() == [0.0, 1.0] and b.data.tolist() == [5.0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps)])
def test_non_finite_gradient_refuses_the_whole_step(bad, make):
    good = param([1.0, 2.0], [1.0, 1.0])
    broken = Parameter(np.ones(3), name="layer.weight")
    broken.grad = np.array([0.0, bad, 0.0])
    opt = make([good, broken])
    kind = "NaN" if np.isnan(bad) else "inf"
    with pytest.raises(FloatingPointError, match=f"'layer.weight'.*{kind}"):
        opt.step()
    assert good.data.tolist() == [1.0, 2.0] and broken.data.tolist() == [1.0, 1.0, 1.0]
    assert opt.state == {}  # no moment was updated either


def test_non_finite_row_sparse_gradient_is_refused():
    p = Parameter(np.ones((4, 2)), name="emb")
    p.grad = RowSparseGrad(np.array([1]), np.array([[np.nan, 0.0]]), (4, 2))
    with pytest.raises(FloatingPointError, match="emb"):
        Adam([p]).step()
    assert (p.data == 1).all()


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: Adam(ps, lr=0.05, weight_decay=0.01),
])
def test_row_sparse_updates_equal_dense_when_every_row_is_touched(make):
    ids = np.tile(np.arange(12), 3)  # every row, several times
    tables = []
    for sparse in (False, True):
        e = Embedding(12, 5, sparse=sparse, seed=3, dtype=np.float64)
        opt = make(e.parameters())
        for step in range(3):
            e.zero_grad()
            r = np.random.default_rng(step)  # the same ids and dy for the dense and the sparse run
            e(r.permutation(ids))
            e.backward(r.standard_normal((36, 5)))
            opt.step()
        tables.append(e.weight.data)
    np.testing.assert_allclose(tables[1], tables[0], rtol=1e-12, atol=1e-12)


def test_row_sparse_update_leaves_untouched_rows_and_moments_alone():
    e = Embedding(1000, 4, sparse=True, seed=0)
    before = e.weight.data.copy()
    opt = Adam(e.parameters(), lr=0.1)
    e(np.array([3, 7, 3]))
    e.backward(np.ones((3, 4), np.float32))
    assert isinstance(e.weight.grad, RowSparseGrad) and e.weight.grad.indices.tolist() == [3, 7]
    opt.step()
    changed = np.flatnonzero((e.weight.data != before).any(axis=1))
    assert changed.tolist() == [3, 7]
    np.testing.assert_allclose(e.weight.data[[3, 7]], before[[3, 7]] - 0.1, rtol=1e-5)  # first Adam step ~ lr
    state = opt.state[id(e.weight)]
    assert state["t_rows"].sum() == 2 and not np.delete(state["m"], [3, 7], axis=0).any()


def test_adam_row_counts_give_a_rare_row_a_bias_corrected_first_step():
    e = Embedding(10, 2, sparse=True, seed=0, dtype=np.float64)
    opt = Adam(e.parameters(), lr=0.1)
    for _ in range(5):  # row 1 is seen five times first
        e.zero_grad()
        e(np.array([1]))
        e.backward(np.ones((1, 2)))
        opt.step()
    before = e.weight.data[2].copy()
    e.zero_grad()
    e(np.array([2]))
    e.backward(np.full((1, 2), 1e-3))
    opt.step()
    np.testing.assert_allclose(e.weight.data[2], before - 0.1, atol=1e-5)  # global t=6 would move ~0.005


def test_switching_between_dense_and_sparse_gradients_keeps_working():
    p = Parameter(np.zeros((3, 2)), name="t")
    opt = Adam([p], lr=0.1)
    p.grad = np.ones((3, 2))
    opt.step()
    p.grad = RowSparseGrad(np.array([0]), np.ones((1, 2)), (3, 2))
    opt.step()
    p.grad = np.ones((3, 2))
    opt.step()
    assert np.isfinite(p.data).all() and p.data[0, 0] < p.data[1, 0] < 0


def test_bad_optimizer_settings():
    p = param([1.0])
    with pytest.raises(ValueError, match="learning rate"):
        SGD([p], lr=0)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty"):
        Adam([])
    with pytest.raises(ValueError, match="betas"):
        Adam([p], betas=(1.0, 0.9))
    with pytest.raises(TypeError, match="not a Parameter"):
        SGD([np.zeros(3)], lr=0.1)
