"""Solutions to the exercises of lesson 14 (clusters, outliers). Run: PYTHONPATH=. python lessons/solutions/14_...py

Each function answers one exercise and returns what it found, so tests/test_lesson14_solutions.py can check it.
Exercise 4 trains a network; it runs only when called with ``--all`` (about half a minute).
"""
import sys

import numpy as np

import minembed as me
from minembed.space import anomaly


def blobs(seed=0):
    """The lesson's four 2-D blobs."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [5.0, 1.0], [1.0, 5.0], [6.0, 6.0]])
    y = np.repeat(np.arange(4), 100)
    return (centres[y] + rng.normal(scale=0.9, size=(400, 2))).astype(np.float32), y


# 1. The elbow -----------------------------------------------------------------------------------
def elbow(X, ks=range(1, 9)):
    """Inertia for each k, and the elbow: the first k after which the next drop is less than half of the
    drop that led to k."""
    inertias = [me.KMeans(k, seed=0, n_init=3).fit(X).inertia_ for k in ks]
    ks = list(ks)
    drops = -np.diff(inertias)                      # drops[i]: from ks[i] to ks[i + 1]
    for i in range(1, len(drops)):
        if drops[i] < 0.5 * drops[i - 1]:
            return ks[i], inertias
    return ks[-1], inertias


# 2. k-means++ by hand ----------------------------------------------------------------------------
def kmeans_plusplus_numpy(X, k, rng):
    centres = [X[rng.integers(len(X))]]
    closest = ((X - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        nxt = X[rng.choice(len(X), p=closest / closest.sum())]
        centres.append(nxt)
        closest = np.minimum(closest, ((X - nxt) ** 2).sum(1))
    return np.array(centres)


def one_per_blob(X, y, seeds=200):
    """Fraction of starts with one centre in each blob: (k-means++, random points)."""
    def covers(idx):
        return len(set(y[idx])) == 4

    pp = rand = 0
    for s in range(seeds):
        rng = np.random.default_rng(s)
        C = kmeans_plusplus_numpy(X, 4, rng)
        idx = [int(np.flatnonzero((X == c).all(1))[0]) for c in C]
        pp += covers(idx)
        rand += covers(rng.choice(len(X), 4, replace=False))
    return pp / seeds, rand / seeds


# 3. Precision at a fixed recall -------------------------------------------------------------------
def precision_at_recall_numpy(y, s, r):
    """Flag the highest scores until a fraction r of the anomalies is caught (no ties assumed)."""
    order = np.argsort(-s)
    tp = np.cumsum(y[order])
    m = int(np.argmax(tp >= r * y.sum() - 1e-9)) + 1      # points flagged
    return tp[m - 1] / m


# 4. Mean of k --------------------------------------------------------------------------------------
def mean_of_k(held_out=7, ks=(1, 5, 20)):
    """AUROC of the k-th-NN and mean-of-k scores for the held-out digit, in pixels and in TinyCNN's embedding."""
    (x, y), (xt, yt) = me.load_mnist()
    normal = y != held_out
    cnn = me.TinyCNN(num_classes=9, seed=0)
    cnn.fit(x[normal], y[normal] - (y[normal] > held_out), epochs=1, seed=0, progress=False)
    ref = np.flatnonzero(normal)[:3000]
    is_anomaly = (yt == held_out).astype(int)
    spaces = {"pixels": (x[ref].reshape(len(ref), -1) / 255.0, xt.reshape(len(xt), -1) / 255.0),
              "TinyCNN": (cnn.embed(x[ref]), cnn.embed(xt))}
    out = {}
    for name, (r, t) in spaces.items():
        for k in ks:
            for agg in ("kth", "mean"):
                out[(name, k, agg)] = anomaly.roc_auc_score(is_anomaly, anomaly.knn_distance(r, t, k=k, aggregate=agg))
    return out


if __name__ == "__main__":
    X, y = blobs()
    k, inertias = elbow(X)
    print("1. inertia for k = 1..8:", [round(float(v)) for v in inertias], "-> elbow at k =", k)
    pp, rand = one_per_blob(X, y)
    print(f"2. one centre per blob: k-means++ {pp:.0%} of starts, random points {rand:.0%}")
    rng = np.random.default_rng(0)
    yy = (rng.random(500) < 0.2).astype(int)
    ss = rng.standard_normal(500) + yy
    print("3. precision at 90% recall:", precision_at_recall_numpy(yy, ss, 0.9),
          "library:", anomaly.precision_at_recall(yy, ss, 0.9))
    if "--all" in sys.argv:
        for key, auc in mean_of_k().items():
            print("4.", key, f"AUROC {auc:.3f}")
