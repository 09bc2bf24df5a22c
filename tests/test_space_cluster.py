"""KMeans on data with planted clusters, against a NumPy Lloyd written here, and its bad input."""
import tracemalloc

import numpy as np
import pytest

from minembed.kernels.jit import jit_enabled
from minembed.space import cluster_metrics as cm
from minembed.space.cluster import KMeans, kmeans_plusplus


def planted(rng, n=600, k=4, d=5, spread=20.0, noise=1.0):
    centres = rng.standard_normal((k, d)) * spread
    y = rng.permutation(np.arange(n) % k)
    return (centres[y] + noise * rng.standard_normal((n, d))).astype(np.float32), y, centres


def lloyd_numpy(x, centres, iters):
    """The textbook algorithm, float64, no tricks: the oracle for KMeans with an array init and tol=0."""
    x, c = x.astype(np.float64), centres.astype(np.float64)
    for _ in range(iters):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        c = np.stack([x[labels == j].mean(0) for j in range(c.shape[0])])
    labels = ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
    return c, labels


@pytest.mark.parametrize("init", ["k-means++", "greedy-k-means++", "random"])
def test_recovers_planted_clusters(rng, init):
    x, y, centres = planted(rng)
    km = KMeans(4, init=init, n_init=3, seed=1).fit(x)
    assert cm.adjusted_rand_score(y, km.labels_) == 1.0
    # each found centre is the mean of its true cluster
    for j in range(4):
        true = np.bincount(y[km.labels_ == j]).argmax()
        np.testing.assert_allclose(km.cluster_centers_[j], x[y == true].mean(0), rtol=1e-4, atol=1e-4)
    assert km.inertia_ == pytest.approx(cm.inertia(x, km.labels_, km.cluster_centers_), rel=1e-5)
    assert km.cluster_centers_.dtype == np.float32 and km.labels_.dtype == np.int64
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    assert km.score(x) == pytest.approx(-km.inertia_, rel=1e-6)


