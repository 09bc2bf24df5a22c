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


def test_tsne_separates_well_separated_clusters(rng):
    centers = rng.standard_normal((3, 10)) * 20
    labels = np.repeat(np.arange(3), 40)
    x = centers[labels] + rng.standard_normal((120, 10))
    history = []
    y = viz.tsne(x, perplexity=15, n_iter=700, seed=0, history=history)
    assert y.shape == (120, 2) and np.isfinite(y).all()
    d = ((y[:, None] - y[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(1)] == labels).all()  # every point's map neighbour is in its cluster
    cent = np.array([y[labels == g].mean(0) for g in range(3)])
    spread = max(np.linalg.norm(y[labels == g] - cent[g], axis=1).mean() for g in range(3))
    gaps = [np.linalg.norm(cent[a] - cent[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > 3 * spread
    assert history[-1][1] < history[0][1]  # KL went down
    again = viz.tsne(x, perplexity=15, n_iter=700, seed=0)
    np.testing.assert_array_equal(y, again)  # deterministic


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
