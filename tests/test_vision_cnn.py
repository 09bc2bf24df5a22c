"""TinyCNN: end-to-end gradients, pixel scaling, bad input, save/load, a short real training run,
and cosine retrieval / k-NN against brute-force oracles."""
import numpy as np
import pytest

import minembed as me
from minembed.kernels.blas import blas_threads
from minembed.kernels.validate import check_positive_int
from minembed.nn import Adam, CosineSchedule, CrossEntropyLoss, check_gradients
from minembed.nn.train import Callback
from minembed.vision import TinyCNN, ViT, knn_accuracy, knn_predict, nearest_neighbors, plot_neighbors
from minembed.vision.pixels import check_images, check_labels


def small_model(seed=0):
    return TinyCNN(num_classes=3, embed_dim=4, img_size=8, channels=(2, 3), seed=seed)


def test_tinycnn_architecture_is_the_one_in_the_issue():
    m = TinyCNN(seed=0)
    shapes = {name: p.shape for name, p in m.named_parameters()}
    assert shapes == {
        "features.0.weight": (8, 1, 3, 3), "features.0.bias": (8,),
        "features.2.weight": (16, 8, 3, 3), "features.2.bias": (16,),
        "features.5.weight": (64, 784), "features.5.bias": (64,),
        "head.1.weight": (10, 64), "head.1.bias": (10,),
    }
    x = np.zeros((2, 28, 28), np.uint8)
    assert m.embed(x).shape == (2, 64) and m.logits(x).shape == (2, 10)
    # the fused ReLU+max-pool layers compute exactly conv -> ReLU -> maxpool -> ... of the issue
    unfused = me.Sequential(m.features[0], me.ReLU(), me.MaxPool2d(2), m.features[2], me.ReLU(), me.MaxPool2d(2),
                            me.Flatten(), m.features[5], *m.head)
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    np.testing.assert_allclose(unfused(m.prepare(x)), m.logits(x), rtol=1e-6, atol=1e-6)


def test_tinycnn_end_to_end_gradients(rng):
    m = small_model()
    x = rng.standard_normal((3, 1, 8, 8))
    check_gradients(m, x, check_inputs=False, eps=1e-5, atol=1e-6, rtol=1e-4)


def test_embedding_is_the_linear_output_before_relu(rng):
    m = TinyCNN(seed=1)
    x = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    emb = m.embed(x)
    assert (emb < 0).any()  # before the ReLU
    np.testing.assert_allclose(m.logits(x), np.maximum(emb, 0) @ m.head[1].weight.data.T + m.head[1].bias.data,
                               rtol=1e-5, atol=1e-5)


def test_pixel_scaling_is_documented_and_consistent():
    m = TinyCNN(seed=0)
    u8 = np.zeros((1, 28, 28), np.uint8)
    u8[..., 27] = 255
    x = m.prepare(u8)
    assert x.shape == (1, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 0, 0, [0, 27]], [(0 - 0.1307) / 0.3081, (1 - 0.1307) / 0.3081], rtol=1e-6)
    np.testing.assert_allclose(m.prepare(u8 / 255.0), x, rtol=1e-6)   # floats are taken as [0, 1]
    raw = TinyCNN(seed=0, normalize=False).prepare(u8)
    np.testing.assert_allclose(raw[0, 0, 0, [0, 27]], [0, 1])


