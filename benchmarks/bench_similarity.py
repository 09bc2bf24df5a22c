"""Exact top-k search and t-SNE: minembed vs the NumPy BLAS reference vs faiss (when importable),
each side alone in its own fresh process (benchmarks/harness.py).

    PYTHONPATH=. python benchmarks/bench_similarity.py
    PYTHONPATH=. python benchmarks/bench_similarity.py --m 20000 --skip-memory --skip-tsne   # quick

Measures:
  * batch search: M unit vectors (D float32), Q queries, k best by inner product (= cosine);
  * single-query latency: one query per timed repeat (the same --single random queries for every side);
  * peak RSS of a 10,000-query search over 1,000,000 x 128 (its own process, one round);
  * t-SNE of 2,000 points x 100 dims (its own process, one round).
"""
from __future__ import annotations

import argparse

import harness


# ------------------------------------------------------------------------------ sides (run in the children)
def make_data(m, d, q, seed):
    """M database rows and Q queries, all of unit length, float32: the same in every process."""
    import numpy as np

    rng = np.random.default_rng(seed)
    db = rng.standard_normal((m, d), dtype=np.float32)
    queries = rng.standard_normal((q, d), dtype=np.float32)
    db /= np.linalg.norm(db, axis=1, keepdims=True)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return db, queries


