"""Clustering scores against values worked out by hand, their invariances, and scikit-learn's."""
import math

import numpy as np
import pytest

from minembed.space import cluster_metrics as cm


def test_hand_computed_example():
    # classes {0,1} {2,3}; clusters {0,1} {2} {3}
    t, p = [0, 0, 1, 1], [0, 0, 1, 2]
    np.testing.assert_array_equal(cm.contingency_table(t, p), [[2, 0, 0], [0, 1, 1]])
    # MI = 1/2 ln 2 + 1/4 ln 2 + 1/4 ln 2 = ln 2; H(U) = ln 2, H(V) = 3/2 ln 2 -> NMI = 1 / 1.25
    assert cm.mutual_info_score(t, p) == pytest.approx(math.log(2))
    assert cm.normalized_mutual_info_score(t, p) == pytest.approx(0.8)
    # unordered pairs: together in both 1, only in the classes 1, only in the clusters 0, apart in both 4
    np.testing.assert_array_equal(cm.pair_confusion_matrix(t, p), [[8, 0], [2, 2]])
    # ARI = (1 - 2*1/6) / ((2+1)/2 - 2*1/6) = 4/7
    assert cm.adjusted_rand_score(t, p) == pytest.approx(4 / 7)


def test_invariances_and_extremes(rng):
    t = rng.integers(5, size=300)
    perm = rng.permutation(5)
    renamed = np.array(["abcde"[perm[v]] for v in t])   # clusters renamed, even to strings
    assert cm.normalized_mutual_info_score(t, renamed) == pytest.approx(1.0)
    assert cm.adjusted_rand_score(t, renamed) == 1.0
    assert cm.normalized_mutual_info_score(t, t[::-1].copy()) < 0.05
    assert abs(cm.adjusted_rand_score(t, rng.integers(5, size=300))) < 0.05
    assert cm.normalized_mutual_info_score(t, rng.integers(5, size=300)) == pytest.approx(
        cm.normalized_mutual_info_score(rng.integers(5, size=300), t), abs=0.05)
    ones = np.zeros(10, int)
    assert cm.normalized_mutual_info_score(ones, ones) == 1.0
    assert cm.adjusted_rand_score(ones, ones) == 1.0
    assert cm.normalized_mutual_info_score(ones, np.arange(10)) == 0.0
    assert cm.adjusted_rand_score(ones, np.arange(10)) == 0.0


def test_inertia_by_hand():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]])
    assert cm.inertia(x, [0, 0, 1]) == pytest.approx(2.0)          # means (1,0) and (10,10)
    assert cm.inertia(x, [0, 0, 1], [[0.0, 0.0], [10.0, 11.0]]) == pytest.approx(4.0 + 1.0)
    with pytest.raises(ValueError, match="no centre"):
        cm.inertia(x, [0, 0, 2], [[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="non-negative"):
        cm.inertia(x, [0, -1, 0])


def test_bad_labels():
    with pytest.raises(ValueError, match="same length"):
        cm.adjusted_rand_score([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="1-D"):
        cm.normalized_mutual_info_score([[0, 1]], [[0, 1]])
    with pytest.raises(ValueError, match="NaN"):
        cm.normalized_mutual_info_score([0.0, np.nan], [0, 1])


def test_match_scikit_learn(rng):
    skm = pytest.importorskip("sklearn.metrics")
    for n, a, b in [(50, 2, 3), (500, 10, 7), (1000, 10, 256)]:
        t = rng.integers(a, size=n)
        p = np.where(rng.random(n) < 0.6, t, rng.integers(b, size=n))
        assert cm.normalized_mutual_info_score(t, p) == pytest.approx(skm.normalized_mutual_info_score(t, p), abs=1e-12)
        assert cm.adjusted_rand_score(t, p) == pytest.approx(skm.adjusted_rand_score(t, p), abs=1e-12)
        assert cm.mutual_info_score(t, p) == pytest.approx(skm.mutual_info_score(t, p), abs=1e-12)
