"""k-means on the full MNIST training set (60,000 x 784, pixels / 255): minembed's KMeans against
scikit-learn's KMeans, each alone in its own fresh process (benchmarks/harness.py).

    PYTHONPATH=. python benchmarks/bench_kmeans.py --mnist ../shared/data/images/mnist.npz \
        [--k 10] [--seeds 0-4] [--max-iter 300 --tol 1e-4] [--init k-means++] [--rounds 2]
    PYTHONPATH=. python benchmarks/bench_kmeans.py --mnist ... --k 256 --max-iter 20 --tol 0 --seeds 0-1
    PYTHONPATH=. python benchmarks/bench_kmeans.py --mnist ... --embeddings      # NMI of TinyCNN embeddings

One timed repeat = one whole ``fit`` (seeding + Lloyd iterations, one init) with the next seed of
``--seeds``, so the medians are medians over seeds. Both sides get the same float32 matrix and the same
settings (``n_init=1``, ``max_iter``, ``tol``, Lloyd's algorithm). scikit-learn's ``init="k-means++"`` is
the greedy variant (2 + ln k candidates per step): compare it with ``--init greedy-k-means++`` too.
Each side scores its own labels against the digit labels with its own NMI (the two NMI functions agree to
1e-12: tests/test_space_cluster_metrics.py), after the clocks stop. Before the timed fits each side runs a
small untimed fit (Numba compiles or loads its cache; scikit-learn loads its extensions).

``--embeddings`` trains TinyCNN (``--cnn-epochs``) on the training set, embeds it (64-d), and clusters
those vectors, PCA-50 of the pixels and the raw pixels with k=10, printing the NMI of each (one process,
no peer: the question is what the embedding does to the clusters).
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import harness


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", required=True, help="Keras-format mnist.npz (x_train 60000x28x28)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--seeds", default="0-4", help="one fit per seed: '0-4' or '0,3,5'")
    p.add_argument("--max-iter", type=int, default=300)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--init", default="k-means++", choices=["k-means++", "greedy-k-means++", "random"],
                   help="minembed's seeding (scikit-learn always uses its greedy k-means++)")
    p.add_argument("--limit", type=int, default=None, help="first N training images only")
    p.add_argument("--no-sklearn", action="store_true")
    p.add_argument("--embeddings", action="store_true", help="cluster TinyCNN embeddings vs pixels (no peer)")
    p.add_argument("--cnn-epochs", type=int, default=1)
    harness.add_arguments(p, rounds=2)
    return p.parse_args(argv)


def _seeds(text):
    if "-" in text:
        lo, hi = (int(t) for t in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(t) for t in text.split(",")]


def _pixels(mnist, limit):
    """x_train as float32 (N, 784) in [0, 1], and y_train; NumPy only (the peer side must not import minembed)."""
    import numpy as np

    with np.load(mnist, allow_pickle=False) as f:
        x, y = f["x_train"][:limit], f["y_train"][:limit]
    return (x.reshape(len(x), -1).astype(np.float32) / 255.0), y


def _runner(fit_one, seeds, y, nmi):
    """run(): fit with the next seed; returns (untimed) the inertia, iterations and NMI of that fit."""
    state = {"i": 0}

    def run():
        seed = seeds[state["i"] % len(seeds)]
        state["i"] += 1
        model = fit_one(seed)
        return lambda: {"seed": seed, "inertia": float(model.inertia_), "n_iter": int(model.n_iter_),
                        "nmi": float(nmi(y, model.labels_))}
    return run


def side_minembed(mnist, limit, k, seeds, max_iter, tol, init):
    from minembed.space.cluster import KMeans
    from minembed.space.cluster_metrics import normalized_mutual_info_score

    x, y = _pixels(mnist, limit)
    KMeans(k, init=init, max_iter=2, seed=0).fit(x[: max(2000, 2 * k)])   # compile / load the kernels
    return _runner(lambda s: KMeans(k, init=init, n_init=1, max_iter=max_iter, tol=tol, seed=s).fit(x),
                   seeds, y, normalized_mutual_info_score)


def side_sklearn(mnist, limit, k, seeds, max_iter, tol, init):
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    x, y = _pixels(mnist, limit)
    KMeans(k, n_init=1, max_iter=2, random_state=0).fit(x[: max(2000, 2 * k)])
    return _runner(lambda s: KMeans(k, init="k-means++", n_init=1, max_iter=max_iter, tol=tol, random_state=s,
                                    algorithm="lloyd").fit(x), seeds, y, normalized_mutual_info_score)


def embeddings(args):
    """NMI of k=10 k-means on TinyCNN embeddings, PCA-50 and raw pixels (median over the seeds)."""
    import time

    import numpy as np

    import minembed as me
    from minembed.space.cluster import KMeans
    from minembed.space.cluster_metrics import normalized_mutual_info_score as nmi

    (x, y), _ = me.load_mnist(args.mnist)
    x, y = x[: args.limit], y[: args.limit]
    t = time.perf_counter()
    cnn = me.TinyCNN(seed=0)
    cnn.fit(x, y, epochs=args.cnn_epochs, seed=0, progress=False)
    emb = cnn.embed(x)
    print(f"TinyCNN trained {args.cnn_epochs} epoch(s) on {len(x)} images and embedded them in "
          f"{time.perf_counter() - t:.1f} s")
    pixels = x.reshape(len(x), -1).astype(np.float32) / 255
    pca = me.viz.pca(pixels, 50).astype(np.float32)
    seeds = _seeds(args.seeds)
    print(f"{'vectors':28s}{'dim':>6s}{'NMI euclidean':>16s}{'NMI cosine':>12s}   (median over seeds {args.seeds})")
    for name, v in [("raw pixels", pixels), ("PCA-50 of pixels", pca), ("TinyCNN embedding", emb)]:
        row = []
        for metric in ("euclidean", "cosine"):
            row.append(statistics.median(nmi(y, KMeans(10, metric=metric, seed=s).fit(v).labels_) for s in seeds))
        print(f"{name:28s}{v.shape[1]:6d}{row[0]:16.3f}{row[1]:12.3f}")


def main(argv=None):
    args = parse_args(argv)
    if args.embeddings:
        embeddings(args)
        return
    seeds = _seeds(args.seeds)
    cfg = dict(mnist=str(Path(args.mnist).resolve()), limit=args.limit, k=args.k, seeds=seeds,
               max_iter=args.max_iter, tol=args.tol, init=args.init)
    sides = [harness.Side(f"minembed KMeans ({args.init})", "side_minembed", cfg)]
    if harness.available("sklearn") and not args.no_sklearn:
        sides.append(harness.Side("scikit-learn KMeans (lloyd)", "side_sklearn", cfg))
    res = harness.measure(__file__, sides, args, repeats=len(seeds), warmup=0)
    n = args.limit or 60000
    harness.print_header(f"k-means on MNIST train ({n} x 784), k={args.k}, n_init=1, max_iter={args.max_iter}, "
                         f"tol={args.tol}, seeds {args.seeds} (one fit per seed = one repeat)", res, args)
    harness.print_table(res, unit="s", scale=1.0)
    print()
    print(f"{'side':44s}{'NMI (median)':>14s}{'NMI range':>16s}{'inertia (median)':>19s}{'iterations':>12s}")
    summary = {}
    for label, r in res.items():
        fits = [e for rnd in r.extras for e in rnd]
        nmis = [f["nmi"] for f in fits]
        inertia = statistics.median(f["inertia"] for f in fits)
        iters = sorted({f["n_iter"] for f in fits})
        summary[label] = (statistics.median(nmis), inertia, r.median("cpu"))
        print(f"{label:44s}{summary[label][0]:14.4f}{f'{min(nmis):.4f}-{max(nmis):.4f}':>16s}{inertia:19,.0f}"
              f"{f'{iters[0]}-{iters[-1]}':>12s}")
    if len(res) == 2:
        (a, (nmi_a, in_a, cpu_a)), (b, (nmi_b, in_b, cpu_b)) = summary.items()
        ratio, lo, hi = harness.speed_ratio(res, b, a, clock="cpu")
        print(f"\nCPU time minembed / scikit-learn (median fit): {cpu_a / cpu_b:.3f}  "
              f"(per-round ratio of medians {1 / ratio:.3f}, range {1 / hi:.3f}-{1 / lo:.3f})")
        print(f"NMI difference (minembed - scikit-learn, medians): {nmi_a - nmi_b:+.4f}; "
              f"inertia ratio {in_a / in_b:.4f}")


if __name__ == "__main__":
    main()
