"""Maps of embeddings: PCA against the covariance eigenproblem, t-SNE kernels against their
references and finite differences, t-SNE on separated clusters, Projector files round-trip."""
import numpy as np
import pytest

from minembed.kernels import tsne as kt
from minembed.space import formats
from minembed.space import maps as viz


def test_pca_matches_covariance_eigenvectors(rng):
    x = rng.standard_normal((200, 6)) @ rng.standard_normal((6, 6)) + 5.0
    coords, comps, var, mean = viz.pca(x, 3, return_info=True)
    cov = np.cov(x.astype(np.float32).astype(np.float64), rowvar=False)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:3]
    np.testing.assert_allclose(var, evals[order], rtol=1e-8)
    for c in range(3):  # same axis up to sign
        assert abs(abs(comps[c] @ evecs[:, order[c]]) - 1) < 1e-8
        assert comps[c][np.abs(comps[c]).argmax()] > 0  # deterministic sign
    xc = x.astype(np.float32).astype(np.float64) - mean
    np.testing.assert_allclose(coords, xc @ comps.T, atol=1e-9)
    np.testing.assert_allclose(coords.var(0, ddof=1), var, rtol=1e-8)
    with pytest.raises(ValueError, match="n_components"):
        viz.pca(x, 7)


def test_perplexity_calibration_kernel_matches_reference(rng):
    x = rng.standard_normal((120, 5))
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    for perp in (5.0, 30.0):
        got = kt.calibrate_affinities(d2, perp)
        ref = kt.calibrate_affinities_reference(d2, perp)
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(got.sum(1), 1.0, rtol=1e-12)
        assert np.all(np.diag(got) == 0)
        h = -(got * np.log(np.where(got > 0, got, 1))).sum(1)
        np.testing.assert_allclose(np.exp(h), perp, rtol=1e-4)  # the perplexity asked for
    with pytest.raises(ValueError, match="perplexity"):
        kt.calibrate_affinities(d2, 200.0)


def _random_p(rng, n):
    p = rng.random((n, n))
    p = p + p.T
    np.fill_diagonal(p, 0)
    return p / p.sum()


@pytest.mark.parametrize("c,n", [(2, 300), (2, 700), (3, 300)])  # 2-D: serial and parallel kernels
def test_tsne_gradient_kernel_matches_reference(rng, c, n):
    y = rng.standard_normal((n, c)) * 3
    p = _random_p(rng, n)
    for ex in (1.0, 12.0):
        g, z = kt.tsne_gradient(y, p, ex)
        rg, rz = kt.tsne_gradient_reference(y, p, ex)
        np.testing.assert_allclose(g, rg, rtol=1e-9, atol=1e-12)
        assert z == pytest.approx(rz, rel=1e-12)


@pytest.mark.parametrize("c,n", [(2, 50), (2, 700), (3, 50)])
def test_tsne_gradient_of_a_nan_point_is_nan_as_in_the_reference(rng, c, n):
    # fastmath=True's "no NaN" flag made the 2-D kernels raise ZeroDivisionError from 1 / (1 + d2)
    y = rng.standard_normal((n, c))
    y[3, 0] = np.nan
    p = _random_p(rng, n)
    g, z = kt.tsne_gradient(y, p)
    rg, rz = kt.tsne_gradient_reference(y, p)
    assert np.isnan(rz) and np.isnan(z) and np.isnan(rg).all()      # Z sums every pair: NaN spreads everywhere
    np.testing.assert_array_equal(np.isnan(g), np.isnan(rg))


@pytest.mark.parametrize("c", [2, 3])
def test_tsne_gradient_equals_finite_differences_of_kl(rng, c):
    y = rng.standard_normal((10, c))
    p = _random_p(rng, 10)
    g, _ = kt.tsne_gradient(y, p)
    num = np.zeros_like(y)
    h = 1e-6
    for i in range(10):
        for t in range(c):
            yp, ym = y.copy(), y.copy()
            yp[i, t] += h
            ym[i, t] -= h
            num[i, t] = (kt.kl_divergence(yp, p) - kt.kl_divergence(ym, p)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


def _blobs(rng, n_clusters, size, dim=10):
    """Gaussian blobs (unit noise) around centres spread 20 apart: (N, dim) points and (N,) labels."""
    centers = rng.standard_normal((n_clusters, dim)) * 20
    labels = np.repeat(np.arange(n_clusters), size)
    return centers[labels] + rng.standard_normal((n_clusters * size, dim)), labels


def _cluster_margin(y, labels):
    """Closest pair of map points from different clusters / largest distance of a point from its cluster's mean.

    Above 1, every point is nearer its own cluster than any other point of another cluster is; a map in
    which one point sits beside a foreign cluster scores near 0.
    """
    d = np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1))
    between = d[labels[:, None] != labels[None, :]].min()
    radius = max(np.linalg.norm(y[labels == g] - y[labels == g].mean(0), axis=1).max() for g in np.unique(labels))
    return between / radius


