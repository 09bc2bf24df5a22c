"""Optional cross-check against PyTorch, run only where torch is installed (it is never a dependency).

Every behaviour checked here is also tested without torch, against hand-computed values, in
test_nn_embedding.py and test_nn_optim.py; this file adds many random configurations at once.
"""
import numpy as np
import pytest

from minembed.nn import SGD, Adam, Embedding, EmbeddingBag, Parameter

torch = pytest.importorskip("torch", reason="PyTorch is not installed (optional cross-check)")


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("include_last_offset", [False, True])
@pytest.mark.parametrize("max_norm", [None, 1.5])
def test_embedding_bag_matches_torch(mode, padding_idx, include_last_offset, max_norm):
    rng = np.random.default_rng(hash((mode, padding_idx, include_last_offset, max_norm)) % 2**32)
    V, D, N = 9, 4, 12
    W = rng.standard_normal((V, D)) * 2
    ids = rng.integers(0, V, N)
    offsets = np.concatenate([[0], np.sort(rng.choice(np.arange(1, N), 3, replace=False)), [7]])
    offsets.sort()
    if include_last_offset:
        offsets = np.append(offsets, N)
    w = rng.standard_normal(N) if mode == "sum" else None
    bag = EmbeddingBag(V, D, mode=mode, padding_idx=padding_idx, max_norm=max_norm,
                       include_last_offset=include_last_offset, dtype=np.float64, seed=0)
    bag.weight.data = W.copy()
    out = bag(ids, offsets, w)
    dy = rng.standard_normal(out.shape)
    bag.backward(dy)

    ref = torch.nn.EmbeddingBag(V, D, mode=mode, padding_idx=padding_idx, max_norm=max_norm,
                                include_last_offset=include_last_offset).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(W))
    tw = None if w is None else torch.from_numpy(w).requires_grad_()
    tout = ref(torch.from_numpy(ids), torch.from_numpy(offsets), per_sample_weights=tw)
    (tout * torch.from_numpy(dy)).sum().backward()
    np.testing.assert_allclose(out, tout.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(bag.weight.grad, ref.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(bag.weight.data, ref.weight.detach().numpy(), atol=1e-12)  # max_norm in place
    if tw is not None:
        np.testing.assert_allclose(bag.per_sample_weights_grad, tw.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("max_norm", [None, 0.7])
def test_embedding_matches_torch(rng, padding_idx, max_norm):
    W = rng.standard_normal((7, 3))
    ids = rng.integers(0, 7, (3, 5))
    emb = Embedding(7, 3, padding_idx=padding_idx, max_norm=max_norm, dtype=np.float64, seed=0)
    emb.weight.data = W.copy()
    y = emb(ids)
    dy = rng.standard_normal(y.shape)
    emb.backward(dy)
    ref = torch.nn.Embedding(7, 3, padding_idx=padding_idx, max_norm=max_norm).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(W))
    ty = ref(torch.from_numpy(ids))
    (ty * torch.from_numpy(dy)).sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(emb.weight.grad, ref.weight.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("ours,theirs,options", [
    (SGD, "SGD", {"lr": 0.1}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.9}),
    (SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (Adam, "Adam", {"lr": 0.01}),
    (Adam, "Adam", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99)}),
])
def test_optimizers_match_torch(rng, ours, theirs, options):
    w0 = rng.standard_normal((5, 3))
    p = Parameter(w0.copy())
    t = torch.tensor(w0.copy(), requires_grad=True)
    opt, ref = ours([p], **options), getattr(torch.optim, theirs)([t], **options)
    for _ in range(5):
        g = rng.standard_normal((5, 3))
        p.grad, t.grad = g.copy(), torch.tensor(g)
        opt.step()
        ref.step()
    np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype,bias", [(np.float64, True), (np.float32, False)])
@pytest.mark.parametrize("shape,k,s,p", [((3, 2, 9, 8), 3, 1, 1), ((2, 3, 7, 6), (3, 2), (2, 1), (1, 0)),
                                         ((9, 8, 14, 14), 3, 1, 1)])
def test_conv2d_matches_torch(shape, k, s, p, dtype, bias):
    from minembed.nn import Conv2d

    rng = np.random.default_rng(sum(shape))
    conv = Conv2d(shape[1], 6, k, stride=s, padding=p, bias=bias, dtype=dtype, seed=0)
    x = rng.standard_normal(shape).astype(dtype)
    y = conv(x)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = conv.backward(dy)

    tx = torch.from_numpy(x).requires_grad_()
    tw = torch.from_numpy(conv.weight.data.copy()).requires_grad_()
    tb = torch.from_numpy(conv.bias.data.copy()).requires_grad_() if bias else None
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p)
    ty.backward(torch.from_numpy(dy))
    def close(ours, theirs):  # float32 sums of ~1,800 terms: rounding scales with the largest entry
        theirs = theirs.detach().numpy()
        eps = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(ours, theirs, rtol=eps, atol=eps * np.abs(theirs).max())

    close(y, ty)
    close(dx, tx.grad)
    close(conv.weight.grad, tw.grad)
    if bias:
        close(conv.bias.grad, tb.grad)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_padding_with_include_last_offset_matches_torch_on_random_bags(mode):
    # Many small random cases: empty bags, bags of only padding, per-sample weights, float32 and float64.
    for case in range(60):
        rng = np.random.default_rng(case)
        V, D, N = int(rng.integers(2, 6)), int(rng.integers(1, 4)), int(rng.integers(0, 10))
        dtype = (np.float32, np.float64)[case % 2]
        padding_idx = [0, 1, -1][case % 3]
        ids = rng.integers(0, V, N)
        offsets = np.append(np.sort(rng.integers(0, N + 1, int(rng.integers(1, 5)))), N)
        offsets[0] = 0
        w = rng.standard_normal(N).astype(dtype) if mode == "sum" and case % 4 < 2 else None
        W = rng.standard_normal((V, D)).astype(dtype)
        bag = EmbeddingBag(V, D, mode=mode, padding_idx=padding_idx, include_last_offset=True, dtype=dtype, seed=0)
        bag.weight.data = W.copy()
        out = bag(ids, offsets, w)
        dy = rng.standard_normal(out.shape).astype(dtype)
        bag.backward(dy)
        ref = torch.nn.EmbeddingBag(V, D, mode=mode, padding_idx=padding_idx, include_last_offset=True)
        ref = ref.to(torch.float32 if dtype == np.float32 else torch.float64)
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(W))
        tw = None if w is None else torch.from_numpy(w).requires_grad_()
        tout = ref(torch.from_numpy(ids), torch.from_numpy(offsets), per_sample_weights=tw)
        (tout * torch.from_numpy(dy)).sum().backward()
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out, tout.detach().numpy(), atol=tol, err_msg=f"case {case}")
        grad = np.zeros_like(W) if bag.weight.grad is None else bag.weight.grad
        np.testing.assert_allclose(grad, ref.weight.grad.numpy(), atol=tol, err_msg=f"case {case}")
        if w is not None:
            np.testing.assert_allclose(bag.per_sample_weights_grad, tw.grad.numpy(), atol=tol)


