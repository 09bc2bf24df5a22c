"""Held-out-digit anomaly detection on MNIST: raw pixels vs PCA vs learned TinyCNN embeddings.

    PYTHONPATH=. python benchmarks/anomaly_digits.py --mnist ../shared/data/images/mnist.npz \
        [--train 12000] [--epochs 2] [--reference 5000] [--normal 1800] [--anomalies 200] [--digits 0-9] \
        [--metrics euclidean,cosine]

For each held-out digit d (the "anomaly"):

1. TinyCNN (9 classes) is trained on ``--train`` training images of the other nine digits only, for
   ``--epochs`` epochs (seed 0). It never sees a d.
2. The *reference* set (what "normal" looks like) is ``--reference`` other training images of the nine
   digits; the test set is ``--normal`` test images of the nine digits plus ``--anomalies`` test
   images of d (so about 10% anomalies).
3. Each test image gets every anomaly score (:mod:`minembed.space.anomaly`) in three spaces: raw pixels
   (784-d, /255), PCA-50 of the pixels (fitted on the reference set), and the 64-d TinyCNN embedding.
   Scores: distance to the 5th nearest reference point (kNN), distance to the nearest of 9 k-means
   centres (cent.), PCA reconstruction error with 10 components of that space (recon.). With
   ``--metrics euclidean,cosine`` (the default) kNN and cent. are also computed with the cosine distance
   (``cos kNN``, spherical k-means ``cos cent.``) in every space: the length of a feature vector is
   mostly how strongly the network reacts, its direction what it sees, and k-NN on normalised features
   is the usual way to detect unseen classes with a classifier's features (Sun et al., 2022).
4. The table shows the ROC-AUC of every score for every digit, then the mean; and precision at 90%
   recall of the best score per space.

Subsampled and short on purpose (2 shared cores): the defaults take a few minutes. The same random
subsets (seed 0) are used in every space, so the columns are comparable.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import minembed as me
from minembed.space import anomaly as an
from minembed.space.cluster import KMeans


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", default=None, help="Keras-format mnist.npz (default: the bundled 10k/2k subset)")
    p.add_argument("--train", type=int, default=12000, help="training images for TinyCNN (nine digits)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--reference", type=int, default=5000, help="normal reference images (nine digits)")
    p.add_argument("--normal", type=int, default=1800, help="normal test images")
    p.add_argument("--anomalies", type=int, default=200, help="test images of the held-out digit")
    p.add_argument("--digits", default="0-9")
    p.add_argument("--k", type=int, default=5, help="k of the k-th-nearest-neighbour score")
    p.add_argument("--metrics", default="euclidean,cosine",
                   help="comma-separated distances for the kNN and centroid scores: euclidean, cosine")
    return p.parse_args(argv)


def scores(ref, test, k, metrics=("euclidean",)):
    """The scores of every test row against the reference rows: kNN and cent. per metric, then recon."""
    out = {}
    for metric in metrics:
        prefix = "" if metric == "euclidean" else "cos "
        km = KMeans(9, seed=0, metric=metric).fit(ref)
        out[prefix + "kNN"] = an.knn_distance(ref, test, k=k, metric=metric)
        out[prefix + "cent."] = an.centroid_distance(km, test)
    out["recon."] = an.pca_reconstruction_error(ref, test, n_components=10)
    return out


def run_digit(d, x, y, xt, yt, args, rng):
    normal_tr = np.flatnonzero(y != d)
    pick = rng.permutation(normal_tr)
    train_idx, ref_idx = pick[: args.train], pick[args.train: args.train + args.reference]
    test_idx = np.r_[rng.choice(np.flatnonzero(yt != d), args.normal, replace=False),
                     rng.choice(np.flatnonzero(yt == d), args.anomalies, replace=False)]
    is_anomaly = (yt[test_idx] == d).astype(int)
    labels9 = y[train_idx] - (y[train_idx] > d)          # digits other than d -> 0..8
    t0 = time.perf_counter()
    cnn = me.TinyCNN(num_classes=9, seed=0)
    cnn.fit(x[train_idx], labels9, epochs=args.epochs, seed=0, progress=False)
    train_s = time.perf_counter() - t0
    pix_ref = x[ref_idx].reshape(len(ref_idx), -1).astype(np.float32) / 255
    pix_test = xt[test_idx].reshape(len(test_idx), -1).astype(np.float32) / 255
    _, comps, _, mean = me.viz.pca(pix_ref, 50, return_info=True)
    spaces = {
        "pixels": (pix_ref, pix_test),
        "PCA-50": (((pix_ref - mean) @ comps.T).astype(np.float32), ((pix_test - mean) @ comps.T).astype(np.float32)),
        "TinyCNN": (cnn.embed(x[ref_idx]), cnn.embed(xt[test_idx])),
    }
    row = {}
    for space, (ref, test) in spaces.items():
        for name, s in scores(ref, test, args.k, args.metrics.split(",")).items():
            row[(space, name)] = (an.roc_auc_score(is_anomaly, s), an.precision_at_recall(is_anomaly, s, 0.9))
    return row, train_s


def main(argv=None):
    args = parse_args(argv)
    bad = set(args.metrics.split(",")) - {"euclidean", "cosine"}
    if bad:
        raise SystemExit(f"--metrics: unknown distance(s) {sorted(bad)}; use euclidean and/or cosine")
    (x, y), (xt, yt) = me.load_mnist(args.mnist)
    lo, hi = (int(t) for t in args.digits.split("-")) if "-" in args.digits else (int(args.digits),) * 2
    print(f"MNIST held-out digit anomaly detection: TinyCNN(9 classes) {args.epochs} epoch(s) on {args.train} "
          f"images; reference {args.reference}, test {args.normal} normal + {args.anomalies} anomalies; "
          f"kNN k={args.k}, 9 k-means centres, PCA recon. 10 components. ROC-AUC:")
    rows, cols = {}, None
    start = time.perf_counter()
    for d in range(lo, hi + 1):
        rng = np.random.default_rng([0, d])
        t_digit = time.perf_counter()
        rows[d], train_s = run_digit(d, x, y, xt, yt, args, rng)
        total_s = time.perf_counter() - t_digit
        if cols is None:
            cols = list(rows[d])
            print("digit " + "".join(f"{s[:7] + ' ' + n:>18s}" for s, n in cols) + "  train s  total s")
        print(f"{d:5d} " + "".join(f"{rows[d][c][0]:18.3f}" for c in cols) + f"{train_s:9.1f}{total_s:9.1f}",
              flush=True)
    mean_auc = {c: float(np.mean([rows[d][c][0] for d in rows])) for c in cols}
    print("mean  " + "".join(f"{mean_auc[c]:18.3f}" for c in cols))
    print("\nprecision at 90% recall (mean over digits):")
    print("      " + "".join(f"{float(np.mean([rows[d][c][1] for d in rows])):18.3f}" for c in cols))
    for space in ("pixels", "PCA-50", "TinyCNN"):
        best = max((c for c in cols if c[0] == space), key=mean_auc.get)
        print(f"best score in {space:8s}: {best[1]:7s} mean AUROC {mean_auc[best]:.3f}")
    best_pix = max(v for c, v in mean_auc.items() if c[0] == "pixels")
    best_cnn = max(v for c, v in mean_auc.items() if c[0] == "TinyCNN")
    print(f"TinyCNN best - pixels best: {best_cnn - best_pix:+.3f} AUROC (issue's bar: >= +0.05); "
          f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
