"""SimCLR on MNIST: training throughput against an identical PyTorch CPU twin, and the quality of the embedding.

    # throughput: image pairs per second, each side alone in its own fresh process (benchmarks/harness.py)
    PYTHONPATH=. python benchmarks/bench_simclr.py speed [--threads 2] [--rounds 3] [--steps 10]
    # quality on full MNIST (minembed only): linear evaluation, k-NN, frozen vs fine-tuned vs scratch
    PYTHONPATH=. python benchmarks/bench_simclr.py quality --mnist ../shared/data/images/mnist.npz --epochs 8 \
        --save simclr.npz                  # the model after every epoch (an interrupted run keeps the last one)
    PYTHONPATH=. python benchmarks/bench_simclr.py quality --mnist ../shared/data/images/mnist.npz --load simclr.npz

speed: one timed repeat = ``--steps`` training steps of ``--batch-size`` images (so that many pairs of
views) through the whole step: augment both views, forward, NT-Xent, backward, Adam. minembed runs
``SimCLR.fit`` (the one loop, :func:`minembed.nn.train.fit`) over ``steps x batch`` images; the twin is the
same network (TinyCNN conv 1→8, conv 8→16, each ReLU + 2x2 max-pool, Linear 784→64, head ReLU →
Linear 64→64 → ReLU → Linear 64→64; ``--channels``/``--embed-dim``/``--proj-dim`` change both sides alike),
the same NT-Xent (temperature 0.5, SimCLR's default), Adam lr 1e-3 and the same
augmentation recipe (a random affine map per view — resized crop, shift, rotation, shear — drawn with
NumPy by the same formulas, applied by ``F.affine_grid`` + ``F.grid_sample`` (bilinear, zero padding),
then Gaussian noise and cutout in torch). Both sides get the same thread count; the torch side never
imports minembed.

quality: ``SimCLR()`` (the default configuration) trained on the 60,000 training images for ``--epochs``
epochs at batch 256 (the time per epoch is printed; ``--save`` writes the model after every epoch, ``--load``
evaluates a saved model instead of training), then: logistic regression on the frozen features (``--features``:
``concat`` = :meth:`SimCLR.probe_features`, the backbone's 64-d ``h`` and the head's 64-d ``z`` side by side,
the default; ``embed`` = ``h`` alone; ``project`` = ``z`` alone) with all labels (and on raw pixels, for
reference), k-NN (k=5), and the label-budget table. For each budget in
``--budgets`` (100, 1,000, all) and each of ``--subset-seeds`` draws of the labelled images
(:func:`~minembed.vision.labelled_subset`, class-balanced; seed s also seeds the probe / the networks):

* frozen probe on the raw (standardised) embeddings, and on L2-normalised rows (``normalize=True``);
* the same two with the weight decay chosen by ``--folds``-fold cross-validation **inside the labelled images
  only** (:func:`~minembed.vision.choose_weight_decay`, the default grid; not run for "all");
* k-NN (k=5, cosine) voting among the labelled images only;
* fine-tuned (``SimCLR.classifier()``, every layer) and scratch (same TinyCNN, fresh), for ``--net-budgets``;

each printed as mean and min-max over the draws, with every draw's value. No setting is chosen by test
accuracy: the probe variants are fixed in advance, the weight decay by cross-validation on the labels, and the
headline for 100 labels is the full recipe (L2 rows + weight decay by CV), declared before any run.

``--validation N`` is how settings are chosen: the last N training images are held out (SimCLR never sees them,
the labelled draws come from the other images) and every figure is measured on them; the test set is not
loaded into any figure. The defaults (temperature 0.5, ``--features concat``, 6 epochs) were chosen that way
with N = 10,000 (see the SimCLR class docstring for the figures of every configuration tried).
"""
from __future__ import annotations

import argparse
import time

import harness

