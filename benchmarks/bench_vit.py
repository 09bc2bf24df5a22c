"""Tiny ViT on MNIST: minembed vs the same network in PyTorch (CPU), each alone in its own fresh
process (benchmarks/harness.py).

    PYTHONPATH=. python benchmarks/bench_vit.py --mnist ../shared/data/images/mnist.npz [--epochs 3]

Both sides: patch 7 (16 patches + class token), width 64, 2 pre-norm blocks of 4 heads, MLP 128,
exact GELU, batch 128, Adam lr 1e-3 with a 5% linear warm-up and cosine decay (``--schedule``),
the *same initial weights* (made by minembed in this driver, saved, loaded by the PyTorch side) and the
same batch order. A round is one whole training run of each side in its own process (the epochs are its
timed repeats; the test accuracy after each epoch is computed after the clock stops), the order of the
sides alternating from round to round. minembed trains with NumPy's BLAS on one thread, as ``ViT.fit``
does by default. A second table times the fused Numba kernels (softmax, LayerNorm, GELU) against their
NumPy references, again each in its own process.
"""
from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import harness

KERNEL_CASES = ["softmax (128,4,17,17)", "softmax backward", "layernorm (2176,64)", "layernorm backward",
                "exact GELU+grad (2176,128)"]


def warmup_steps(schedule, total):
    return max(1, total // 20) if schedule == "cosine" else 0


def schedule_lr(step, total, lr, schedule, warmup):
    """Linear warm-up to ``lr`` over ``warmup`` steps, then constant or a half cosine to 0 (the values of
    ViT.fit's CosineSchedule, written out for the PyTorch side)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "constant" or step >= total:
        return lr if schedule == "constant" else 0.0
    return lr * 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup)))


def _load(mnist):
    import numpy as np

    with np.load(mnist, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


# ------------------------------------------------------------------------------ sides (run in the children)
def side_minembed(mnist, epochs, batch_size, lr, schedule, seed):
    """minembed's ViT, trained by ``ViT.fit``'s loop (:func:`minembed.nn.train.fit`) one epoch per call: the
    shuffling rng and the schedule carry over from epoch to epoch, as in one ``fit(epochs=...)`` call."""
    import numpy as np

    import minembed as me
    from minembed.kernels.blas import set_blas_threads
    from minembed.nn import Adam, CrossEntropyLoss
    from minembed.nn.schedule import make_schedule
    from minembed.nn.train import fit

    (x, y), (xt, yt) = me.load_mnist(mnist)
    me.ViT(seed=seed).fit(x[:256], y[:256], epochs=1, progress=False)  # compile / load kernels untimed
    set_blas_threads(1)  # as ViT.fit(blas_threads=1), the default
    model = me.ViT(seed=seed)
    opt = Adam(model.parameters(), lr=lr)
    total = epochs * -(-len(x) // batch_size)
    sched = make_schedule(opt, schedule, total, warmup_steps(schedule, total))
    rng = np.random.default_rng(seed)  # ViT.fit's permutations

    def epoch():
        fit(model, x, y, loss_fn=CrossEntropyLoss(), optimizer=opt, schedule=sched, epochs=1, batch_size=batch_size,
            rng=rng, progress=False)
        return lambda: {"accuracy": model.accuracy(xt, yt)}  # untimed
    return epoch


def build_torch_twin(cfg):
    """The same network in PyTorch (Conv2d patch embedding, as timm writes it); parameter names match
    the keys of the driver's initial-weights file."""
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F

    dim, heads = cfg["embed_dim"], cfg["num_heads"]

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = tnn.LayerNorm(dim, eps=cfg["eps"])
            self.qkv = tnn.Linear(dim, 3 * dim)
            self.proj = tnn.Linear(dim, dim)
            self.norm2 = tnn.LayerNorm(dim, eps=cfg["eps"])
            self.fc1 = tnn.Linear(dim, cfg["mlp_hidden"])
            self.fc2 = tnn.Linear(cfg["mlp_hidden"], dim)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.norm1(x)).reshape(b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            o = F.scaled_dot_product_attention(q, k, v)
            x = x + self.proj(o.transpose(1, 2).reshape(b, t, d))
            return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))

    class TorchViT(tnn.Module):
        def __init__(self):
            super().__init__()
            p = cfg["patch_size"]
            self.patch = tnn.Conv2d(cfg["in_chans"], dim, kernel_size=p, stride=p)
            self.cls = tnn.Parameter(torch.zeros(1, 1, dim))
            self.pos = tnn.Parameter(torch.zeros(1, cfg["num_patches"] + 1, dim))
            self.blocks = tnn.ModuleList([Block() for _ in range(cfg["depth"])])
            self.norm = tnn.LayerNorm(dim, eps=cfg["eps"])
            self.head = tnn.Linear(dim, cfg["num_classes"])

        def forward(self, x):
            t = self.patch(x).flatten(2).transpose(1, 2)
            t = torch.cat([self.cls.expand(len(t), -1, -1), t], dim=1) + self.pos
            for blk in self.blocks:
                t = blk(t)
            return self.head(self.norm(t)[:, 0])

    return TorchViT()