def test_lloyd_matches_numpy_lloyd(rng):
    # Overlapping clusters (noise 4 against spread 3), so the iterations really move labels around.
    x, _, _ = planted(rng, n=400, k=5, d=3, spread=3.0, noise=4.0)
    start = x[rng.choice(400, 5, replace=False)]
    for iters in (1, 3, 8):
        km = KMeans(5, init=start, max_iter=iters, tol=0.0).fit(x)
        c, labels = lloyd_numpy(x, start, iters)
        np.testing.assert_allclose(km.cluster_centers_, c, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(km.labels_, labels)
        assert km.n_iter_ <= iters


def test_stops_when_no_label_changes(rng):
    x, _, _ = planted(rng)
    km = KMeans(4, max_iter=100, tol=0.0).fit(x)
    assert km.n_iter_ < 100
    again = KMeans(4, init=km.cluster_centers_, max_iter=5, tol=0.0).fit(x)
    assert again.n_iter_ == 1   # converged centres: the first step changes nothing
    np.testing.assert_allclose(again.cluster_centers_, km.cluster_centers_, atol=1e-5)


def test_kmeans_plusplus_puts_one_seed_in_each_cluster(rng):
    x, y, _ = planted(rng, n=800, k=6, spread=100.0, noise=0.5)
    for trials in (1, None):
        for seed in range(5):
            centres, idx = kmeans_plusplus(x, 6, n_local_trials=trials, seed=seed)
            assert sorted(y[idx]) == list(range(6))
            np.testing.assert_array_equal(centres, x[idx])


def test_seed_makes_fits_repeat_and_n_init_keeps_the_best(rng):
    x, _, _ = planted(rng, n=500, k=8, spread=2.0, noise=1.0)
    a = KMeans(8, seed=3).fit(x)
    b = KMeans(8, seed=3).fit(x)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    c = a.fit(x)   # fitting again with the same seed gives the same result
    np.testing.assert_array_equal(c.labels_, b.labels_)
    # n_init=6 starts with the same run as n_init=1 and keeps the lowest inertia
    many = KMeans(8, seed=3, n_init=6).fit(x)
    assert many.inertia_ <= a.inertia_ + 1e-6
    gen = np.random.default_rng(7)
    KMeans(8, rng=gen).fit(x)


def test_empty_cluster_takes_the_farthest_point(rng):
    x, _, _ = planted(rng, n=300, k=3, spread=10.0)
    start = np.vstack([x[:3], np.full((1, x.shape[1]), 1e4, np.float32)])   # centre 3 attracts nobody
    d2 = ((x[:, None, :].astype(np.float64) - start[None, :3]) ** 2).sum(-1)
    farthest = int(d2.min(1).argmax())
    km = KMeans(4, init=start, max_iter=1, tol=0.0).fit(x)
    np.testing.assert_allclose(km.cluster_centers_[3], x[farthest])
    assert np.bincount(km.labels_, minlength=4).min() >= 1
    full = KMeans(4, init=start, max_iter=50).fit(x)
    assert np.bincount(full.labels_, minlength=4).min() >= 1


def test_fewer_distinct_points_than_clusters_warns():
    x = np.repeat(np.eye(3, dtype=np.float32), 4, axis=0)   # 12 points, 3 distinct
    with pytest.warns(RuntimeWarning, match="distinct"):
        km = KMeans(5, seed=0).fit(x)
    assert km.inertia_ == pytest.approx(0.0, abs=1e-6)


def test_cosine_clusters_by_direction(rng):
    # Two directions, lengths from 0.1 to 10: Euclidean k-means splits by length, spherical by direction.
    dirs = np.array([[1.0, 0.2, 0.0], [0.0, 0.3, 1.0]])
    y = rng.integers(2, size=400)
    lengths = np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=400))
    x = ((dirs[y] + 0.05 * rng.standard_normal((400, 3))) * lengths[:, None]).astype(np.float32)
    cos = KMeans(2, metric="cosine", seed=0, n_init=3).fit(x)
    assert cm.adjusted_rand_score(y, cos.labels_) == 1.0
    np.testing.assert_allclose(np.linalg.norm(cos.cluster_centers_, axis=1), 1.0, rtol=1e-5)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    cosines = (unit * cos.cluster_centers_[cos.labels_]).sum(1)
    assert cos.inertia_ == pytest.approx((1 - cosines).sum(), rel=1e-4)
    # each centre is the normalised mean direction of its points
    for j in range(2):
        m = unit[cos.labels_ == j].mean(0)
        np.testing.assert_allclose(cos.cluster_centers_[j], m / np.linalg.norm(m), atol=1e-5)
    # predict ignores length
    np.testing.assert_array_equal(cos.predict(x * 100.0), cos.labels_)
    euc = KMeans(2, seed=0, n_init=3).fit(x)
    assert cm.adjusted_rand_score(y, euc.labels_) < 0.5
    t = cos.transform(x[:5])
    np.testing.assert_allclose(t[np.arange(5), cos.labels_[:5]], 1 - cosines[:5], atol=1e-5)


