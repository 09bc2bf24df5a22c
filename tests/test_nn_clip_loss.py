"""ClipLoss (CLIP's symmetric InfoNCE): finite differences, a direct loop, a closed form at large scales,
an identical PyTorch computation, bad input."""
import math

import numpy as np
import pytest

from minembed.nn import ClipLoss, numerical_gradient


def loop_loss(x, t, scale):
    """The definition, one row and one column at a time (no matrices, no max trick)."""
    u = np.asarray(x, np.float64) / np.linalg.norm(x, axis=1, keepdims=True)
    v = np.asarray(t, np.float64) / np.linalg.norm(t, axis=1, keepdims=True)
    n = len(u)
    img = sum(-scale * u[i] @ v[i] + math.log(sum(math.exp(scale * u[i] @ v[j]) for j in range(n)))
              for i in range(n))
    txt = sum(-scale * u[j] @ v[j] + math.log(sum(math.exp(scale * u[i] @ v[j]) for i in range(n)))
              for j in range(n))
    return (img / n + txt / n) / 2


def random_pairs(n=6, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, d))


@pytest.mark.parametrize("scale", [1.0, 1 / 0.07, 50.0])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_clip_loss_gradients_by_finite_differences(scale, reduction):
    x, t = random_pairs()
    s = np.array([scale])
    loss = ClipLoss(reduction)

    def f():
        return loss.forward((x, t, s[0]))

    f()
    dx, dt, ds = loss.backward()
    eps = 1e-7 * max(1.0, scale / 10)
    for analytic, array in ((dx, x), (dt, t)):
        numeric = numerical_gradient(f, array, eps=1e-6)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-6)
    numeric_s = numerical_gradient(f, s, eps=eps)[0]
    assert ds == pytest.approx(numeric_s, rel=1e-4, abs=1e-6)


def test_clip_loss_backward_scales_with_dloss_and_sum_is_n_times_mean():
    x, t = random_pairs(5, 3, seed=3)
    mean, total = ClipLoss(), ClipLoss("sum")
    assert total((x, t, 7.0)) == pytest.approx(5 * mean((x, t, 7.0)), rel=1e-12)
    g1 = mean.backward()
    g2 = mean.backward(2.5)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(2.5 * np.asarray(a), b, rtol=1e-12)


def test_clip_loss_equals_the_loop_definition():
    for n, d, scale, seed in [(2, 3, 1.0, 0), (5, 4, 14.3, 1), (9, 8, 3.0, 2)]:
        x, t = random_pairs(n, d, seed)
        assert ClipLoss()((x, t, scale)) == pytest.approx(loop_loss(x, t, scale), rel=1e-10)


def test_clip_loss_is_symmetric_in_the_two_modalities():
    x, t = random_pairs(7, 5, seed=4)
    loss = ClipLoss()
    a = loss((x, t, 9.0))
    gx, gt, gs = loss.backward()
    b = loss((t, x, 9.0))
    gt2, gx2, gs2 = loss.backward()
    assert a == pytest.approx(b, rel=1e-12)
    np.testing.assert_allclose(gx, gx2, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gt, gt2, rtol=1e-10, atol=1e-14)
    assert gs == pytest.approx(gs2, rel=1e-10)


@pytest.mark.parametrize("scale", [1 / 0.07, 100.0, 1e3, 1e5])
def test_clip_loss_closed_form_and_finite_at_large_scales(scale):
    # Matching pairs identical, different pairs orthogonal: S = s I, so both directions give
    # l = -s + log(e^s + N - 1) = log1p((N - 1) e^{-s}) -- about 1e-43 at s = 100, which a naive
    # log(sum(exp)) would round to 0 (and exp(1e5) overflows).
    n = 4
    x = np.eye(n) * np.arange(1, n + 1)[:, None]              # row lengths do not matter
    loss = ClipLoss()
    value = loss((x, np.eye(n), scale))
    assert value == pytest.approx(math.log1p((n - 1) * math.exp(-scale)), rel=1e-9, abs=1e-300)
    assert all(np.isfinite(g).all() for g in loss.backward())


def test_clip_loss_gradient_pulls_matching_pairs_together():
    # One gradient step on the embeddings must lower the loss, and raise each pair's cosine on average.
    x, t = random_pairs(8, 6, seed=5)
    loss = ClipLoss()
    before = loss((x, t, 10.0))
    gx, gt, _ = loss.backward()
    x2, t2 = x - 0.05 * gx, t - 0.05 * gt
    assert loss((x2, t2, 10.0)) < before

    def cos(a, b):
        return np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos(x2, t2).mean() > cos(x, t).mean()


def test_clip_loss_float32_in_float32_gradients_out():
    x, t = random_pairs(4, 3, seed=6)
    loss = ClipLoss()
    loss((x.astype(np.float32), t.astype(np.float32), np.float32(5.0)))
    dx, dt, ds = loss.backward()
    assert dx.dtype == np.float32 and dt.dtype == np.float32 and isinstance(ds, float)


def test_clip_loss_matches_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, t = random_pairs(10, 8, seed=7)
    log_scale = math.log(1 / 0.07)
    loss = ClipLoss()
    ours = loss((x, t, math.exp(log_scale)))
    dx, dt, ds = loss.backward()

    tx = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t, requires_grad=True)
    tl = torch.tensor(log_scale, dtype=torch.float64, requires_grad=True)
    logits = tl.exp() * F.normalize(tx, dim=1) @ F.normalize(tt, dim=1).T
    labels = torch.arange(10)
    ref = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    ref.backward()
    assert ours == pytest.approx(ref.item(), rel=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(dt, tt.grad.numpy(), rtol=1e-8, atol=1e-12)
    # PyTorch differentiates through exp(log s): dL/dlog s = s dL/ds
    assert ds * math.exp(log_scale) == pytest.approx(tl.grad.item(), rel=1e-8)


def test_batch_of_one_pair_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="no negatives"):
        ClipLoss()((np.ones((1, 3)), np.ones((1, 3)), 10.0))


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_scale_is_refused(scale):
    x, t = random_pairs(3, 2)
    with pytest.raises(ValueError, match="logit_scale"):
        ClipLoss()((x, t, scale))


def test_other_bad_input():
    x, t = random_pairs(3, 2)
    with pytest.raises(ValueError, match="one shape"):
        ClipLoss()((x, t[:2], 1.0))
    with pytest.raises(ValueError, match="row 1 of text_embeds is all zeros"):
        ClipLoss()((x, np.vstack([t[:1], np.zeros((1, 2)), t[2:]]), 1.0))
    with pytest.raises(ValueError, match="NaN"):
        ClipLoss()((np.full((3, 2), np.nan), t, 1.0))
    with pytest.raises(TypeError, match="image_embeds, text_embeds, logit_scale"):
        ClipLoss()(x, t)
    with pytest.raises(ValueError, match="reduction"):
        ClipLoss("max")
