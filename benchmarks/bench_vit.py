"""Tiny ViT on MNIST: minembed vs the same network in PyTorch (CPU), side by side.

    PYTHONPATH=. python benchmarks/bench_vit.py --mnist ../shared/data/images/mnist.npz [--epochs 3]

Both sides: patch 7 (16 patches + class token), width 64, 2 pre-norm blocks of 4 heads, MLP 128,
exact GELU, batch 128, Adam lr 1e-3 with a 5% linear warm-up and cosine decay (``--schedule``),
the *same initial weights* (copied from minembed into PyTorch) and the same batch order.
Epochs alternate (minembed epoch 1, PyTorch epoch 1, minembed epoch 2, ...) so a change in the
machine's load hits both sides; the test-set evaluation is not part of the epoch time.
PyTorch gets ``torch.set_num_threads(numba threads)``; ``--blas-threads`` sets NumPy's BLAS
threads (OpenBLAS threads that spin next to Numba's hurt small matrices on a busy machine).
A second small table times the fused Numba kernels (softmax, LayerNorm, GELU) against their NumPy references.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--mnist", default=None, help="Keras-format mnist.npz (default: the bundled 10k/2k subset)")
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
parser.add_argument("--threads", type=int, default=None, help="Numba and PyTorch threads (default: all cores)")
parser.add_argument("--blas-threads", type=int, default=1, help="NumPy BLAS threads (set before NumPy loads)")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
args = parser.parse_args()
for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(args.blas_threads))

import numba  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import minembed as me  # noqa: E402
from minembed.kernels import softmax as sm  # noqa: E402
from minembed.vision.vit import images_to_float, lr_at  # noqa: E402

try:
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F
except ImportError:
    torch = None


# ------------------------------------------------------------------ the PyTorch twin
def build_torch_twin(model: me.ViT):
    """The same network in PyTorch (Conv2d patch embedding, as timm writes it), with model's weights."""
    cfg = model.config
    p, dim, heads = cfg["patch_size"], cfg["embed_dim"], cfg["num_heads"]

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
            self.patch = tnn.Conv2d(cfg["in_chans"], dim, kernel_size=p, stride=p)
            self.cls = tnn.Parameter(torch.zeros(1, 1, dim))
            self.pos = tnn.Parameter(torch.zeros(1, model.patch_embed.num_patches + 1, dim))
            self.blocks = tnn.ModuleList([Block() for _ in range(cfg["depth"])])
            self.norm = tnn.LayerNorm(dim, eps=cfg["eps"])
            self.head = tnn.Linear(dim, cfg["num_classes"])

        def forward(self, x):
            t = self.patch(x).flatten(2).transpose(1, 2)
            t = torch.cat([self.cls.expand(len(t), -1, -1), t], dim=1) + self.pos
            for blk in self.blocks:
                t = blk(t)
            return self.head(self.norm(t)[:, 0])

    net = TorchViT()

    def put(param, array):
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))

    put(net.patch.weight, model.patch_embed.conv_weight)
    put(net.patch.bias, model.patch_embed.proj.bias.data)
    put(net.cls, model.cls_token.data)
    put(net.pos, model.pos_embed.data)
    for tb, mb in zip(net.blocks, model.blocks, strict=True):
        for tl, ml in ((tb.norm1, mb.norm1), (tb.norm2, mb.norm2), (tb.qkv, mb.attn.qkv), (tb.proj, mb.attn.proj),
                       (tb.fc1, mb.mlp.fc1), (tb.fc2, mb.mlp.fc2)):
            put(tl.weight, ml.weight.data)
            put(tl.bias, ml.bias.data)
    put(net.norm.weight, model.norm.weight.data)
    put(net.norm.bias, model.norm.bias.data)
    put(net.head.weight, model.head.weight.data)
    put(net.head.bias, model.head.bias.data)
    return net


class TorchTrainer:
    """Runs the PyTorch twin one epoch at a time with minembed's batch order and schedule."""

    def __init__(self, net, x, y, xt, yt, total_steps, warmup):
        self.net, self.y = net, torch.from_numpy(y.astype(np.int64))
        self.x = torch.from_numpy(images_to_float(x)[:, None])
        self.xt, self.yt = torch.from_numpy(images_to_float(xt)[:, None]), yt
        self.opt = torch.optim.Adam(net.parameters(), lr=args.lr)
        self.rng = np.random.default_rng(args.seed)          # the same permutations as ViT.fit
        self.total, self.warmup, self.step = total_steps, warmup, 0
        self.seconds, self.accuracy = [], []

    def epoch(self):
        n, bs = len(self.x), args.batch_size
        order = torch.from_numpy(self.rng.permutation(n))
        self.net.train()
        start = time.perf_counter()
        for i in range(0, n, bs):
            idx = order[i:i + bs]
            for group in self.opt.param_groups:
                group["lr"] = lr_at(self.step, self.total, args.lr, args.schedule, self.warmup)
            self.opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.net(self.x[idx]), self.y[idx])
            loss.backward()
            self.opt.step()
            self.step += 1
        self.seconds.append(time.perf_counter() - start)
        self.net.eval()
        with torch.no_grad():
            pred = torch.cat([self.net(self.xt[i:i + 1000]).argmax(1) for i in range(0, len(self.xt), 1000)])
        self.accuracy.append(float((pred.numpy() == self.yt).mean()))