def side_torch(mnist, epochs, batch_size, lr, schedule, seed, weights, cfg):
    """The PyTorch twin from the same initial weights, minembed's batch order and schedule."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    (x, y), (xt, yt) = _load(mnist)

    def to_float(images):  # minembed.vision.pixels' rule for uint8: x / 255 in float32
        return torch.from_numpy(images.astype(np.float32) * np.float32(1.0 / 255.0))[:, None]

    x, xt, y = to_float(x), to_float(xt), torch.from_numpy(y.astype(np.int64))
    with np.load(weights) as f:
        state = {k: torch.from_numpy(np.ascontiguousarray(f[k], dtype=np.float32)) for k in f.files}
    warm_net = build_torch_twin(cfg)
    warm_opt = torch.optim.Adam(warm_net.parameters(), lr=lr)
    for i in range(0, 256, batch_size):  # first calls (allocator, kernels) untimed
        warm_opt.zero_grad()
        F.cross_entropy(warm_net(x[i:i + batch_size]), y[i:i + batch_size]).backward()
        warm_opt.step()
    net = build_torch_twin(cfg)
    net.load_state_dict(state)  # strict: every name and shape must match
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    total = epochs * -(-len(x) // batch_size)
    warm, step = warmup_steps(schedule, total), 0

    def accuracy():
        net.eval()
        with torch.no_grad():
            pred = torch.cat([net(xt[i:i + 1000]).argmax(1) for i in range(0, len(xt), 1000)])
        return {"accuracy": float((pred.numpy() == yt).mean())}

    def epoch():
        nonlocal step
        order = torch.from_numpy(rng.permutation(len(x)))
        net.train()
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            for group in opt.param_groups:
                group["lr"] = schedule_lr(step, total, lr, schedule, warm)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
            step += 1
        return accuracy
    return epoch


def side_kernel(case, impl):
    """One fused kernel, or its NumPy reference, on the tiny ViT's shapes (batch 128); a repeat is 5 calls."""
    import numpy as np

    from minembed.kernels import gelu as ge
    from minembed.kernels import layernorm as ln
    from minembed.kernels import softmax as sm

    rng = np.random.default_rng(0)
    s = rng.standard_normal((128, 4, 17, 17)).astype(np.float32)
    dp = rng.standard_normal(s.shape).astype(np.float32)
    p = sm.softmax_rows(s)
    x = rng.standard_normal((128 * 17, 64)).astype(np.float32)
    w, b = np.ones(64, np.float32), np.zeros(64, np.float32)
    _, xhat, inv = ln.layer_norm_rows(x, w, b, 1e-6)
    h = rng.standard_normal((128 * 17, 128)).astype(np.float32)
    cases = {
        "softmax (128,4,17,17)": (lambda: sm.softmax_rows(s), lambda: sm.softmax_rows_reference(s)),
        "softmax backward": (lambda: sm.softmax_rows_backward(p, dp),
                             lambda: sm.softmax_rows_backward_reference(p, dp)),
        "layernorm (2176,64)": (lambda: ln.layer_norm_rows(x, w, b, 1e-6),
                                lambda: ln.layer_norm_rows_reference(x, w, b, np.float32(1e-6))),
        "layernorm backward": (lambda: ln.layer_norm_rows_backward(x, xhat, inv, w),
                               lambda: ln.layer_norm_rows_backward_reference(x, xhat, inv, w)),
        "exact GELU+grad (2176,128)": (lambda: ge.gelu_with_derivative(h),
                                       lambda: ge.gelu_with_derivative_reference(h)),
    }
    fn = cases[case][0 if impl == "kernel" else 1]

    def run():
        for _ in range(5):
            fn()
    return run