def test_transform_gives_distances(rng):
    x, _, _ = planted(rng, n=100)
    km = KMeans(4).fit(x)
    d = km.transform(x)
    exact = np.sqrt(((x[:, None, :].astype(np.float64) - km.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(d, exact, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(d.argmin(1), km.labels_)


@pytest.mark.skipif(not jit_enabled(), reason="the NumPy reference builds the whole (N, k) matrix on purpose")
def test_memory_stays_below_an_n_by_k_matrix(rng):
    n, k = 40_000, 64
    x = rng.standard_normal((n, 4)).astype(np.float32)
    KMeans(k, max_iter=2, init="random").fit(x[:2000])   # compile outside the measurement
    tracemalloc.start()
    KMeans(k, max_iter=3).fit(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < n * k * 8 / 4, peak     # an (N, k) float64 matrix would be 20 MB


def test_bad_input_raises_clearly(rng):
    x, _, _ = planted(rng, n=20, k=2)
    with pytest.raises(ValueError, match=r"n_clusters=21 is larger than the number of points in X \(20\)"):
        KMeans(21).fit(x)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="n_clusters must be an integer >= 1"):
            KMeans(bad)
    with pytest.raises(TypeError, match="n_clusters"):
        KMeans(2.5)
    nan = x.copy()
    nan[7, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values in row 7"):
        KMeans(2).fit(nan)
    km = KMeans(2).fit(x)
    with pytest.raises(ValueError, match="X has 3 features per row, but this KMeans was fitted on 5"):
        km.predict(x[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        km.predict(nan)
    with pytest.raises(RuntimeError, match="not fitted"):
        KMeans(2).predict(x)
    zero = x.copy()
    zero[4] = 0
    with pytest.raises(ValueError, match="row 4 is a zero vector"):
        KMeans(2, metric="cosine").fit(zero)
    with pytest.raises(ValueError, match="init must be one of"):
        KMeans(2, init="kmeans++")
    with pytest.raises(ValueError, match="shape"):
        KMeans(3, init=x[:2])
    with pytest.raises(ValueError, match="init has dimension 4"):
        KMeans(2, init=x[:2, :4]).fit(x)
    with pytest.raises(ValueError, match="tol"):
        KMeans(2, tol=-1.0)
    with pytest.raises(ValueError, match="metric"):
        KMeans(2, metric="dot")
    with pytest.raises(ValueError, match="2-D"):
        KMeans(2).fit(x[0])
    with pytest.raises(ValueError, match="n_clusters=30 is larger"):
        kmeans_plusplus(x, 30)


def test_agrees_with_scikit_learn(rng):
    sk = pytest.importorskip("sklearn.cluster")
    x, _, _ = planted(rng, n=1000, k=6, spread=3.0, noise=1.5)
    start = x[:6].copy()
    ours = KMeans(6, init=start, max_iter=300).fit(x)
    theirs = sk.KMeans(6, init=start, n_init=1, max_iter=300, algorithm="lloyd").fit(x)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-4)
    assert cm.adjusted_rand_score(theirs.labels_, ours.labels_) > 0.99


def test_init_size_seeds_on_a_subsample(rng):
    x, y, _ = planted(rng, n=2000, k=5, spread=30.0)
    km = KMeans(5, init_size=60, seed=2, n_init=2).fit(x)
    assert cm.adjusted_rand_score(y, km.labels_) == 1.0
    # the seeds come from a 60-point subsample: with init_size the seeding draws differ from a full seeding
    full = KMeans(5, seed=2, max_iter=1, tol=0.0, init="random").fit(x)
    sub = KMeans(5, seed=2, max_iter=1, tol=0.0, init="random", init_size=60).fit(x)
    assert not np.array_equal(full.cluster_centers_, sub.cluster_centers_)
    with pytest.raises(ValueError, match="init_size"):
        KMeans(5, init_size=0)


def test_greedy_seeding_is_never_worse_at_the_start(rng):
    # Greedy k-means++ keeps the best of several D^2 draws per step: its starting inertia is lower on average.
    x, _, _ = planted(rng, n=600, k=12, d=3, spread=4.0, noise=1.0)
    def start_inertia(trials, seed):
        c, _ = kmeans_plusplus(x, 12, n_local_trials=trials, seed=seed)
        return cm.inertia(x, ((x[:, None, :] - c[None]) ** 2).sum(-1).argmin(1), c)
    plain = np.mean([start_inertia(1, s) for s in range(15)])
    greedy = np.mean([start_inertia(None, s) for s in range(15)])
    assert greedy < plain
    with pytest.raises(ValueError, match="NaN"):
        kmeans_plusplus(np.array([[0.0, np.nan], [1.0, 1.0]]), 1)
