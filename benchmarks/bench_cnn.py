"""TinyCNN on MNIST: minembed (Numba kernels), minembed's NumPy reference path, and the identical
network in PyTorch CPU, side by side in one run.

    PYTHONPATH=. python benchmarks/bench_cnn.py --mnist ../shared/data/images/mnist.npz [--epochs 3]

Batch 128, Adam lr 1e-3 (``--schedule cosine``: decayed per batch along a half cosine to 0 over all
epochs, after ``--warmup`` steps of linear warm-up; minembed's CosineSchedule on one side, torch's own
CosineAnnealingLR / LinearLR on the other), same pixel scaling (/255, then (x - 0.1307) / 0.3081) and the same
shuffling seed for both. Each side runs in its own subprocess with the same thread count
(numba's by default; ``--threads``) for Numba, for the BLAS under NumPy and for torch, so their
thread pools cannot disturb each other, and the driver alternates their epochs (minembed epoch 1,
torch epoch 1, minembed epoch 2, ...) so that both see the same load on a shared machine.
Reported: median seconds per epoch (training only), test accuracy after epoch 1 and after the last
epoch, and the k-NN (k=5, cosine) test accuracy of the 64-d embeddings (the same NumPy k-NN code for
both). The reference path (MINEMBED_JIT=0) is timed on a few batches only and extrapolated to an epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", default=None, help="Keras-format mnist.npz (default: the bundled 10k/2k subset)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                   help="learning rate per batch: constant, or cosine decay to 0 over all epochs (both sides)")
    p.add_argument("--warmup", type=int, default=0, help="steps of linear lr warm-up before the schedule (both sides)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", default=None,
                   help="run several seeds one after the other, e.g. 0-9 or 0,3,5, and add a summary over them "
                        "(mean and spread of the accuracies, median epoch-time ratio)")
    p.add_argument("--threads", type=int, default=None, help="threads for every side (default: numba's count)")
    p.add_argument("--ref-steps", type=int, default=20, help="batches timed on the reference path (0: skip)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--worker", choices=["minembed", "reference", "torch"], help=argparse.SUPPRESS)
    return p.parse_args(argv)


# ----------------------------------------------------------------------------- workers
def _data(args):
    import minembed as me

    return me.load_mnist(args.mnist)


def _knn(train_emb, ytr, test_emb, yte):
    from minembed.vision import knn_accuracy

    return knn_accuracy(train_emb, ytr, test_emb, yte, k=5)


def _total_steps(args, n_train):
    return args.epochs * ((n_train + args.batch_size - 1) // args.batch_size)


def _minembed_schedule(opt, args, n_train):
    """minembed's CosineSchedule for ``--schedule`` / ``--warmup`` ("constant": min_lr = lr, flat after any warm-up)."""
    from minembed.nn import CosineSchedule

    return CosineSchedule(opt, _total_steps(args, n_train), args.warmup,
                          min_lr=0.0 if args.schedule == "cosine" else args.lr)


def _torch_schedule(torch, opt, args, n_train):
    """The same lr sequence from torch's own schedulers: LinearLR (1/W -> 1 over the first W steps),
    then CosineAnnealingLR(T_max = the remaining steps), joined by SequentialLR."""
    lr_scheduler = torch.optim.lr_scheduler
    total, w = _total_steps(args, n_train), args.warmup
    warm = lr_scheduler.LinearLR(opt, start_factor=1 / w, end_factor=1.0, total_iters=max(w - 1, 1)) if w else None
    if args.schedule == "constant":
        return warm
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=total - w)
    return lr_scheduler.SequentialLR(opt, [warm, cosine], milestones=[w]) if w else cosine