TEMPERATURE, LR = 0.5, 1e-3          # SimCLR()'s default temperature


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["speed", "quality"])
    p.add_argument("--mnist", default=None, help="Keras-format mnist.npz (default: the bundled 10k/2k subset)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=10, help="speed: training steps per timed repeat")
    p.add_argument("--repeats", type=int, default=3, help="speed: timed repeats per process")
    p.add_argument("--epochs", type=int, default=6, help="quality: SimCLR epochs over the training images")
    p.add_argument("--seed", type=int, default=0, help="SimCLR's initialisation, shuffles and augmentations")
    p.add_argument("--save", default=None, help="quality: save the model here after every epoch (and at the end)")
    p.add_argument("--snapshots", default="",
                   help="quality: also keep the model of these epochs (e.g. '15,50'), as PATH-eN.npz next to --save")
    p.add_argument("--load", default=None, help="quality: evaluate this saved model (SimCLR.save) instead of training")
    p.add_argument("--subset-seeds", type=int, default=5, help="quality: draws of the labelled subset (seeds 0..K-1)")
    p.add_argument("--budgets", default="100,1000,all", help="quality: label budgets of the probe rows")
    p.add_argument("--net-budgets", default="100,1000,all",
                   help="quality: budgets where the fine-tuned and scratch networks are trained too ('' = none)")
    p.add_argument("--folds", type=int, default=5, help="quality: folds of the weight-decay cross-validation")
    p.add_argument("--channels", default="8,16", help="the TinyCNN backbone's two conv widths (both sides of speed)")
    p.add_argument("--embed-dim", type=int, default=64, help="the backbone's embedding width (both sides of speed)")
    p.add_argument("--proj-dim", type=int, default=64, help="the projection head's output width")
    p.add_argument("--temperature", type=float, default=TEMPERATURE, help="NT-Xent's temperature")
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                   help="quality: SimCLR.fit's learning-rate schedule (peak lr 1e-3)")
    p.add_argument("--warmup-steps", type=int, default=0, help="quality: linear warm-up steps of the schedule")
    p.add_argument("--crop-scale", type=float, default=0.6,
                   help="quality: the smallest crop area of Augment (crop_scale=(v, 1.0)); smaller = stronger")
    p.add_argument("--features", choices=["embed", "project", "concat"], default="concat",
                   help="quality: probe the backbone's embeddings (SimCLR.embed), the head's outputs (.project), "
                        "or both side by side (concat)")
    p.add_argument("--validation", type=int, default=0,
                   help="quality: hold out the LAST N training images as a validation set: SimCLR trains on the "
                        "others, the labelled subsets are drawn from the others, and every figure is measured on "
                        "the held-out images instead of the test set (for choosing settings; 0 = off)")
    p.add_argument("--no-raw", action="store_true", help="quality: skip the raw-pixel reference probe (slow)")
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
def side_minembed(mnist, batch_size, steps, seed, channels=(8, 16), embed_dim=64, proj_dim=64,
                  temperature=TEMPERATURE):
    from minembed.vision import SimCLR

    x = _images(mnist, batch_size * steps)
    model = SimCLR(embed_dim, proj_dim, channels=tuple(channels), seed=seed, temperature=temperature)
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


def side_torch(mnist, batch_size, steps, seed, channels=(8, 16), embed_dim=64, proj_dim=64,
               temperature=TEMPERATURE):
    import numpy as np
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(seed)
    x_all = torch.from_numpy(_images(mnist, batch_size * steps).astype(np.float32) / 255)[:, None]
    c1, c2 = channels
    backbone = nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(c2 * 49, embed_dim))
    head = nn.Sequential(nn.ReLU(), nn.Linear(embed_dim, embed_dim), nn.ReLU(), nn.Linear(embed_dim, proj_dim))
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
        s = (u @ u.T / temperature).masked_fill(torch.eye(len(z), dtype=torch.bool), float("-inf"))
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
    cfg = dict(mnist=args.mnist, batch_size=args.batch_size, steps=args.steps, seed=args.seed,
               channels=_channels(args.channels), embed_dim=args.embed_dim, proj_dim=args.proj_dim,
               temperature=args.temperature)
    sides = [harness.Side("minembed SimCLR.fit", "side_minembed", cfg)]
    if have_torch:
        sides.append(harness.Side("pytorch cpu twin", "side_torch", cfg))
    res = harness.measure(__file__, sides, args, repeats=args.repeats, warmup=0)
    pairs = args.batch_size * args.steps
    harness.print_header(f"SimCLR training step (TinyCNN channels {args.channels}, embed {args.embed_dim}, + head "
                         f"to {args.proj_dim}, batch {args.batch_size} images = "
                         f"{args.batch_size} pairs, {args.steps} steps per repeat)", res, args)
    harness.print_table(res, unit="s", scale=1.0, rate=("pairs/s", pairs))
    rate = {k: pairs / r.median() for k, r in res.items()}
    for k, v in rate.items():
        print(f"{k}: {v:.0f} pairs/s")
    if have_torch:
        ratio, lo, hi = harness.speed_ratio(res, "minembed SimCLR.fit", "pytorch cpu twin")
        print(f"minembed / pytorch throughput: {ratio:.2f}x (per-round range {lo:.2f}-{hi:.2f}x; target >= 1.0x)")


