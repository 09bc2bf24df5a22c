"""Approximate nearest neighbours on MNIST: minembed's HNSWIndex / IVFIndex vs hnswlib / faiss, each side
alone in its own fresh process (benchmarks/harness.py).

    PYTHONPATH=. python benchmarks/bench_ann.py --mnist ../shared/data/images/mnist.npz --part hnsw --threads 1
    PYTHONPATH=. python benchmarks/bench_ann.py --mnist ../shared/data/images/mnist.npz --part ivf --threads 2
    PYTHONPATH=. python benchmarks/bench_ann.py --mnist ... --n 20000 --queries 2000 --rounds 1   # quick
    PYTHONPATH=. python benchmarks/bench_ann.py --vectors words.bin --threads 1   # word vectors

With ``--vectors`` (a word2vec text or binary file) the database is every word's vector scaled to unit length
(so the Euclidean ranking is the cosine ranking) and there is one query per vocabulary word: the word itself
(its own row comes back first, as it does for every library).

Database: the 60,000 training images as 784-dim float32 rows (pixel values 0..255), Euclidean distance.
Queries: the 10,000 test images. Ground truth: minembed's exact top-10 (ExactIndex), its time printed too.
Per index:
  * build: one timed build per side (HNSW M=16, ef_construction=200; IVF nlist=256 = k-means + add), CPU s;
  * search: all queries in one call at the target setting (HNSW ef=64, IVF nprobe=8), queries/s (wall)
    and recall@10; after the clocks stop, a sweep of the setting (ef or nprobe) measured with the same
    clocks inside the child gives the recall-speed curve, saved as a plot in --out.
hnswlib's and faiss's threads are set to --threads like everything else (NUMBA/OMP/OPENBLAS/MKL_NUM_THREADS).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import harness

K = 10
HNSW_SWEEP = (10, 16, 32, 64, 128, 256)
IVF_SWEEP = (1, 2, 4, 8, 16, 32)


# ------------------------------------------------------------------------------ sides (run in the children)
def load(mnist, n, nq):
    import numpy as np

    with np.load(mnist) as d:
        x = d["x_train"].reshape(len(d["x_train"]), -1)[:n].astype(np.float32)
        q = d["x_test"].reshape(len(d["x_test"]), -1)[:nq].astype(np.float32)
    return np.ascontiguousarray(x), np.ascontiguousarray(q)


def vectors_as_dataset(vectors_path, out_path):
    """Write a word-vector file as an .npz with the MNIST file's keys: unit rows as database and queries."""
    import numpy as np

    from minembed.space.search import normalize
    from minembed.space.vectors import KeyedVectors

    unit = normalize(KeyedVectors.load_word2vec_format(vectors_path).vectors.astype(np.float32))
    np.savez(out_path, x_train=unit, x_test=unit)
    return unit.shape


def recall(found, truth):
    import numpy as np

    hits = sum(len(np.intersect1d(a, b)) for a, b in zip(found, truth, strict=True))
    return hits / truth.size


def side_truth(mnist, n, nq, truth_path):
    import numpy as np

    from minembed.space import ExactIndex

    x, q = load(mnist, n, nq)
    index = ExactIndex(x, "euclidean")
    index.search(q[:10], K)
    out = {}

    def run():
        out["ids"] = index.search(q, K)[0]

    def after():
        np.save(truth_path, out["ids"])
        return {}

    return run, after


def _build(lib, kind, x, threads, seed):
    if lib == "minembed":
        from minembed.space import HNSWIndex, IVFIndex

        if kind == "hnsw":
            return HNSWIndex(x, metric="euclidean", M=16, ef_construction=200, seed=seed)
        return IVFIndex(x, nlist=256, metric="euclidean", seed=seed, max_iter=20)
    if lib == "hnswlib":
        import hnswlib

        index = hnswlib.Index(space="l2", dim=x.shape[1])
        index.init_index(max_elements=x.shape[0], M=16, ef_construction=200, random_seed=seed)
        index.set_num_threads(threads)
        index.add_items(x)
        return index
    import faiss

    quantizer = faiss.IndexFlatL2(x.shape[1])
    index = faiss.IndexIVFFlat(quantizer, x.shape[1], 256)
    index.cp.niter = 20
    index.cp.seed = seed
    index.train(x)
    index.add(x)  # (faiss's Python wrapper keeps a reference to the quantizer)
    return index


