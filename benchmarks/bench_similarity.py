"""Exact top-k search and t-SNE: minembed vs the NumPy BLAS reference vs faiss (when importable).

    PYTHONPATH=. /work/peers/bin/python benchmarks/bench_similarity.py
    PYTHONPATH=. python benchmarks/bench_similarity.py --m 20000 --skip-memory --skip-tsne   # quick

Measures, side by side in one run (medians of --repeats runs):
  * batch search: M unit vectors (D float32), Q queries, k best by inner product (= cosine);
  * single-query latency (median over --single random queries);
  * peak RSS of a 10,000-query search over 1,000,000 x 128 (a fresh subprocess, so nothing else counts);
  * t-SNE of 2,000 points x 100 dims.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minembed import similarity as sim  # noqa: E402

try:
    import faiss
except ImportError:  # the peer is optional
    faiss = None


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def numpy_topk(queries, database, k):
    """What one writes in NumPy: the whole score matrix, argpartition, sort the k."""
    scores = queries @ database.T
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(scores, part, 1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(part, order, 1), np.take_along_axis(top, order, 1)


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys, time
    import numpy as np
    sys.path.insert(0, {repo!r})

    def peak_mb():
        # VmHWM is this process's own high-water mark. (ru_maxrss is not: Linux carries the parent's
        # peak across fork + exec into it, which would count the benchmark's own arrays.)
        try:
            with open("/proc/self/status") as fh:
                return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) / 1024
        except (OSError, StopIteration):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from minembed.similarity import topk
    m, d, q, k = {m}, {d}, {q}, {k}
    rng = np.random.default_rng(0)
    db = np.empty((m, d), np.float32)
    for s in range(0, m, 100_000):  # fill in slices: no float64 temporary of the whole table
        db[s:s + 100_000] = rng.standard_normal((min(100_000, m - s), d), dtype=np.float32)
    queries = rng.standard_normal((q, d), dtype=np.float32)
    topk(queries[:2], db[:1000], k, metric="cosine")  # compile outside the measurement
    before = peak_mb()
    t = time.perf_counter()
    idx, scores = topk(queries, db, k, metric="cosine")
    elapsed = time.perf_counter() - t
    peak = peak_mb()
    print(f"{{before:.0f}} {{peak:.0f}} {{elapsed:.2f}} {{idx.shape[0]}}")
""")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=100_000, help="database rows (default %(default)s)")
    ap.add_argument("--d", type=int, default=128, help="dimension (default %(default)s)")
    ap.add_argument("--q", type=int, default=1_000, help="queries in the batch (default %(default)s)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5, help="batch runs per method (median)")
    ap.add_argument("--single", type=int, default=50, help="single queries timed (median)")
    ap.add_argument("--memory-m", type=int, default=1_000_000)
    ap.add_argument("--memory-q", type=int, default=10_000)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-tsne", action="store_true")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(0)
    db = unit_rows(rng, args.m, args.d)
    queries = unit_rows(rng, args.q, args.d)
    index = sim.ExactIndex(db, metric="dot")
    print(f"batch: M={args.m:,} x D={args.d} float32 unit rows, Q={args.q:,} queries, k={args.k}; "
          f"faiss {faiss.__version__ if faiss else 'not installed'}")

    # Warm up (compilation, caches) and check all three agree before timing anything.
    ours = index.search(queries, args.k)
    ref = numpy_topk(queries, db, args.k)
    agree = float((ours[0] == ref[0]).mean())
    rows = []
    t_kernel = timed(lambda: index.search(queries, args.k), args.repeats)
    t_oneshot = timed(lambda: sim.topk(queries, db, args.k, metric="cosine"), args.repeats)
    t_numpy = timed(lambda: numpy_topk(queries, db, args.k), args.repeats)
    rows.append(("minembed ExactIndex.search (dot)", t_kernel))
    rows.append(("minembed topk(metric='cosine') one-shot", t_oneshot))
    rows.append(("NumPy BLAS reference (matmul+argpartition)", t_numpy))
    t_faiss = None
    if faiss is not None:
        fidx = faiss.IndexFlatIP(args.d)
        fidx.add(db)
        _, fi = fidx.search(queries, args.k)
        agree_f = float((fi == ours[0]).mean())
        t_faiss = timed(lambda: fidx.search(queries, args.k), args.repeats)
        rows.append(("faiss IndexFlatIP.search", t_faiss))
    print(f"agreement of top-{args.k} ids with NumPy: {agree:.4f}" +
          (f", with faiss: {agree_f:.4f}" if faiss is not None else ""))
    print(f"\n{'method':46s} {'seconds':>9s} {'queries/s':>11s} {'kernel speed-up':>16s}")
    for name, t in rows:
        print(f"{name:46s} {t:9.3f} {args.q / t:11,.0f} {t / t_kernel:15.2f}x")
    print(f"kernel vs NumPy reference: {t_numpy / t_kernel:.2f}x (target >= 1.0)")
    if t_faiss:
        print(f"kernel vs faiss: {t_faiss / t_kernel:.2f}x (target >= 0.8)")

    # Single-query latency.
    picks = rng.integers(0, args.q, args.single)
    lat = {"minembed ExactIndex.search": [], "NumPy reference": []}
    if faiss is not None:
        lat["faiss IndexFlatIP.search"] = []
    index.search(queries[0], args.k)
    for i in picks:
        q = queries[i]
        t = time.perf_counter()
        index.search(q, args.k)
        lat["minembed ExactIndex.search"].append(time.perf_counter() - t)
        t = time.perf_counter()
        numpy_topk(q[None], db, args.k)
        lat["NumPy reference"].append(time.perf_counter() - t)
        if faiss is not None:
            t = time.perf_counter()
            fidx.search(q[None], args.k)
            lat["faiss IndexFlatIP.search"].append(time.perf_counter() - t)
    print(f"\nsingle-query latency (median of {args.single}):")
    base = statistics.median(lat["minembed ExactIndex.search"])
    for name, ts in lat.items():
        med = statistics.median(ts)
        print(f"  {name:34s} {med * 1e3:8.2f} ms   ({med / base:.2f}x the kernel's)")
    if faiss is not None:
        f_med = statistics.median(lat["faiss IndexFlatIP.search"])
        print(f"  kernel latency / faiss latency: {base / f_med:.2f} (target <= 1.0)")

    if not args.skip_memory:
        script = MEMORY_SCRIPT.format(repo=str(Path(__file__).resolve().parent.parent), m=args.memory_m,
                                      d=args.d, q=args.memory_q, k=args.k)
        res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        before, peak, elapsed, _ = res.stdout.split()
        db_mb = args.memory_m * args.d * 4 / 2**20
        full_mb = args.memory_q * args.memory_m * 4 / 2**20
        print(f"\nmemory: topk({args.memory_q:,} queries, {args.memory_m:,} x {args.d}, cosine) in a fresh process: "
              f"peak RSS {peak} MB (before the search {before} MB; the database alone is {db_mb:.0f} MB, "
              f"a full score matrix would be {full_mb:,.0f} MB); {elapsed} s; target < 1024 MB")

    if not args.skip_tsne:
        from minembed.viz import tsne

        centres = rng.standard_normal((10, 100)) * 3
        x = (centres[rng.integers(0, 10, 2000)] + rng.standard_normal((2000, 100))).astype(np.float32)
        tsne(x[:50], n_iter=5)  # compile
        t = time.perf_counter()
        tsne(x, seed=0)
        print(f"\nt-SNE 2,000 x 100, 1,000 iterations: {time.perf_counter() - t:.1f} s (target <= 30 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
