"""Recommenders on generated data with planted structure: recovery, ranking, bad input, saving."""
import numpy as np
import pytest

from minembed.datasets import Ratings, make_low_rank_ratings
from minembed.recsys import BPR, ExplicitALS, FunkSVD, ImplicitALS, MostPopular
from minembed.space import ranking as R


@pytest.fixture(scope="module")
def low_rank():
    data, true = make_low_rank_ratings(n_users=200, n_items=150, rank=3, density=0.25, noise=0.1, seed=3)
    train_rows, test_rows = R.train_test_split(len(data), 0.2, seed=0)
    return data.subset(train_rows), data.subset(test_rows), true


def _clusters(seed=0, n_users=120, n_items=90, groups=3, p_in=0.35, p_out=0.02):
    """Users and items in ``groups`` taste groups: a user takes items of its own group with p_in, others with p_out."""
    rng = np.random.default_rng(seed)
    ug, ig = np.arange(n_users) % groups, np.arange(n_items) % groups
    prob = np.where(ug[:, None] == ig[None, :], p_in, p_out)
    users, items = np.nonzero(rng.random((n_users, n_items)) < prob)
    return Ratings(users, items, np.ones(len(users), np.float32), n_users, n_items), ig


@pytest.fixture(scope="module")
def clusters():
    data, item_group = _clusters()
    train_rows, test_rows = R.train_test_split(len(data), 0.25, seed=1)
    return data.subset(train_rows), data.subset(test_rows), item_group


# ------------------------------------------------------------------------------------------ explicit
@pytest.mark.parametrize("make", [lambda: FunkSVD(n_factors=3, n_epochs=100, lr_all=0.05, lr_decay=0.98, reg_all=0.01),
                                  lambda: ExplicitALS(factors=3, iterations=15, regularization=0.02)],
                         ids=["FunkSVD", "ExplicitALS"])
def test_explicit_models_recover_the_low_rank_matrix(low_rank, make):
    train, test, true = low_rank
    model = make().fit(train)
    baseline = R.rmse(np.full(len(test), train.rating.mean()), test.rating)
    err = R.rmse(model.predict(test.user, test.item), test.rating)
    assert err < 0.3 * baseline, (err, baseline)
    everything = R.rmse(model.predict(np.repeat(np.arange(200), 150), np.tile(np.arange(150), 200)),
                        np.clip(true, 1, 5).ravel())
    assert everything < 0.35 * baseline  # the unobserved cells are filled in too


def test_funksvd_seed_gives_the_same_bits_and_history_falls(low_rank):
    train, _, _ = low_rank
    a = FunkSVD(n_factors=4, n_epochs=5, seed=7).fit(train)
    b = FunkSVD(n_factors=4, n_epochs=5, seed=7).fit(train)
    np.testing.assert_array_equal(a.user_factors, b.user_factors)
    assert a.history["train_loss"][-1] < a.history["train_loss"][0]
    assert a.history["epoch"] == [1, 2, 3, 4, 5]


def test_funksvd_workers_reach_the_same_quality(low_rank):
    train, test, _ = low_rank
    one = FunkSVD(n_factors=3, n_epochs=40, lr_all=0.02, seed=0).fit(train)
    two = FunkSVD(n_factors=3, n_epochs=40, lr_all=0.02, seed=0, workers=2).fit(train)
    e1 = R.rmse(one.predict(test.user, test.item), test.rating)
    e2 = R.rmse(two.predict(test.user, test.item), test.rating)
    assert abs(e1 - e2) < 0.05


def test_cross_validate_runs_k_folds(low_rank):
    train, _, _ = low_rank
    out = R.cross_validate(lambda: ExplicitALS(factors=3, iterations=5), train, n_splits=3)
    assert len(out["rmse"]) == 3 and out["mean_rmse"] == pytest.approx(np.mean(out["rmse"]))


# ------------------------------------------------------------------------------------------ implicit
@pytest.mark.parametrize("make", [lambda: ImplicitALS(factors=8, regularization=0.5, alpha=2.0, iterations=10),
                                  lambda: BPR(factors=8, iterations=40, learning_rate=0.05, seed=0)],
                         ids=["ImplicitALS", "BPR"])
def test_implicit_models_beat_most_popular_on_planted_groups(clusters, make):
    train, test, _ = clusters
    model = make().fit(train)
    ours = R.ranking_metrics(model.recommend_all(10), test.user, test.item, 10)
    pop = R.ranking_metrics(MostPopular().fit(train).recommend_all(10), test.user, test.item, 10)
    assert ours["precision"] > 2.5 * pop["precision"], (ours, pop)
    assert ours["ndcg"] > pop["ndcg"] + 0.1