def numpy_topk(queries, database, k):
    """What one writes in NumPy: the whole score matrix, argpartition, sort the k."""
    import numpy as np

    scores = queries @ database.T
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(scores, part, 1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(part, order, 1), np.take_along_axis(top, order, 1)


def make_search(method, db, d):
    """search(queries (Q, D), k) -> ids (Q, k) for one method; built (index, norms) outside the timing."""
    if method == "faiss":
        import faiss

        index = faiss.IndexFlatIP(d)
        index.add(db)
        return lambda queries, k: index.search(queries, k)[1]
    if method == "numpy":
        return lambda queries, k: numpy_topk(queries, db, k)[0]
    from minembed.space import search as sim

    if method == "minembed-cosine":  # one-shot: checks and norms on every call, as topk() does
        return lambda queries, k: sim.topk(queries, db, k, metric="cosine")[0]
    index = sim.ExactIndex(db, metric="dot")
    return lambda queries, k: index.search(queries, k)[0]


def side_batch(method, m, d, q, k, seed):
    """All Q queries in one call."""
    db, queries = make_data(m, d, q, seed)
    search = make_search(method, db, d)
    return (lambda: search(queries, k)), (lambda: {"ids": search(queries[:100], k).tolist()})


def side_single(method, m, d, q, k, seed):
    """One query per call, in a random order fixed by the seed."""
    import numpy as np

    db, queries = make_data(m, d, q, seed)
    search = make_search(method, db, d)
    picks = iter(np.random.default_rng(seed + 1).integers(0, q, 1_000_000))
    return lambda: search(queries[next(picks)][None], k)


def side_memory(m, d, q, k, seed):
    """minembed topk(Q queries, M x D, cosine): the peak memory is the child's own (harness.peak_mb)."""
    import numpy as np

    from minembed.space.search import topk

    rng = np.random.default_rng(seed)
    db = np.empty((m, d), np.float32)
    for s in range(0, m, 100_000):  # fill in slices: no float64 temporary of the whole table
        db[s:s + 100_000] = rng.standard_normal((min(100_000, m - s), d), dtype=np.float32)
    queries = rng.standard_normal((q, d), dtype=np.float32)
    topk(queries[:2], db[:1000], k, metric="cosine")  # compile outside the measurement
    before = harness.peak_mb()
    return (lambda: topk(queries, db, k, metric="cosine")), (lambda: {"before_mb": before})


def side_tsne(seed):
    """minembed's t-SNE of 2,000 points x 100 dims in 10 clusters, 1,000 iterations."""
    import numpy as np

    from minembed.space.maps import tsne

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((10, 100)) * 3
    x = (centres[rng.integers(0, 10, 2000)] + rng.standard_normal((2000, 100))).astype(np.float32)
    tsne(x[:50], n_iter=5)  # compile
    return lambda: tsne(x, seed=0)


# ----------------------------------------------------------------------------------------- driver
METHODS = [("minembed ExactIndex.search (dot)", "minembed"),
           ("minembed topk(metric='cosine') one-shot", "minembed-cosine"),
           ("NumPy BLAS reference (matmul+argpartition)", "numpy"),
           ("faiss IndexFlatIP.search", "faiss")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=100_000, help="database rows (default %(default)s)")
    ap.add_argument("--d", type=int, default=128, help="dimension (default %(default)s)")
    ap.add_argument("--q", type=int, default=1_000, help="queries in the batch (default %(default)s)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5, help="batch searches per process (default %(default)s)")
    ap.add_argument("--single", type=int, default=50, help="single queries timed per process (default %(default)s)")
    ap.add_argument("--memory-m", type=int, default=1_000_000)
    ap.add_argument("--memory-q", type=int, default=10_000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-tsne", action="store_true")
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    harness.add_arguments(ap, rounds=3)
    args = ap.parse_args(argv)

    with_faiss = harness.available("faiss") and not args.no_faiss
    data = dict(m=args.m, d=args.d, q=args.q, k=args.k, seed=args.seed)
    methods = [(label, method) for label, method in METHODS if method != "faiss" or with_faiss]
    batch = harness.measure(__file__, [harness.Side(label, "side_batch", dict(data, method=method))
                                       for label, method in methods], args, repeats=args.repeats)
    harness.print_header(f"top-k: M={args.m:,} x D={args.d} float32 unit rows, Q={args.q:,} queries, k={args.k}"
                         + ("" if with_faiss else " (faiss not importable: no peer)"), batch, args)
    ids = {label: res.after[0]["ids"] for label, res in batch.items()}
    reference = ids[METHODS[2][0]]
    agreement = {label: sum(a == b for ra, rb in zip(got, reference, strict=True) for a, b in zip(ra, rb, strict=True))
                 / (len(reference) * args.k) for label, got in ids.items()}
    print(f"agreement with NumPy of the top-{args.k} ids of {len(reference)} queries: "
          + ", ".join(f"{label.split(' (')[0]} {a:.4f}" for label, a in agreement.items()))
    print(f"\nbatch search, seconds for {args.q:,} queries (median of {args.repeats} x {args.rounds} processes)")
    harness.print_table(batch, unit="s", scale=1, rate=("queries/s", args.q))
    kernel = METHODS[0][0]
    r, lo, hi = harness.speed_ratio(batch, kernel, METHODS[2][0])
    print(f"kernel speed vs NumPy reference: {r:.2f}x (per round {lo:.2f}-{hi:.2f}; target >= 1.0)")
    if with_faiss:
        r, lo, hi = harness.speed_ratio(batch, kernel, METHODS[3][0])
        print(f"kernel speed vs faiss: {r:.2f}x (per round {lo:.2f}-{hi:.2f}; target >= 1.0)")

    single_methods = [m for m in methods if m[1] != "minembed-cosine"]
    single = harness.measure(__file__, [harness.Side(label, "side_single", dict(data, method=method))
                                        for label, method in single_methods], args, repeats=args.single)
    print(f"\nsingle-query latency, ms (median of {args.single} queries x {args.rounds} processes)")
    harness.print_table(single)
    if with_faiss:
        r, lo, hi = harness.speed_ratio(single, METHODS[3][0], kernel)
        print(f"kernel latency / faiss latency: {r:.2f} (per round {lo:.2f}-{hi:.2f}; target <= 1.0)")

    if not args.skip_memory:
        side = harness.Side("minembed topk, cosine", "side_memory",
                            dict(m=args.memory_m, d=args.d, q=args.memory_q, k=args.k, seed=args.seed))
        res = harness.measure(__file__, [side], args, repeats=1, warmup=0, rounds=1)[side.label]
        db_mb = args.memory_m * args.d * 4 / 2**20
        full_mb = args.memory_q * args.memory_m * 4 / 2**20
        print(f"\nmemory: topk({args.memory_q:,} queries, {args.memory_m:,} x {args.d}, cosine) in a fresh process: "
              f"peak RSS {res.peak_mb[0]:.0f} MB (before the search {res.after[0]['before_mb']:.0f} MB; the "
              f"database alone is {db_mb:.0f} MB, a full score matrix would be {full_mb:,.0f} MB); "
              f"{res.median():.2f} s; target < 1024 MB")

    if not args.skip_tsne:
        side = harness.Side("t-SNE", "side_tsne", dict(seed=args.seed))
        res = harness.measure(__file__, [side], args, repeats=1, warmup=0, rounds=1)[side.label]
        print(f"\nt-SNE 2,000 x 100, 1,000 iterations, in a fresh process: {res.median():.1f} s "
              f"(CPU {res.median('cpu'):.1f} s; target <= 30 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
