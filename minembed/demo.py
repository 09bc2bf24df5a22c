"""``make demo`` / ``python -m minembed demo``: train small real models on the bundled data,
print what they learned and save plots. Each part is a function; later parts append to PARTS."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .progress import progress
from .rng import make_rng


def source_classifier(out_dir: Path, quick: bool = False) -> None:
    """Which text does a line come from? An EmbeddingBag classifier trained with Adam."""
    from .datasets import load_sources
    from .text.classifier import BagOfWordsClassifier, Bags, encode_lines
    from .text.vocab import Vocab

    lines, labels, names = load_sources()
    labels = np.array(labels)
    order = make_rng(seed=0).permutation(len(lines))
    n_test = len(lines) // 5
    test, train = order[:n_test], order[n_test:]
    vocab = Vocab.build((lines[i].split() for i in train), min_count=2)
    train_bags = Bags(*encode_lines([lines[i] for i in train], vocab))
    test_bags = Bags(*encode_lines([lines[i] for i in test], vocab))
    model = BagOfWordsClassifier(len(vocab), 32, len(names), seed=0)
    epochs = 2 if quick else 4
    print(f"[classifier] {len(train)} training lines from {names}, vocabulary {len(vocab)} words")
    start = time.perf_counter()
    hist = model.fit(train_bags, labels[train], epochs=epochs, batch_size=64, lr=0.01, seed=0, bags_test=test_bags,
                     labels_test=labels[test])
    accuracy = hist["test_accuracy"][-1]
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
    ax.plot(hist["epoch"], hist["train_loss"], "o-", label="training loss (cross-entropy)")
    ax.plot(hist["epoch"], hist["test_accuracy"], "s-", label="held-out accuracy")
    ax.set(xlabel="epoch", title=f"Source classifier (held-out accuracy {accuracy:.1%})")
    ax.legend()
    path = out_dir / "classifier_loss.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"[classifier] loss curve saved to {path}")


def word_vectors(out_dir: Path, quick: bool = False) -> None:
    """Skip-gram word2vec on the bundled ~1M-token corpus: neighbours and an analogy."""
    from .datasets import load_corpus
    from .text import Word2Vec

    epochs = 2 if quick else 5
    start = time.perf_counter()
    model = Word2Vec(load_corpus("sample"), vector_size=50, window=5, min_count=5, sg=1, negative=5, sample=1e-3,
                     epochs=epochs, seed=1, workers=2)  # Word2Vec's own bar: words/s, lr, loss
    wv = model.wv
    print(f"[word2vec] {len(wv)} words x {model.vector_size} dims, {model.corpus_total_words:,} tokens, "
          f"{epochs} epoch(s) in {time.perf_counter() - start:.1f} s ({model.train_words_per_second:,.0f} words/s); "
          f"loss per epoch {', '.join(f'{x:.3f}' for x in model.loss_history)}")
    for word in ("god", "king", "water", "president", "love"):
        if word in wv:
            print(f"  nearest to {word!r}: {', '.join(w for w, _ in wv.most_similar(word, topn=6))}")
    a, b, c = "man", "king", "woman"
    answer = wv.most_similar(positive=[b, c], negative=[a], topn=3)
    print(f"  {a} : {b} :: {c} : ?  ->  {', '.join(f'{w} ({s:.2f})' for w, s in answer)}")
    path = out_dir / "word_vectors.npz"
    wv.save(path)
    print(f"[word2vec] vectors saved to {path}")


def similarity_maps(out_dir: Path, quick: bool = False) -> None:
    """Nearest neighbours, analogies and a t-SNE map of word2vec vectors, plus a Projector export."""
    from .datasets import load_corpus
    from .space.formats import export_projector
    from .space.maps import plot_embeddings
    from .space.search import ExactIndex, analogy, normalize
    from .text import Word2Vec, WordVectors

    saved = out_dir / "word_vectors.npz"  # written by the word_vectors part, when it ran first
    if saved.exists():
        wv = WordVectors.load(saved)
        print(f"[similarity] using the word vectors in {saved}")
    else:
        start = time.perf_counter()
        wv = Word2Vec(sentences=load_corpus("sample"), vector_size=48, window=5, min_count=5, sg=1, negative=5,
                      epochs=1 if quick else 2, workers=2, seed=1).wv
        print(f"[similarity] word2vec (skip-gram) on the bundled sample: {len(wv):,} words in "
              f"{time.perf_counter() - start:.1f} s")
    words, unit = wv.index_to_key, normalize(wv.vectors)
    index = ExactIndex(unit, metric="dot")  # unit rows: dot product = cosine
    for word in ("god", "three", "war", "woman"):
        if word in wv:
            i = wv.get_index(word)
            ids, scores = index.search(unit[i], 6, exclude=[i])
            print(f"  {word:>6s}: " + ", ".join(f"{words[j]} ({s:.2f})" for j, s in zip(ids, scores, strict=True)))
    for a, b, c in (("he", "his", "she"), ("go", "went", "come"), ("man", "king", "woman")):
        if all(w in wv for w in (a, b, c)):
            ids, _ = analogy(unit, *(wv.get_index(w) for w in (a, b, c)), k=3, method="mul", normalized=True)
            print(f"  {a}:{b} :: {c}:? -> {', '.join(words[j] for j in ids)} (3CosMul)")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top, n_iter = slice(50, 250 if quick else 400), 500 if quick else 1000
    with progress(total=n_iter, desc="[similarity] t-SNE", unit="step", leave=False) as bar:
        fig, _ = plot_embeddings(unit[top], words[top], method="tsne", perplexity=15, seed=0, n_iter=n_iter,
                                 history=_BarUpdates(bar),
                                 title="t-SNE of frequent words (word2vec, bundled corpus)")
    path = out_dir / "word_map_tsne.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    export_projector(wv.vectors[:2000], words[:2000], out_dir / "projector")
    print(f"[similarity] map saved to {path}; Projector files in {out_dir / 'projector'} "
          f"(load vectors.tsv + metadata.tsv at https://projector.tensorflow.org)")



class _BarUpdates(list):
    """A ``history=`` list for :func:`minembed.space.maps.tsne` (it appends ``(step, KL)`` every 50
    steps) that also moves a progress bar: progress without a callback argument."""

    def __init__(self, bar):
        super().__init__()
        self.bar = bar

    def append(self, item):
        step, kl = item
        self.bar.update(step - (self[-1][0] if self else 0))
        self.bar.set_postfix_str(f"KL {kl:.3f}")
        super().append(item)


def vit_mnist(out_dir: Path, quick: bool = False) -> None:
    """A tiny Vision Transformer on the bundled MNIST digits; plots where its class token looks."""
    from .datasets import load_mnist
    from .vision import ViT

    (x, y), (xt, yt) = load_mnist()
    n, epochs, batch = (4000, 2, 64) if quick else (10000, 3, 128)
    model = ViT(seed=0)
    start = time.perf_counter()
    hist = model.fit(x[:n], y[:n], epochs=epochs, batch_size=batch, lr=2e-3, schedule="cosine", x_test=xt,
                     y_test=yt, seed=0)  # a bar per epoch
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
    hist = model.fit(x_train, y_train, epochs=epochs, lr=2e-3, x_test=x_test, y_test=y_test, seed=0)  # a bar per epoch
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


PARTS = [source_classifier, word_vectors, similarity_maps, image_embeddings, vit_mnist]


def run_demo(out_dir="minembed-demo", quick: bool = False) -> None:
    """Train the demo's small models on the bundled data and save their plots into ``out_dir``
    (``quick``: fewer epochs and images, for the tests)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        part(out, quick=quick)
    print(f"All plots are in {out.resolve()}")