def test_similar_items_share_the_planted_group(clusters):
    train, _, item_group = clusters
    model = ImplicitALS(factors=8, regularization=0.5, alpha=2.0, iterations=10).fit(train)
    for item in range(6):
        items, scores = model.similar_items(item, k=5)
        assert item not in items and len(items) == 5
        assert (item_group[items] == item_group[item]).mean() >= 0.8
        assert np.all(np.diff(scores) <= 1e-6)


def test_cg_fit_equals_cholesky_fit(clusters):
    train, _, _ = clusters
    exact = ImplicitALS(factors=6, regularization=0.5, alpha=2.0, iterations=4, solver="cholesky").fit(train)
    cg = ImplicitALS(factors=6, regularization=0.5, alpha=2.0, iterations=4, solver="cg", cg_steps=20).fit(train)
    np.testing.assert_allclose(cg.user_factors, exact.user_factors, atol=2e-3)
    np.testing.assert_allclose(cg.item_factors, exact.item_factors, atol=2e-3)


def test_training_loss_equals_the_dense_loss(clusters):
    train, _, _ = clusters
    model = ImplicitALS(factors=5, regularization=0.5, alpha=2.0, iterations=3, calculate_training_loss=True).fit(train)
    assert model.history["train_loss"][-1] == pytest.approx(model.loss(train), rel=1e-5)
    assert ImplicitALS(iterations=1).fit(train).history["train_loss"] == [None]


def test_implicit_loss_falls_with_iterations(clusters):
    train, _, _ = clusters
    losses = [ImplicitALS(factors=6, regularization=0.5, alpha=2.0, iterations=n, solver="cholesky").fit(train)
              .loss(train) for n in (1, 3, 6)]
    assert losses[0] > losses[1] > losses[2]


# ------------------------------------------------------------------------------------- recommend API
def test_recommend_filters_seen_items(clusters):
    train, _, _ = clusters
    model = BPR(factors=4, iterations=5).fit(train)
    seen = set(train.item[train.user == 0].tolist())
    items, scores = model.recommend(0, k=20)
    assert len(items) == 20 and not seen & set(items.tolist())
    assert np.all(np.diff(scores) <= 1e-6)
    unfiltered, _ = model.recommend(0, k=90, filter_seen=False)
    assert seen <= set(unfiltered.tolist())
    assert not model.last_fallback


def test_recommend_scores_are_predictions_for_rating_models(low_rank):
    train, _, _ = low_rank
    model = FunkSVD(n_factors=3, n_epochs=5).fit(train)
    items, scores = model.recommend(4, k=5)
    np.testing.assert_allclose(scores, model.predict(np.full(5, 4), items, clip=False), rtol=1e-4)


def test_user_without_interactions_gets_most_popular(clusters):
    train, _, _ = clusters
    model = ImplicitALS(factors=4, iterations=2).fit(train, n_users=train.n_users + 1)
    cold = train.n_users
    items, scores = model.recommend(cold, k=3)
    assert model.last_fallback
    np.testing.assert_array_equal(items, np.argsort(-model.item_popularity, kind="stable")[:3])
    assert (model.recommend_all(3, users=[cold]) == items).all()


def test_vectors_are_keyed_vectors(low_rank):
    train, _, _ = low_rank
    model = FunkSVD(n_factors=3, n_epochs=2).fit(train)
    iv = model.item_vectors
    assert len(iv) == 150 and iv.vector_size == 3
    np.testing.assert_array_equal(iv[7], model.item_factors[7])
    assert model.user_vectors.vector_size == 3


# ----------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("data, error, message", [
    (([0, 1], [0, -1], [3.0, 4.0]), ValueError, "item id -1 at position 1 is negative"),
    (([0, -2], [0, 1], [3.0, 4.0]), ValueError, "user id -2"),
    (([0, 1], [0, 1], [3.0, np.nan]), ValueError, "rating at position 1 is nan"),
    (([], [], []), ValueError, "empty"),
    (([0, 1], [0, 1], [3.0]), ValueError, "one length"),
    (([0.5, 1], [0, 1], [3.0, 1.0]), TypeError, "user ids must be integers"),
    ("ratings.csv", TypeError, "Ratings or a tuple"),
])
@pytest.mark.parametrize("cls", [FunkSVD, ExplicitALS, ImplicitALS, BPR])
def test_bad_interactions_are_refused(cls, data, error, message):
    with pytest.raises(error, match=message):
        cls().fit(data)