def test_bad_images_raise_value_errors_naming_the_shape():
    m = TinyCNN(seed=0)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\) or \(N, 1, 28, 28\); got \(28, 28\)"):
        m.embed(np.zeros((28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"got \(2, 3, 28, 28\)"):
        m.embed(np.zeros((2, 3, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"got \(2, 32, 32\)"):
        m.predict(np.zeros((2, 32, 32), np.uint8))
    x = np.zeros((2, 28, 28))
    x[1, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"\(2, 28, 28\) contain a non-finite pixel \(nan\) at \(1, 3, 4\)"):
        m.embed(x)
    with pytest.raises(ValueError, match="labels outside"):
        m.fit(np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 2, 10]), epochs=1, progress=False)
    with pytest.raises(ValueError, match="img_size"):
        TinyCNN(img_size=30)


# ---------------------------------------------------- what every image model accepts
# Both models at 8x8 grey images, so one set of tests checks that an image means the same to each.
IMAGE_MODELS = {
    "TinyCNN": lambda: TinyCNN(num_classes=3, embed_dim=4, img_size=8, channels=(2, 3), seed=0),
    "ViT": lambda: ViT(img_size=8, patch_size=4, in_chans=1, num_classes=3, embed_dim=8, depth=1, num_heads=2,
                       mlp_hidden=8, seed=0),
}
# every method that takes a batch_size, called with it
BATCHED_CALLS = {
    "TinyCNN": [lambda m, x, bs: m.embed(x, batch_size=bs), lambda m, x, bs: m.logits(x, batch_size=bs),
                lambda m, x, bs: m.predict(x, batch_size=bs), lambda m, x, bs: m.accuracy(x, [0, 1, 2], batch_size=bs),
                lambda m, x, bs: m.fit(x, [0, 1, 2], epochs=1, batch_size=bs, progress=False)],
    "ViT": [lambda m, x, bs: m.embed(x, batch_size=bs), lambda m, x, bs: m.logits(x, batch_size=bs),
            lambda m, x, bs: m.predict(x, batch_size=bs), lambda m, x, bs: m.accuracy(x, [0, 1, 2], batch_size=bs),
            lambda m, x, bs: m.fit(x, [0, 1, 2], epochs=1, batch_size=bs, progress=False)],
}


def test_check_positive_int():
    assert check_positive_int(3, "n") == 3 and type(check_positive_int(np.int64(2), "n")) is int
    for bad, error in [(0, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError), ("4", TypeError),
                       (None, TypeError)]:
        with pytest.raises(error, match=f"n must be an integer >= 1, got {bad!r}"):
            check_positive_int(bad, "n")


@pytest.mark.parametrize("kind", IMAGE_MODELS)
@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError)])
def test_every_batch_size_is_checked(kind, bad, error):
    # embed(x, batch_size=-1) returned 0 rows and batch_size=0 raised range()'s own error
    x = np.zeros((3, 8, 8), np.uint8)
    for call in BATCHED_CALLS[kind]:
        with pytest.raises(error, match=f"batch_size must be an integer >= 1, got {bad!r}"):
            call(IMAGE_MODELS[kind](), x, bad)
    for call in BATCHED_CALLS[kind]:
        call(IMAGE_MODELS[kind](), x, 2)      # and a good one still runs: 2 batches, the last one short


@pytest.mark.parametrize("kind", IMAGE_MODELS)
def test_one_pixel_rule_for_every_image_model(kind, rng):
    m = IMAGE_MODELS[kind]()
    u8 = rng.integers(0, 256, (4, 8, 8)).astype(np.uint8)
    want = m.embed(u8.astype(np.float64) / 255)          # floats are taken as already scaled
    np.testing.assert_allclose(m.embed(u8), want, rtol=1e-5, atol=1e-6)                # uint8 is divided by 255
    np.testing.assert_allclose(m.embed(u8[:, None]), m.embed(u8), rtol=0, atol=0)      # (N, 1, S, S) = (N, S, S)
    np.testing.assert_allclose(m.embed(np.asfortranarray(u8 / 255)), want, rtol=1e-6, atol=1e-7)
    for other in (np.int64, np.int32, np.uint16, np.int8):
        # ViT took int64 as already scaled (0..255, no / 255); TinyCNN refused it: both refuse now
        with pytest.raises(TypeError, match=f"images have dtype {np.dtype(other)} .*astype\\(np.uint8\\)"):
            m.embed(u8.astype(other))
    with pytest.raises(TypeError, match="uint8 .* or float .*, got dtype bool"):
        m.embed(u8 > 0)
    x = u8 / 255.0
    x.flat[100] = np.nan              # image 1, row 4, column 4
    with pytest.raises(ValueError, match=r"\(4, 8, 8\) contain a non-finite pixel \(nan\) at \(1, 4, 4\)"):
        m.embed(x)                    # the ViT raised ZeroDivisionError inside its float32 GELU
    x[1, 4, 4] = -np.inf
    with pytest.raises(ValueError, match=r"non-finite pixel \(-inf\) at \(1, 4, 4\)"):
        m.embed(x)
    x[1, 4, 4] = 1e39                 # finite in float64, inf in the models' float32
    with pytest.raises(ValueError, match=r"non-finite pixel \(inf\) at \(1, 4, 4\)"):
        m.embed(x)
    with pytest.raises(ValueError, match=rf"{kind} expects images of shape \(N, 8, 8\) or \(N, 1, 8, 8\); "
                                         r"got \(4, 2, 8, 8\)"):
        m.embed(np.zeros((4, 2, 8, 8), np.uint8))
    assert m.embed(np.zeros((0, 8, 8), np.uint8)).shape == (0, m.embed(u8).shape[1])


