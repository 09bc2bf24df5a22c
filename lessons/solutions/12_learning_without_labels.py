"""Solutions to the exercises of lesson 12 (Learning without labels).
Run: python lessons/solutions/12_learning_without_labels.py — every answer checks itself.

The SimCLR runs are small (2,000 unlabelled images, two epochs) to stay quick: compare the variants with each other,
not with the lesson's figures."""
import numpy as np

import minembed as me
from minembed.nn import NTXentLoss
from minembed.vision import Augment, SimCLR, knn_accuracy

(X_TRAIN, Y_TRAIN), (X_TEST, Y_TEST) = me.load_mnist()


def to_circle(z):
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def alignment(u, m):
    return float(np.mean(np.sum((u[:m] - u[m:]) ** 2, axis=1)))


def uniformity(u):
    d2 = np.sum((u[:, None] - u[None]) ** 2, axis=-1)
    return float(np.log(np.mean(np.exp(-2 * d2[~np.eye(len(u), dtype=bool)]))))


def toy(tau=0.2, steps=300, m=8, every=10, seed=0):
    """The lesson's toy: 2m points clumped on the circle, moved by NT-Xent gradient steps. Returns the final points
    and the (step, alignment, uniformity) records."""
    rng = np.random.default_rng(seed)
    angles = 0.6 + 0.5 * rng.random(2 * m)
    z = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    loss = NTXentLoss(tau)
    records = []
    for step in range(steps + 1):
        if step % every == 0:
            records.append((step, alignment(z, m), uniformity(z)))
        if step < steps:
            loss(z)
            z = to_circle(z - 0.5 * loss.backward())
    return z, np.array(records)


def exercise_1():
    """Alignment collapses within the first few dozen steps (the partners start almost together anyway and the
    pull is strong); uniformity keeps improving for longer, as the pairs slowly spread round the circle."""
    _, rec = toy()
    steps, align, unif = rec.T
    print("step  alignment  uniformity")
    for row in rec[::5]:
        print(f"{int(row[0]):4d}  {row[1]:9.4f}  {row[2]:10.3f}")
    assert align[-1] < 0.1 * align.max()
    assert unif[-1] < unif[0] - 0.5
    # Half of the final alignment gain is reached before half of the final uniformity gain.
    half_a = steps[np.argmax(align <= align[0] - 0.5 * (align[0] - align[-1]))] if align[0] > align[-1] else 0
    half_u = steps[np.argmax(unif <= unif[0] - 0.5 * (unif[0] - unif[-1]))]
    print(f"half of the alignment change by step {half_a:.0f}, half of the uniformity change by step {half_u:.0f}")
    return rec


def exercise_2():
    """A very small temperature only pushes each anchor away from its nearest negative (a hinge on the hardest
    one); a large temperature pushes all alike but weakly. A moderate temperature spreads the pairs most evenly."""
    results = {}
    for tau in (0.05, 0.2, 1.0):
        z, _ = toy(tau=tau)
        results[tau] = uniformity(z)
        print(f"tau {tau}: uniformity after 300 steps {results[tau]:.3f}")
    assert all(np.isfinite(v) for v in results.values())
    assert min(results[0.2], results[0.05]) < results[1.0]
    return results


def train(augment, seed=0):
    model = SimCLR(seed=seed, augment=augment)
    model.fit(X_TRAIN[:2000], epochs=2, batch_size=256, lr=2e-3, seed=seed, progress=False)
    return model


def knn(model, embed="embed"):
    f = getattr(model, embed)
    return knn_accuracy(f(X_TRAIN[4000:6000]), Y_TRAIN[4000:6000], f(X_TEST[:1000]), Y_TEST[:1000], k=5)


def exercise_3():
    """Without crops and shifts the two views differ only by rotation, shear, noise and cutout; position is then
    a free shortcut the encoder can use to match the views, and it learns less about the digit's shape."""
    full = train(Augment())
    no_crop = train(Augment(crop_scale=(1, 1), max_shift=0))
    a_full, a_none = knn(full), knn(no_crop)
    print(f"k-NN accuracy: default augmentations {a_full:.1%}, without crop and shift {a_none:.1%}")
    assert a_full > 0.5 and a_none > 0.5               # both well above chance (10%)
    return full


def exercise_4(model):
    """The backbone's vectors are the better embedding: the head is trained to be invariant to the augmentations
    and to serve the loss, and drops information (size, slant, thickness) that still helps tell digits apart."""
    a_backbone, a_head = knn(model, "embed"), knn(model, "project")
    print(f"k-NN accuracy: backbone h {a_backbone:.1%}, after the projection head z {a_head:.1%}")
    assert a_backbone > 0.5 and a_head > 0.3
    return a_backbone, a_head


if __name__ == "__main__":
    exercise_1()
    exercise_2()
    m = exercise_3()
    exercise_4(m)
    print("all solutions check out")
