"""TinyCNN on MNIST: minembed (Numba kernels), minembed's NumPy reference path, and the identical
network in PyTorch CPU, each alone in its own fresh process (benchmarks/harness.py).

    PYTHONPATH=. python benchmarks/bench_cnn.py --mnist ../shared/data/images/mnist.npz [--epochs 3]

Batch 128, Adam lr 1e-3 (``--schedule cosine``: decayed per batch along a half cosine to 0 over all
epochs, after ``--warmup`` steps of linear warm-up; minembed's CosineSchedule on one side, torch's own
CosineAnnealingLR / LinearLR on the other), same pixel scaling (/255, then (x - 0.1307) / 0.3081) and the same
shuffling seed for both. A round is one whole training run (the epochs are its timed repeats) of each side in
its own process, with the same thread count for Numba, the BLAS and torch; the order of the sides alternates
from round to round and from seed to seed. Reported: median seconds per epoch (training only: the test
accuracy after each epoch is computed after the clock stops), test accuracy after epoch 1 and after the last
epoch, and the k-NN (k=5, cosine) test accuracy of the 64-d embeddings (each side saves them; this driver
scores both with the same minembed k-NN code). The reference path (MINEMBED_JIT=0) is timed on
``--ref-steps`` batches in one process and extrapolated to an epoch.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import harness


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
    p.add_argument("--ref-steps", type=int, default=20, help="batches timed on the reference path (0: skip)")
    p.add_argument("--no-torch", action="store_true")
    harness.add_arguments(p, rounds=1)
    return p.parse_args(argv)


# ------------------------------------------------------------------------------ sides (run in the children)
def _total_steps(epochs, batch_size, n_train):
    return epochs * ((n_train + batch_size - 1) // batch_size)


def _load(mnist):
    """The Keras-layout npz as four arrays, with NumPy only (the torch side must not import minembed)."""
    import numpy as np

    with np.load(mnist, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


class MinembedTrainer:
    """TinyCNN trained by the loop of ``TinyCNN.fit`` (:func:`minembed.nn.train.fit`: prepare, forward,
    backward, Adam step, schedule step), one epoch per call, after a warm-up fit on 256 images (compiled
    kernels loaded). ``step`` is one batch of it, for the reference side."""

    def __init__(self, mnist, batch_size, lr, schedule, warmup, epochs, seed):
        import numpy as np

        import minembed as me
        from minembed.nn import Adam, CrossEntropyLoss
        from minembed.nn.schedule import make_schedule
        from minembed.vision import TinyCNN

        (self.xtr, self.ytr), (self.xte, self.yte) = me.load_mnist(mnist)
        self.ytr64 = self.ytr.astype(np.int64)
        TinyCNN(seed=seed).fit(self.xtr[:256], self.ytr[:256], epochs=1, progress=False)
        self.model = TinyCNN(seed=seed)
        self.loss_fn, self.opt = CrossEntropyLoss(), Adam(self.model.parameters(), lr=lr)
        self.sched = make_schedule(self.opt, schedule, _total_steps(epochs, batch_size, len(self.xtr)), warmup)
        self.rng, self.batch_size = np.random.default_rng(seed), batch_size

    def step(self, idx):
        m = self.model
        xb = m.prepare(self.xtr[idx])
        self.opt.zero_grad()
        self.loss_fn(m.forward(xb), self.ytr64[idx])
        m.backward(self.loss_fn.backward())
        self.opt.step()
        self.sched.step()

    def epoch(self):
        """One epoch of TinyCNN.fit's loop (:func:`minembed.nn.train.fit`); the rng and the schedule carry over."""
        from minembed.kernels.blas import blas_threads
        from minembed.nn.train import fit

        with blas_threads(1):  # as TinyCNN.fit does by default: the Numba kernels get the cores
            fit(self.model, self.xtr, self.ytr64, loss_fn=self.loss_fn, optimizer=self.opt, schedule=self.sched,
                epochs=1, batch_size=self.batch_size, rng=self.rng, prepare=self.model.prepare, progress=False)
        return lambda: {"accuracy": self.model.accuracy(self.xte, self.yte)}  # untimed

    def save_embeddings(self, path):
        import numpy as np

        np.savez(path, train=self.model.embed(self.xtr), test=self.model.embed(self.xte))
        return {}


