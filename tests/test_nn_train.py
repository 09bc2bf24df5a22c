"""nn.train.fit: the one training loop, checked against the same loop written out by hand."""
import numpy as np
import pytest

from minembed.nn import SGD, CosineSchedule, CrossEntropyLoss, Linear, Sequential, Tanh
from minembed.nn.train import Callback, History, fit


def _data(n=50, d=4, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x, rng.integers(0, c, n)


def _model(seed=1):
    return Sequential(Linear(4, 8, seed=seed), Tanh(), Linear(8, 3, seed=seed + 1))


def test_fit_equals_the_loop_written_out():
    x, y = _data()
    model, twin = _model(), _model()
    opt = SGD(model.parameters(), lr=0.1)
    hist = fit(model, x, y, loss_fn=CrossEntropyLoss(), optimizer=opt, epochs=3, batch_size=16,
               schedule=CosineSchedule(opt, 3 * 4), seed=7, progress=False)
    # the oracle: the loop of the module docstring, by hand, with the same shuffles and lr values
    rng, loss_fn = np.random.default_rng(7), CrossEntropyLoss()
    opt2 = SGD(twin.parameters(), lr=0.1)
    sched, losses, lrs = CosineSchedule(opt2, 3 * 4), [], []
    for _ in range(3):
        order, total = rng.permutation(len(x)), 0.0
        for b in range(4):
            ids = order[b * 16:(b + 1) * 16]
            opt2.zero_grad()
            loss = loss_fn(twin.forward(x[ids]), y[ids])
            twin.backward(loss_fn.backward())
            opt2.step()
            lr = opt2.lr
            sched.step()
            total += loss * len(ids)
        losses.append(total / len(x))
        lrs.append(lr)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    np.testing.assert_allclose(hist["train_loss"], losses, rtol=1e-12)
    assert hist["lr"] == lrs and hist["epoch"] == [1, 2, 3]
    assert set(hist) == {"epoch", "train_loss", "lr", "seconds"}


def test_history_continues_and_pads_the_metric():
    x, y = _data()
    model = _model()
    opt = SGD(model.parameters(), lr=0.1)
    kw = dict(loss_fn=CrossEntropyLoss(), optimizer=opt, batch_size=10, progress=False)
    hist = fit(model, x, y, epochs=1, seed=0, **kw)
    hist = fit(model, x, y, epochs=2, seed=1, history=hist, evaluate=lambda: 0.5, **kw)
    assert hist["epoch"] == [1, 2, 3]
    assert hist["test_accuracy"] == [None, 0.5, 0.5]
    assert all(len(v) == 3 for v in hist.values())


def test_callbacks_in_order_and_model_modes():
    x, y = _data()
    model = _model()
    events = []

    class Recorder(Callback):
        def on_train_begin(self, m):
            events.append("begin")

        def on_epoch_begin(self, m):
            events.append("epoch")

        def on_epoch_end(self, m):
            events.append(("end", m.training))

        def on_train_end(self, m):
            events.append("done")

    def evaluate():
        events.append(("eval", model.training))
        return 1.0

    fit(model, x, y, loss_fn=CrossEntropyLoss(), optimizer=SGD(model.parameters(), lr=0.1), epochs=2,
        batch_size=25, seed=0, evaluate=evaluate, callbacks=[Recorder()], progress=False)
    assert events == ["begin", "epoch", ("eval", False), ("end", True), "epoch", ("eval", False), ("end", True),
                      "done"]
    assert not model.training


def test_tuple_batches_are_unpacked():
    class TwoInputs(Linear):
        def forward(self, a, b):
            return super().forward(a + b)

    class Pairs:
        def __init__(self, a, b):
            self.a, self.b = a, b

        def __len__(self):
            return len(self.a)

        def __getitem__(self, ids):
            return self.a[ids], self.b[ids]

    x, y = _data()
    model = TwoInputs(4, 3, seed=0)
    hist = fit(model, Pairs(x, x), y, loss_fn=CrossEntropyLoss(), optimizer=SGD(model.parameters(), lr=0.1),
               epochs=1, batch_size=8, seed=0, progress=False)
    assert len(hist["train_loss"]) == 1 and np.isfinite(hist["train_loss"][0])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(epochs=0), ValueError, "epochs must be an integer >= 1"),
    (dict(batch_size=-1), ValueError, "batch_size must be an integer >= 1"),
    (dict(batch_size=2.0), TypeError, "batch_size"),
    (dict(callbacks=[lambda m: None]), TypeError, "Callback"),
])
def test_bad_settings_are_refused(kwargs, error, match):
    x, y = _data()
    model = _model()
    args = dict(loss_fn=CrossEntropyLoss(), optimizer=SGD(model.parameters(), lr=0.1), epochs=1, batch_size=8,
                progress=False) | kwargs
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(error, match=match):
        fit(model, x, y, **args)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before, strict=True))


def test_empty_or_mismatched_data_is_refused():
    model = _model()
    kw = dict(loss_fn=CrossEntropyLoss(), optimizer=SGD(model.parameters(), lr=0.1), epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="no training examples"):
        fit(model, np.zeros((0, 4), np.float32), np.zeros(0, int), **kw)
    with pytest.raises(ValueError, match="5 examples but y has 4"):
        fit(model, np.zeros((5, 4), np.float32), np.zeros(4, int), **kw)


def test_history_append_fills_every_key():
    h = History()
    h.append(epoch=1, train_loss=0.5, lr=0.1, seconds=1.0)
    h.append(epoch=2, train_loss=0.4, lr=0.1, seconds=1.0, test_accuracy=0.9)
    assert h["test_accuracy"] == [None, 0.9] and h["epoch"] == [1, 2]