# ----------------------------------------------------------------------------------------- driver
def save_initial_weights(path, seed):
    """minembed's ViT(seed) weights under the PyTorch twin's parameter names; returns the twin's config."""
    import numpy as np

    import minembed as me

    model = me.ViT(seed=seed)
    w = {"patch.weight": model.patch_embed.conv_weight, "patch.bias": model.patch_embed.proj.bias.data,
         "cls": model.cls_token.data, "pos": model.pos_embed.data,
         "norm.weight": model.norm.weight.data, "norm.bias": model.norm.bias.data,
         "head.weight": model.head.weight.data, "head.bias": model.head.bias.data}
    for i, mb in enumerate(model.blocks):
        for name, layer in (("norm1", mb.norm1), ("norm2", mb.norm2), ("qkv", mb.attn.qkv),
                            ("proj", mb.attn.proj), ("fc1", mb.mlp.fc1), ("fc2", mb.mlp.fc2)):
            w[f"blocks.{i}.{name}.weight"] = layer.weight.data
            w[f"blocks.{i}.{name}.bias"] = layer.bias.data
    np.savez(path, **w)
    n_params = sum(p.data.size for p in model.parameters())
    described = f"{model.extra_repr()} ({n_params:,} parameters)"
    return dict(model.config, num_patches=model.patch_embed.num_patches), described


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist", default=None, help="Keras-format mnist.npz (default: the bundled 10k/2k subset)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    ap.add_argument("--skip-kernels", action="store_true", help="skip the kernel table")
    harness.add_arguments(ap, rounds=1)
    args = ap.parse_args(argv)

    from minembed.datasets.images import DATA_DIR

    mnist = str(Path(args.mnist).resolve() if args.mnist else DATA_DIR / "mnist_sample.npz")
    with_torch = harness.available("torch") and not args.no_torch
    train = dict(mnist=mnist, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
                 seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, described = save_initial_weights(f"{tmp}/init.npz", args.seed)
        sides = [harness.Side("minembed (NumPy+Numba)", "side_minembed", train)]
        if with_torch:
            sides.append(harness.Side("PyTorch CPU", "side_torch", dict(train, weights=f"{tmp}/init.npz", cfg=cfg)))
        res = harness.measure(__file__, sides, args, repeats=args.epochs, warmup=0)
    harness.print_header(f"tiny ViT on MNIST [{args.mnist or 'bundled subset'}]: {described}; batch {args.batch_size}, "
                         f"Adam lr {args.lr}, schedule {args.schedule}, {args.epochs} epochs, seed {args.seed}"
                         + ("" if with_torch else "; PyTorch not importable (or --no-torch): minembed only"),
                         res, args)
    print(f"seconds per epoch (median over {args.epochs} epochs x {args.rounds} process(es); training only)")
    harness.print_table(res, unit="s", scale=1)
    for label, r in res.items():
        acc = [e["accuracy"] for e in r.extras[0]]
        print(f"  {label}: test accuracy after each epoch " + ", ".join(f"{a:.2%}" for a in acc))
    ours = res[sides[0].label]
    acc = ours.extras[0][-1]["accuracy"]
    if with_torch:
        ratio = ours.median() / res["PyTorch CPU"].median()
        print(f"\nminembed / PyTorch epoch time: {ratio:.2f}x (target <= 2.0x: "
              f"{'met' if ratio <= 2.0 else 'NOT met'}); "
              f"minembed accuracy {acc:.2%} (target >= 96%: {'met' if acc >= 0.96 else 'NOT met'})")

    if not args.skip_kernels:
        ksides = [harness.Side(f"{case} {impl}", "side_kernel", dict(case=case, impl=impl))
                  for case in KERNEL_CASES for impl in ("kernel", "reference")]
        kres = harness.measure(__file__, ksides, args, repeats=5)
        print(f"\n{'kernel (each in its own process)':34s}{'Numba (ms)':>12s}{'NumPy ref (ms)':>16s}{'speed-up':>10s}")
        for case in KERNEL_CASES:
            fast, ref = (kres[f"{case} {impl}"].median() / 5 for impl in ("kernel", "reference"))
            print(f"{case:34s}{fast * 1e3:12.3f}{ref * 1e3:16.3f}{ref / fast:10.1f}x")


if __name__ == "__main__":
    main()
