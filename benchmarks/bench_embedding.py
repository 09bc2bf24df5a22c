"""Embedding forward (row gather) and backward (row scatter-add): minembed's Numba kernels
vs the NumPy reference path (np.take / np.add.at) vs PyTorch (index_select / index_add_)
when torch is importable, each side alone in its own fresh process (benchmarks/harness.py).

    PYTHONPATH=. python benchmarks/bench_embedding.py [--vocab 100000 --dim 128 --n 65536]

Three passes: "gather" (forward), "scatter" (the kernel alone: dW[idx] += dY into a gradient
that keeps growing) and "step" (a training step's backward as a user runs it: minembed's
``Embedding.zero_grad()`` + ``backward(dY)``, the same layer with MINEMBED_JIT=0, NumPy's
``grad[:] = 0`` + ``np.add.at``, and torch's ``grad.zero_()`` + ``index_add_``, every side
alternating between two batches of ids). Two index
distributions: "zipf" (word-like: id r has probability ~ 1/(r+1), many duplicates, the frequent
ids are the small ones because a Vocab sorts by frequency) and "uniform". Effective GB/s counts
the bytes a kernel must move at least: gather reads N rows and writes N rows; scatter-add reads
N rows of dY and reads and writes N rows of dW (duplicates are counted each time), plus 8 bytes
per index. minembed's gather threads large inputs by default (its ``parallel=False`` row is the
serial loop); its scatter is serial by default (its ``parallel=True`` row is the threaded one).
Every side checks its result with a checksum, compared across sides at the end.
"""
from __future__ import annotations

import argparse

import harness


# ------------------------------------------------------------------------------ sides (run in the children)
def make_ids(vocab, n, kind, seed):
    """int64 ids (N,): zipf-like or uniform, from their own random stream."""
    import numpy as np

    rng = np.random.default_rng([seed, 1])
    if kind == "uniform":
        return rng.integers(0, vocab, n).astype(np.int64)
    p = 1.0 / np.arange(1, vocab + 1)
    return rng.choice(vocab, size=n, p=p / p.sum()).astype(np.int64)


def step_ids(vocab, n, kind, seed):
    """Two batches of ids that a step alternates between, as consecutive training batches do: a
    kept gradient array then has stale rows the next batch does not touch (the same ids every step
    would flatter row tracking)."""
    return make_ids(vocab, n, kind, seed), make_ids(vocab, n, kind, seed + 1)


def make_data(vocab, dim, n, kind, seed):
    """The same table (V, D), upstream gradient dY (N, D) and int64 ids (N,) in every process."""
    import numpy as np

    rng = np.random.default_rng(seed)
    table = rng.standard_normal((vocab, dim)).astype(np.float32)
    dy = rng.standard_normal((n, dim)).astype(np.float32)
    return table, dy, make_ids(vocab, n, kind, seed)


def checksum(array):
    """Three numbers that change if any row moves or any value changes: sum, sum of |x|, row-weighted sum."""
    import numpy as np

    a = np.asarray(array, dtype=np.float64).reshape(len(array), -1)
    return [float(a.sum()), float(np.abs(a).sum()), float(np.arange(len(a)) @ a.sum(1))]


def side_minembed(op, parallel, vocab, dim, n, kind, seed):
    """minembed's kernels (op = gather / scatter) or its Embedding layer (op = step)."""
    import numpy as np

    from minembed.kernels import gather_rows, scatter_add_rows

    table, dy, idx = make_data(vocab, dim, n, kind, seed)
    if op == "gather":
        def run():
            gather_rows(table, idx, parallel=parallel)
        return run, lambda: {"checksum": checksum(gather_rows(table, idx, parallel=parallel))}
    if op == "scatter":
        grad = np.zeros_like(table)

        def run():
            scatter_add_rows(grad, idx, dy, parallel=parallel)

        def after():
            fresh = np.zeros_like(table)
            scatter_add_rows(fresh, idx, dy, parallel=parallel)
            return {"checksum": checksum(fresh)}
        return run, after
    from minembed.nn import Embedding

    layers = [Embedding.from_pretrained(table, freeze=False) for _ in range(2)]
    layers[1].weight = layers[0].weight  # one table looked up by two batches
    for layer, ids in zip(layers, step_ids(vocab, n, kind, seed), strict=True):
        layer(ids)
    turn = [0]

    def run():
        layers[0].zero_grad()
        layers[turn[0] % 2].backward(dy)
        turn[0] += 1

    def after():
        layers[0].zero_grad()
        layers[0].backward(dy)
        return {"checksum": checksum(layers[0].weight.grad)}
    return run, after


def side_numpy(op, vocab, dim, n, kind, seed):
    """The NumPy reference functions beside the kernels (np.take, np.add.at; a step zeroes the whole
    gradient first, as a NumPy training loop without row tracking must)."""
    import numpy as np

    from minembed.kernels.scatter import gather_rows_reference, scatter_add_rows_reference

    table, dy, idx = make_data(vocab, dim, n, kind, seed)
    if op == "gather":
        return (lambda: gather_rows_reference(table, idx),
                lambda: {"checksum": checksum(gather_rows_reference(table, idx))})
    grad = np.zeros_like(table)
    batches, turn = step_ids(vocab, n, kind, seed) if op == "step" else (idx, idx), [0]

    def after():
        fresh = np.zeros_like(table)
        scatter_add_rows_reference(fresh, idx, dy)
        return {"checksum": checksum(fresh)}

    def run():
        if op == "step":
            grad[:] = 0
        scatter_add_rows_reference(grad, batches[turn[0] % 2], dy)
        turn[0] += 1
    return run, after


