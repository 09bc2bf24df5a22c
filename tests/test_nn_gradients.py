"""Every layer's and loss's backward against central finite differences (float64)."""
import numpy as np
import pytest

import minembed.nn as nn
from minembed.nn import check_gradients, check_loss_gradient


def x_of(rng, *shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Linear(5, 3, seed=0), (4, 5)),
    (lambda: nn.Linear(5, 3, bias=False, seed=0), (2, 3, 5)),
    (lambda: nn.ReLU(), (4, 6)),
    (lambda: nn.Tanh(), (4, 6)),
    (lambda: nn.GELU(), (4, 6)),
    (lambda: nn.GELU(approximate="tanh"), (3, 2, 6)),
    (lambda: nn.LayerNorm(6), (4, 6)),
    (lambda: nn.LayerNorm(6, elementwise_affine=False), (2, 3, 6)),
    (lambda: nn.Sequential(nn.Linear(4, 8, seed=1), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 2, seed=2)), (5, 4)),
])
def test_layer_gradients(rng, make, shape):
    layer = make()
    x = x_of(rng, *shape)
    if isinstance(layer, nn.ReLU):
        x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink, where finite differences lie
    if isinstance(layer, nn.LayerNorm) and layer.weight is not None:
        layer.weight.data = rng.standard_normal(layer.weight.shape).astype(np.float32)
    check_gradients(layer, x)


def test_dropout_gradient_with_a_fixed_mask(rng):
    class FixedMaskDropout(nn.Dropout):
        def forward(self, x):
            self.rng = np.random.default_rng(7)  # the same mask on every finite-difference call
            return super().forward(x)

    check_gradients(FixedMaskDropout(0.3), x_of(rng, 6, 5))


def test_dropout_scales_survivors_and_is_identity_in_eval(rng):
    d = nn.Dropout(0.25, seed=0)
    x = np.ones((400, 50))
    y = d(x)
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert abs((y == 0).mean() - 0.25) < 0.02
    assert np.array_equal(d.eval()(x), x)


@pytest.mark.parametrize("sparse", [False, True])
def test_embedding_gradient(sparse):
    ids = np.array([[0, 2, 3, 0], [4, 4, 1, 2]])
    check_gradients(nn.Embedding(6, 3, seed=0, sparse=sparse), ids)


@pytest.mark.parametrize("padding_idx,sparse", [(2, False), (-1, True)])
def test_embedding_gradient_with_padding_row(rng, padding_idx, sparse):
    """Finite differences everywhere except the padding row, whose gradient is by design zero."""
    emb = nn.Embedding(6, 3, padding_idx=padding_idx, sparse=sparse, seed=0).astype(np.float64)
    ids = np.array([[0, 2, 3, 5], [4, 4, 1, 2]])
    dy = rng.standard_normal((2, 4, 3))
    emb.forward(ids)
    emb.backward(dy)
    analytic = emb.weight.grad.to_dense() if sparse else emb.weight.grad
    numeric = nn.numerical_gradient(lambda: float(np.sum(emb.forward(ids) * dy)), emb.weight.data)
    pad = padding_idx % 6
    assert not analytic[pad].any() and numeric[pad].any()
    keep = np.arange(6) != pad
    np.testing.assert_allclose(analytic[keep], numeric[keep], atol=1e-7)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 6])
def test_embedding_bag_gradient(mode, padding_idx):
    # The padding id (6) never occurs, so its row's true gradient is zero as well; the
    # dropping of padding ids is tested in test_nn_embedding.py with hand-computed values.
    ids = np.array([1, 3, 3, 0, 5, 2, 2, 4])
    offsets = np.array([0, 3, 3, 5])  # includes an empty bag
    bag = nn.EmbeddingBag(7, 4, mode=mode, padding_idx=padding_idx, seed=3)
    check_gradients(bag, ids, forward_kwargs={"offsets": offsets})
    check_gradients(nn.EmbeddingBag(7, 4, mode=mode, padding_idx=padding_idx, seed=3), ids.reshape(2, 4))


def test_per_sample_weights_gradients(rng):
    ids = np.array([1, 3, 3, 0, 5, 2])
    offsets = np.array([0, 2, 4])
    w = rng.standard_normal(6)
    bag = nn.EmbeddingBag(6, 4, mode="sum", seed=0)
    check_gradients(bag, ids, forward_kwargs={"offsets": offsets, "per_sample_weights": w})
    dy = rng.standard_normal((3, 4))
    bag.forward(ids, offsets, w)
    bag.backward(dy)

    def loss():
        return float(np.sum(bag.forward(ids, offsets, w) * dy))

    numeric = nn.numerical_gradient(loss, w)
    np.testing.assert_allclose(bag.per_sample_weights_grad, numeric, atol=1e-7)


def test_cross_entropy_gradient(rng):
    logits = rng.standard_normal((6, 4)) * 3
    targets = np.array([0, 3, -100, 2, 1, -100])
    check_loss_gradient(nn.CrossEntropyLoss(), logits, targets)
    check_loss_gradient(nn.CrossEntropyLoss(reduction="sum"), logits.reshape(2, 3, 4), targets.reshape(2, 3))


def test_bce_gradient(rng):
    logits = rng.standard_normal((5, 3)) * 4
    targets = rng.random((5, 3))
    check_loss_gradient(nn.BCEWithLogitsLoss(), logits, targets)


def test_gradcheck_catches_a_wrong_backward(rng):
    class WrongTanh(nn.Tanh):
        def backward(self, dy):
            return dy * (1.0 - self._y)  # forgot the square

    with pytest.raises(AssertionError, match="input0"):
        check_gradients(WrongTanh(), x_of(rng, 3, 3))


def test_bag_of_words_classifier_gradient():
    from minembed.text.classifier import BagOfWordsClassifier

    model = BagOfWordsClassifier(vocab_size=9, embed_dim=4, num_classes=3, seed=0)
    ids, offsets = np.array([1, 4, 4, 8, 0, 2, 7]), np.array([0, 3, 3, 5])  # one empty line
    check_gradients(model, ids, forward_kwargs={"offsets": offsets})
