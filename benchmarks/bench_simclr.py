"""SimCLR on MNIST: training throughput against an identical PyTorch CPU twin, and the quality of the embedding.

    # throughput: image pairs per second, each side alone in its own fresh process (benchmarks/harness.py)
    PYTHONPATH=. python benchmarks/bench_simclr.py speed [--threads 2] [--rounds 3] [--steps 10]
    # quality on full MNIST (minembed only): linear evaluation, k-NN, frozen vs fine-tuned vs scratch
    PYTHONPATH=. python benchmarks/bench_simclr.py quality --mnist ../shared/data/images/mnist.npz --epochs 8

speed: one timed repeat = ``--steps`` training steps of ``--batch-size`` images (so that many pairs of
views) through the whole step: augment both views, forward, NT-Xent, backward, Adam. minembed runs
``SimCLR.fit`` (the one loop, :func:`minembed.nn.train.fit`) over ``steps x batch`` images; the twin is the
same network (TinyCNN conv 1→8, conv 8→16, each ReLU + 2x2 max-pool, Linear 784→64, head ReLU →
Linear 64→64 → ReLU → Linear 64→64), the same NT-Xent (temperature 0.2), Adam lr 1e-3 and the same
augmentation recipe (a random affine map per view — resized crop, shift, rotation, shear — drawn with
NumPy by the same formulas, applied by ``F.affine_grid`` + ``F.grid_sample`` (bilinear, zero padding),
then Gaussian noise and cutout in torch). Both sides get the same thread count; the torch side never
imports minembed.

quality: ``SimCLR()`` (the default configuration) trained on the 60,000 training images for ``--epochs``
epochs at batch 256 (the time per epoch is printed), then: logistic regression on the frozen 64-d
embeddings with all labels (and on raw pixels, for reference), k-NN (k=5), and the label-budget table
(100, 1,000, all labels: frozen / fine-tuned / same network from scratch).
"""
from __future__ import annotations

import argparse
import time

import harness