def _save(lib, index, path):
    if lib == "minembed":
        index.save(path)
    elif lib == "hnswlib":
        index.save_index(path)
    else:
        import faiss

        faiss.write_index(index, path)


def _load(lib, kind, path, dim, n, threads):
    if lib == "minembed":
        from minembed.space import load_index

        return load_index(path)
    if lib == "hnswlib":
        import hnswlib

        index = hnswlib.Index(space="l2", dim=dim)
        index.load_index(path, max_elements=n)
        index.set_num_threads(threads)
        return index
    import faiss

    return faiss.read_index(path)


def side_build(lib, kind, mnist, n, threads, seed, path):
    x, _ = load(mnist, n, 1)
    if lib == "minembed":  # compile (or load the cached kernels) outside the clocks
        _build(lib, kind, x[:2000], threads, seed).search(x[:2], 2)
    made = {}

    def run():
        made["index"] = _build(lib, kind, x, threads, seed)

    def after():
        _save(lib, made["index"], path)
        return {}

    return run, after


def _searcher(lib, kind, index):
    """search(queries, setting) -> ids (Q, K) for the knob of the index type (ef or nprobe)."""
    if lib == "minembed":
        if kind == "hnsw":
            return lambda q, s: index.search(q, K, ef=s)[0]
        return lambda q, s: index.search(q, K, nprobe=s)[0]
    if lib == "hnswlib":
        def search(q, s):
            index.set_ef(s)
            return index.knn_query(q, K)[0]
        return search

    def search_faiss(q, s):
        index.nprobe = s
        return index.search(q, K)[1]
    return search_faiss


def side_query(lib, kind, mnist, n, nq, threads, path, truth_path, setting, sweep):
    import numpy as np

    x, q = load(mnist, n, nq)
    index = _load(lib, kind, path, x.shape[1], n, threads)
    truth = np.load(truth_path)
    search = _searcher(lib, kind, index)
    search(q[:50], setting)
    out = {}

    def run():
        out["ids"] = search(q, setting)

    def after():
        curve = []
        for s in sweep:
            search(q[:50], s)
            w0, c0 = time.perf_counter(), time.process_time()
            ids = search(q, s)
            c1, w1 = time.process_time(), time.perf_counter()
            curve.append({"setting": s, "recall": recall(ids, truth), "qps": len(q) / (w1 - w0),
                          "qps_cpu": len(q) / (c1 - c0)})
        return {"recall": recall(out["ids"], truth), "curve": curve}

    return run, after


