"""Solutions to the exercises of lesson 05 (Image embeddings from a tiny CNN).
Run: python lessons/solutions/05_cnn_image_embeddings.py — every answer checks itself.

Models train on the first 3,000 bundled images for one epoch, to stay quick: compare the variants with each other,
not with the lesson's figures."""
import time

import numpy as np

import minembed as me
from minembed.kernels.conv import col2im, im2col, im2col_reference
from minembed.nn import Sequential
from minembed.vision import TinyCNN, knn_accuracy, nearest_neighbors

(X_TRAIN, Y_TRAIN), (X_TEST, Y_TEST) = me.load_mnist()
X_TRAIN, Y_TRAIN = X_TRAIN[:3000], Y_TRAIN[:3000]


def fit(model):
    return model.fit(X_TRAIN, Y_TRAIN, epochs=1, batch_size=128, lr=2e-3, x_test=X_TEST, y_test=Y_TEST, seed=0,
                     progress=False)["test_accuracy"][-1]


def exercise_1():
    """Average pooling keeps every pixel's contribution (smoother, less shift-invariant) and usually trains a
    little slower than max pooling; both give clustered maps."""
    max_model = TinyCNN(seed=0)
    avg_model = TinyCNN(seed=0)
    for i in (1, 3):                              # the two fused ReLU -> MaxPool2d layers
        avg_model.features.layers[i] = Sequential(me.ReLU(), me.AvgPool2d(2))
    acc_max, acc_avg = fit(max_model), fit(avg_model)
    print(f"1 epoch on 3,000 images: max-pool {acc_max:.1%}, average-pool {acc_avg:.1%}")
    assert acc_max > 0.5 and acc_avg > 0.5          # both learn: chance is 10%
    return max_model


def exercise_2(model_64):
    """A 2-d embedding can be plotted as it is, but ten classes squeezed into two dimensions overlap: after the
    same short training its k-NN accuracy is far below the 64-d embedding's (still above chance, 10%)."""
    model = TinyCNN(embed_dim=2, seed=0)
    fit(model)
    emb_train, emb_test = model.embed(X_TRAIN), model.embed(X_TEST)
    assert emb_test.shape == (len(X_TEST), 2)
    acc = knn_accuracy(emb_train, Y_TRAIN, emb_test, Y_TEST, k=5)
    acc_64 = knn_accuracy(model_64.embed(X_TRAIN), Y_TRAIN, model_64.embed(X_TEST), Y_TEST, k=5)
    print(f"k-NN accuracy: embed_dim=2 {acc:.1%}, embed_dim=64 {acc_64:.1%} "
          "(plot emb_test[:, 0] against emb_test[:, 1], coloured by Y_TEST)")
    assert 0.12 < acc < acc_64


def conv_transpose(y, W, x_shape, stride=1, padding=0):
    """The transposed convolution (an 'upsampling' layer): y (N, OC, OH, OW), W (OC, C, K, K) -> (N, C, H, W).
    It is the backward of the convolution with respect to its input: col2im(W_m^T @ Y_m)."""
    n, oc, oh, ow = y.shape
    y_m = y.transpose(1, 0, 2, 3).reshape(oc, n * oh * ow)          # columns in im2col's order
    return col2im(W.reshape(oc, -1).T @ y_m, x_shape, W.shape[2], stride, padding)


def exercise_3(rng):
    """Only col2im (and a reshape) were needed. Check: it is the adjoint of the convolution,
    <conv(x), y> = <x, conv_transpose(y)>, and equals Conv2d.backward's input gradient."""
    x = rng.standard_normal((2, 3, 6, 6))
    conv = me.Conv2d(3, 4, 3, stride=2, padding=1, bias=False, seed=0).astype(np.float64)
    y = conv(x)
    g = rng.standard_normal(y.shape)
    up = conv_transpose(g, conv.weight.data, x.shape, 2, 1)
    assert np.isclose(np.sum(y * g), np.sum(x * up))
    assert np.allclose(up, conv.backward(g))
    print("conv_transpose: adjoint of the convolution, shape", g.shape, "->", up.shape)


def exercise_4(rng):
    """Both make the same copies. The reference does one strided NumPy slice per filter tap (9 large vectorised
    copies); the Numba kernel writes every element in a compiled loop, in parallel over the images. Which wins
    depends on the machine and on what else runs on it (on a busy 2-core machine the reference won, its threads
    having nothing to fight over): measure, do not assume. With MINEMBED_JIT=0 both run the reference."""
    x = rng.standard_normal((128, 8, 14, 14)).astype(np.float32)
    assert np.array_equal(im2col(x, 3, 1, 1), im2col_reference(x, 3, 1, 1))
    for name, f in [("Numba im2col", im2col), ("im2col_reference", im2col_reference)]:
        f(x, 3, 1, 1)
        start = time.perf_counter()
        for _ in range(5):
            f(x, 3, 1, 1)
        print(f"{name:17s} {1e3 * (time.perf_counter() - start) / 5:.1f} ms for 128 x 8 x 14 x 14")


def exercise_5(model):
    """Test digits whose nearest training image has another label: often badly written or ambiguous digits
    (a 4 that looks like a 9), hard for a person too. Their share is the 1-NN error."""
    emb_train, emb_test = model.embed(X_TRAIN), model.embed(X_TEST)
    idx, _ = nearest_neighbors(emb_test, emb_train, k=1)
    wrong = np.flatnonzero(Y_TRAIN[idx[:, 0]] != Y_TEST)
    print(f"{len(wrong)} of {len(Y_TEST)} test digits have a nearest neighbour with another label; first ones:",
          [(int(Y_TEST[i]), int(Y_TRAIN[idx[i, 0]])) for i in wrong[:8]], "(true, neighbour's)")
    assert np.isclose(1 - len(wrong) / len(Y_TEST), knn_accuracy(emb_train, Y_TRAIN, emb_test, Y_TEST, k=1))


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    trained = exercise_1()
    exercise_2(trained)
    exercise_3(rng)
    exercise_4(rng)
    exercise_5(trained)
    print("lesson 05 solutions: all checks passed")