@pytest.mark.parametrize("kind", IMAGE_MODELS)
def test_the_pixels_passed_in_are_never_changed(kind):
    x = np.full((2, 8, 8), 0.5, np.float32)
    m = IMAGE_MODELS[kind]()
    m.embed(x)
    m.fit(x, [0, 1], epochs=1, batch_size=2, progress=False)
    assert (x == 0.5).all()


@pytest.mark.parametrize("kind", IMAGE_MODELS)
def test_fit_on_no_images_raises(kind):
    # ViT.fit recorded a loss of 0.0 for each epoch and returned
    m = IMAGE_MODELS[kind]()
    before = [p.data.copy() for p in m.parameters()]
    with pytest.raises(ValueError, match=rf"{kind}.fit needs at least one training image, got x of shape "
                                         r"\(0, 8, 8\)"):
        m.fit(np.zeros((0, 8, 8), np.uint8), np.zeros(0, np.int64), progress=False)
    assert all(np.array_equal(p.data, b) for p, b in zip(m.parameters(), before, strict=True))


@pytest.mark.parametrize("kind", IMAGE_MODELS)
def test_fit_checks_epochs_as_a_count(kind):
    x = np.zeros((3, 8, 8), np.uint8)
    for bad, error in [(0, ValueError), (1.5, TypeError)]:
        with pytest.raises(error, match=f"epochs must be an integer >= 1, got {bad!r}"):
            IMAGE_MODELS[kind]().fit(x, [0, 1, 2], epochs=bad, progress=False)


def _params(m):
    return [p.data.copy() for p in m.parameters()]


def _same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize("kind", IMAGE_MODELS)
def test_every_image_model_records_the_same_history(kind):
    x, y = _tiny_data(20)
    m = IMAGE_MODELS[kind]()
    hist = m.fit(x, y, epochs=1, batch_size=10, progress=False)
    assert set(hist) == {"epoch", "train_loss", "lr", "seconds"} and hist is m.history
    hist = m.fit(x, y, epochs=1, batch_size=10, x_test=x[:5], y_test=y[:5], progress=False)
    assert set(hist) == {"epoch", "train_loss", "lr", "seconds", "test_accuracy"}
    assert hist["epoch"] == [1, 2] and hist["test_accuracy"] == [None, m.accuracy(x[:5], y[:5])]


@pytest.mark.parametrize("kind", IMAGE_MODELS)
def test_fit_seed_defaults_to_0(kind):
    # TinyCNN's default was None (fresh entropy: two fits differed), ViT's 0
    x, y = _tiny_data(20)
    fitted = []
    for kw in [{}, dict(seed=0), dict(seed=1)]:
        m = IMAGE_MODELS[kind]()
        m.fit(x, y, epochs=1, batch_size=5, progress=False, **kw)
        fitted.append(_params(m))
    assert _same(fitted[0], fitted[1]) and not _same(fitted[0], fitted[2])


@pytest.mark.parametrize("kind", IMAGE_MODELS)
def test_fit_calls_the_callback_protocol(kind):
    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def on_train_begin(self, model):
            self.events.append(("train_begin", model is m, len(model.history["epoch"])))

        def on_epoch_begin(self, model):
            self.events.append(("epoch_begin", model is m, len(model.history["epoch"])))

        def on_epoch_end(self, model):
            self.events.append(("epoch_end", model is m, len(model.history["epoch"])))

        def on_train_end(self, model):
            self.events.append(("train_end", model is m, len(model.history["epoch"])))

    x, y = _tiny_data(20)
    m, rec = IMAGE_MODELS[kind](), Recorder()
    m.fit(x, y, epochs=2, batch_size=10, progress=False, callbacks=[rec])
    assert rec.events == [("train_begin", True, 0), ("epoch_begin", True, 0), ("epoch_end", True, 1),
                          ("epoch_begin", True, 1), ("epoch_end", True, 2), ("train_end", True, 2)]
    with pytest.raises(TypeError, match="Callback"):   # ViT's old callback(model, epoch, history) functions
        m.fit(x, y, epochs=1, progress=False, callbacks=[lambda model, epoch, history: None])


