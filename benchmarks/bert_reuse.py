"""Reusing embeddings: frozen vs fine-tuned, pooling compared, on "which source does a line come from".

    PYTHONPATH=. python benchmarks/bert_reuse.py --model bert.npz [--labels 100 1000 10000] [--plot reuse.png]

Task: the bundled lines of the Bible, the novels, the speeches and Wikipedia (lesson 02's task), four
classes. A fixed test set of 2,000 lines; for each budget of labelled training lines (100, 1k, 10k),
each method gets the same lines:

* word2vec bag (frozen): the mean of the lines' word2vec vectors (Word2Vec trained here on the
  bundled corpus, no labels), then a linear head;
* tiny BERT mean / cls / max (frozen): ``model.embed(lines, pooling)``, then a linear head;
* tiny BERT fine-tuned end to end (mean pooling): every weight trained on the labels;
* from scratch: the same network, randomly initialised, trained on the labels only.

``--model``: a TinyBERT saved by ``minembed bert train`` (e.g. on ../shared/data/corpus/bench.txt);
without it a small one is pretrained here on the bundled sample (a few minutes). The pretraining text
may contain the test lines (no labels were used). Sentence similarity: Lee's 50 documents and their
human judgements from gensim's installed test data (read from where the package installs, not
imported), Pearson r of cosine similarities for mean-pooled tiny BERT, averaged word2vec and an LSI
baseline (TF-IDF + truncated SVD fitted on Lee's background corpus).
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np

from minembed.datasets.corpus import load_corpus, load_sources
from minembed.kernels.validate import check_positive_int
from minembed.nn import Adam, CrossEntropyLoss, Linear
from minembed.nn.train import fit
from minembed.text import TinyBERT, Word2Vec, tokenize
from minembed.text.bert_classifier import BertClassifier


def linear_probe(x_train, y_train, x_test, y_test, n_classes, epochs=100, seed=0):
    """A linear head on frozen features (standardised on the training rows), Adam, full-batch-ish."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    xs, xt = ((x_train - mu) / sd).astype(np.float32), ((x_test - mu) / sd).astype(np.float32)
    head = Linear(xs.shape[1], n_classes, seed=seed)
    fit(head, xs, y_train, loss_fn=CrossEntropyLoss(), optimizer=Adam(head.parameters(), lr=1e-2, weight_decay=1e-4),
        epochs=check_positive_int(epochs, "epochs"), batch_size=max(32, len(xs) // 10), seed=seed, progress=False)
    return float((head.forward(xt).argmax(1) == y_test).mean())


def w2v_features(wv, lines):
    out = np.zeros((len(lines), wv.vector_size), np.float32)
    for i, line in enumerate(lines):
        words = [w for w in tokenize(line) if w in wv]
        if words:
            out[i] = np.mean([wv[w] for w in words], axis=0)
    return out


def finetune(bert, ids_train, y_train, ids_test, y_test, n_classes, epochs, seed=0):
    clf = BertClassifier(bert, n_classes, pooling="mean", finetune=True, seed=seed)
    clf.fit(ids_train, y_train, epochs=epochs, batch_size=32, lr=5e-4, seed=seed)
    return float((clf.predict(ids_test) == y_test).mean())


def lee_similarity(bert, wv):
    """Pearson r against Lee's human judgements, or None when gensim's test data is not installed."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or spec.origin is None:
        return None
    data = Path(spec.origin).parent / "test" / "test_data"
    if not (data / "similarities0-1.txt").exists():
        return None
    docs = (data / "lee.cor").read_text(encoding="utf-8", errors="replace").strip().split("\n")
    human = np.loadtxt(data / "similarities0-1.txt")
    iu = np.triu_indices(len(docs), 1)

    def r(vectors):
        v = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)
        return float(np.corrcoef((v @ v.T)[iu], human[iu])[0, 1])

    # tiny BERT: the mean of the document's 62-token pieces' mean-pooled vectors
    tok = bert.tokenizer
    width = bert.max_len - 2
    doc_vecs = []
    for d in docs:
        ids = tok.encode(d)
        pieces = [tok.decode(ids[i:i + width]) for i in range(0, len(ids), width)]
        doc_vecs.append(bert.embed(pieces, truncate=True).mean(0))
    # LSI: TF-IDF on Lee's background corpus, 50-d truncated SVD, documents folded in
    background = (data / "lee_background.cor").read_text(encoding="utf-8", errors="replace").split("\n")
    vocab = {}
    for line in background:
        for w in tokenize(line):
            vocab.setdefault(w, len(vocab))

    def tf(lines):
        m = np.zeros((len(lines), len(vocab)))
        for i, line in enumerate(lines):
            for w in tokenize(line):
                if w in vocab:
                    m[i, vocab[w]] += 1
        return m
    bg = tf(background)
    idf = np.log(len(bg) / (1 + (bg > 0).sum(0)))
    _, _, vt = np.linalg.svd(bg * idf, full_matrices=False)
    lsi = (tf(docs) * idf) @ vt[:50].T
    return {"tiny BERT mean": r(np.array(doc_vecs)), "word2vec mean": r(w2v_features(wv, docs)), "LSI (50)": r(lsi)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="a TinyBERT file from 'minembed bert train'")
    ap.add_argument("--labels", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--finetune-epochs", type=int, default=3)
    ap.add_argument("--plot", default=None, help="save the accuracy plot here (.png)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from minembed.kernels.blas import set_blas_threads
    set_blas_threads(1)

    lines, labels, names = load_sources()
    labels = np.asarray(labels)
    order = np.random.default_rng(args.seed).permutation(len(lines))
    test, pool_ids = order[:args.test], order[args.test:]
    t0 = time.perf_counter()
    if args.model:
        bert = TinyBERT.from_file(args.model)
    else:
        from minembed.text.mlm import train_tiny_bert
        bert, rep = train_tiny_bert([lines[i] for i in pool_ids], vocab_size=2000, dim=64, mlp_hidden=128, epochs=2,
                                    progress=False)
        print(f"pretrained here: held-out masked accuracy {rep['accuracy']:.2%} (baseline {rep['baseline']:.2%})")
    wv = Word2Vec(load_corpus("sample", tokenizer=tokenize), vector_size=100, epochs=5, progress=False, seed=1).wv
    print(f"models ready in {time.perf_counter() - t0:.0f} s: {bert!r}")

    seqs = bert.encode_texts(lines, truncate=True)
    feats = {}
    for p in ("mean", "cls", "max"):
        feats[f"tiny BERT {p} (frozen)"] = np.concatenate([bert.embed_ids(bert.pad(seqs[i:i + 256]), p)
                                                           for i in range(0, len(seqs), 256)])
    feats["word2vec bag (frozen)"] = w2v_features(wv, lines)
    y_test = labels[test]
    ids_test = bert.pad([seqs[i] for i in test])
    rows = {}
    for n in args.labels:
        tr = pool_ids[:n]
        y = labels[tr]
        for name, f in feats.items():
            rows.setdefault(name, []).append(linear_probe(f[tr], y, f[test], y_test, len(names), seed=args.seed))
        ids_tr = bert.pad([seqs[i] for i in tr])
        epochs = max(args.finetune_epochs, min(30, 3000 // n))     # few labels: more passes
        tuned = TinyBERT.from_file(args.model) if args.model else _copy(bert)
        rows.setdefault("tiny BERT fine-tuned (mean)", []).append(
            finetune(tuned, ids_tr, y, ids_test, y_test, len(names), epochs, args.seed))
        scratch = TinyBERT(**bert.config, tokenizer=bert.tokenizer, seed=args.seed + 1)
        rows.setdefault("same network from scratch", []).append(
            finetune(scratch, ids_tr, y, ids_test, y_test, len(names), epochs, args.seed))
        print(f"{n} labels done ({time.perf_counter() - t0:.0f} s)", flush=True)

    print(f"\ntest accuracy on {len(test)} held-out lines, 4 sources (chance 25%), by number of labelled lines")
    print(f"{'method':34s}" + "".join(f"{n:>10d}" for n in args.labels))
    for name, accs in rows.items():
        print(f"{name:34s}" + "".join(f"{a:10.1%}" for a in accs))
    lee = lee_similarity(bert, wv)
    if lee is None:
        print("\nLee similarity: gensim's test data is not installed; skipped")
    else:
        print("\nLee's 50 documents, Pearson r of cosine similarity with the human judgements: "
              + ", ".join(f"{k} {v:.3f}" for k, v in lee.items()))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, accs in rows.items():
            ax.plot(args.labels, accs, marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("labelled training lines")
        ax.set_ylabel("test accuracy (4 sources)")
        ax.set_title("Which source is this line from? Frozen vs fine-tuned embeddings")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot saved to {args.plot}")


def _copy(bert):
    new = TinyBERT(**bert.config, tokenizer=bert.tokenizer, seed=0)
    new.load_state_dict(bert.state_dict())
    return new


if __name__ == "__main__":
    main()