def test_unknown_ids_with_declared_sizes():
    with pytest.raises(ValueError, match="item id 5 at position 1 is unknown: there are n_items=5"):
        BPR().fit(([0, 1], [0, 5]), n_items=5)


def test_implicit_refuses_negative_strengths():
    with pytest.raises(ValueError, match="implicit feedback must be >= 0"):
        ImplicitALS().fit(([0, 1], [0, 1], [1.0, -1.0]))


@pytest.mark.parametrize("make", [lambda: FunkSVD(n_factors=0), lambda: ExplicitALS(factors=0),
                                  lambda: ImplicitALS(factors=-1), lambda: BPR(factors=0)])
def test_factors_below_one_are_refused(make):
    with pytest.raises(ValueError, match="factors must be an integer >= 1"):
        make()


def test_bad_queries(low_rank):
    train, _, _ = low_rank
    model = FunkSVD(n_factors=2, n_epochs=1).fit(train)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        model.recommend(0, k=0)
    with pytest.raises(IndexError, match="user 200 is unknown"):
        model.recommend(200)
    with pytest.raises(IndexError, match="user -1 is unknown"):
        model.recommend(-1)
    with pytest.raises(IndexError, match="item 150 is unknown"):
        model.similar_items(150)
    with pytest.raises(ValueError, match="k must be"):
        model.similar_items(3, k=-2)
    with pytest.raises(IndexError, match="item 999 is unknown"):
        model.predict([0], [999])
    with pytest.raises(ValueError, match="not fitted"):
        BPR().recommend(0)


# -------------------------------------------------------------------------------------------- saving
@pytest.mark.parametrize("make", [lambda: FunkSVD(n_factors=3, n_epochs=2), lambda: ExplicitALS(factors=3,
                                  iterations=2), lambda: ImplicitALS(factors=3, iterations=2),
                                  lambda: BPR(factors=3, iterations=2)])
def test_save_load_round_trip(low_rank, tmp_path, make):
    train, test, _ = low_rank
    model = make().fit(train)
    model.save(tmp_path / "m.npz")
    back = type(model).load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.item_factors, model.item_factors)
    np.testing.assert_array_equal(back.recommend(3, k=7)[0], model.recommend(3, k=7)[0])
    if hasattr(model, "predict"):
        np.testing.assert_array_equal(back.predict(test.user, test.item), model.predict(test.user, test.item))
    assert back.history == model.history and back.item_keys == model.item_keys


def test_failed_load_names_the_file_and_save_is_atomic(low_rank, tmp_path):
    train, _, _ = low_rank
    model = BPR(factors=3, iterations=1).fit(train)
    path = tmp_path / "m.npz"
    model.save(path)
    with pytest.raises(ValueError, match="m.npz is not a readable minembed ImplicitALS file"):
        ImplicitALS.load(path)
    bad = tmp_path / "bad.npz"
    np.savez(bad, meta=np.array("{"), user_factors=np.zeros(2))
    with pytest.raises(ValueError, match="bad.npz"):
        BPR.load(bad)
    before = path.read_bytes()
    model.user_factors = None  # unfitted: saving must fail and leave the old file
    with pytest.raises(ValueError, match="not fitted"):
        model.save(path)
    assert path.read_bytes() == before


def test_als_gives_the_same_factors_for_any_number_of_workers(clusters):
    train, _, _ = clusters
    one = ImplicitALS(factors=6, iterations=3, workers=1).fit(train)
    two = ImplicitALS(factors=6, iterations=3, workers=2).fit(train)
    np.testing.assert_array_equal(one.item_factors, two.item_factors)  # each row's solve is independent
    e1 = ExplicitALS(factors=3, iterations=2, workers=1).fit(train)
    e2 = ExplicitALS(factors=3, iterations=2, workers=2).fit(train)
    np.testing.assert_array_equal(e1.user_factors, e2.user_factors)


def test_bpr_hogwild_workers_still_learn(clusters):
    train, test, _ = clusters
    model = BPR(factors=8, iterations=40, learning_rate=0.05, seed=0, workers=2).fit(train)
    ours = R.ranking_metrics(model.recommend_all(10), test.user, test.item, 10)
    pop = R.ranking_metrics(MostPopular().fit(train).recommend_all(10), test.user, test.item, 10)
    assert ours["precision"] > 2.5 * pop["precision"]