@pytest.mark.parametrize("kind", IMAGE_MODELS)
def test_fit_checks_every_image_and_label_before_the_first_step(kind):
    # a NaN in one image stopped training only when its batch came (the weights already moved); a label
    # out of range was an IndexError from the loss mid-epoch for the ViT
    x, y = _tiny_data(30)
    bad_x = x / 255.0
    bad_x[29, 7, 7] = np.nan
    bad_y = y.copy()
    bad_y[29] = 3
    m = IMAGE_MODELS[kind]()
    before = _params(m)
    with pytest.raises(ValueError, match=r"\(30, 8, 8\) contain a non-finite pixel \(nan\) at \(29, 7, 7\)"):
        m.fit(bad_x, y, epochs=1, batch_size=1, progress=False)
    with pytest.raises(ValueError, match=r"y holds labels outside \[0, 3\): y\[29\] = 3"):
        m.fit(x, bad_y, epochs=1, batch_size=1, progress=False)
    with pytest.raises(ValueError, match=r"non-finite pixel \(nan\) at \(29, 7, 7\)"):
        m.fit(x, y, epochs=1, batch_size=1, x_test=bad_x, y_test=y, progress=False)
    with pytest.raises(ValueError, match=r"y_test holds labels outside \[0, 3\): y_test\[29\] = 3"):
        m.fit(x, y, epochs=1, batch_size=1, x_test=x, y_test=bad_y, progress=False)
    with pytest.raises(ValueError, match="30 images but y_test has 29 labels"):
        m.fit(x, y, epochs=1, batch_size=1, x_test=x, y_test=y[:29], progress=False)
    with pytest.raises(TypeError, match="y must be integer class ids, got dtype float64"):
        m.fit(x, y.astype(float), epochs=1, batch_size=1, progress=False)
    with pytest.raises(ValueError, match="pass both x_test and y_test, or neither"):
        m.fit(x, y, epochs=1, x_test=x, progress=False)
    assert _same(_params(m), before) and m.history["epoch"] == []


def test_check_images_names_the_pixel_in_the_whole_array():
    x = np.zeros((10, 4, 4))
    x[7, 1, 2] = np.inf
    with pytest.raises(ValueError, match=r"images of shape \(10, 4, 4\) contain a non-finite pixel \(inf\) "
                                         r"at \(7, 1, 2\)"):
        check_images(x, channels=1, size=(4, 4), chunk=3)       # image 7 is image 1 of the third chunk
    x[7, 1, 2] = 1e39                                           # finite in float64, not in float32
    with pytest.raises(ValueError, match=r"at \(7, 1, 2\)"):
        check_images(x, channels=1, size=(4, 4), chunk=3)
    assert check_images(x, channels=1, size=(4, 4), dtype=np.float64, chunk=3) is x   # no copy returned
    wide = np.arange(160).reshape(10, 4, 4) * 2               # int64 0..318: the range of the whole array
    with pytest.raises(TypeError, match=r"images have dtype int64 \(values 0..318\)"):
        check_images(wide, channels=1, size=(4, 4))
    with pytest.raises(ValueError, match=r"expects images of shape \(N, 4, 4\) or \(N, 1, 4, 4\); got \(10, 4, 5\)"):
        check_images(np.zeros((10, 4, 5), np.uint8), channels=1, size=(4, 4))


def test_check_labels():
    np.testing.assert_array_equal(check_labels(np.array([2, 0, 1], np.uint8), 3, 3), [2, 0, 1])
    assert check_labels([0, 1], 2, 2).dtype == np.int64
    for labels, error, msg in [([[0, 1]], ValueError, r"y must be \(N,\) class ids, one per image, got shape \(1, 2\)"),
                               ([0, 1, 1], ValueError, "2 images but y has 3 labels"),
                               ([True, False], TypeError, "integer class ids, got dtype bool"),
                               ([0, -1], ValueError, r"labels outside \[0, 2\): y\[1\] = -1")]:
        with pytest.raises(error, match=msg):
            check_labels(labels, 2, 2)


