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


def image_embeddings(out_dir: Path, quick: bool = False) -> None:
    """Which training digits look most like a test digit? TinyCNN embeddings + cosine retrieval."""
    from .datasets import load_mnist
    from .vision import TinyCNN, knn_accuracy, nearest_neighbors, plot_neighbors

    (x_train, y_train), (x_test, y_test) = load_mnist()
    n_train, epochs = (3000, 1) if quick else (len(x_train), 2)
    x_train, y_train = x_train[:n_train], y_train[:n_train]
    model = TinyCNN(seed=0)
    print(f"[images] TinyCNN on {n_train} bundled MNIST digits, {epochs} epoch(s)")
    start = time.perf_counter()
    hist = model.fit(x_train, y_train, epochs=epochs, lr=2e-3, x_test=x_test, y_test=y_test, seed=0, progress=False)
    print(f"[images] trained in {time.perf_counter() - start:.1f} s; test accuracy {hist['test_accuracy'][-1]:.1%}")
    emb_train, emb_test = model.embed(x_train), model.embed(x_test)
    print(f"[images] k-NN (k=5) accuracy of the 64-d embeddings: "
          f"{knn_accuracy(emb_train, y_train, emb_test, y_test, k=5):.1%}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    queries = np.arange(6)
    idx, sims = nearest_neighbors(emb_test[queries], emb_train, k=6)
    path = out_dir / "image_neighbours.png"
    fig = plot_neighbors(x_test[queries], x_train, idx, sims, y_test[queries], y_train, path=path,
                         title="test digit (left) and its nearest training digits")
    plt.close(fig)
    print(f"[images] nearest-neighbour grid saved to {path}")


PARTS = [source_classifier]
PARTS.append(image_embeddings)


def run_demo(out_dir="minembed-demo", quick: bool = False) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        part(out, quick=quick)
    print(f"All plots are in {out.resolve()}")
