"""TinyCNN on MNIST: minembed (Numba kernels), minembed's NumPy reference path, and the identical
network in PyTorch CPU, side by side in one run.

    PYTHONPATH=. python benchmarks/bench_cnn.py --mnist ../shared/data/images/mnist.npz [--epochs 3]

Batch 128, Adam lr 1e-3, same pixel scaling (/255, then (x - 0.1307) / 0.3081) and the same
shuffling seed for both. Each side runs in its own subprocess with the same thread count
(numba's by default; ``--threads``) for Numba, for the BLAS under NumPy and for torch, so their
thread pools cannot disturb each other. Reported: median seconds per epoch (training only), test
accuracy after epoch 1 and after the last epoch, and the k-NN (k=5, cosine) test accuracy of the
64-d embeddings (the same NumPy k-NN code for both). The reference path (MINEMBED_JIT=0) is timed
on a few batches only and extrapolated to an epoch.
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
    p.add_argument("--seed", type=int, default=0)
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


def worker_minembed(args):
    from minembed.vision import TinyCNN

    (xtr, ytr), (xte, yte) = _data(args)
    model = TinyCNN(seed=args.seed)
    model.fit(xtr[:256], ytr[:256], epochs=1, progress=False)  # compile / load the kernels outside the timing
    model = TinyCNN(seed=args.seed)
    hist = model.fit(xtr, ytr, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, x_test=xte, y_test=yte,
                     seed=args.seed, progress=False)
    model.eval()
    start = time.perf_counter()
    knn = _knn(model.embed(xtr), ytr, model.embed(xte), yte)
    return {"seconds": hist["seconds"], "accuracy": hist["test_accuracy"], "knn": knn,
            "knn_seconds": time.perf_counter() - start}


def worker_reference(args):
    import numpy as np

    from minembed.nn import Adam, CrossEntropyLoss
    from minembed.vision import TinyCNN

    (xtr, ytr), _ = _data(args)
    model = TinyCNN(seed=args.seed)
    loss_fn, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=args.lr)
    order = np.random.default_rng(args.seed).permutation(len(xtr))
    times = []
    for b in range(args.ref_steps + 2):
        idx = order[b * args.batch_size:(b + 1) * args.batch_size]
        start = time.perf_counter()
        xb = model.prepare(xtr[idx])
        opt.zero_grad()
        loss_fn(model.forward(xb), ytr[idx].astype(np.int64))
        model.backward(loss_fn.backward())
        opt.step()
        times.append(time.perf_counter() - start)
    per_step = float(np.median(times[2:]))
    return {"seconds": [per_step * ((len(xtr) + args.batch_size - 1) // args.batch_size)]}


def worker_torch(args, threads):
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    (xtr, ytr), (xte, yte) = _data(args)

    def prep(x):  # the same scaling as TinyCNN.prepare
        return torch.from_numpy(np.ascontiguousarray(((x.astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None]))

    xt, xv = prep(xtr), prep(xte)
    yt = torch.from_numpy(ytr.astype(np.int64))

    def build():
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))

    def run_epoch(net, opt, order):
        start = time.perf_counter()
        net.train()
        for b in range(0, len(order), args.batch_size):
            idx = torch.from_numpy(order[b:b + args.batch_size])
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    def embed(net, x):
        with torch.no_grad():
            return np.concatenate([net[:8](x[i:i + 1000]).numpy() for i in range(0, len(x), 1000)])

    warm = build()
    run_epoch(warm, torch.optim.Adam(warm.parameters(), lr=args.lr), np.arange(256))
    net = build()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    seconds, accuracy = [], []
    for _ in range(args.epochs):
        seconds.append(run_epoch(net, opt, rng.permutation(len(xtr))))
        net.eval()
        with torch.no_grad():
            pred = np.concatenate([net(xv[i:i + 1000]).argmax(1).numpy() for i in range(0, len(xv), 1000)])
        accuracy.append(float((pred == yte).mean()))
    net.eval()
    knn = _knn(embed(net, xt), ytr, embed(net, xv), yte)
    return {"seconds": seconds, "accuracy": accuracy, "knn": knn}


# ------------------------------------------------------------------------------- driver
def run_worker(kind, args, threads):
    env = dict(os.environ)
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if kind == "reference":
        env["MINEMBED_JIT"] = "0"
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--epochs", str(args.epochs),
           "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--seed", str(args.seed),
           "--threads", str(threads), "--ref-steps", str(args.ref_steps)]
    if args.mnist:
        cmd += ["--mnist", args.mnist]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        threads = args.threads or 1
        fn = {"minembed": worker_minembed, "reference": worker_reference}.get(args.worker)
        result = fn(args) if fn else worker_torch(args, threads)
        print(json.dumps(result))
        return
    import numpy as np

    if args.threads is None:
        import numba

        args.threads = numba.get_num_threads()
    try:
        import torch  # noqa: F401

        have_torch = not args.no_torch
    except ImportError:
        have_torch = False
    data = args.mnist or "bundled subset (10k train / 2k test)"
    print(f"TinyCNN on MNIST [{data}]: batch {args.batch_size}, Adam lr {args.lr}, {args.epochs} epochs, "
          f"{args.threads} thread(s) for every side")
    kinds = ["minembed"] + (["torch"] if have_torch else []) + (["reference"] if args.ref_steps else [])
    res = {}
    for kind in kinds:
        res[kind] = run_worker(kind, args, args.threads)
        print(f"  [{kind} done] {json.dumps(res[kind])}", file=sys.stderr, flush=True)

    med = {k: float(np.median(v["seconds"])) for k, v in res.items()}
    last = args.epochs
    rows = [("s/epoch (median)", {k: f"{med[k]:.2f}" + (" *" if k == "reference" else "") for k in med})]
    for ep in sorted({1, last}):
        rows.append((f"test acc after epoch {ep}",
                     {k: f"{v['accuracy'][ep - 1]:.2%}" for k, v in res.items() if "accuracy" in v}))
    rows.append(("k-NN (k=5) test acc", {k: f"{v['knn']:.2%}" for k, v in res.items() if "knn" in v}))
    cols = [k for k in ("minembed", "reference", "torch") if k in res]
    names = {"minembed": "minembed", "reference": "mm reference", "torch": "pytorch cpu"}
    print(f"{'':26s}" + "".join(f"{names[c]:>15s}" for c in cols))
    for label, vals in rows:
        print(f"{label:26s}" + "".join(f"{vals.get(c, '-'):>15s}" for c in cols))
    print("per-epoch seconds: " + "; ".join(f"{names[k]} {', '.join(f'{s:.2f}' for s in v['seconds'])}"
                                           for k, v in res.items()))
    if "reference" in res:
        print(f"* reference path (MINEMBED_JIT=0) extrapolated from {args.ref_steps} batches; "
              f"ratio to minembed {med['reference'] / med['minembed']:.2f}x")
    m = res["minembed"]
    print(f"k-NN over {'60,000' if args.mnist else '10,000'} training embeddings took {m['knn_seconds']:.1f} s "
          "(embedding both sets + cosine top-5)")
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


if __name__ == "__main__":
    main()