def test_tinycnn_takes_in_chans_as_the_vit_does(rng):
    m = TinyCNN(num_classes=3, embed_dim=4, img_size=8, in_chans=3, channels=(2, 3), seed=0)
    assert m.features[0].weight.shape == (2, 3, 3, 3)
    check_gradients(m, rng.standard_normal((2, 3, 8, 8)), check_inputs=False, eps=1e-5, atol=1e-6, rtol=1e-4)
    x = rng.integers(0, 256, (5, 3, 8, 8)).astype(np.uint8)
    assert m.embed(x).shape == (5, 4)
    m.fit(x, [0, 1, 2, 0, 1], epochs=1, batch_size=2, progress=False)
    with pytest.raises(ValueError, match=r"TinyCNN expects images of shape \(N, 3, 8, 8\); got \(5, 8, 8\)"):
        m.embed(x[:, 0])


def test_tinycnn_fit_is_the_loop_it_replaced():
    """TinyCNN.fit's own loop before it called nn.train.fit, written out: the same shuffles (one
    rng.permutation per epoch from default_rng(seed)), so the same weights and history, bit for bit."""
    x, y = _tiny_data(60)
    m, twin = small_model(), small_model()
    hist = m.fit(x, y, epochs=2, batch_size=16, lr=0.01, seed=3, schedule="cosine", warmup_steps=2, progress=False)
    rng, loss_fn, opt = np.random.default_rng(3), CrossEntropyLoss(), Adam(twin.parameters(), lr=0.01)
    sched, losses, lrs = CosineSchedule(opt, 8, 2), [], []
    with blas_threads(1):                     # as fit's default blas_threads=1
        for _ in range(2):
            order, total = rng.permutation(60), 0.0
            for b in range(4):
                idx = order[b * 16:(b + 1) * 16]
                opt.zero_grad()
                loss = loss_fn(twin.forward(twin.prepare(x[idx])), y[idx])
                twin.backward(loss_fn.backward())
                opt.step()
                lr = opt.lr
                sched.step()
                total += loss * len(idx)
            losses.append(total / 60)
            lrs.append(lr)
    assert _same(_params(m), _params(twin))
    assert hist["train_loss"] == losses and hist["lr"] == lrs


def test_loading_a_file_of_another_size_names_it_and_changes_nothing(tmp_path):
    path = tmp_path / "cnn32.npz"
    TinyCNN(embed_dim=32, seed=1).save(path)
    m = TinyCNN(seed=0)
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    before = m.embed(x)
    with pytest.raises(ValueError, match=r"cnn32.npz: parameter 'features.5.weight': expected shape \(64, 784\), "
                                         r"found \(32, 784\)"):
        m.load(path)
    np.testing.assert_array_equal(m.embed(x), before)   # the convolutions (checked first) were not replaced
    assert np.array_equal(m.features[0].weight.data, TinyCNN(seed=0).features[0].weight.data)


def _tiny_data(n=100):
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (n, 8, 8)).astype(np.uint8), rng.integers(0, 3, n)


@pytest.mark.parametrize("schedule, warmup, expected", [
    # 100 images, batch 50, 2 epochs = steps 0..3; history["lr"] holds the lr of steps 1 and 3
    ("constant", 0, [1.0, 1.0]),
    ("cosine", 0, [(1 + np.cos(np.pi / 4)) / 2, (1 - np.cos(np.pi / 4)) / 2]),   # (1 + cos(pi k / 4)) / 2
    ("cosine", 1, [1.0, (1 + np.cos(2 * np.pi / 3)) / 2]),                        # (1 + cos(pi (k - 1) / 3)) / 2
    ("constant", 3, [2 / 3, 1.0]),                                                # warm-up (k + 1) / 3, then flat
])
def test_fit_schedules_the_lr_per_batch(schedule, warmup, expected):
    x, y = _tiny_data()
    m = small_model()
    hist = m.fit(x, y, epochs=2, batch_size=50, lr=0.01, seed=0, progress=False, schedule=schedule,
                 warmup_steps=warmup)
    assert hist["lr"] == pytest.approx([0.01 * e for e in expected], abs=1e-15)
    assert np.isfinite(hist["train_loss"]).all()


