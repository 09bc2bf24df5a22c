"""Embedding forward (row gather) and backward (row scatter-add): minembed's Numba kernels
vs the NumPy reference path (np.take / np.add.at) vs PyTorch (index_select / index_add_)
when torch is importable.

    PYTHONPATH=. python benchmarks/bench_embedding.py [--vocab 100000 --dim 128 --n 65536]

Two index distributions: "zipf" (word-like: id r has probability ~ 1/(r+1), many
duplicates, the frequent ids are the small ones because a Vocab sorts by frequency) and
"uniform". Every timing is the median of --repeats runs after a warm-up; ratios are
computed within this run. Effective GB/s counts the bytes a kernel must move at least:
gather reads N rows and writes N rows; scatter-add reads N rows of dY and reads and
writes N rows of dW (duplicates are counted each time), plus 8 bytes per index.
Both sides get the same number of threads (--threads, default: all Numba threads);
minembed's default kernels thread large inputs; the ``parallel=False`` rows are the serial loops.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numba
import numpy as np

from minembed.kernels import gather_rows, scatter_add_rows, set_num_threads
from minembed.kernels.scatter import gather_rows_reference, scatter_add_rows_reference

try:
    import torch
except ImportError:  # the peer is optional
    torch = None


def median_ms(fns: dict, repeats: int) -> dict:
    """(median, best) milliseconds of each function. The functions take turns (round-robin), so a
    burst of load from other processes slows all of them alike and the ratios stay fair."""
    for fn in fns.values():
        fn()  # warm-up (and JIT compile on the first call)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (1000 * statistics.median(t), 1000 * min(t)) for name, t in times.items()}


def make_indices(kind: str, vocab: int, n: int, rng) -> np.ndarray:
    if kind == "uniform":
        return rng.integers(0, vocab, n)
    p = 1.0 / np.arange(1, vocab + 1)
    return rng.choice(vocab, size=n, p=p / p.sum())


def time_kind(table, idx, dy, repeats: int) -> dict:
    """Time gather and scatter-add of every implementation on one index array."""
    grad = np.zeros_like(table)
    gather = {
        "minembed gather_rows (Numba, default)": lambda: gather_rows(table, idx),
        "  same, parallel=False (serial)": lambda: gather_rows(table, idx, parallel=False),
        "np.take (reference)": lambda: gather_rows_reference(table, idx),
    }
    scatter = {
        "minembed scatter_add_rows (default)": lambda: scatter_add_rows(grad, idx, dy),
        "  same, parallel=False (serial)": lambda: scatter_add_rows(grad, idx, dy, parallel=False),
        "np.add.at (reference)": lambda: scatter_add_rows_reference(grad, idx, dy),
    }
    if torch is not None:
        t_table, t_idx, t_dy = torch.from_numpy(table), torch.from_numpy(idx), torch.from_numpy(dy)
        t_grad = torch.zeros_like(t_table)
        gather["torch.index_select"] = lambda: torch.index_select(t_table, 0, t_idx)
        scatter["torch.index_add_"] = lambda: t_grad.index_add_(0, t_idx, t_dy)
        # What is timed must agree: one scatter from zeros by each of the three.
        a = np.zeros_like(table)
        scatter_add_rows(a, idx, dy)
        b = np.zeros_like(table)
        np.add.at(b, idx, dy)
        c = torch.zeros_like(t_table).index_add_(0, t_idx, t_dy).numpy()
        assert np.allclose(a, b, atol=1e-4) and np.allclose(a, c, atol=1e-4), "implementations disagree"
    results = {"gather": list(median_ms(gather, repeats).items()),
               "scatter": list(median_ms(scatter, repeats).items())}
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--n", type=int, default=65_536)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int, default=numba.config.NUMBA_NUM_THREADS)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    V, D, N = args.vocab, args.dim, args.n
    table = rng.standard_normal((V, D)).astype(np.float32)
    dy = rng.standard_normal((N, D)).astype(np.float32)
    row_bytes = N * D * 4
    print(f"V={V:,} D={D} N={N:,} float32 | threads={args.threads} | numpy {np.__version__} numba "
          f"{numba.__version__} torch {torch.__version__ if torch else 'not installed'} | {platform.machine()}")
    print(f"ms = median of {args.repeats} round-robin runs (ratios use it); best ms = fastest run; "
          "GB/s = minimum bytes moved / median time\n")
    header = f"{'pass':<9}{'indices':<9}{'implementation':<40}{'ms':>9}{'GB/s':>8}{'vs this':>9}{'best ms':>9}"
    print(header)
    print("-" * len(header))

    for kind in ("zipf", "uniform"):
        idx = make_indices(kind, V, N, rng).astype(np.int64)
        dup = 1 - len(np.unique(idx)) / N
        results = time_kind(table, idx, dy, args.repeats)
        gather_bytes = 2 * row_bytes + 8 * N
        scatter_bytes = 3 * row_bytes + 8 * N

        for name, nbytes in (("gather", gather_bytes), ("scatter", scatter_bytes)):
            ours = results[name][0][1][0]
            for impl, (ms, best) in results[name]:
                label = f"{name:<9}{kind:<9}{impl:<40}"
                print(f"{label}{ms:9.2f}{nbytes / ms / 1e6:8.2f}{ms / ours:8.1f}x{best:9.2f}")
        print(f"{'':<18}({kind}: {dup:.0%} of the indices repeat an earlier one)\n")


if __name__ == "__main__":
    main()
