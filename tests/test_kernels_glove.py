"""The GloVe kernel (kernels/glove.py) against its NumPy reference and the gradient against finite differences."""
import numpy as np
import pytest

from minembed.kernels import glove as kg


def make_job(rng, v=50, dim=16, n=3000, block=64, clip=100.0):
    rows = rng.integers(0, v, n).astype(np.int32)
    cols = rng.integers(0, v, n).astype(np.int32)
    x = rng.gamma(0.5, 10.0, n) + 0.5
    pairs = kg.pair_records(rows, cols, x, 10.0, 0.75)
    W = ((rng.random((v, dim)) - 0.5) / dim).astype(np.float32)
    C = ((rng.random((v, dim)) - 0.5) / dim).astype(np.float32)
    bw = ((rng.random(v) - 0.5) / dim).astype(np.float32)
    bc = ((rng.random(v) - 0.5) / dim).astype(np.float32)
    n_blocks = -(-n // block)
    return kg.GloVeJob(rows=pairs["row"], cols=pairs["col"], logx=pairs["logx"], weight=pairs["weight"],
                       blocks=rng.permutation(n_blocks).astype(np.int64), block=block, W=W, C=C, bw=bw, bc=bc,
                       GW=np.ones_like(W), GC=np.ones_like(C), gbw=np.ones_like(bw), gbc=np.ones_like(bc),
                       eta=0.05, grad_clip=clip)


def copy_job(job):
    return job._replace(**{k: getattr(job, k).copy() for k in ("W", "C", "bw", "bc", "GW", "GC", "gbw", "gbc")})


@pytest.mark.parametrize("clip, bias_eta", [(100.0, None), (0.01, None), (100.0, 1.0)],
                         ids=["plain", "clipped", "c-code-biases"])  # 0.01: most components are clipped
def test_kernel_equals_reference(rng, clip, bias_eta):
    job = make_job(rng, clip=clip)._replace(bias_eta=bias_eta)
    ker, ref = copy_job(job), copy_job(job)
    p_k, p_r = np.zeros(8, np.int64), np.zeros(8, np.int64)
    cost_k = kg.train_pairs(ker, workers=1, progress=p_k)
    cost_r = kg.train_pairs_reference(ref, progress=p_r)
    assert p_k[0] == p_r[0] == len(job.rows)
    assert cost_k == pytest.approx(cost_r, rel=1e-5)
    for name in ("W", "C", "bw", "bc", "GW", "GC", "gbw", "gbc"):
        np.testing.assert_allclose(getattr(ker, name), getattr(ref, name), rtol=1e-4, atol=1e-6, err_msg=name)
    assert np.abs(ref.W - job.W).max() > 1e-2  # training moved the vectors far beyond rounding


def test_one_worker_is_bit_reproducible(rng):
    job = make_job(rng)
    a, b = copy_job(job), copy_job(job)
    assert kg.train_pairs(a) == kg.train_pairs(b)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.bc, b.bc)


def test_two_workers_visit_every_pair_once(rng):
    job = make_job(rng)
    progress = np.zeros(16, np.int64)
    par = copy_job(job)
    cost = kg.train_pairs(par, workers=2, progress=progress)
    assert progress[0] + progress[8] == len(job.rows)
    ref = copy_job(job)
    cost_ref = kg.train_pairs(ref, workers=1)
    assert cost == pytest.approx(cost_ref, rel=0.05)  # Hogwild: another order, nearly the same epoch
    # each pair's AdaGrad sum grew as much (sum of squared steps), whatever the order: compare totals
    assert ref.GW.sum() == pytest.approx(par.GW.sum(), rel=0.05)


def test_gradients_match_finite_differences(rng):
    v, dim, n = 8, 5, 40
    W, C = rng.standard_normal((v, dim)) * 0.3, rng.standard_normal((v, dim)) * 0.3
    bw, bc = rng.standard_normal(v) * 0.1, rng.standard_normal(v) * 0.1
    rows, cols = rng.integers(0, v, n), rng.integers(0, v, n)
    x = rng.gamma(1.0, 5.0, n) + 0.5
    logx, weight = np.log(x), kg.weighting(x, 10.0, 0.75)
    grads = kg.glove_gradients(W, C, bw, bc, rows, cols, logx, weight)
    params = (W, C, bw, bc)
    eps = 1e-6
    for p, g in zip(params, grads, strict=True):
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for k in rng.choice(flat.size, size=min(12, flat.size), replace=False):
            old = flat[k]
            flat[k] = old + eps
            up = kg.glove_cost(*params, rows, cols, logx, weight)
            flat[k] = old - eps
            down = kg.glove_cost(*params, rows, cols, logx, weight)
            flat[k] = old
            assert gflat[k] == pytest.approx((up - down) / (2 * eps), rel=1e-6, abs=1e-9)


