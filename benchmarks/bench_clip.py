"""TinyCLIP on MNIST: zero-shot accuracy with held-out caption templates, text -> image recall@k, training
time of the default configuration; and training throughput (image-caption pairs per second) against an
identical PyTorch CPU twin, each side alone in its own fresh process (benchmarks/harness.py).

    PYTHONPATH=. python benchmarks/bench_clip.py --mnist ../shared/data/images/mnist.npz --threads 2
    PYTHONPATH=. python benchmarks/bench_clip.py --mnist ../shared/data/images/mnist.npz \
        --threads 2 --throughput --rounds 2

Quality (default): ``TinyCLIP(seed)`` trained by ``fit`` with its defaults (3 epochs, batch 256, Adam lr 4e-3 with
cosine decay, captions drawn from the 14 training templates) on the training set; zero-shot accuracy on the whole
test set, each class described by the 5 held-out templates (prompt ensembling), and per template; text -> image
recall@1/5/10 with the 50 held-out captions as queries over the test images (a hit: an image of the caption's
digit), and image -> caption recall@1. Training time is the ``seconds`` of ``history`` (evaluation excluded).

Throughput (``--throughput``): ``--steps`` training steps at batch ``--batch-size`` on the same data, both sides
built alike: TinyCNN's layers + ReLU + Linear(64, 32) for images, EmbeddingBag(38, 32, mean) + Linear(32, 32) for
captions, symmetric InfoNCE with a learned logit scale, Adam. minembed's step is ``TinyCLIP``'s own (caption
drawing included); torch's batches of word ids are prepared before the clock starts.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mnist", default=None, help="Keras-format mnist.npz (default: the bundled 10k/2k subset)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=4e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--throughput", action="store_true", help="time training steps against the PyTorch twin instead")
    p.add_argument("--steps", type=int, default=30, help="timed steps per repeat (--throughput)")
    harness.add_arguments(p, rounds=1)
    return p.parse_args(argv)


# ------------------------------------------------------------------------------ sides (run in the children)
def side_quality(mnist, epochs, batch_size, lr, seed):
    import numpy as np

    from minembed.datasets import load_mnist
    from minembed.vision import TinyCLIP, class_captions, digit_captions, recall_at_k
    from minembed.vision.captions import TEST_TEMPLATES

    (x, y), (xt, yt) = load_mnist(mnist)
    captions = [digit_captions(label) for label in y]
    model = TinyCLIP(seed=seed)

    def run():
        model.fit(x, captions, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False)

    def after():
        texts = [c for d in range(10) for c in digit_captions(d, TEST_TEMPLATES)]
        labels = np.repeat(np.arange(10), len(TEST_TEMPLATES))
        images, words = model.embed_images(xt), model.embed_texts(texts)
        return dict(
            zero_shot=model.zero_shot_accuracy(xt, yt, class_captions(TEST_TEMPLATES)),
            per_template={t: model.zero_shot_accuracy(xt, yt, class_captions([t])) for t in TEST_TEMPLATES},
            t2i=recall_at_k(words, labels, images, yt, ks=(1, 5, 10)),
            i2t=recall_at_k(images, yt, words, labels, ks=(1,)),
            train_seconds=float(sum(model.history["seconds"])), logit_scale=model.scale,
            train_loss=model.history["train_loss"])
    return run, after


def _batches(mnist, batch_size, steps, seed):
    """The same image batches and caption choices for both sides (NumPy only)."""
    import numpy as np

    with np.load(mnist, allow_pickle=False) as f:
        x, y = f["x_train"], f["y_train"]
    rng = np.random.default_rng(seed)
    ids = [rng.choice(len(x), batch_size, replace=False) for _ in range(steps)]
    return x, y, ids


def side_minembed(mnist, batch_size, steps, seed):
    import numpy as np

    from minembed.kernels.blas import blas_threads
    from minembed.nn import Adam, ClipLoss
    from minembed.vision import TinyCLIP, digit_captions
    from minembed.vision.clip import _CaptionedImages, _ClampLogitScale

    x, y, ids = _batches(mnist, batch_size, steps, seed)
    model = TinyCLIP(seed=seed)
    pairs = _CaptionedImages(model, x, [digit_captions(label) for label in y], 0.05, np.random.default_rng(seed))
    opt, loss = _ClampLogitScale(Adam(model.parameters(), lr=4e-3), model.logit_scale), ClipLoss()

    def run():
        with blas_threads(1):                     # what TinyCLIP.fit does
            for b in ids:
                opt.zero_grad()
                loss(model.forward(*pairs[b]))
                model.backward(loss.backward())
                opt.step()
    return run


def side_torch(mnist, batch_size, steps, seed):
    import math

    import numpy as np
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(seed)
    x, y, ids = _batches(mnist, batch_size, steps, seed)
    words = 38                                     # the default caption vocabulary's size
    rng = np.random.default_rng(seed)
    text = []
    for _ in ids:                                  # captions of 1 to 6 words, ids as minembed would give them
        lengths = rng.integers(1, 7, batch_size)
        text.append((torch.from_numpy(rng.integers(0, words, int(lengths.sum()))),
                     torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)[:-1]]))))
    images = torch.from_numpy(((x.astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None])
    image_net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32))
    bag, text_proj = nn.EmbeddingBag(words, 32, mode="mean"), nn.Linear(32, 32)
    logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    params = [*image_net.parameters(), *bag.parameters(), *text_proj.parameters(), logit_scale]
    opt = torch.optim.Adam(params, lr=4e-3)
    labels = torch.arange(batch_size)

    def run():
        for b, (tok, off) in zip(ids, text, strict=True):
            opt.zero_grad()
            u = F.normalize(image_net(images[torch.from_numpy(b)]), dim=1)
            v = F.normalize(text_proj(bag(tok, off)), dim=1)
            logits = logit_scale.exp() * u @ v.T
            ((F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2).backward()
            opt.step()
            with torch.no_grad():
                logit_scale.clamp_(0, math.log(100))
    return run


# ----------------------------------------------------------------------------------------- driver
def main(argv=None):
    args = parse_args(argv)
    from minembed.datasets.corpus import DATA_DIR

    mnist = args.mnist or str(DATA_DIR / "mnist_sample.npz")
    if args.throughput:
        kinds = ["minembed"] + (["torch"] if harness.available("torch") else [])
        sides = [harness.Side(k, f"side_{k}", dict(mnist=mnist, batch_size=args.batch_size, steps=args.steps,
                                                   seed=args.seed)) for k in kinds]
        res = harness.measure(__file__, sides, args, repeats=3, warmup=1)
        harness.print_header(f"TinyCLIP training steps vs a PyTorch twin: batch {args.batch_size}, "
                             f"{args.steps} steps per repeat [{mnist}]", res, args)
        harness.print_table(res, unit="s", scale=1.0, rate=("pairs/s", args.steps * args.batch_size))
        if "torch" in res:
            ratio, lo, hi = harness.speed_ratio(res, "minembed", "torch")
            print(f"minembed / torch throughput: {ratio:.2f}x (per-round range {lo:.2f}-{hi:.2f})")
        return
    side = harness.Side("minembed", "side_quality", dict(mnist=args.mnist, epochs=args.epochs,
                                                         batch_size=args.batch_size, lr=args.lr, seed=args.seed))
    res = harness.measure(__file__, [side], args, repeats=1, warmup=0)
    harness.print_header(f"TinyCLIP on MNIST [{mnist}]: {args.epochs} epochs, batch {args.batch_size}, "
                         f"Adam lr {args.lr} (cosine), seed {args.seed}", res, args)
    out = res["minembed"].after[0]
    print(f"training time {out['train_seconds']:.1f} s wall ({res['minembed'].median('cpu'):.1f} CPU-s for fit, all "
          f"threads; evaluation excluded); loss per epoch "
          f"{[round(v, 3) for v in out['train_loss']]}; final logit scale {out['logit_scale']:.2f}")
    print(f"zero-shot accuracy on the test set, 5 held-out templates ensembled: {out['zero_shot']:.2%}")
    for template, acc in out["per_template"].items():
        print(f"    {template!r:42s} alone: {acc:.2%}")
    print("text -> image recall@k (50 held-out captions over the test images): "
          + ", ".join(f"@{k} {v:.3f}" for k, v in out["t2i"].items()))
    print(f"image -> caption recall@1: {out['i2t']['1']:.3f}")


if __name__ == "__main__":
    main()
