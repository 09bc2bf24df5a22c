"""Anomaly scores and their judges: hand-computed values, planted outliers, and scikit-learn's metrics."""
import numpy as np
import pytest

from minembed.space import anomaly as an
from minembed.space.cluster import KMeans


def test_roc_auc_and_curve_by_hand():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    # anomaly 0.35 beats 0.1 but not 0.4; anomaly 0.8 beats both: 3 of 4 pairs
    assert an.roc_auc_score(y, s) == pytest.approx(0.75)
    fpr, tpr, thr = an.roc_curve(y, s)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thr, [np.inf, 0.8, 0.4, 0.35, 0.1])
    assert (np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2).sum() == pytest.approx(0.75)   # the area under it
    assert an.roc_auc_score([0, 1], [0.5, 0.5]) == 0.5          # a tie counts one half
    assert an.precision_at_recall(y, s, 0.5) == 1.0               # flag 0.8 only
    assert an.precision_at_recall(y, s, 1.0) == pytest.approx(2 / 3)   # flag 0.8, 0.4, 0.35
    # ties at the threshold are flagged together: 3 points score 1.0, one of them an anomaly
    assert an.precision_at_recall([1, 0, 0, 1], [1.0, 1.0, 1.0, 0.0], 0.5) == pytest.approx(1 / 3)


def test_knn_distance_by_hand():
    ref = np.array([[0.0], [1.0], [2.0], [10.0]])
    np.testing.assert_allclose(an.knn_distance(ref, k=1), [1, 1, 1, 8])          # each leaves itself out
    np.testing.assert_allclose(an.knn_distance(ref, k=2), [2, 1, 2, 9])
    np.testing.assert_allclose(an.knn_distance(ref, k=2, aggregate="mean"), [1.5, 1, 1.5, 8.5])
    np.testing.assert_allclose(an.knn_distance(ref, [[5.0], [0.0]], k=1), [3, 0])
    two = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(an.knn_distance(two, [[2.0, 0.0]], k=1, metric="cosine"), [0.0], atol=1e-6)
    np.testing.assert_allclose(an.knn_distance(two, [[2.0, 0.0]], k=2, metric="cosine"),
                               [1 - 1 / np.sqrt(2)], atol=1e-6)


def test_centroid_and_pca_scores(rng):
    x = rng.standard_normal((300, 6)).astype(np.float32)
    km = KMeans(5, seed=0).fit(x)
    q = rng.standard_normal((40, 6)).astype(np.float32) * 3
    brute = np.sqrt(((q[:, None, :].astype(np.float64) - km.cluster_centers_[None]) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(an.centroid_distance(km, q), brute, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(an.centroid_distance(km.cluster_centers_, q), brute, rtol=1e-4, atol=1e-4)
    cos = KMeans(5, seed=0, metric="cosine").fit(x)
    unit = q / np.linalg.norm(q, axis=1, keepdims=True)
    np.testing.assert_allclose(an.centroid_distance(cos, q), 1 - (unit @ cos.cluster_centers_.T).max(1), atol=1e-5)
    # a plane in 5-D through (1, 1, 1, 1, 1): points on it lose nothing, a point 3 off it loses 9
    basis = np.linalg.qr(rng.standard_normal((5, 2)))[0].T
    plane = 1.0 + rng.standard_normal((200, 2)) @ basis
    normal = np.linalg.svd(basis, full_matrices=True)[2][-1]
    tests = np.vstack([plane[:3], plane[0] + 3.0 * normal])
    err = an.pca_reconstruction_error(plane, tests, n_components=2)
    np.testing.assert_allclose(err, [0, 0, 0, 9], atol=1e-4)


@pytest.mark.parametrize("n", [300, 12])          # N >= D: eigh of the scatter matrix; N < D: SVD of the data
def test_reconstruction_error_equals_svd_definition(rng, n):
    ref = (rng.standard_normal((n, 20)) * np.linspace(3, 0.1, 20)).astype(np.float32)
    x = rng.standard_normal((7, 20)).astype(np.float32)
    # the definition: r = x - mean, minus its projection on the first k right singular vectors of the centred data
    ref64 = ref.astype(np.float64)
    v = np.linalg.svd(ref64 - ref64.mean(0), full_matrices=False)[2][:4]
    r = x - ref64.mean(0)
    expected = ((r - (r @ v.T) @ v) ** 2).sum(1)
    np.testing.assert_allclose(an.pca_reconstruction_error(ref, x, n_components=4), expected, rtol=1e-6)
    assert np.all(an.pca_reconstruction_error(ref, x, n_components=min(n, 20) - 1) <= expected + 1e-9)


def test_planted_outliers_score_highest(rng):
    normal = rng.standard_normal((400, 8))
    outliers = rng.standard_normal((20, 8)) + 8.0
    x = np.vstack([normal, outliers]).astype(np.float32)
    y = np.r_[np.zeros(400), np.ones(20)]
    km = KMeans(4, seed=0).fit(normal)
    for scores in (an.knn_distance(normal, x, k=5), an.knn_distance(normal, x, k=5, aggregate="mean"),
                   an.centroid_distance(km, x), an.pca_reconstruction_error(normal, x, 2)):
        assert an.roc_auc_score(y, scores) > 0.99
    assert an.roc_auc_score(y, -an.knn_distance(normal, x, k=5)) < 0.01


def test_bad_input():
    y, s = [0, 1, 1], [0.2, 0.5, 0.9]
    with pytest.raises(ValueError, match="both classes"):
        an.roc_auc_score([1, 1, 1], s)
    with pytest.raises(ValueError, match="only 0"):
        an.roc_auc_score([0, 2, 1], s)
    with pytest.raises(ValueError, match="NaN"):
        an.roc_curve(y, [0.2, np.nan, 0.1])
    with pytest.raises(ValueError, match="same length"):
        an.roc_auc_score(y, s[:2])
    with pytest.raises(ValueError, match="recall"):
        an.precision_at_recall(y, s, 0.0)
    ref = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 3\]"):
        an.knn_distance(ref, k=4)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 4\]"):
        an.knn_distance(ref, np.zeros((1, 2)), k=0)
    with pytest.raises(ValueError, match="dimensions"):
        an.knn_distance(ref, np.zeros((1, 3)), k=1)
    with pytest.raises(ValueError, match="NaN"):
        an.knn_distance(np.array([[0.0, np.nan], [1.0, 1.0]]), k=1)
    with pytest.raises(ValueError, match="dimensions"):
        an.centroid_distance(ref, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="dimensions"):
        an.pca_reconstruction_error(np.eye(3), np.zeros((1, 2)), 1)
    for bad in (0, 4, 1.5):
        with pytest.raises(ValueError, match="n_components"):
            an.pca_reconstruction_error(np.eye(3), np.zeros((1, 3)), bad)


def test_match_scikit_learn(rng):
    skm = pytest.importorskip("sklearn.metrics")
    y = (rng.random(300) < 0.2).astype(int)
    s = np.round(rng.standard_normal(300) + y, 1)     # rounded: many ties
    assert an.roc_auc_score(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    fpr, tpr, thr = an.roc_curve(y, s)
    f2, t2, th2 = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f2)
    np.testing.assert_allclose(tpr, t2)
    np.testing.assert_allclose(thr[1:], th2[1:])
    prec, rec, _ = skm.precision_recall_curve(y, s)
    for r in (0.5, 0.8, 0.95):
        expected = prec[rec >= r][np.argmin(rec[rec >= r])]   # the highest threshold reaching r
        assert an.precision_at_recall(y, s, r) == pytest.approx(expected)