@pytest.mark.parametrize("table,weights", [(np.float32, np.float64), (np.float64, np.float32)])
def test_per_sample_weights_dtype_refused_like_torch(table, weights):
    ids, offsets, w = np.array([0, 1, 2]), np.array([0, 1]), np.ones(3, weights)
    bag = EmbeddingBag(4, 2, mode="sum", dtype=table, seed=0)
    with pytest.raises(TypeError, match="per_sample_weights has dtype"):
        bag(ids, offsets, w)
    ref = torch.nn.EmbeddingBag(4, 2, mode="sum").to(torch.float32 if table == np.float32 else torch.float64)
    with pytest.raises(RuntimeError, match="same type"):
        ref(torch.from_numpy(ids), torch.from_numpy(offsets), per_sample_weights=torch.from_numpy(w))


@pytest.mark.parametrize("shape", [(5, 0), (0, 3), (0, 0)])
def test_empty_sizes_match_torch(shape):
    V, D = shape
    ids = np.array([[0, V - 1], [1, 0]]) if V else np.zeros((2, 0), np.int64)
    ref = torch.nn.Embedding(V, D)
    ty = ref(torch.from_numpy(ids))
    ty.sum().backward()
    emb = Embedding(V, D, seed=0)
    y = emb(ids)
    emb.backward(np.ones_like(y))
    assert y.shape == tuple(ty.shape) and emb.weight.grad.shape == tuple(ref.weight.grad.shape)
    pre = Embedding.from_pretrained(np.zeros(shape, np.float32))
    assert pre.weight.shape == tuple(torch.nn.Embedding.from_pretrained(torch.zeros(shape)).weight.shape)
    if V == 0:  # any id into an empty table fails on both sides
        with pytest.raises(IndexError):
            emb(np.array([0]))
        with pytest.raises((IndexError, RuntimeError)):
            ref(torch.tensor([0]))
    bag, tbag = EmbeddingBag(V, D, mode="mean", seed=0), torch.nn.EmbeddingBag(V, D, mode="mean")
    flat, offsets = ids.ravel(), np.array([0])
    np.testing.assert_array_equal(bag(flat, offsets), tbag(torch.from_numpy(flat), torch.from_numpy(offsets)).detach())
