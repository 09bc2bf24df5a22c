"""Ranking and rating metrics against hand-computed values."""
import math

import numpy as np
import pytest

from minembed.space import ranking as R


def test_rmse_mae_by_hand():
    assert R.rmse([1, 2, 4], [1, 4, 3]) == pytest.approx(math.sqrt((0 + 4 + 1) / 3))
    assert R.mae([1, 2, 4], [1, 4, 3]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="NaN"):
        R.rmse([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        R.mae([], [])


def test_kfold_splits_cover_every_index_once():
    folds = R.kfold_splits(23, 5, seed=1)
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests.tolist()) == list(range(23))
    assert {len(t) for _, t in folds} <= {4, 5}
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == 23
    with pytest.raises(ValueError, match="n_splits"):
        R.kfold_splits(3, 5)


def test_ranking_metrics_by_hand():
    # user 0: list [5, 1, 7], held out {1, 2}: one hit at rank 2
    # user 1: list [3, 4, 9], held out {3, 9, 8, 6}: hits at ranks 1 and 3
    rec = np.array([[5, 1, 7], [3, 4, 9]])
    tu = np.array([0, 0, 1, 1, 1, 1])
    ti = np.array([1, 2, 3, 9, 8, 6])
    m = R.ranking_metrics(rec, tu, ti, k=3)
    assert m["precision"] == pytest.approx((1 / 3 + 2 / 3) / 2)
    assert m["recall"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    d = [1 / math.log2(2), 1 / math.log2(3), 1 / math.log2(4)]
    ndcg0 = d[1] / (d[0] + d[1])
    ndcg1 = (d[0] + d[2]) / (d[0] + d[1] + d[2])
    assert m["ndcg"] == pytest.approx((ndcg0 + ndcg1) / 2)
    ap0 = (1 / 2) / 2
    ap1 = (1 / 1 + 2 / 3) / 3
    assert m["map"] == pytest.approx((ap0 + ap1) / 2)
    assert m["precision_implicit"] == pytest.approx(3 / (2 + 3))
    assert m["users"] == 2


def test_ranking_metrics_skip_users_without_test_items_and_padding():
    rec = np.array([[0, -1], [1, 2]])
    m = R.ranking_metrics(rec, [1], [2], k=2, users=[0, 1])
    assert m["users"] == 1 and m["precision"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="k must be"):
        R.ranking_metrics(rec, [1], [2], k=0)


def test_top_k_items_filters_seen_and_matches_argsort(rng):
    U, items = rng.standard_normal((6, 4)).astype(np.float32), rng.standard_normal((20, 4)).astype(np.float32)
    seen = R.interactions_csr([0, 0, 3], [5, 7, 1], 6, 20)
    got, _ = R.top_k_items(U, items, 5, seen=seen)
    scores = U @ items.T
    scores[0, [5, 7]] = -np.inf
    scores[3, 1] = -np.inf
    expect = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(got, expect)


def test_most_popular_by_hand():
    # item counts: 2 -> 3, 0 -> 2, 1 -> 1; user 0 saw item 2, so it gets 0 then 1
    users, items = [0, 1, 2, 1, 2, 3], [2, 2, 2, 0, 0, 1]
    got, scores = R.most_popular_top_k(users, items, 4, 3, k=2)
    np.testing.assert_array_equal(got[0], [0, 1])
    np.testing.assert_array_equal(scores[0], [2, 1])
    np.testing.assert_array_equal(got[3], [2, 0])