# ------------------------------------------------------------------------------------------- quality
def _channels(text):
    """'8,16' -> [8, 16]: the backbone's two conv widths."""
    c = [int(v) for v in text.split(",")]
    if len(c) != 2 or min(c) < 1:
        raise SystemExit(f"--channels must be two positive integers such as 8,16, got {text!r}")
    return c


def _budgets(text):
    """'100,1000,all' -> [100, 1000, None] (None: every label)."""
    return [None if b.strip() == "all" else int(b) for b in text.split(",") if b.strip()]


def _probe_epochs(n, steps=300, batch_size=128, probe_epochs=30):
    """The probe's epochs for n labelled images: label_budgets' rule (as many steps as the networks get)."""
    return max(probe_epochs, max(1, round(steps / -(-n // batch_size))))


def _summary(values):
    """'mean (min-max)' in percent, plus the values: what the spread over draws of the labels looks like."""
    import numpy as np

    v = np.asarray(values)
    return f"{v.mean():8.2%}  {v.min():7.2%}-{v.max():7.2%}   " + " ".join(f"{x:.2%}" for x in v)


def quality(args):
    import os

    import numpy as np

    import minembed as me
    from minembed.nn.train import Callback
    from minembed.vision import (
        Augment,
        SimCLR,
        choose_weight_decay,
        knn_accuracy,
        label_budgets,
        labelled_subset,
        linear_evaluation,
    )

    class Print(Callback):
        def on_epoch_end(self, model):
            h = model.history
            if args.save:
                model.save(args.save)                  # atomic: an interrupted run keeps the last whole epoch
                if str(h["epoch"][-1]) in args.snapshots.split(","):
                    model.save(args.save.removesuffix(".npz") + f"-e{h['epoch'][-1]}.npz")
            print(f"  epoch {h['epoch'][-1]}: loss {h['train_loss'][-1]:.4f}, {h['seconds'][-1]:.0f} s, "
                  f"load average {os.getloadavg()[0]:.2f}" + (f", saved to {args.save}" if args.save else ""),
                  flush=True)

    (xtr, ytr), (xte, yte) = me.load_mnist(args.mnist)
    test = "test"
    if args.validation:                   # the test set is not touched: the held-out training images stand in
        if not 0 < args.validation < len(xtr) - 100:
            raise SystemExit(f"--validation must leave images to train on, got {args.validation}")
        (xtr, ytr), (xte, yte), test = (xtr[:-args.validation], ytr[:-args.validation]), \
            (xtr[-args.validation:], ytr[-args.validation:]), "VALIDATION"
    print(f"data: {args.mnist or 'bundled subset'} ({len(xtr)} train / {len(xte)} {test}); "
          f"load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    if args.validation:
        print(f"validation mode: every accuracy below is on the last {args.validation} training images, "
              f"held out from SimCLR and from the labelled draws (the test set is not used)")
    flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 255  # noqa: E731
    if args.load:
        model = SimCLR.from_file(args.load)
        print(f"loaded {args.load} (no training here)")
    else:
        model = SimCLR(args.embed_dim, args.proj_dim, channels=tuple(_channels(args.channels)),
                       temperature=args.temperature, augment=Augment(crop_scale=(args.crop_scale, 1.0)),
                       seed=args.seed)
        start = time.perf_counter()
        model.fit(xtr, epochs=args.epochs, batch_size=args.batch_size, lr=LR, seed=args.seed, progress=False,
                  schedule=args.schedule, warmup_steps=args.warmup_steps, callbacks=[Print()])
        train_s = time.perf_counter() - start
        if args.save:
            model.save(args.save)
        print(f"SimCLR {model.config}, {model.augment}, schedule {args.schedule} (warm-up {args.warmup_steps} "
              f"steps), {args.epochs} epochs at batch {args.batch_size}: {train_s:.0f} s "
              f"({train_s / args.epochs:.0f} s per epoch, {len(xtr) * args.epochs / train_s:.0f} pairs/s); "
              f"load average {os.getloadavg()[0]:.2f} now", flush=True)
    t0 = time.perf_counter()
    def features(x):
        return {"embed": model.embed, "project": model.project, "concat": model.probe_features}[args.features](x)
    etr, ete = features(xtr), features(xte)
    t_embed = time.perf_counter() - t0
    lin = linear_evaluation(etr, ytr, ete, yte, epochs=30)
    raw = float("nan") if args.no_raw else linear_evaluation(flat(xtr), ytr, flat(xte), yte, epochs=30)
    knn = knn_accuracy(etr, ytr, ete, yte, k=5)
    print(f"[{test}] features: {args.features} "
          f"({dict(embed='SimCLR.embed', project='SimCLR.project', concat='SimCLR.probe_features')[args.features]}), "
          f"{etr.shape[1]}-d")
    print(f"linear evaluation (frozen {etr.shape[1]}-d, all labels): {lin:.2%} (target >= 97%); "
          f"raw pixels: {raw:.2%}; "
          f"k-NN (k=5): {knn:.2%}  [{time.perf_counter() - t0:.0f} s, of which embedding {t_embed:.0f} s]", flush=True)

    seeds = range(args.subset_seeds)
    net_budgets = _budgets(args.net_budgets)
    print(f"\nlabel budgets: {len(seeds)} draws of the labelled images (seeds 0-{len(seeds) - 1}); "
          f"mean, min-max, then each draw")
    for n in _budgets(args.budgets):
        t0 = time.perf_counter()
        draws = [0] if n is None else seeds               # all labels: one draw is all there is
        res = {k: [] for k in ("raw", "l2", "raw_cv", "l2_cv", "knn", "fine_tuned", "scratch", "check")}
        chosen = {"raw_cv": [], "l2_cv": []}
        for s in draws:
            idx = labelled_subset(ytr, n, s)
            f, y = etr[idx], ytr[idx].astype(np.int64)
            ep = _probe_epochs(len(idx))
            for key, norm in (("raw", False), ("l2", True)):
                res[key].append(linear_evaluation(f, y, ete, yte, epochs=ep, seed=s, normalize=norm))
                if n is not None:
                    wd = choose_weight_decay(f, y, folds=args.folds, normalize=norm, epochs=ep, seed=s)["weight_decay"]
                    chosen[key + "_cv"].append(wd)
                    res[key + "_cv"].append(linear_evaluation(f, y, ete, yte, epochs=ep, seed=s, normalize=norm,
                                                              weight_decay=wd))
            res["knn"].append(knn_accuracy(f, y, ete, yte, k=5))
            if n in net_budgets:                # the networks do not depend on --features; the frozen check does
                row = label_budgets(model, xtr, ytr, xte, yte, budgets=(n,), steps=300, seed=s,
                                    embeddings=(etr, ete))[0]
                res["fine_tuned"].append(row["fine_tuned"])
                res["scratch"].append(row["scratch"])
                res["check"].append(row["frozen"] == res["raw"][-1])   # the same probe, so the same number
        label = len(xtr) if n is None else n
        print(f"{label} labels  ({time.perf_counter() - t0:.0f} s; probe: {_probe_epochs(label)} epochs of Adam "
              f"lr 1e-2, features standardised with the labelled rows' mean and std)")
        names = {"raw": "frozen probe, raw embeddings", "l2": "frozen probe, L2-normalised rows",
                 "raw_cv": "frozen, raw, weight decay by CV", "l2_cv": "frozen, L2, weight decay by CV",
                 "knn": "k-NN (k=5, cosine), labelled only", "fine_tuned": "fine-tuned (every layer)",
                 "scratch": "same TinyCNN from scratch"}
        for key, name in names.items():
            if res[key]:
                print(f"  {name:36s}{_summary(res[key])}")
        for key in ("raw_cv", "l2_cv"):
            if chosen[key]:
                print(f"  weight decay chosen by {args.folds}-fold CV ({names[key]}): "
                      + ", ".join(f"{w:g}" for w in chosen[key]))
        if res["check"] and not all(res["check"]):
            print("  WARNING: label_budgets' frozen column differs from the raw probe row")
        if n == 100:                                  # the headline row was fixed before any run, not picked
            print(f"  [{test}] 100 labels, headline (frozen {args.features}, L2-normalised, weight decay by CV): "
                  f"{np.mean(res['l2_cv']):.2%} mean over {len(draws)} draws (target >= 92%)", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


def main(argv=None):
    args = parse_args(argv)
    speed(args) if args.mode == "speed" else quality(args)


if __name__ == "__main__":
    main()