class MinembedSide:
    """TinyCNN trained with exactly the loop of ``TinyCNN.fit`` (prepare, forward, backward, Adam step),
    one epoch per request, so that the driver can alternate epochs with the PyTorch side."""

    def __init__(self, args):
        import numpy as np

        from minembed.nn import Adam, CrossEntropyLoss
        from minembed.vision import TinyCNN

        self.args = args
        (self.xtr, self.ytr), (self.xte, self.yte) = _data(args)
        self.ytr64 = self.ytr.astype(np.int64)
        warm = TinyCNN(seed=args.seed)
        warm.fit(self.xtr[:256], self.ytr[:256], epochs=1, progress=False)  # compile / load kernels untimed
        self.model = TinyCNN(seed=args.seed)
        self.loss_fn, self.opt = CrossEntropyLoss(), Adam(self.model.parameters(), lr=args.lr)
        self.sched = _minembed_schedule(self.opt, args, len(self.xtr))
        self.rng = np.random.default_rng(args.seed)

    def epoch(self):
        from minembed.kernels.blas import blas_threads

        m, bs = self.model, self.args.batch_size
        order = self.rng.permutation(len(self.xtr))
        m.train()
        start = time.perf_counter()
        with blas_threads(1):  # as TinyCNN.fit does by default: the Numba kernels get the cores
            for b in range(0, len(order), bs):
                idx = order[b:b + bs]
                xb = m.prepare(self.xtr[idx])
                self.opt.zero_grad()
                self.loss_fn(m.forward(xb), self.ytr64[idx])
                m.backward(self.loss_fn.backward())
                self.opt.step()
                self.sched.step()
        seconds = time.perf_counter() - start
        m.eval()
        return {"seconds": seconds, "accuracy": m.accuracy(self.xte, self.yte)}

    def knn(self):
        start = time.perf_counter()
        knn = _knn(self.model.embed(self.xtr), self.ytr, self.model.embed(self.xte), self.yte)
        return {"knn": knn, "knn_seconds": time.perf_counter() - start}


class ReferenceSide(MinembedSide):
    """The same loop with MINEMBED_JIT=0 (set by the driver), timed on ``--ref-steps`` batches only."""

    def epoch(self):
        import numpy as np

        m, bs = self.model, self.args.batch_size
        order = self.rng.permutation(len(self.xtr))
        times = []
        for b in range(self.args.ref_steps + 2):
            idx = order[b * bs:(b + 1) * bs]
            start = time.perf_counter()
            xb = m.prepare(self.xtr[idx])
            self.opt.zero_grad()
            self.loss_fn(m.forward(xb), self.ytr64[idx])
            m.backward(self.loss_fn.backward())
            self.opt.step()
            times.append(time.perf_counter() - start)
        n_batches = (len(self.xtr) + bs - 1) // bs
        return {"seconds": float(np.median(times[2:])) * n_batches}


class TorchSide:
    """The identical network in PyTorch: same init scheme (PyTorch's own), scaling, batch size,
    optimizer, shuffling generator; the whole training set is a float tensor indexed per batch."""

    def __init__(self, args):
        import numpy as np
        import torch
        from torch import nn

        self.torch, self.nn, self.args = torch, nn, args
        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        (xtr, self.ytr), (xte, self.yte) = _data(args)

        def prep(x):  # the same scaling as TinyCNN.prepare
            return torch.from_numpy(np.ascontiguousarray(((x.astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]))

        self.xt, self.xv = prep(xtr), prep(xte)
        self.yt = torch.from_numpy(self.ytr.astype(np.int64))
        warm = self.build()
        self._run(warm, torch.optim.Adam(warm.parameters(), lr=args.lr), np.arange(256))
        self.net = self.build()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=args.lr)
        self.sched = _torch_schedule(torch, self.opt, args, len(xtr))
        self.rng = np.random.default_rng(args.seed)

    def build(self):
        nn = self.nn
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def _run(self, net, opt, order, sched=None):
        torch, bs = self.torch, self.args.batch_size
        start = time.perf_counter()
        net.train()
        for b in range(0, len(order), bs):
            idx = torch.from_numpy(order[b:b + bs])
            opt.zero_grad()
            loss = self.nn.functional.cross_entropy(net(self.xt[idx]), self.yt[idx])
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        return time.perf_counter() - start

    def _apply(self, part, x):
        import numpy as np

        with self.torch.no_grad():
            return np.concatenate([part(x[i:i + 1000]).numpy() for i in range(0, len(x), 1000)])

    def epoch(self):
        seconds = self._run(self.net, self.opt, self.rng.permutation(len(self.xt)), self.sched)
        self.net.eval()
        pred = self._apply(self.net, self.xv).argmax(1)
        return {"seconds": seconds, "accuracy": float((pred == self.yte).mean())}

    def knn(self):
        start = time.perf_counter()
        emb = self.net[:8]  # up to and including Linear(784, 64): the embedding
        knn = _knn(self._apply(emb, self.xt), self.ytr, self._apply(emb, self.xv), self.yte)
        return {"knn": knn, "knn_seconds": time.perf_counter() - start}