def side_minembed(emb_out, **cfg):
    trainer = MinembedTrainer(**cfg)
    return trainer.epoch, lambda: trainer.save_embeddings(emb_out)


def side_reference(**cfg):
    """One training batch per repeat, with MINEMBED_JIT=0 (set by the driver): the NumPy reference path."""
    trainer = MinembedTrainer(**cfg)
    order = iter(range(0, len(trainer.xtr) - cfg["batch_size"], cfg["batch_size"]))
    perm = trainer.rng.permutation(len(trainer.xtr))

    def run():
        b = next(order)
        trainer.step(perm[b:b + cfg["batch_size"]])
    return run


class TorchTrainer:
    """The identical network in PyTorch: same init scheme (PyTorch's own), scaling, batch size,
    optimizer, shuffling generator; the whole training set is a float tensor indexed per batch."""

    def __init__(self, mnist, batch_size, lr, schedule, warmup, epochs, seed):
        import numpy as np
        import torch
        from torch import nn

        self.torch, self.nn, self.batch_size = torch, nn, batch_size
        torch.manual_seed(seed)
        (xtr, self.ytr), (xte, self.yte) = _load(mnist)

        def prep(x):  # the same scaling as TinyCNN.prepare
            return torch.from_numpy(np.ascontiguousarray(((x.astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]))

        self.xt, self.xv = prep(xtr), prep(xte)
        self.yt = torch.from_numpy(self.ytr.astype(np.int64))
        warm = self.build()
        self._run(warm, torch.optim.Adam(warm.parameters(), lr=lr), np.arange(256))
        self.net = self.build()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.sched = self._schedule(schedule, warmup, _total_steps(epochs, batch_size, len(xtr)))
        self.rng = np.random.default_rng(seed)

    def _schedule(self, schedule, w, total):
        """The same lr sequence from torch's own schedulers: LinearLR (1/W -> 1 over the first W steps),
        then CosineAnnealingLR(T_max = the remaining steps), joined by SequentialLR."""
        lr_scheduler = self.torch.optim.lr_scheduler
        warm = lr_scheduler.LinearLR(self.opt, start_factor=1 / w, end_factor=1.0, total_iters=max(w - 1, 1)) \
            if w else None
        if schedule == "constant":
            return warm
        cosine = lr_scheduler.CosineAnnealingLR(self.opt, T_max=total - w)
        return lr_scheduler.SequentialLR(self.opt, [warm, cosine], milestones=[w]) if w else cosine

    def build(self):
        nn = self.nn
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def _run(self, net, opt, order, sched=None):
        torch, bs = self.torch, self.batch_size
        net.train()
        for b in range(0, len(order), bs):
            idx = torch.from_numpy(order[b:b + bs])
            opt.zero_grad()
            loss = self.nn.functional.cross_entropy(net(self.xt[idx]), self.yt[idx])
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()

    def _apply(self, part, x):
        import numpy as np

        with self.torch.no_grad():
            return np.concatenate([part(x[i:i + 1000]).numpy() for i in range(0, len(x), 1000)])

    def epoch(self):
        self._run(self.net, self.opt, self.rng.permutation(len(self.xt)), self.sched)
        self.net.eval()
        return lambda: {"accuracy": float((self._apply(self.net, self.xv).argmax(1) == self.yte).mean())}

    def save_embeddings(self, path):
        import numpy as np

        emb = self.net[:8]  # up to and including Linear(784, 64): the embedding
        np.savez(path, train=self._apply(emb, self.xt), test=self._apply(emb, self.xv))
        return {}


def side_torch(emb_out, **cfg):
    trainer = TorchTrainer(**cfg)
    return trainer.epoch, lambda: trainer.save_embeddings(emb_out)


# ----------------------------------------------------------------------------------------- driver
def main(argv=None):
    args = parse_args(argv)
    have_torch = harness.available("torch") and not args.no_torch
    data = args.mnist or "bundled subset (10k train / 2k test)"
    sched = args.schedule + (f" after {args.warmup} warm-up steps" if args.warmup else "")
    title = (f"TinyCNN on MNIST [{data}]: batch {args.batch_size}, Adam lr {args.lr} ({sched}), {args.epochs} epochs, "
             f"seed(s) {args.seeds or args.seed}" + ("" if have_torch else "; torch not importable: no peer"))
    kinds = ["minembed"] + (["torch"] if have_torch else [])
    seeds = _parse_seeds(args.seeds) if args.seeds else [args.seed]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, seed in enumerate(seeds):
            res = _run_seed(args, kinds if i % 2 == 0 else kinds[::-1], seed, tmp)
            if i == 0:
                harness.print_header(title, res, args)
            if len(seeds) > 1:
                print(f"\n== seed {seed}")
            runs.append(_summaries(args, res, tmp))
            _report(args, runs[-1])
    if len(seeds) > 1:
        _summarize(seeds, runs)


def _parse_seeds(text):
    """'0-9' -> [0, ..., 9]; '0,3,5' -> [0, 3, 5]."""
    if "-" in text:
        lo, hi = (int(t) for t in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(t) for t in text.split(",")]


def _run_seed(args, kinds, seed, tmp):
    """Every side in ``kinds`` order for ``args.rounds`` rounds (a round: a whole training run in a fresh
    process, the epochs its timed repeats), then the reference path on a few batches."""
    from minembed.datasets.images import DATA_DIR

    mnist = Path(args.mnist).resolve() if args.mnist else DATA_DIR / "mnist_sample.npz"
    cfg = dict(mnist=str(mnist), batch_size=args.batch_size, lr=args.lr,
               schedule=args.schedule, warmup=args.warmup, epochs=args.epochs, seed=seed)
    sides = [harness.Side(k, f"side_{k}", dict(cfg, emb_out=f"{tmp}/{k}.npz")) for k in kinds]
    res = harness.measure(__file__, sides, args, repeats=args.epochs, warmup=0)
    if args.ref_steps:
        side = harness.Side("reference", "side_reference", cfg, env={"MINEMBED_JIT": "0"})
        res.update(harness.measure(__file__, [side], args, repeats=args.ref_steps, warmup=2, rounds=1))
    return res


def _summaries(args, res, tmp):
    """Per side: epoch seconds (every epoch of every round), CPU seconds, the first round's test accuracy
    after each epoch, and the k-NN accuracy of the last round's saved embeddings (minembed's k-NN for both)."""
    import numpy as np

    from minembed import load_mnist
    from minembed.vision import knn_accuracy

    (_, ytr), (_, yte) = load_mnist(args.mnist)
    out = {}
    for k, r in res.items():
        if k == "reference":
            n_batches = (len(ytr) + args.batch_size - 1) // args.batch_size
            out[k] = {"seconds": [r.median() * n_batches], "cpu": [r.median("cpu") * n_batches]}
            continue
        with np.load(f"{tmp}/{k}.npz") as emb:
            knn = knn_accuracy(emb["train"], ytr, emb["test"], yte, k=5)
        out[k] = {"seconds": r.times(), "cpu": r.times("cpu"), "knn": knn,
                  "accuracy": [e["accuracy"] for e in r.extras[0]]}
    return out


NAMES = {"minembed": "minembed", "reference": "mm reference", "torch": "pytorch cpu"}


def _report(args, res):
    import numpy as np

    med = {k: float(np.median(v["seconds"])) for k, v in res.items()}
    last = args.epochs
    rows = [("s/epoch (median)", {k: f"{med[k]:.2f}" + (" *" if k == "reference" else "") for k in med}),
            ("  min-max", {k: f"{min(v['seconds']):.2f}-{max(v['seconds']):.2f}" for k, v in res.items()})]
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
    print("CPU seconds per epoch (median): " + "; ".join(f"{NAMES[k]} {statistics.median(v['cpu']):.2f}"
                                                         for k, v in res.items()))
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
