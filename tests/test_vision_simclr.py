"""SimCLR: gradients, training on planted structure, embeddings, save/load, evaluation helpers, bad input."""
import numpy as np
import pytest

from minembed.nn import NTXentLoss, check_gradients
from minembed.vision.augment import Augment
from minembed.vision.simclr import (
    WEIGHT_DECAY_GRID,
    LinearProbe,
    SimCLR,
    choose_weight_decay,
    label_budgets,
    labelled_subset,
    linear_evaluation,
    stratified_folds,
)

SMALL = dict(embed_dim=8, proj_dim=6, channels=(3, 4), img_size=12)


def small_model(seed=0, **kw):
    return SimCLR(**{**SMALL, **kw}, augment=Augment(img_size=12, cutout=3, max_shift=1), seed=seed)


def planted_images(n_per_class=24, seed=0):
    """Four kinds of 12x12 pictures (a bar in one of four places/orientations) with noise: known structure."""
    rng = np.random.default_rng(seed)
    protos = np.zeros((4, 12, 12), np.float32)
    protos[0, 2:4, 2:10] = 1
    protos[1, 8:10, 2:10] = 1
    protos[2, 2:10, 2:4] = 1
    protos[3, 2:10, 8:10] = 1
    y = np.repeat(np.arange(4), n_per_class)
    x = np.clip(protos[y] + 0.15 * rng.standard_normal((len(y), 12, 12)), 0, 1).astype(np.float32)
    return x, y


def test_network_gradients_by_finite_differences():
    m = small_model()
    x = np.random.default_rng(1).standard_normal((4, 1, 12, 12))
    check_gradients(m, x, check_inputs=False, eps=1e-5, atol=1e-6, rtol=1e-4)


def test_views_pair_rows_i_and_i_plus_b():
    m = small_model()
    x, _ = planted_images(2)
    v = m.views(x[:3], np.random.default_rng(0))
    assert v.shape == (6, 1, 12, 12) and v.dtype == np.float32
    # The two views of image i differ (random augmentation) but stay closer to each other than to others' on average.
    d = ((v[:3, None] - v[None, 3:]) ** 2).sum(axis=(2, 3, 4))
    assert not np.allclose(v[:3], v[3:])
    assert np.trace(d) / 3 < (d.sum() - np.trace(d)) / 6


def test_training_lowers_the_contrastive_loss_on_unseen_views():
    x, _ = planted_images()
    m = small_model(temperature=0.5)
    loss = NTXentLoss(0.5)
    rng = np.random.default_rng(7)
    held = m.views(x[::3], rng)                       # the same views before and after

    def held_loss():
        m.eval()
        return loss(m.forward(held))
    before = held_loss()
    hist = m.fit(x, epochs=6, batch_size=32, lr=3e-3, progress=False, seed=0)
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert held_loss() < before - 0.1
    assert hist["epoch"] == [1, 2, 3, 4, 5, 6]


def test_fit_is_seeded_and_odd_last_batch_works():
    x, _ = planted_images(6)
    a, b = small_model(), small_model()
    a.fit(x[:25], epochs=1, batch_size=8, progress=False, seed=3)   # last batch: one image, paired with another
    b.fit(x[:25], epochs=1, batch_size=8, progress=False, seed=3)
    for (na, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data, err_msg=na)


def test_embed_is_the_backbone_embedding_and_classifier_is_a_copy():
    m = small_model()
    x, _ = planted_images(2)
    np.testing.assert_array_equal(m.embed(x), m.backbone.embed(x))
    assert m.embed(x).shape == (8, 8) and m.project(x).shape == (8, 6)
    c = m.classifier()
    np.testing.assert_array_equal(c.embed(x), m.embed(x))
    c.features[0].weight.data += 1
    assert not np.array_equal(c.embed(x), m.embed(x))


