"""NTXentLoss (SimCLR's InfoNCE): finite differences, a direct loop, closed forms, small temperatures, bad input."""
import math

import numpy as np
import pytest

from minembed.nn import NTXentLoss, check_loss_gradient


def loop_loss(z, tau):
    """The definition, one row at a time (no matrices, no max trick): the oracle at moderate tau."""
    z = np.asarray(z, np.float64)
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    m = len(z) // 2
    total = 0.0
    for i in range(2 * m):
        p = (i + m) % (2 * m)
        denom = sum(math.exp(u[i] @ u[j] / tau) for j in range(2 * m) if j != i)
        total += -u[i] @ u[p] / tau + math.log(denom)
    return total / (2 * m)


@pytest.mark.parametrize("tau", [1.0, 0.5, 0.1, 0.05])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_ntxent_gradient_by_finite_differences(tau, reduction):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((8, 5))
    check_loss_gradient(NTXentLoss(tau, reduction), z, None, atol=1e-6, rtol=1e-4)


def test_ntxent_equals_the_row_by_row_definition():
    rng = np.random.default_rng(1)
    for n, d, tau in [(2, 3, 1.0), (3, 4, 0.5), (6, 16, 0.2)]:
        z = rng.standard_normal((2 * n, d))
        assert NTXentLoss(tau)(z) == pytest.approx(loop_loss(z, tau), rel=1e-10)
        assert NTXentLoss(tau, "sum")(z) == pytest.approx(2 * n * loop_loss(z, tau), rel=1e-10)


@pytest.mark.parametrize("tau", [1.0, 0.1, 0.01, 1e-3])
def test_ntxent_closed_form_for_orthogonal_examples_at_any_temperature(tau):
    # Each example's two views identical, different examples orthogonal: s = 1/tau for the partner and 0
    # for the 2N - 2 others, so l = -1/tau + log(e^{1/tau} + 2N - 2) = log1p((2N - 2) e^{-1/tau}).
    n = 4
    z = np.vstack([np.eye(n), 3.0 * np.eye(n)])          # row lengths do not matter
    loss = NTXentLoss(tau)
    value = loss(z)
    assert value == pytest.approx(math.log1p((2 * n - 2) * math.exp(-1 / tau)), rel=1e-9, abs=1e-300)
    g = loss.backward()
    assert np.isfinite(g).all()


def test_ntxent_small_temperature_stays_finite_and_picks_the_worst_negative():
    # At tau -> 0, l_i -> (max_{j != i, p} s_ij - s_ip)^+ / tau: the margin by which the hardest negative wins.
    rng = np.random.default_rng(2)
    z = rng.standard_normal((10, 6))
    tau = 1e-4
    loss = NTXentLoss(tau)
    value = loss(z)
    g = loss.backward()
    assert np.isfinite(value) and np.isfinite(g).all()
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    c = u @ u.T
    np.fill_diagonal(c, -np.inf)
    m = 5
    partner = np.r_[np.arange(m, 2 * m), np.arange(m)]
    pos = c[np.arange(2 * m), partner]
    c[np.arange(2 * m), partner] = -np.inf
    hinge = np.maximum(c.max(axis=1) - pos, 0.0) / tau
    assert value == pytest.approx(hinge.mean(), rel=1e-3)


def test_ntxent_gradient_is_orthogonal_to_each_row_and_scale_free():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((6, 4)).astype(np.float32)
    loss = NTXentLoss(0.2)
    a = loss(z)
    g = loss.backward()
    assert g.dtype == np.float32
    np.testing.assert_allclose((g * z).sum(axis=1), 0.0, atol=1e-6)   # moving along z_i changes nothing
    assert loss(z * np.array([[2.0], [0.5], [1], [3], [1], [7]], np.float32)) == pytest.approx(a, rel=1e-6)


def test_ntxent_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(0.0)
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(float("nan"))
    with pytest.raises(ValueError, match=r"\(2N, D\)"):
        NTXentLoss()(np.ones((3, 2)))
    z = np.ones((4, 2))
    z[2] = 0
    with pytest.raises(ValueError, match="row 2 of z is all zeros"):
        NTXentLoss()(z)
    z[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NTXentLoss()(z)


def test_ntxent_batch_of_one_has_no_negatives():
    z = np.array([[1.0, 0.0], [0.6, 0.8]])
    with pytest.raises(ValueError, match="no negatives"):
        NTXentLoss()(z)


@pytest.mark.parametrize("tau", [0.5, 0.1, 0.02])
def test_ntxent_matches_an_identical_pytorch_computation(tau):
    """The SimCLR loss written in PyTorch (normalise, similarity / tau, mask the diagonal, cross-entropy
    against the partner's index) and differentiated by autograd: same value and gradient."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    z = rng.standard_normal((10, 6))
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    u = torch.nn.functional.normalize(zt, dim=1)
    s = u @ u.T / tau
    s = s.masked_fill(torch.eye(10, dtype=torch.bool), float("-inf"))
    partner = torch.cat([torch.arange(5, 10), torch.arange(0, 5)])
    ref = torch.nn.functional.cross_entropy(s, partner)
    ref.backward()
    loss = NTXentLoss(tau)
    assert loss(z) == pytest.approx(ref.item(), rel=1e-10)
    np.testing.assert_allclose(loss.backward(), zt.grad.numpy(), rtol=1e-8, atol=1e-12)