TEMPERATURE, LR = 0.2, 1e-3


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["speed", "quality"])
    p.add_argument("--mnist", default=None, help="Keras-format mnist.npz (default: the bundled 10k/2k subset)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=10, help="speed: training steps per timed repeat")
    p.add_argument("--repeats", type=int, default=3, help="speed: timed repeats per process")
    p.add_argument("--epochs", type=int, default=8, help="quality: SimCLR epochs over the training images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-torch", action="store_true")
    harness.add_arguments(p, rounds=2)
    return p.parse_args(argv)


def _images(mnist, n):
    import numpy as np

    if mnist is None:
        from pathlib import Path
        mnist = Path(__file__).resolve().parent.parent / "minembed" / "datasets" / "data" / "mnist_sample.npz"
    with np.load(mnist, allow_pickle=False) as f:
        return f["x_train"][:n]


# ------------------------------------------------------------------------------ speed sides (children)
def side_minembed(mnist, batch_size, steps, seed):
    from minembed.vision import SimCLR

    x = _images(mnist, batch_size * steps)
    model = SimCLR(seed=seed, temperature=TEMPERATURE)
    model.fit(x[:2 * batch_size], epochs=1, batch_size=batch_size, lr=LR, progress=False)   # compile, untimed

    def run():
        model.fit(x, epochs=1, batch_size=batch_size, lr=LR, progress=False, seed=seed)
    return run


def draw_matrices(rng, n, size=28, crop_scale=(0.6, 1.0), crop_ratio=(0.8, 1.25), max_shift=2.0, degrees=12.0,
                  shear=10.0):
    """The random inverse maps of minembed.vision.Augment (same formulas, same defaults), in NumPy only:
    (n, 2, 3) mapping an output pixel (x, y, 1) to the input place it reads."""
    import numpy as np

    area = rng.uniform(*crop_scale, n)
    ratio = np.exp(rng.uniform(np.log(crop_ratio[0]), np.log(crop_ratio[1]), n))
    bw, bh = np.minimum(np.sqrt(area * ratio), 1.0), np.minimum(np.sqrt(area / ratio), 1.0)
    cx = -0.5 + size * (bw / 2 + rng.uniform(0, 1, n) * (1 - bw))
    cy = -0.5 + size * (bh / 2 + rng.uniform(0, 1, n) * (1 - bh))
    cx -= rng.uniform(-max_shift, max_shift, n)
    cy -= rng.uniform(-max_shift, max_shift, n)
    t = np.deg2rad(rng.uniform(-degrees, degrees, n))
    k = np.tan(np.deg2rad(rng.uniform(-shear, shear, n)))
    c, s = np.cos(t), np.sin(t)
    lin = np.stack([np.stack([bw * c, bw * (c * k + s)], -1), np.stack([-bh * s, bh * (c - s * k)], -1)], 1)
    m = (size - 1) / 2
    out = np.empty((n, 2, 3))
    out[:, :, :2] = lin
    out[:, 0, 2] = cx - lin[:, 0, 0] * m - lin[:, 0, 1] * m
    out[:, 1, 2] = cy - lin[:, 1, 0] * m - lin[:, 1, 1] * m
    return out


def to_theta(mats, size=28):
    """Pixel-space inverse maps -> affine_grid's thetas (normalised coordinates, align_corners=False):
    x_norm = (2 x + 1) / size - 1, so theta = N A N^-1 with N = [[2/size, 0, 1/size - 1], [0, 2/size, ...]]."""
    import numpy as np

    norm = np.array([[2 / size, 0, 1 / size - 1], [0, 2 / size, 1 / size - 1], [0, 0, 1]])
    inv = np.linalg.inv(norm)
    full = np.concatenate([mats, np.broadcast_to([[[0, 0, 1]]], (len(mats), 1, 3))], axis=1)
    return (norm @ full @ inv)[:, :2]


def side_torch(mnist, batch_size, steps, seed):
    import numpy as np
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(seed)
    x_all = torch.from_numpy(_images(mnist, batch_size * steps).astype(np.float32) / 255)[:, None]
    backbone = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(784, 64))
    head = nn.Sequential(nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64))
    net = nn.Sequential(backbone, head)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    rng = np.random.default_rng([seed, 1])
    rows = torch.arange(28)

    def views(xb):
        n = len(xb)
        theta = torch.from_numpy(to_theta(draw_matrices(rng, n)).astype(np.float32))
        grid = F.affine_grid(theta, (n, 1, 28, 28), align_corners=False)
        v = F.grid_sample(xb, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        v = v + 0.05 * torch.randn_like(v)
        hit = torch.from_numpy(rng.uniform(0, 1, n) < 0.5)
        top = torch.from_numpy(rng.integers(0, 28, n) - 4)
        left = torch.from_numpy(rng.integers(0, 28, n) - 4)
        in_r = (rows[None] >= top[:, None]) & (rows[None] < top[:, None] + 8)
        in_c = (rows[None] >= left[:, None]) & (rows[None] < left[:, None] + 8)
        mask = hit[:, None, None] & in_r[:, :, None] & in_c[:, None, :]
        v = v.masked_fill(mask[:, None], 0.0).clamp_(0, 1)
        return (v - 0.1307) / 0.3081

    def ntxent(z):
        u = F.normalize(z, dim=1)
        s = (u @ u.T / TEMPERATURE).masked_fill(torch.eye(len(z), dtype=torch.bool), float("-inf"))
        m = len(z) // 2
        return F.cross_entropy(s, torch.cat([torch.arange(m, 2 * m), torch.arange(m)]))

    def epoch():
        order = torch.from_numpy(rng.permutation(len(x_all)))
        for b in range(0, len(x_all), batch_size):
            xb = x_all[order[b:b + batch_size]]
            with torch.no_grad():
                v = torch.cat([views(xb), views(xb)])
            opt.zero_grad()
            loss = ntxent(net(v))
            loss.backward()
            opt.step()

    x_full = x_all
    x_all = x_full[:2 * batch_size]
    epoch()                                    # warm-up, untimed
    x_all = x_full
    return epoch


def speed(args):
    have_torch = harness.available("torch") and not args.no_torch
    cfg = dict(mnist=args.mnist, batch_size=args.batch_size, steps=args.steps, seed=args.seed)
    sides = [harness.Side("minembed SimCLR.fit", "side_minembed", cfg)]
    if have_torch:
        sides.append(harness.Side("pytorch cpu twin", "side_torch", cfg))
    res = harness.measure(__file__, sides, args, repeats=args.repeats, warmup=0)
    pairs = args.batch_size * args.steps
    harness.print_header(f"SimCLR training step (TinyCNN + head, batch {args.batch_size} images = "
                         f"{args.batch_size} pairs, {args.steps} steps per repeat)", res, args)
    harness.print_table(res, unit="s", scale=1.0, rate=("pairs/s", pairs))
    rate = {k: pairs / r.median() for k, r in res.items()}
    for k, v in rate.items():
        print(f"{k}: {v:.0f} pairs/s")
    if have_torch:
        ratio, lo, hi = harness.speed_ratio(res, "minembed SimCLR.fit", "pytorch cpu twin")
        print(f"minembed / pytorch throughput: {ratio:.2f}x (per-round range {lo:.2f}-{hi:.2f}x; target >= 1.0x)")


# ------------------------------------------------------------------------------------------- quality
def quality(args):
    import os

    import numpy as np

    import minembed as me
    from minembed.nn.train import Callback
    from minembed.vision import SimCLR, knn_accuracy, label_budgets, linear_evaluation

    class Print(Callback):
        def on_epoch_end(self, model):
            h = model.history
            print(f"  epoch {h['epoch'][-1]}: loss {h['train_loss'][-1]:.4f}, {h['seconds'][-1]:.0f} s", flush=True)

    (xtr, ytr), (xte, yte) = me.load_mnist(args.mnist)
    print(f"data: {args.mnist or 'bundled subset'} ({len(xtr)} train / {len(xte)} test); "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 255  # noqa: E731
    model = SimCLR(seed=args.seed)
    start = time.perf_counter()
    model.fit(xtr, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, progress=False,
              callbacks=[Print()])
    train_s = time.perf_counter() - start
    print(f"SimCLR default config, {args.epochs} epochs at batch {args.batch_size}: {train_s:.0f} s "
          f"({train_s / args.epochs:.0f} s per epoch, {len(xtr) * args.epochs / train_s:.0f} pairs/s); "
          f"load average {os.getloadavg()[0]:.2f} now")
    etr, ete = model.embed(xtr), model.embed(xte)
    lin = linear_evaluation(etr, ytr, ete, yte, epochs=30)
    raw = linear_evaluation(flat(xtr), ytr, flat(xte), yte, epochs=30)
    knn = knn_accuracy(etr, ytr, ete, yte, k=5)
    print(f"linear evaluation (frozen 64-d, all labels): {lin:.2%} (target >= 97%); raw pixels: {raw:.2%}; "
          f"k-NN (k=5): {knn:.2%}")
    rows = label_budgets(model, xtr, ytr, xte, yte, budgets=(100, 1000, None), steps=300, seed=args.seed)
    print(f"{'labels':>8s}{'frozen':>10s}{'fine-tuned':>12s}{'scratch':>10s}")
    for r in rows:
        print(f"{r['labels']:8d}{r['frozen']:10.2%}{r['fine_tuned']:12.2%}{r['scratch']:10.2%}")
    print(f"100 labels, best of frozen / fine-tuned: {max(rows[0]['frozen'], rows[0]['fine_tuned']):.2%} "
          f"(target >= 92%); load average {os.getloadavg()[0]:.2f} at the end")


def main(argv=None):
    args = parse_args(argv)
    speed(args) if args.mode == "speed" else quality(args)


if __name__ == "__main__":
    main()