def test_probe_features_are_h_then_z_side_by_side():
    m = small_model()
    x, _ = planted_images(2)
    f = m.probe_features(x, batch_size=3)
    assert f.shape == (8, 8 + 6) and f.dtype == np.float32
    np.testing.assert_allclose(f[:, :8], m.embed(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(f[:, 8:], m.project(x), rtol=1e-6, atol=1e-6)
    assert m.probe_features(x[:0]).shape == (0, 14)


def test_default_temperature_is_the_validated_one():
    assert SimCLR(seed=0).temperature == 0.5


def test_save_load_round_trip(tmp_path):
    m = small_model(seed=1)
    x, _ = planted_images(2)
    m.save(tmp_path / "m.npz")
    again = SimCLR.from_file(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.embed(x), m.embed(x))
    other = small_model(seed=2)
    other.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(other.project(x), m.project(x))
    wrong = SimCLR(**{**SMALL, "proj_dim": 5}, augment=Augment(img_size=12), seed=0)
    before = wrong.embed(x)
    with pytest.raises(ValueError, match="proj_dim=6"):
        wrong.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(wrong.embed(x), before)              # untouched


def test_linear_probe_on_planted_gaussians():
    rng = np.random.default_rng(0)
    centers = 4 * rng.standard_normal((3, 5))
    y = rng.integers(0, 3, 600)
    f = centers[y] + rng.standard_normal((600, 5))
    acc = linear_evaluation(f[:400], y[:400], f[400:], y[400:], num_classes=3, epochs=20)
    assert acc > 0.95
    shuffled = linear_evaluation(f[:400], rng.permutation(y[:400]), f[400:], y[400:], num_classes=3, epochs=20)
    assert shuffled < 0.6
    with pytest.raises(ValueError, match=r"features must be \(N, 5\)"):
        LinearProbe(5, 3).fit(f[:, :4], y)


def test_labelled_subset_is_balanced():
    y = np.repeat(np.arange(10), [50, 60, 70, 80, 90, 100, 110, 120, 130, 140])
    idx = labelled_subset(y, 100, seed=0)
    assert len(idx) == 100 and len(np.unique(idx)) == 100
    np.testing.assert_array_equal(np.bincount(y[idx]), 10)
    assert len(labelled_subset(y, None)) == len(y)


def test_label_budgets_rows():
    x, y = planted_images(20)
    m = small_model(num_classes=4)
    m.fit(x, epochs=2, batch_size=32, progress=False)
    rows = label_budgets(m, x, y, x, y, budgets=(8, None), steps=60, lr=1e-2, probe_epochs=20)
    assert [r["labels"] for r in rows] == [8, 80]
    assert rows[0]["frozen"] > 0.5                                        # chance is 0.25
    assert min(rows[1]["frozen"], rows[1]["fine_tuned"], rows[1]["scratch"]) > 0.9


def test_bad_input():
    m = small_model()
    with pytest.raises(ValueError, match=r"SimCLR expects images of shape \(N, 12, 12\)"):
        m.fit(np.zeros((4, 28, 28), np.uint8), progress=False)
    with pytest.raises(TypeError, match="int64"):
        m.fit(np.zeros((4, 12, 12), np.int64), progress=False)
    bad = np.zeros((4, 12, 12), np.float32)
    bad[2, 1, 1] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        m.fit(bad, progress=False)
    with pytest.raises(ValueError, match="at least 2 images"):
        m.fit(np.zeros((1, 12, 12), np.uint8), progress=False)
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        m.fit(np.zeros((4, 12, 12), np.uint8), batch_size=1, progress=False)
    with pytest.raises(ValueError, match="temperature"):
        SimCLR(temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        SimCLR(temperature=-1)
    with pytest.raises(ValueError, match="augment works on"):
        SimCLR(img_size=12, augment=Augment())
    with pytest.raises(ValueError, match="TinyCNN expects images"):
        m.embed(np.zeros((2, 28, 28), np.uint8))


# ----------------------------------------------------------------- probe options: L2 rows, weight decay, CV
def noisy_few_labels(n, seed):
    """Two balanced classes told apart by dimension 0 only (means -1 / +1), plus 39 dimensions of pure noise:
    with 40 labelled examples an unpenalised probe fits the noise; shrinking W is known to help."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    f = rng.standard_normal((n, 40))
    f[:, 0] += 2.0 * y - 1.0
    return f.astype(np.float32), y


def separable_imbalanced(n, seed):
    """Class 1 (20%) far from class 0 (80%) along every dimension: any probe with real weights is perfect,
    while one whose weights are crushed to ~0 can only predict the majority class (80%)."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 5 == 0).astype(np.int64)
    f = rng.standard_normal((n, 4)) + 6.0 * y[:, None]
    return f.astype(np.float32), y


def test_normalized_probe_sees_unit_rows():
    f = np.array([[3, 4], [0, 0], [0, -2]], np.float32)
    p = LinearProbe(2, 2, normalize=True)                 # mean 0, scale 1 before fit: _inputs = the unit rows
    np.testing.assert_allclose(p._inputs(f), [[0.6, 0.8], [0, 0], [0, -1]], atol=1e-7)


def test_normalized_probe_ignores_each_rows_length():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((200, 6)).astype(np.float32) + 1
    y = (f[:, 0] > f[:, 1]).astype(np.int64)
    stretch = rng.uniform(0.1, 10, (200, 1)).astype(np.float32)     # a positive length per row
    a = LinearProbe(6, 2, normalize=True, seed=0)
    b = LinearProbe(6, 2, normalize=True, seed=0)
    a.fit(f, y, epochs=5, seed=0)
    b.fit(f * stretch, y, epochs=5, seed=0)
    np.testing.assert_allclose(a.linear.weight.data, b.linear.weight.data, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.forward(f), b.forward(f * stretch), rtol=1e-4, atol=1e-5)
    c = LinearProbe(6, 2, seed=0)                                       # without it, the lengths matter
    c.fit(f * stretch, y, epochs=5, seed=0)
    assert not np.allclose(a.forward(f), c.forward(f * stretch), atol=1e-3)
    np.testing.assert_allclose(a.predict_proba(f).sum(axis=1), 1.0, atol=1e-12)


def test_weight_decay_gradient_and_shrinkage():
    f, y = noisy_few_labels(40, 0)
    p = LinearProbe(40, 2, weight_decay=0.5, seed=0)
    p.forward(f)
    p.zero_grad()
    p.backward(np.zeros((40, 2), np.float32))          # no data term: the gradient is the penalty's alone
    np.testing.assert_allclose(p.linear.weight.grad, 0.5 * p.linear.weight.data, rtol=1e-6)
    assert not np.any(p.linear.bias.grad)              # the bias is not penalised
    norms = []
    for wd in (0.0, 0.1, 1.0):
        q = LinearProbe(40, 2, weight_decay=wd, seed=0)
        q.fit(f, y, epochs=300, seed=0)
        norms.append(np.linalg.norm(q.linear.weight.data))
    assert norms[0] > norms[1] > norms[2]


def test_stratified_folds_spread_each_class():
    y = np.repeat(np.arange(4), [10, 7, 5, 3])
    fold = stratified_folds(y, 5, seed=1)
    assert fold.shape == (25,) and set(fold) == set(range(5))
    assert np.ptp(np.bincount(fold, minlength=5)) <= 1
    for c in range(4):
        assert np.ptp(np.bincount(fold[y == c], minlength=5)) <= 1
    np.testing.assert_array_equal(fold, stratified_folds(y, 5, seed=1))


def test_choose_weight_decay_picks_shrinkage_when_noise_dominates():
    f, y = noisy_few_labels(40, 1)
    ft, yt = noisy_few_labels(4000, 2)
    r = choose_weight_decay(f, y, grid=(0.0, 1.0), folds=5, num_classes=2, epochs=300, seed=0)
    assert r["weight_decay"] == 1.0                     # held-out folds say: shrink
    assert r["accuracy"][1] > r["accuracy"][0]
    assert r["grid"].shape == r["accuracy"].shape == r["log_loss"].shape == (2,)
    # ... and the test set (never seen by the choice) agrees
    accs = [linear_evaluation(f, y, ft, yt, num_classes=2, epochs=300, weight_decay=w) for w in (0.0, 1.0)]
    assert accs[1] > accs[0] + 0.03
    assert linear_evaluation(f, y, ft, yt, num_classes=2, epochs=300, weight_decay="cv") >= accs[1] - 0.02


def test_choose_weight_decay_keeps_weights_when_they_are_needed():
    f, y = separable_imbalanced(100, 0)
    r = choose_weight_decay(f, y, grid=(0.0, 1e-3, 1000.0), num_classes=2, epochs=200, seed=0)
    assert r["accuracy"][0] == 1.0 and r["accuracy"][2] <= 0.85      # crushed weights: majority class only
    assert r["weight_decay"] in (0.0, 1e-3)
    assert WEIGHT_DECAY_GRID[0] == 0.0 and all(np.diff(WEIGHT_DECAY_GRID) > 0)


def test_label_budgets_with_cv_and_given_embeddings():
    x, y = planted_images(20)
    m = small_model(num_classes=4)
    m.fit(x, epochs=2, batch_size=32, progress=False)
    emb = (m.embed(x), m.embed(x))
    rows = label_budgets(m, x, y, x, y, budgets=(20,), steps=30, lr=1e-2, probe_epochs=20, normalize=True,
                         weight_decay="cv", embeddings=emb)
    assert rows[0]["labels"] == 20 and rows[0]["weight_decay"] in WEIGHT_DECAY_GRID
    assert rows[0]["frozen"] > 0.5
    with pytest.raises(ValueError, match="one row per image"):
        label_budgets(m, x, y, x, y, budgets=(20,), embeddings=(emb[0][:5], emb[1]))


def test_probe_options_bad_input():
    f, y = noisy_few_labels(20, 0)
    for bad in (-0.1, np.nan, np.inf):
        with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
            LinearProbe(40, 2, weight_decay=bad)
    with pytest.raises(TypeError, match="weight_decay must be a number"):
        LinearProbe(40, 2, weight_decay="0.1")
    with pytest.raises(ValueError, match="or 'cv'"):
        linear_evaluation(f, y, f, y, num_classes=2, weight_decay="auto")
    g = f.copy()
    g[3, 5] = np.nan
    with pytest.raises(ValueError, match=r"non-finite values \(first in row 3\)"):
        LinearProbe(40, 2).fit(g, y)
    with pytest.raises(ValueError, match=r"non-finite values \(first in row 3\)"):
        choose_weight_decay(g, y, num_classes=2)
    with pytest.raises(ValueError, match="folds must be in"):
        choose_weight_decay(f, y, folds=1, num_classes=2)
    with pytest.raises(ValueError, match="folds must be in"):
        choose_weight_decay(f, y, folds=21, num_classes=2)
    with pytest.raises(ValueError, match="at least one weight decay"):
        choose_weight_decay(f, y, grid=(), num_classes=2)
    with pytest.raises(ValueError, match="finite number >= 0"):
        choose_weight_decay(f, y, grid=(0.0, -1.0), num_classes=2)
    with pytest.raises(ValueError, match="labels"):
        choose_weight_decay(f, y[:-1], num_classes=2)
    with pytest.raises(ValueError, match=r"features must be \(N, D\)"):
        choose_weight_decay(f[0], y, num_classes=2)