def side_torch(op, vocab, dim, n, kind, seed):
    """PyTorch: index_select, index_add_, and zero_() + index_add_ for a step."""
    import torch

    table, dy, idx = (torch.from_numpy(a) for a in make_data(vocab, dim, n, kind, seed))
    grad = torch.zeros_like(table)
    if op == "gather":
        return (lambda: torch.index_select(table, 0, idx),
                lambda: {"checksum": checksum(torch.index_select(table, 0, idx).numpy())})
    batches = [torch.from_numpy(a) for a in step_ids(vocab, n, kind, seed)] if op == "step" else (idx, idx)
    turn = [0]

    def run():
        if op == "step":
            grad.zero_()
        grad.index_add_(0, batches[turn[0] % 2], dy)
        turn[0] += 1

    def after():
        return {"checksum": checksum(torch.zeros_like(table).index_add_(0, idx, dy).numpy())}
    return run, after


# ----------------------------------------------------------------------------------------- driver
def sides_for(op, kind, args, with_torch):
    data = dict(vocab=args.vocab, dim=args.dim, n=args.n, kind=kind, seed=args.seed)
    if op == "step":
        sides = [harness.Side("minembed Embedding zero_grad+backward", "side_minembed",
                              dict(data, op=op, parallel=None)),
                 harness.Side("  same, MINEMBED_JIT=0 (NumPy reference)", "side_minembed",
                              dict(data, op=op, parallel=None), env={"MINEMBED_JIT": "0"}),
                 harness.Side("NumPy grad[:] = 0 + np.add.at", "side_numpy", dict(data, op=op))]
        return sides + ([harness.Side("torch zero_ + index_add_", "side_torch", dict(data, op=op))]
                        if with_torch else [])
    name = "gather_rows" if op == "gather" else "scatter_add_rows"
    sides = [harness.Side(f"minembed {name} (Numba, default)", "side_minembed", dict(data, op=op, parallel=None)),
             harness.Side("  same, parallel=False (serial)", "side_minembed", dict(data, op=op, parallel=False))
             if op == "gather" else
             harness.Side("  same, parallel=True (threaded)", "side_minembed", dict(data, op=op, parallel=True)),
             harness.Side("np.take (reference)" if op == "gather" else "np.add.at (reference)", "side_numpy",
                          dict(data, op=op))]
    if with_torch:
        peer = "torch.index_select" if op == "gather" else "torch.index_add_"
        sides.append(harness.Side(peer, "side_torch", dict(data, op=op)))
    return sides


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--n", type=int, default=65_536)
    ap.add_argument("--repeats", type=int, default=9, help="timed repeats per process (default %(default)s)")
    ap.add_argument("--passes", default="gather,scatter,step", help="comma list from gather,scatter,step")
    ap.add_argument("--kinds", default="zipf,uniform", help="comma list from zipf,uniform")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    harness.add_arguments(ap, rounds=3)
    args = ap.parse_args(argv)

    with_torch = harness.available("torch") and not args.no_torch
    V, D, N = args.vocab, args.dim, args.n
    row_bytes = N * D * 4
    header_done = False
    for kind in args.kinds.split(","):
        for op in args.passes.split(","):
            res = harness.measure(__file__, sides_for(op, kind, args, with_torch), args, repeats=args.repeats)
            if not header_done:
                title = (f"Embedding gather / scatter-add, V={V:,} D={D} N={N:,} float32"
                         f"{'' if with_torch else ' (torch not importable: no peer)'}")
                harness.print_header(title, res, args)
                print(f"ms = median of {args.repeats} repeats x {args.rounds} processes; GB/s = minimum bytes "
                      "moved / median time\n")
                header_done = True
            nbytes = (2 if op == "gather" else 3) * row_bytes + 8 * N
            print(f"{op} pass, {kind} indices")
            harness.print_table(res, rate=("GB/s", nbytes / 1e9))
            sums = [r.after[0]["checksum"] for r in res.values()]
            agree = all(abs(a - b) <= 1e-4 * (1 + abs(b)) for s in sums for a, b in zip(s, sums[0], strict=True))
            print(f"results agree across sides (checksums): {'yes' if agree else 'NO: ' + str(sums)}")
            if op == "step" and len(res) > 1:
                labels = list(res)
                line = "; ".join(f"{r:.2f}x {lab.strip()} (per round {lo:.2f}-{hi:.2f})" for lab in labels[1:]
                                 for r, lo, hi in [harness.speed_ratio(res, labels[0], lab)])
                print(f"minembed step speed vs: {line}")
            print()
        if kind == "zipf":
            import numpy as np

            idx = make_ids(V, N, kind, args.seed)
            print(f"(zipf: {1 - len(np.unique(idx)) / N:.0%} of the indices repeat an earlier one)\n")


if __name__ == "__main__":
    main()