# ---------------------------------------------------------------------------------------------- driver
def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", help="mnist.npz with x_train, x_test (e.g. ../shared/data/images)")
    parser.add_argument("--vectors", help="a word2vec file instead of MNIST: one query per vocabulary word")
    parser.add_argument("--part", choices=("hnsw", "ivf", "all"), default="all")
    parser.add_argument("--n", type=int, default=60000, help="database rows (default %(default)s)")
    parser.add_argument("--queries", type=int, default=10000, help="queries (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed searches per child (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-ann", help="folder for the recall-speed plots (default %(default)s)")
    harness.add_arguments(parser, rounds=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ann-"))
    if (args.mnist is None) == (args.vectors is None):
        parser.error("give exactly one of --mnist and --vectors")
    data, what_data = args.mnist, "MNIST"
    if args.vectors:
        data, what_data = str(tmp / "vectors.npz"), f"unit word vectors of {args.vectors}"
        rows, _ = vectors_as_dataset(args.vectors, data)
        args.n = args.queries = rows  # every word, once as a database row and once as a query
    common = dict(mnist=str(Path(data).resolve()), n=args.n)
    truth_path = str(tmp / "truth.npy")
    res = harness.measure(__file__, [harness.Side("minembed ExactIndex (ground truth)", "side_truth",
                                                  dict(**common, nq=args.queries, truth_path=truth_path))],
                          args, repeats=1, warmup=0, rounds=1)
    harness.print_header(f"exact top-{K}, {args.n} rows of {what_data}, {args.queries} queries (euclidean)", res, args)
    harness.print_table(res, unit="s", scale=1, rate=("queries/s", args.queries))
    print()
    parts = ("hnsw", "ivf") if args.part == "all" else (args.part,)
    report = {}
    for kind in parts:
        peer = "hnswlib" if kind == "hnsw" else "faiss"
        libs = ["minembed", peer] if harness.available(peer) else ["minembed"]
        paths = {lib: str(tmp / f"{kind}-{lib}.idx") for lib in libs}
        builds = harness.measure(__file__, [harness.Side(f"{lib} {kind} build", "side_build",
                                                         dict(lib=lib, kind=kind, **common, threads=args.threads,
                                                              seed=args.seed, path=paths[lib])) for lib in libs],
                                 args, repeats=1, warmup=0, rounds=1)
        what = "M=16, ef_construction=200" if kind == "hnsw" else "nlist=256, 20 k-means iterations"
        harness.print_header(f"{kind.upper()} build ({what}), {args.n} rows of {what_data}", builds, args)
        harness.print_table(builds, unit="s", scale=1)
        print()
        setting, sweep = (64, HNSW_SWEEP) if kind == "hnsw" else (8, IVF_SWEEP)
        sides = [harness.Side(f"{lib} {kind} search", "side_query",
                              dict(lib=lib, kind=kind, **common, nq=args.queries, threads=args.threads, path=paths[lib],
                                   truth_path=truth_path, setting=setting, sweep=list(sweep))) for lib in libs]
        queries = harness.measure(__file__, sides, args, repeats=args.repeats, warmup=1)
        knob = "ef" if kind == "hnsw" else "nprobe"
        harness.print_header(f"{kind.upper()} search, {knob}={setting}, k={K}, {args.queries} queries", queries, args)
        harness.print_table(queries, unit="s", scale=1, rate=("queries/s", args.queries))
        for label, r in queries.items():
            recalls = ", ".join(f"{a['recall']:.4f}" for a in r.after)
            build_cpu = builds[label.replace("search", "build")].median("cpu")
            print(f"  {label}: recall@{K} {recalls} (per round); build {build_cpu:.1f} CPU s")
        if len(libs) == 2:
            ratio, lo, hi = harness.speed_ratio(queries, f"minembed {kind} search", f"{peer} {kind} search")
            print(f"  minembed / {peer} queries/s: {ratio:.2f}x ({lo:.2f}-{hi:.2f} over rounds)")
        print(f"  sweep of {knob} (measured inside each child after the timed runs; last round):")
        for label, r in queries.items():
            for point in r.after[-1]["curve"]:
                print(f"    {label:28s} {knob}={point['setting']:<4d} recall {point['recall']:.4f} "
                      f"{point['qps']:9,.0f} q/s  {point['qps_cpu']:9,.0f} q/CPU-s")
        report[kind] = {label: r.after[-1]["curve"] for label, r in queries.items()}
        print()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "curves.json").write_text(json.dumps(report, indent=1))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"curves saved to {out / 'curves.json'} (matplotlib not installed: no plot)")
        return
    for kind, curves in report.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, curve in curves.items():
            ax.plot([p["recall"] for p in curve], [p["qps"] for p in curve], "o-", label=label.replace(" search", ""))
            for p in curve:
                ax.annotate(str(p["setting"]), (p["recall"], p["qps"]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_xlabel(f"recall@{K} (against exact search)")
        ax.set_ylabel(f"queries/s ({args.threads} thread(s), wall)")
        ax.set_yscale("log")
        knob = "ef" if kind == "hnsw" else "nprobe"
        ax.set_title(f"{kind.upper()}, {args.n:,} rows of {what_data}: recall vs speed ({knob}); "
                     f"load {os.getloadavg()[0]:.1f}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"recall_qps_{kind}.png", dpi=120)
        print(f"plot: {out / f'recall_qps_{kind}.png'}")


if __name__ == "__main__":
    main()
