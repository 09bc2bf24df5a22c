"""Module bookkeeping: finding parameters, state dicts, saving and loading, train/eval."""
import numpy as np
import pytest

import minembed.nn as nn


class Tiny(nn.Module):
    def __init__(self):
        self.emb = nn.Embedding(10, 4, seed=0)
        self.body = nn.Sequential(nn.Linear(4, 8, seed=1), nn.ReLU(), nn.Dropout(0.5, seed=2), nn.Linear(8, 3, seed=3))
        self.tied = self.emb.weight  # the same Parameter twice must be listed once

    def forward(self, ids):
        return self.body(self.emb(ids).mean(axis=1))

    def backward(self, dy):
        return self.emb.backward(np.repeat(self.body.backward(dy)[:, None, :], 2, axis=1) / 2)


def test_named_parameters_in_assignment_order_each_once():
    names = [n for n, _ in Tiny().named_parameters()]
    assert names == ["emb.weight", "body.0.weight", "body.0.bias",
                     "body.3.weight", "body.3.bias"]
    m = Tiny()
    assert len(m.parameters()) == 5 and m.parameters()[0] is m.emb.weight
    assert m.parameters()[0].name == "emb.weight"  # names are given to parameters for error messages


def test_train_eval_reaches_every_submodule():
    m = Tiny()
    assert all(x.training for x in m.modules())
    m.eval()
    assert not any(x.training for x in m.modules())
    x = np.array([[1, 2], [3, 4]])
    assert np.array_equal(m(x), m(x))  # dropout off: deterministic
    m.train()
    assert m.body[2].training


def test_zero_grad_and_backward_fill_every_parameter():
    m = Tiny().eval()
    m(np.array([[1, 2], [3, 3]]))
    m.backward(np.ones((2, 3), np.float32))
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_state_dict_is_a_copy_and_round_trips():
    a, b = Tiny(), Tiny()
    b.emb.weight.data += 1
    state = a.state_dict()
    state["emb.weight"][0, 0] = 123.0
    assert a.emb.weight.data[0, 0] != 123.0
    b.load_state_dict(a.state_dict())
    for (n1, p1), (n2, p2) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert n1 == n2 and np.array_equal(p1.data, p2.data)


def test_load_state_dict_names_what_does_not_match():
    m = Tiny()
    state = m.state_dict()
    with pytest.raises(KeyError, match="missing \\['emb.weight'\\]"):
        m.load_state_dict({k: v for k, v in state.items() if k != "emb.weight"})
    state["emb.weight"] = np.zeros((9, 4))
    with pytest.raises(ValueError, match=r"'emb.weight': expected shape \(10, 4\), found \(9, 4\)"):
        m.load_state_dict(state)


def test_save_and_load(tmp_path):
    a, b = Tiny(), Tiny()
    b.body[0].weight.data[:] = 0
    path = tmp_path / "model.npz"
    a.save(path)
    assert b.load(path) is b
    np.testing.assert_array_equal(b.body[0].weight.data, a.body[0].weight.data)
    with np.load(path, allow_pickle=False) as data:  # a plain npz another tool can read
        assert sorted(data.files) == sorted(a.state_dict())


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    a = Tiny()
    path = tmp_path / "model.npz"
    a.save(path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError, match="disk full"):
        Tiny().save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left behind


def _wrong_last_shape(state):
    state["body.3.bias"] = np.zeros(4, np.float32)


def _int_weights(state):
    state["body.3.weight"] = np.zeros((3, 8), np.int64)


def _text_weights(state):
    state["body.3.bias"] = np.array(["a", "b", "c"])


def _missing(state):
    del state["body.3.bias"]


def _extra(state):
    state["body.4.weight"] = np.zeros((2, 2), np.float32)


@pytest.mark.parametrize("spoil, error, message", [
    (_wrong_last_shape, ValueError, r"bad.npz: parameter 'body.3.bias': expected shape \(3,\), found \(4,\)"),
    (_int_weights, TypeError, r"bad.npz: parameter 'body.3.weight': expected a float32 array, found int64"),
    (_text_weights, TypeError, r"bad.npz: parameter 'body.3.bias': expected a float32 array, found <U1"),
    (_missing, KeyError, r"bad.npz: state does not match the Tiny: missing \['body.3.bias'\], unexpected \[\]"),
    (_extra, KeyError, r"bad.npz: .*missing \[\], unexpected \['body.4.weight'\]"),
])
def test_a_failed_load_names_the_file_and_leaves_the_module_untouched(tmp_path, spoil, error, message):
    # Every array is checked before the first one is copied: the parameters checked (and, before
    # the fix, assigned) ahead of the bad one keep their values too.
    state = Tiny().state_dict()
    for value in state.values():
        value += 1.0
    spoil(state)
    path = tmp_path / "bad.npz"
    np.savez(path, **state)
    m = Tiny()
    before = {name: p.data for name, p in m.named_parameters()}
    with pytest.raises(error, match=message):
        m.load(path)
    for name, p in m.named_parameters():
        assert p.data is before[name], name          # not even replaced by an equal copy
    np.testing.assert_array_equal(m.emb.weight.data, Tiny().emb.weight.data)


def test_load_casts_floats_to_the_parameter_dtype(tmp_path):
    path = tmp_path / "f64.npz"
    np.savez(path, **{k: v.astype(np.float64) + 0.5 for k, v in Tiny().state_dict().items()})
    m = Tiny().load(path)
    assert m.emb.weight.data.dtype == np.float32
    np.testing.assert_array_equal(m.emb.weight.data, Tiny().emb.weight.data + np.float32(0.5))


def test_loading_a_missing_or_corrupt_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        Tiny().load(tmp_path / "nowhere.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip file")
    with pytest.raises(ValueError, match="bad.npz"):
        Tiny().load(bad)


def test_sequential_rejects_non_modules_and_repr_shows_the_tree():
    with pytest.raises(TypeError, match="layer 1 is a int"):
        nn.Sequential(nn.ReLU(), 3)
    text = repr(Tiny())
    assert "Embedding(10, 4)" in text and "Linear(4, 8, bias=True)" in text


def test_astype_converts_parameters():
    m = Tiny().astype(np.float64)
    assert all(p.data.dtype == np.float64 for p in m.parameters())


def test_rng_and_seed_are_exclusive():
    with pytest.raises(ValueError, match="either rng or seed"):
        nn.Linear(2, 2, rng=np.random.default_rng(0), seed=1)
    with pytest.raises(TypeError, match="Generator"):
        nn.Linear(2, 2, rng=np.random.RandomState(0))
