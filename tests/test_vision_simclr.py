"""SimCLR: gradients, training on planted structure, embeddings, save/load, evaluation helpers, bad input."""
import numpy as np
import pytest

from minembed.nn import NTXentLoss, check_gradients
from minembed.vision.augment import Augment
from minembed.vision.simclr import LinearProbe, SimCLR, label_budgets, labelled_subset, linear_evaluation

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
