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



def tiny_bert(out_dir: Path, quick: bool = False) -> dict:
    """Tokens, then context: a byte-level BPE tokenizer learned from bundled lines, a one-block BERT
    pretrained on them by masked-language modelling (its held-out masked-token accuracy beside the
    constant answer), nearest lines by the cosine of mean-pooled sentence vectors, and an attention map.

    Returns what it made (``tokenizer``, ``model``, ``report`` of :func:`minembed.text.mlm.train_tiny_bert`,
    the ``sentence`` it split, the nearest-line ``same_source`` share, the untrained network's
    ``same_source_untrained`` and the ``chance`` level, the ``plot`` path and the stage's ``seconds``), for
    the tests.
    """
    from .datasets import load_sources
    from .space.search import ExactIndex, normalize
    from .text.bert import TinyBERT
    from .text.bpe import BPETokenizer
    from .text.mlm import SPECIALS, split_lines, train_tiny_bert

    start = time.perf_counter()
    lines, labels, names = load_sources()
    labels = np.asarray(labels)
    order = make_rng(seed=0).permutation(len(lines))
    # 5000 lines x 5 epochs of a one-block model: ~20 s of training on an idle core (10% held-out accuracy
    # against 3% for the constant answer). Two blocks cost ~1.6x per step and, in the same seconds, reached less
    # (5.6% against 7.9% for one block after 3 epochs).
    n_lines, epochs = (3000, 3) if quick else (5000, 5)
    chosen, unseen = order[:n_lines], order[n_lines:n_lines + 300]
    texts = [lines[i] for i in chosen]
    held_out, vocab_size, max_len = 0.1, 1000, 32

    # The tokenizer learns from the training lines only: train_tiny_bert makes the same split (same seed).
    train_lines, _ = split_lines(texts, held_out, seed=0)
    t0 = time.perf_counter()
    tok = BPETokenizer.train(train_lines, vocab_size, special_tokens=list(SPECIALS))
    print(f"[bert] byte-level BPE: {tok.vocab_size} tokens ({len(tok.merges)} merges + 256 bytes + "
          f"{len(SPECIALS)} specials) learned from {len(train_lines):,} lines in {time.perf_counter() - t0:.1f} s")
    sentence = "The tokenizer splits unfamiliar words like embeddings into pieces."
    ids = tok.encode(sentence)
    print(f"  {sentence!r} -> {len(ids)} tokens: " + "|".join(tok.id_to_token(int(i)) for i in ids))
    print(f"  decode(encode(text)) == text: {tok.decode(ids) == sentence} (bytes: nothing is ever unknown)")

    model, rep = train_tiny_bert(texts, vocab_size=vocab_size, max_len=max_len, dim=64, depth=1, num_heads=4,
                                 mlp_hidden=128, epochs=epochs, batch_size=32, lr=5e-3, held_out=held_out,
                                 tokenizer=tok, seed=0)                     # a bar per epoch
    n_params = sum(p.data.size for p in model.parameters())
    print(f"[bert] tiny BERT (1 block, dim 64, 4 heads, {n_params:,} parameters): {rep['train_sequences']:,} "
          f"sequences of {max_len} tokens x {epochs} epochs in {rep['seconds']:.1f} s")
    print(f"[bert] held-out masked-token accuracy {rep['accuracy']:.1%} vs {rep['baseline']:.1%} for always "
          f"answering the most frequent token ({rep['n_masked']:,} masked tokens of {rep['test_lines']} "
          f"held-out lines)")

    # Sentence vectors: the mean of a line's contextual token vectors. Raw cosines are all near 1 (every
    # vector shares one large direction), so the database mean is subtracted first. Lines the model never
    # saw look up their nearest line among the ones it trained on: does it come from the same source? The
    # same network before training (same seed) is the control that says what the training added.
    def nearest_lines(net):
        db = net.embed(texts, truncate=True)                              # (n_lines, 64)
        queries = net.embed([lines[i] for i in unseen], truncate=True)    # (300, 64)
        centre = db.mean(axis=0)
        found, cos = ExactIndex(normalize(db - centre), metric="dot").search(normalize(queries - centre), 1)
        return found[:, 0], cos[:, 0], float(np.mean(labels[chosen][found[:, 0]] == labels[unseen]))

    nearest, cosine, same = nearest_lines(model)
    _, _, same_untrained = nearest_lines(TinyBERT(**model.config, tokenizer=tok, seed=0))
    share = np.bincount(labels[chosen], minlength=len(names)) / n_lines
    chance = float(share @ (np.bincount(labels[unseen], minlength=len(names)) / len(unseen)))
    print(f"[bert] sentence vectors (mean-pooled, centred, cosine): the nearest line of each of {len(unseen)} "
          f"unseen lines comes from the same source for {same:.0%} (the same network untrained: "
          f"{same_untrained:.0%}; chance: {chance:.0%})")
    if same <= same_untrained + 0.02:
        print("  seconds of masked-LM training teach filling in tokens, not telling texts apart: for that, "
              "fine-tune (lesson 08)")
    for q in range(2):
        j = int(nearest[q])
        print(f"  [{names[labels[unseen[q]]]}] {lines[unseen[q]][:60]!r}\n"
              f"     -> [{names[labels[chosen[j]]]}] {texts[j][:60]!r} (cosine {cosine[q]:.2f})")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    hist = rep["history"]
    maps, toks = model.attention_maps("and god said let there be light and there was light")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.15]})
    a1.plot(hist["epoch"], hist["test_accuracy"], "o-", label="tiny BERT")
    a1.axhline(rep["baseline"], color="gray", ls="--", label="most frequent token")
    a1.set_xticks(hist["epoch"])                                             # whole epochs only
    a1.set_ylim(0, None)
    a1.yaxis.set_major_formatter(PercentFormatter(1.0))
    a1.set(xlabel="epoch", ylabel="held-out masked-token accuracy", title="Masked-language modelling")
    a1.legend()
    im = a2.imshow(maps.mean(axis=0), cmap="viridis")
    a2.set_xticks(range(len(toks)), toks, rotation=90, fontsize=8)
    a2.set_yticks(range(len(toks)), toks, fontsize=8)
    a2.set(xlabel="key token", ylabel="query token", title="attention weights (mean over heads)")
    fig.colorbar(im, ax=a2, label="weight")
    path = out_dir / "bert_mlm.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    seconds = time.perf_counter() - start
    print(f"[bert] accuracy curve and attention map saved to {path}; this part took {seconds:.0f} s")
    return dict(tokenizer=tok, model=model, report=rep, sentence=sentence, same_source=same,
                same_source_untrained=same_untrained, chance=chance, plot=path, seconds=seconds)


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


PARTS = [source_classifier, word_vectors, similarity_maps, tiny_bert, image_embeddings, vit_mnist]


def run_demo(out_dir="minembed-demo", quick: bool = False) -> None:
    """Train the demo's small models on the bundled data and save their plots into ``out_dir``
    (``quick``: fewer epochs and images, for the tests)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        part(out, quick=quick)
    print(f"All plots are in {out.resolve()}")