def time_kernels():
    """Each fused kernel against its NumPy reference, on the tiny ViT's shapes (batch 128)."""
    from minembed.kernels import gelu as ge
    from minembed.kernels import layernorm as ln

    rng = np.random.default_rng(0)
    s = rng.standard_normal((128, 4, 17, 17)).astype(np.float32)
    dp = rng.standard_normal(s.shape).astype(np.float32)
    p = sm.softmax_rows(s)
    x = rng.standard_normal((128 * 17, 64)).astype(np.float32)
    w, b = np.ones(64, np.float32), np.zeros(64, np.float32)
    _, xhat, inv = ln.layer_norm_rows(x, w, b, 1e-6)
    h = rng.standard_normal((128 * 17, 128)).astype(np.float32)
    cases = [
        ("softmax (128,4,17,17)", lambda: sm.softmax_rows(s), lambda: sm.softmax_rows_reference(s)),
        ("softmax backward", lambda: sm.softmax_rows_backward(p, dp),
         lambda: sm.softmax_rows_backward_reference(p, dp)),
        ("layernorm (2176,64)", lambda: ln.layer_norm_rows(x, w, b, 1e-6),
         lambda: ln.layer_norm_rows_reference(x, w, b, np.float32(1e-6))),
        ("layernorm backward", lambda: ln.layer_norm_rows_backward(x, xhat, inv, w),
         lambda: ln.layer_norm_rows_backward_reference(x, xhat, inv, w)),
        ("exact GELU+grad (2176,128)", lambda: ge.gelu_with_derivative(h),
         lambda: ge.gelu_with_derivative_reference(h)),
    ]
    rows = []
    for name, fast, ref in cases:
        times = {}
        for label, fn in (("kernel", fast), ("reference", ref)):
            fn()
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(5):
                    fn()
                runs.append((time.perf_counter() - t0) / 5)
            times[label] = float(np.median(runs))
        rows.append((name, times["kernel"], times["reference"]))
    return rows


def main():
    threads = args.threads or numba.config.NUMBA_NUM_THREADS
    me.kernels.set_num_threads(threads)
    (x, y), (xt, yt) = me.load_mnist(args.mnist)
    print(f"MNIST {len(x)} train / {len(xt)} test images; batch {args.batch_size}, Adam lr {args.lr}, "
          f"schedule {args.schedule}; numba threads {threads}, numpy BLAS threads "
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}")
    model = me.ViT(seed=args.seed)
    n_params = sum(p.data.size for p in model.parameters())
    print(f"model: {model.extra_repr()}  ({n_params:,} parameters)")
    steps = args.epochs * (-(-len(x) // args.batch_size))
    warmup = max(1, steps // 20) if args.schedule == "cosine" else 0
    peer = None
    if torch is not None and not args.no_torch:
        torch.set_num_threads(threads)
        torch.manual_seed(args.seed)
        peer = TorchTrainer(build_torch_twin(model), x, y, xt, yt, steps, warmup)
        print(f"peer: PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        print("peer: PyTorch not importable (or --no-torch); minembed only")

    def after_epoch(m, epoch, history):
        line = (f"  epoch {epoch + 1}: minembed {history['epoch_seconds'][-1]:6.1f} s, loss "
                f"{history['loss'][-1]:.4f}, test acc {history['test_accuracy'][-1]:.2%}")
        if peer is not None:
            peer.epoch()
            line += f" | PyTorch {peer.seconds[-1]:6.1f} s, test acc {peer.accuracy[-1]:.2%}"
        print(line, flush=True)

    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
              warmup_steps=warmup, x_test=xt, y_test=yt, seed=args.seed, progress=False, callbacks=[after_epoch],
              blas_threads=args.blas_threads)

    ours = float(np.median(model.history["epoch_seconds"]))
    acc = model.history["test_accuracy"][-1]
    print()
    print(f"{'':28s}{'s/epoch (median)':>18s}{f'test acc after {args.epochs}':>20s}{'time ratio':>12s}")
    print(f"{'minembed (NumPy+Numba)':28s}{ours:18.2f}{acc:20.2%}{'1.00':>12s}")
    if peer is not None:
        theirs = float(np.median(peer.seconds))
        print(f"{'PyTorch CPU':28s}{theirs:18.2f}{peer.accuracy[-1]:20.2%}{theirs / ours:12.2f}")
        print(f"\nminembed / PyTorch epoch time: {ours / theirs:.2f}x (target <= 2.0x: "
              f"{'met' if ours / theirs <= 2.0 else 'NOT met'}); minembed accuracy {acc:.2%} (target >= 96%: "
              f"{'met' if acc >= 0.96 else 'NOT met'})")
    print(f"\n{'kernel':28s}{'Numba (ms)':>12s}{'NumPy ref (ms)':>16s}{'speed-up':>10s}")
    for name, fast, ref in time_kernels():
        print(f"{name:28s}{fast * 1e3:12.3f}{ref * 1e3:16.3f}{ref / fast:10.1f}x")


if __name__ == "__main__":
    main()