def test_cosine_and_constant_share_the_first_step_and_then_differ():
    x, y = _tiny_data()
    a, b = small_model(), small_model()
    a.fit(x, y, epochs=1, batch_size=100, seed=0, progress=False, schedule="constant")
    b.fit(x, y, epochs=1, batch_size=100, seed=0, progress=False, schedule="cosine")  # one step: lr_at(0) = lr
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    a.fit(x, y, epochs=2, batch_size=50, seed=0, progress=False, schedule="constant")
    b.fit(x, y, epochs=2, batch_size=50, seed=0, progress=False, schedule="cosine")
    assert not all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_fit_refuses_an_unknown_schedule_or_warmup():
    x, y = _tiny_data()
    with pytest.raises(ValueError, match="schedule must be 'constant' or 'cosine', got 'linear'"):
        small_model().fit(x, y, epochs=1, progress=False, schedule="linear")
    with pytest.raises(ValueError, match=r"warmup_steps must be an integer in \[0, total_steps=2\], got 3"):
        small_model().fit(x, y, epochs=2, batch_size=100, progress=False, warmup_steps=3)


def test_save_load_round_trip(tmp_path, rng):
    m = small_model(seed=3)
    x = rng.random((5, 8, 8))
    path = tmp_path / "cnn.npz"
    m.save(path)
    other = small_model(seed=4)
    assert not np.allclose(other.embed(x), m.embed(x))
    other.load(path)
    assert np.array_equal(other.embed(x), m.embed(x))
    with pytest.raises((KeyError, ValueError)):
        TinyCNN(seed=0).load(path)  # a differently built network


def test_short_training_on_bundled_mnist_is_clearly_above_chance():
    (xtr, ytr), (xte, yte) = me.load_mnist()
    m = TinyCNN(seed=0)
    hist = m.fit(xtr[:1000], ytr[:1000], epochs=3, batch_size=50, lr=3e-3, x_test=xte[:500], y_test=yte[:500],
                 seed=0, progress=False)
    assert hist["epoch"] == [1, 2, 3] and len(hist["seconds"]) == 3
    assert hist["train_loss"][2] < hist["train_loss"][1] < hist["train_loss"][0] < np.log(10) + 0.2
    # chance is ~10%; 1,000 images and 60 steps give about 85-88% with seeds 0 and 1 here
    assert hist["test_accuracy"][2] > 0.7
    # the embedding alone already separates digits: k-NN on it is far above chance too (about 88-90%)
    acc = knn_accuracy(m.embed(xtr[:1000]), ytr[:1000], m.embed(xte[:500]), yte[:500], k=5)
    assert acc > 0.7


def test_nearest_neighbors_match_brute_force(rng):
    db = rng.standard_normal((200, 6)).astype(np.float32)
    q = rng.standard_normal((17, 6)).astype(np.float32)
    idx, sims = nearest_neighbors(q, db, k=7)
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (db / np.linalg.norm(db, axis=1, keepdims=True)).T
    for i in range(len(q)):
        assert idx[i].tolist() == np.argsort(-cos[i], kind="stable")[:7].tolist()
        np.testing.assert_allclose(sims[i], cos[i, idx[i]], rtol=1e-5)
    assert nearest_neighbors(q, db[:3], k=10)[0].shape == (17, 3)  # k capped at the database size


def test_knn_vote_and_tie_break():
    db = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1], [-1, 0]], np.float64)
    labels = np.array([0, 0, 1, 1, 2])
    # query near class 0: both class-0 rows and the two class-1 rows are in its 4 nearest -> 2:2 tie,
    # class 0's voters are more similar, so class 0 wins
    assert knn_predict(db, labels, np.array([[1.0, 0.5]]), k=4).tolist() == [0]
    assert knn_predict(db, labels, np.array([[0.5, 1.0]]), k=4).tolist() == [1]
    assert knn_accuracy(db, labels, db, labels, k=1) == 1.0
    with pytest.raises(ValueError, match="same width"):
        nearest_neighbors(np.zeros((2, 3)), db)
    bad = db.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="database contains NaN or infinite values in row 3"):
        nearest_neighbors(np.array([[1.0, 0.0]]), bad)


def test_plot_neighbors_draws_a_grid(tmp_path, rng):
    import matplotlib

    matplotlib.use("Agg")
    imgs = rng.integers(0, 255, (10, 28, 28), dtype=np.uint8)
    emb = rng.standard_normal((10, 4))
    idx, sims = nearest_neighbors(emb[:3], emb, k=4)
    fig = plot_neighbors(imgs[:3], imgs, idx, sims, np.arange(3), np.arange(10), path=tmp_path / "grid.png")
    assert len(fig.axes) == 3 * 5 and (tmp_path / "grid.png").stat().st_size > 0