def _knn_overlap(x, y, k):
    """Mean fraction of each point's k nearest neighbours in x that are also among its k nearest in y."""
    def knn(a):
        d = ((a[:, None] - a[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        return np.argsort(d, 1, kind="stable")[:, :k]
    return np.mean([len(set(a) & set(b)) / k for a, b in zip(knn(x), knn(y), strict=True)])


# What t-SNE guarantees on well-separated blobs is the cluster structure, not coordinates: the map is
# a chaotic function of P, and P's last bits depend on the BLAS kernel that computed the distances
# (OPENBLAS_CORETYPE) and on MINEMBED_JIT. So the test asserts margins with wide slack: over 30 data
# sets per case, under both BLAS kernels, the fixed code's margin was >= 3.9 (asserted: 2) and its
# 10-NN overlap >= 0.54 (asserted: 0.45; a random layout inside each cluster gives 10/39 = 0.26).
# The seeded cases failed before the fix under both kernels: seed 9 (margin 0.05) because the
# exaggerated phase's velocity was carried into the final phase, seed 4 (margin 0.02) because a fixed
# learning rate of 200 is far too large for 60 points.
@pytest.mark.parametrize("seed,n_clusters,size,perplexity,learning_rate", [
    (12345, 3, 40, 15, "auto"),  # the conftest rng: the case that flipped with OPENBLAS_CORETYPE
    (9, 3, 40, 15, 200.0),
    (4, 4, 15, 5, "auto"),
])
def test_tsne_separates_well_separated_clusters(seed, n_clusters, size, perplexity, learning_rate):
    x, labels = _blobs(np.random.default_rng(seed), n_clusters, size)
    history = []
    y = viz.tsne(x, perplexity=perplexity, n_iter=700, learning_rate=learning_rate, seed=0, history=history)
    assert y.shape == (len(x), 2) and np.isfinite(y).all()
    assert _cluster_margin(y, labels) > 2.0
    if size == 40:  # clusters large enough for neighbours inside a cluster to mean something
        assert _knn_overlap(x, y, 10) > 0.45
    assert history[-1][1] < history[0][1]  # KL went down
    again = viz.tsne(x, perplexity=perplexity, n_iter=700, learning_rate=learning_rate, seed=0)
    np.testing.assert_array_equal(y, again)  # deterministic (same process, same BLAS)


def test_tsne_learning_rate_auto_is_scikit_learns_rule(rng):
    x = rng.standard_normal((40, 5))
    for n_rows, rate in ((40, 50.0), (30, 50.0)):  # max(N / 12 / 4, 50): the floor for small N
        auto = viz.tsne(x[:n_rows], perplexity=5, n_iter=60, exaggeration_iter=30)
        fixed = viz.tsne(x[:n_rows], perplexity=5, n_iter=60, exaggeration_iter=30, learning_rate=rate)
        np.testing.assert_array_equal(auto, fixed)
    big = viz.tsne(x, perplexity=5, n_iter=60, exaggeration_iter=30, early_exaggeration=0.1)  # 40 / 0.4 = 100
    np.testing.assert_array_equal(big, viz.tsne(x, perplexity=5, n_iter=60, exaggeration_iter=30,
                                                early_exaggeration=0.1, learning_rate=100.0))
    for bad in (0.0, -1.0, "fast"):
        with pytest.raises(ValueError, match="learning_rate"):
            viz.tsne(x, perplexity=5, learning_rate=bad)


def test_tsne_bad_input():
    with pytest.raises(ValueError, match="perplexity"):
        viz.tsne(np.random.default_rng(0).standard_normal((10, 3)), perplexity=10)
    with pytest.raises(ValueError, match="at least 3 rows"):
        viz.tsne(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        viz.tsne(np.array([[1.0, np.nan], [0, 1], [1, 1], [2, 2]]))


def test_export_projector_round_trip(rng, tmp_path):
    vecs = rng.standard_normal((25, 7)).astype(np.float32)
    words = [f"w{i}" for i in range(24)] + ["ünïcode"]
    paths = formats.export_projector(vecs, words, tmp_path / "proj")
    back, labels = formats.load_projector_tsv(tmp_path / "proj")
    np.testing.assert_array_equal(back, vecs)  # 9 significant digits round-trip float32 exactly
    assert labels == words
    lines = paths["metadata"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25 and lines[0] == "w0"  # single column: no header
    assert len(paths["vectors"].read_text().splitlines()[0].split("\t")) == 7
    assert 'tensor_path: "vectors.tsv"' in paths["config"].read_text()
    # Several columns: a header row first.
    formats.export_projector(vecs, words, tmp_path / "multi", columns={"count": list(range(25))})
    multi = (tmp_path / "multi" / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert multi[0] == "label\tcount" and multi[1] == "w0\t0" and len(multi) == 26
    with pytest.raises(ValueError, match="tab or a line break"):
        formats.export_projector(vecs[:2], ["ok", "bad\tlabel"], tmp_path / "bad")
    with pytest.raises(ValueError, match="2 labels for 25 vectors"):
        formats.export_projector(vecs, ["a", "b"], tmp_path / "bad")


def test_plot_embeddings(rng, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    vecs = rng.standard_normal((30, 5))
    fig, coords = viz.plot_embeddings(vecs, [f"w{i}" for i in range(30)], method="pca", groups=np.arange(30) % 3)
    np.testing.assert_allclose(coords, viz.pca(vecs, 2))
    assert len(fig.axes[0].texts) == 30
    fig.savefig(tmp_path / "map.png")
    fig, coords = viz.plot_embeddings(vecs, None, method="tsne", perplexity=5, n_iter=100)
    assert coords.shape == (30, 2)
    with pytest.raises(ValueError, match="method"):
        viz.plot_embeddings(vecs, method="umap")
    with pytest.raises(ValueError, match="3 labels for 30"):
        viz.plot_embeddings(vecs, ["a", "b", "c"])


def test_spaced_labels_keep_labels_apart_and_prefer_earlier_points(rng):
    # three tight clusters of 20 points: at a spacing wider than a cluster, one label per cluster, the first
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    coords = np.concatenate([c + 0.01 * rng.standard_normal((20, 2)) for c in centres])
    order = rng.permutation(60)
    chosen = viz.spaced_labels(coords[order], 0.1, max_labels=100)
    assert len(chosen) == 3
    first_of_cluster = sorted({int(order[i]) // 20: i for i in reversed(range(60))}.values())
    assert chosen == first_of_cluster
    # every pair of chosen points is at least the spacing apart (in units of the coordinates' span)
    pts = rng.random((200, 2)) * [4.0, 1.0]
    chosen = viz.spaced_labels(pts, 0.05, max_labels=1000)
    scaled = pts[chosen] / np.ptp(pts, axis=0)
    dist = np.hypot(*(scaled[:, None] - scaled[None]).transpose(2, 0, 1))
    assert dist[np.triu_indices(len(chosen), 1)].min() >= 0.05
    # every point left out is closer than the spacing to a chosen one (greedy: nothing more fits)
    left = np.setdiff1d(np.arange(200), chosen)
    all_scaled = pts / np.ptp(pts, axis=0)
    assert all(np.hypot(*(scaled - all_scaled[i]).T).min() < 0.05 for i in left)
    assert viz.spaced_labels(pts, 0.0, max_labels=7) == list(range(7))
    with pytest.raises(ValueError, match="label_spacing"):
        viz.spaced_labels(pts, -1.0, 10)


def test_plot_embeddings_label_spacing_says_how_many_were_labelled(rng):
    import matplotlib

    matplotlib.use("Agg")
    pts = np.concatenate([rng.standard_normal((25, 2)) * 0.01, rng.standard_normal((25, 2)) * 0.01 + 5])
    fig, _ = viz.plot_embeddings(pts, [f"w{i}" for i in range(50)], method="none", label_spacing=0.1)
    assert len(fig.axes[0].texts) == 2
    assert "2 of 50 labelled" in fig.axes[0].get_title()
