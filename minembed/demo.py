"""``make demo`` / ``python -m minembed demo``: train small real models on the bundled data,
print what they learned and save plots. Each part is a function; later parts append to PARTS."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def source_classifier(out_dir: Path, quick: bool = False) -> None:
    """Which text does a line come from? An EmbeddingBag classifier trained with Adam."""
    from .datasets import load_sources
    from .nn import Adam, CrossEntropyLoss
    from .text.classifier import BagOfWordsClassifier, encode_lines
    from .text.vocab import Vocab

    lines, labels, names = load_sources()
    labels = np.array(labels)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(lines))
    n_test = len(lines) // 5
    test, train = order[:n_test], order[n_test:]
    vocab = Vocab.build((lines[i].split() for i in train), min_count=2)
    model = BagOfWordsClassifier(len(vocab), 32, len(names), seed=0)
    loss_fn, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=0.01)
    epochs, batch = (2 if quick else 4), 64
    print(f"[classifier] {len(train)} training lines from {names}, vocabulary {len(vocab)} words")
    losses, start = [], time.perf_counter()
    for _ in range(epochs):
        for b in range(0, len(train), batch):
            idx = train[b:b + batch]
            ids, offsets = encode_lines([lines[i] for i in idx], vocab)
            model.zero_grad()
            losses.append(loss_fn(model(ids, offsets), labels[idx]))
            model.backward(loss_fn.backward())
            opt.step()
        rng.shuffle(train)
    ids, offsets = encode_lines([lines[i] for i in test], vocab)
    accuracy = float((model(ids, offsets).argmax(1) == labels[test]).mean())
    print(f"[classifier] trained {epochs} epochs in {time.perf_counter() - start:.1f} s; "
          f"held-out accuracy {accuracy:.1%} (chance {np.bincount(labels).max() / len(labels):.1%})")
    # What did the word vectors learn? The words each class's output row likes best.
    scores = model.head.weight.data @ model.embedding.weight.data.T  # (classes, V)
    for k, name in enumerate(names):
        top = np.argsort(-scores[k])[:8]
        print(f"  most '{name}' words: {', '.join(vocab.words[i] for i in top)}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses, lw=0.8)
    ax.set(xlabel="step", ylabel="cross-entropy", title=f"Source classifier (held-out accuracy {accuracy:.1%})")
    path = out_dir / "classifier_loss.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"[classifier] loss curve saved to {path}")


def vit_mnist(out_dir: Path, quick: bool = False) -> None:
    """A tiny Vision Transformer on the bundled MNIST digits; plots where its class token looks."""
    from .datasets import load_mnist
    from .vision import ViT

    (x, y), (xt, yt) = load_mnist()
    n, epochs, batch = (4000, 2, 64) if quick else (10000, 3, 128)
    model = ViT(seed=0)
    start = time.perf_counter()
    hist = model.fit(x[:n], y[:n], epochs=epochs, batch_size=batch, lr=2e-3, schedule="cosine", x_test=xt,
                     y_test=yt, seed=0, progress=False)
    print(f"[vit] tiny ViT (16 patches of 7x7, dim 64, 2 blocks) trained on {n} digits x {epochs} epoch(s) in "
          f"{time.perf_counter() - start:.1f} s; test accuracy {hist['test_accuracy'][-1]:.1%} (chance 10%)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    maps = model.attention_maps(xt[:6].astype(np.float32) / 255)[:, :, 0, 1:].mean(axis=1).reshape(-1, 4, 4)
    fig, axes = plt.subplots(1, 6, figsize=(9, 1.9))
    for i, ax in enumerate(axes):
        ax.imshow(xt[i], cmap="gray")
        ax.imshow(np.kron(maps[i], np.ones((7, 7))), cmap="inferno", alpha=0.6)
        ax.set_title(f"pred {model.predict(xt[i:i + 1])[0]}", fontsize=9)
        ax.axis("off")
    fig.suptitle("ViT: where the class token looks (last block, mean over heads)", fontsize=10)
    path = out_dir / "vit_attention.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"[vit] class-token attention maps saved to {path}")


PARTS = [source_classifier]
PARTS.append(vit_mnist)


def run_demo(out_dir="minembed-demo", quick: bool = False) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        part(out, quick=quick)
    print(f"All plots are in {out.resolve()}")