def test_first_step_of_a_pair_is_minus_eta_times_the_gradient(rng):
    # AdaGrad's sums start at 1, so the first step on a pair is exactly -eta * gradient (no clipping)
    job = make_job(rng, v=10, dim=6, n=1, block=1)
    before = copy_job(job)
    cost = kg.train_pairs(job)
    rows, cols = before.rows.astype(np.int64), before.cols.astype(np.int64)
    args = (before.W.astype(np.float64), before.C.astype(np.float64), before.bw.astype(np.float64),
            before.bc.astype(np.float64), rows, cols, before.logx.astype(np.float64),
            before.weight.astype(np.float64))
    assert cost == pytest.approx(kg.glove_cost(*args), rel=1e-5)
    dW, dC, dbw, dbc = kg.glove_gradients(*args)
    np.testing.assert_allclose(job.W - before.W, -0.05 * dW, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(job.C - before.C, -0.05 * dC, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(job.bw - before.bw, -0.05 * dbw, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(job.bc - before.bc, -0.05 * dbc, rtol=1e-4, atol=1e-9)


def test_bias_eta_one_steps_the_biases_like_the_c_code(rng):
    """bias_eta=1 (glove.c since 2019): the first bias step on a pair is -f diff (AdaGrad's sum starts at 1),
    the vectors still step by -eta * gradient; the next step divides by sqrt(1 + (f diff)**2)."""
    job = make_job(rng, v=10, dim=6, n=2, block=2)._replace(bias_eta=1.0)
    job.rows[:], job.cols[:] = 3, 4          # the same pair twice
    before = copy_job(job)
    kg.train_pairs_reference(kg._checked(job._replace(blocks=np.zeros(1, np.int64))))
    w, c = before.W[3].astype(np.float64), before.C[4].astype(np.float64)
    fdiff = before.weight[0] * (w @ c + before.bw[3] + before.bc[4] - before.logx[0])
    bw1 = before.bw[3] - fdiff
    # second pair: parameters after step 1, the sum now 1 + fdiff**2
    w1 = w - 0.05 * fdiff * c
    c1 = c - 0.05 * fdiff * w
    fdiff2 = before.weight[1] * (w1 @ c1 + bw1 + (before.bc[4] - fdiff) - before.logx[1])
    assert job.bw[3] == pytest.approx(bw1 - fdiff2 / np.sqrt(1 + fdiff**2), rel=1e-4)
    assert job.gbw[3] == pytest.approx(1 + fdiff**2 + fdiff2**2, rel=1e-4)
    kernel = copy_job(before)
    kg.train_pairs(kernel._replace(blocks=np.zeros(1, np.int64)))
    np.testing.assert_allclose(kernel.bw, job.bw, rtol=1e-5)


def test_weighting_function():
    np.testing.assert_allclose(kg.weighting([1.0, 10.0, 100.0, 5.0], 10.0, 0.75), [0.1**0.75, 1.0, 1.0, 0.5**0.75])


def test_bad_jobs_are_refused_before_the_kernel(rng):
    job = make_job(rng)
    with pytest.raises(IndexError, match=r"\[0, 50\)"):
        bad_rows = job.rows.copy()
        bad_rows[5] = 50
        kg.train_pairs(job._replace(rows=bad_rows))
    with pytest.raises(ValueError, match="blocks"):
        kg.train_pairs(job._replace(blocks=np.array([0, 10**6], np.int64)))
    with pytest.raises(ValueError, match="W must be"):
        kg.train_pairs(job._replace(W=job.W.astype(np.float64)))
    with pytest.raises(ValueError, match="workers"):
        kg.train_pairs(job, workers=0)