def serve(args):
    """Worker loop: build the side, then answer 'epoch' / 'knn' lines on stdin with JSON lines."""
    side = {"minembed": MinembedSide, "reference": ReferenceSide, "torch": TorchSide}[args.worker](args)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        print(json.dumps(getattr(side, cmd)()), flush=True)


# ------------------------------------------------------------------------------- driver
class Worker:
    """One side in its own process (own thread pools), driven line by line."""

    def __init__(self, kind, args, threads):
        env = dict(os.environ)
        for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        if kind == "reference":
            env["MINEMBED_JIT"] = "0"
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--batch-size", str(args.batch_size),
               "--lr", str(args.lr), "--seed", str(args.seed), "--threads", str(threads),
               "--epochs", str(args.epochs), "--schedule", args.schedule, "--warmup", str(args.warmup),
               "--ref-steps", str(args.ref_steps)]
        if args.mnist:
            cmd += ["--mnist", os.path.abspath(args.mnist)]
        self.kind = kind
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.kind} worker died (exit code {self.proc.wait()}); see its stderr above")
        return json.loads(line)

    def ask(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait()


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        args.threads = args.threads or 1
        serve(args)
        return

    if args.threads is None:
        import numba

        args.threads = numba.get_num_threads()
    try:
        import torch  # noqa: F401

        have_torch = not args.no_torch
    except ImportError:
        have_torch = False
    data = args.mnist or "bundled subset (10k train / 2k test)"
    sched = args.schedule + (f" after {args.warmup} warm-up steps" if args.warmup else "")
    print(f"TinyCNN on MNIST [{data}]: batch {args.batch_size}, Adam lr {args.lr} ({sched}), {args.epochs} epochs, "
          f"seed(s) {args.seeds or args.seed}, "
          f"{args.threads} thread(s) for every side")
    kinds = ["minembed"] + (["torch"] if have_torch else [])
    seeds = _parse_seeds(args.seeds) if args.seeds else [args.seed]
    runs = []
    for seed in seeds:
        args.seed = seed
        if len(seeds) > 1:
            print(f"\n== seed {seed}")
        runs.append(_run_seed(args, kinds))
        _report(args, runs[-1])
    if len(seeds) > 1:
        _summarize(seeds, runs)


def _parse_seeds(text):
    """'0-9' -> [0, ..., 9]; '0,3,5' -> [0, 3, 5]."""
    if "-" in text:
        lo, hi = (int(t) for t in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(t) for t in text.split(",")]


def _run_seed(args, kinds):
    workers = {k: Worker(k, args, args.threads) for k in kinds}
    res = {k: {"seconds": [], "accuracy": []} for k in kinds}
    for ep in range(1, args.epochs + 1):  # alternate epochs so that both sides see the same machine load
        for k, w in workers.items():
            r = w.ask("epoch")
            res[k]["seconds"].append(r["seconds"])
            res[k]["accuracy"].append(r["accuracy"])
            print(f"  [epoch {ep}] {k}: {r['seconds']:.2f} s, test accuracy {r['accuracy']:.2%}",
                  file=sys.stderr, flush=True)
    for k, w in workers.items():
        res[k].update(w.ask("knn"))
        w.close()
    if args.ref_steps:
        w = Worker("reference", args, args.threads)
        res["reference"] = {"seconds": [w.ask("epoch")["seconds"]]}
        w.close()
    return res


NAMES = {"minembed": "minembed", "reference": "mm reference", "torch": "pytorch cpu"}


def _report(args, res):
    import numpy as np

    med = {k: float(np.median(v["seconds"])) for k, v in res.items()}
    last = args.epochs
    rows = [("s/epoch (median)", {k: f"{med[k]:.2f}" + (" *" if k == "reference" else "") for k in med})]
    for ep in sorted({1, last}):
        rows.append((f"test acc after epoch {ep}",
                     {k: f"{v['accuracy'][ep - 1]:.2%}" for k, v in res.items() if "accuracy" in v}))
    rows.append(("k-NN (k=5) test acc", {k: f"{v['knn']:.2%}" for k, v in res.items() if "knn" in v}))
    cols = [k for k in ("minembed", "reference", "torch") if k in res]
    print(f"{'':26s}" + "".join(f"{NAMES[c]:>15s}" for c in cols))
    for label, vals in rows:
        print(f"{label:26s}" + "".join(f"{vals.get(c, '-'):>15s}" for c in cols))
    print("per-epoch seconds: " + "; ".join(f"{NAMES[k]} {', '.join(f'{s:.2f}' for s in v['seconds'])}"
                                           for k, v in res.items()))
    if "reference" in res:
        print(f"* reference path (MINEMBED_JIT=0) extrapolated from {args.ref_steps} batches; "
              f"ratio to minembed {med['reference'] / med['minembed']:.2f}x")
    m = res["minembed"]
    print(f"k-NN: embedding both sets + cosine top-5 over {len(_data(args)[0][0]):,} training images took "
          + "; ".join(f"{NAMES[k]} {v['knn_seconds']:.1f} s" for k, v in res.items() if "knn_seconds" in v))
    acc_last = m["accuracy"][-1]
    verdict = []
    if "torch" in res:
        ratio = med["minembed"] / med["torch"]
        print(f"ratio minembed / pytorch seconds per epoch: {ratio:.2f}x  (target <= 1.5x)")
        verdict.append(f"epoch time {'MET' if ratio <= 1.5 else 'NOT met'}")
    if last >= 3:
        verdict.append(f"accuracy after 3 epochs {m['accuracy'][2]:.2%} "
                       f"{'MET' if m['accuracy'][2] >= 0.985 else 'NOT met'} (target >= 98.5%)")
    verdict.append(f"k-NN {m['knn']:.2%} {'MET' if m['knn'] >= 0.98 else 'NOT met'} (target >= 98%)")
    print("targets: " + "; ".join(verdict) + f"  [last-epoch accuracy {acc_last:.2%}]")


def _summarize(seeds, runs):
    """Over all seeds: accuracies as mean ± standard deviation (and how many seeds reach 98.5% after the
    last epoch), and the median over seeds of each seed's epoch-time ratio."""
    import numpy as np

    print(f"\n== summary over {len(seeds)} seeds ({seeds[0]}..{seeds[-1]})")
    kinds = [k for k in ("minembed", "torch") if k in runs[0]]
    for k in kinds:
        first = np.array([r[k]["accuracy"][0] for r in runs]) * 100
        last = np.array([r[k]["accuracy"][-1] for r in runs]) * 100
        knn = np.array([r[k]["knn"] for r in runs]) * 100
        print(f"{NAMES[k]:>12s}: acc after epoch 1 {first.mean():.2f} ± {first.std(ddof=1):.2f}%, "
              f"after the last epoch {last.mean():.2f} ± {last.std(ddof=1):.2f}% "
              f"(min {last.min():.2f}, max {last.max():.2f}; >= 98.5% in {int((last >= 98.5).sum())} of {len(seeds)}), "
              f"k-NN {knn.mean():.2f} ± {knn.std(ddof=1):.2f}%")
    if "torch" in kinds:
        ratios = [np.median(r["minembed"]["seconds"]) / np.median(r["torch"]["seconds"]) for r in runs]
        diff = np.array([r["minembed"]["accuracy"][-1] - r["torch"]["accuracy"][-1] for r in runs]) * 100
        print(f"epoch-time ratio minembed / pytorch, median over seeds: {np.median(ratios):.2f}x "
              f"(range {min(ratios):.2f}-{max(ratios):.2f}x)")
        print(f"last-epoch accuracy, minembed - pytorch, same seed: mean {diff.mean():+.2f} pt "
              f"(standard error {diff.std(ddof=1) / np.sqrt(len(diff)):.2f})")


if __name__ == "__main__":
    main()
