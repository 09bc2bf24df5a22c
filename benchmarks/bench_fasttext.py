"""minembed FastText vs gensim's FastText and Facebook's fastText (``fasttext-wheel``), each library alone in
its own fresh process (benchmarks/harness.py), rounds alternating; plus a bucket sweep and an OOV experiment.

    PYTHONPATH=. python benchmarks/bench_fasttext.py --corpus ../shared/data/corpus/bench.txt
    PYTHONPATH=. python benchmarks/bench_fasttext.py --mode buckets     # memory and quality against bucket
    PYTHONPATH=. python benchmarks/bench_fasttext.py --mode oov         # held-out words' composed vectors

Setting (issue 15): the first ``--tokens`` (2M) whitespace tokens of the corpus, whole lines; skip-gram,
vector_size 100, window 5, negative 5, 5 epochs, min_count 5, n-grams 3..6, bucket 2,000,000, 2 workers.
Every other setting is each library's default: gensim and minembed (gensim's names and defaults) alpha
0.025, sample 1e-3; Facebook's fastText lr 0.05, t 1e-4, and its vocabulary has "</s>" (end of line).
``--minembed-like-facebook`` gives minembed Facebook's alpha, sample and noise exponent (0.5) instead.

Corpus order matters here (issue 15). bench.txt is its sources one after another: the first 2M tokens are
~0.9M of Wikipedia-like text, then the King James Bible, then novels. Facebook's fastText stops when its
token counter reaches ``epoch * ntokens``, but ``ntokens`` counts every token read (rare words and its
"</s>" too) while the counter counts only vocabulary tokens (and "</s>"): here it makes 5.15 passes, and
the learning rate falls to zero on the corpus's *first* (Wikipedia) lines; minembed and gensim make exactly
5 and end on the novels. WS353 (modern vocabulary) rewards ending on Wikipedia: measured with one worker,
Facebook 0.325 vs minembed 0.273 in file order, 0.405 vs 0.413 with the lines shuffled, analogy equal.
``--shuffle-lines`` shuffles the selected lines (seed 0) so that no library's score hangs on which source
it happens to end on.

Printed per process: train words/s (epochs x corpus tokens / train seconds; Facebook's figure includes
reading the file and counting the vocabulary, which its API does inside the one training call — about a
second here), CPU seconds, peak memory, analogy accuracy (questions-words.txt) and WS353 Spearman of the
vocabulary vectors (each library's own composed word vectors, scored by minembed's evaluators).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_DATA = next((p / "shared" / "data" for p in (REPO.parent, REPO.parent.parent)
                     if (p / "shared" / "data").exists()), REPO.parent / "shared" / "data")
WARMUP = [["abc", "bcd", "cde", "abc", "bcd", "def"]] * 20


def _save(path, words, vectors):
    import numpy as np

    np.savez(path, words=np.array(words), vectors=np.asarray(vectors, dtype=np.float32))


# ------------------------------------------------------------------------------ sides (run in the children)
def side_minembed(corpus, out, settings):
    from minembed.text import FastText

    FastText(WARMUP, progress=False, **dict(settings, min_count=1, epochs=1, bucket=100))  # compiled kernels
    model = FastText(progress=False, **settings)
    model.build_vocab(corpus_file=corpus)

    def after():
        _save(out, model.wv.index_to_key, model.wv.vectors)
        return {"vocab": len(model.wv)}
    return model.train, after


def side_gensim(corpus, out, settings):
    import logging

    logging.disable(logging.CRITICAL)
    from gensim.models import FastText

    FastText(WARMUP, **dict(settings, min_count=1, epochs=1, bucket=100))
    model = FastText(**settings)
    with open(corpus, encoding="utf-8") as fh:
        sentences = [line.split() for line in fh]
    model.build_vocab(corpus_iterable=sentences)

    def run():
        model.train(corpus_iterable=sentences, total_words=model.corpus_total_words,
                    total_examples=model.corpus_count, epochs=settings["epochs"])

    def after():
        _save(out, model.wv.index_to_key, model.wv.vectors)
        return {"vocab": len(model.wv)}
    return run, after


def side_facebook(corpus, out, settings):
    import fasttext

    s = settings
    box = {}

    def run():
        box["model"] = fasttext.train_unsupervised(
            corpus, model="skipgram" if s["sg"] else "cbow", dim=s["vector_size"], ws=s["window"],
            neg=s["negative"], epoch=s["epochs"], minCount=s["min_count"], minn=s["min_n"], maxn=s["max_n"],
            bucket=s["bucket"], thread=s["workers"], verbose=0)

    def after():
        import numpy as np

        model = box["model"]
        words = model.words
        _save(out, words, np.stack([model.get_word_vector(w) for w in words]))
        return {"vocab": len(words)}
    return run, after


# ----------------------------------------------------------------------------------------- driver
def evaluate(path, analogies, pairs):
    import numpy as np

    from minembed.space.vectors import KeyedVectors

    with np.load(path, allow_pickle=False) as f:
        wv = KeyedVectors(f["words"].tolist(), f["vectors"])
    acc, _ = wv.evaluate_word_analogies(analogies)
    (_, _), (rho, _), _ = wv.evaluate_word_pairs(pairs)
    return float(acc), float(rho)


def first_tokens(src, dst, n_tokens, shuffle=False):
    """Copy whole lines of ``src`` to ``dst`` until ``n_tokens`` whitespace tokens; returns the count.
    ``shuffle``: write those lines in a random order (seed 0), so the corpus does not end on one source."""
    import random

    total, lines = 0, []
    with open(src, encoding="utf-8") as fin:
        for line in fin:
            if total >= n_tokens:
                break
            total += len(line.split())
            lines.append(line)
    if shuffle:
        lines = [line if line.endswith("\n") else line + "\n" for line in lines]  # the last may have none
        random.Random(0).shuffle(lines)
    with open(dst, "w", encoding="utf-8") as fout:
        fout.writelines(lines)
    return total


def settings_for(args, **over):
    s = dict(vector_size=100, window=5, min_count=5, sg=1, negative=5, epochs=args.epochs, workers=args.workers,
             seed=1, min_n=3, max_n=6, bucket=2_000_000)
    s.update(over)
    return s


def run_speed(args, corpus, n_tokens, tmp):
    libs = [lib for lib in args.libs.split(",") if lib == "minembed" or harness.available(
        {"gensim": "gensim", "facebook": "fasttext"}[lib])]
    settings = settings_for(args)
    # Facebook's defaults where they differ from gensim's: lr 0.05, t 1e-4, and negatives drawn from
    # count^0.5 (its initTableNegatives), where word2vec and gensim use count^0.75.
    like_facebook = dict(alpha=0.05, sample=1e-4, ns_exponent=0.5)
    mine = dict(settings, **(like_facebook if args.minembed_like_facebook else {}))
    sides = {"minembed": harness.Side("minembed", "side_minembed", dict(corpus=corpus, out=f"{tmp}/minembed.npz",
                                                                       settings=mine)),
             "gensim": harness.Side("gensim", "side_gensim", dict(corpus=corpus, out=f"{tmp}/gensim.npz",
                                                                 settings=settings)),
             "facebook": harness.Side("facebook", "side_facebook", dict(corpus=corpus, out=f"{tmp}/facebook.npz",
                                                                       settings=settings))}
    res = harness.measure(__file__, [sides[lib] for lib in libs], args, repeats=1, warmup=0)
    harness.print_header(f"fastText skip-gram on the first {n_tokens:,} tokens of {args.corpus}: dim 100, window 5, "
                         f"negative 5, epochs {args.epochs}, min_count 5, n-grams 3-6, bucket 2M, "
                         f"workers {args.workers}" + (", lines shuffled" if args.shuffle_lines else "")
                         + (" (minembed: alpha 0.05, sample 1e-4, ns_exponent 0.5)"
                            if args.minembed_like_facebook else ""), res, args)
    print(f"{'library':9s} {'words/s':>10s} {'min-max':>19s} {'train s':>8s} {'CPU s':>7s} {'peak MB':>8s} "
          f"{'vocab':>7s} {'analogy':>8s} {'WS353':>6s}")
    work = n_tokens * args.epochs
    for lib, r in res.items():
        analogy, rho = evaluate(f"{tmp}/{lib}.npz", args.analogies, args.pairs)
        lo, hi = r.spread()
        print(f"{lib:9s} {work / r.median():10,.0f} {f'{work / hi:,.0f}-{work / lo:,.0f}':>19s} {r.median():8.1f} "
              f"{r.median('cpu'):7.1f} {statistics.median(r.peak_mb):8.0f} {r.after[-1]['vocab']:7d} "
              f"{100 * analogy:7.1f}% {rho:6.3f}", flush=True)
    for peer in ("gensim", "facebook"):
        if peer in res and "minembed" in res:
            ratio, lo, hi = harness.speed_ratio(res, "minembed", peer)
            cpu = harness.speed_ratio(res, "minembed", peer, clock="cpu")[0]
            print(f"minembed / {peer}: words/s x{ratio:.2f} ({lo:.2f}-{hi:.2f}), per CPU-second x{cpu:.2f}")
    print(f"load average now: {os.getloadavg()}")


def run_buckets(args, corpus, n_tokens, tmp):
    """minembed only: memory of the n-gram table and quality for several bucket counts (one process each)."""
    print(f"bucket sweep, minembed skip-gram on the first {n_tokens:,} tokens, dim 100, epochs {args.epochs}, "
          f"workers {args.workers}")
    print(f"{'bucket':>10s} {'table MB':>9s} {'peak MB':>8s} {'train s':>8s} {'analogy':>8s} {'WS353':>6s}")
    for bucket in (int(b) for b in args.buckets.split(",")):
        side = harness.Side(f"b{bucket}", "side_minembed", dict(corpus=corpus, out=f"{tmp}/b.npz",
                                                                settings=settings_for(args, bucket=bucket)))
        r = harness.measure(__file__, [side], args, repeats=1, warmup=0, rounds=1)[side.label]
        analogy, rho = evaluate(f"{tmp}/b.npz", args.analogies, args.pairs)
        print(f"{bucket:10,d} {bucket * 100 * 4 / 2**20:9.0f} {statistics.median(r.peak_mb):8.0f} "
              f"{r.median():8.1f} {100 * analogy:7.1f}% {rho:6.3f}", flush=True)
    print(f"load average now: {os.getloadavg()}")


def side_oov(corpus, held_path, out, settings):
    """Train on ``corpus`` with the held-out words deleted (model A) and on the whole corpus (model B);
    save A's composed vectors of the held-out words and B's learned ones, plus both vocabularies."""
    import numpy as np

    from minembed.text import FastText

    held = set(Path(held_path).read_text(encoding="utf-8").split())

    class Without:
        def __iter__(self):
            with open(corpus, encoding="utf-8") as fh:
                for line in fh:
                    yield [w for w in line.split() if w not in held]

    def run():
        a = FastText(Without(), progress=False, **settings)
        b = FastText(corpus_file=corpus, progress=False, **settings)
        words = sorted(held)
        shared = [w for w in a.wv.index_to_key if w in b.wv]
        np.savez(out, held=np.array(words), a_held=a.wv[words], b_held=b.wv[words],
                 shared=np.array(shared), a_shared=a.wv[shared], b_shared=b.wv[shared],
                 a_words=np.array(a.wv.index_to_key), a_vectors=a.wv.vectors)
    return run


def run_oov(args, corpus, n_tokens, tmp):
    import numpy as np

    from minembed.datasets import load_corpus
    from minembed.space.vectors import KeyedVectors
    from minembed.text import Vocab

    counts = Vocab.build(load_corpus(corpus), min_count=5)
    rng = np.random.default_rng(0)
    mid = [w for w, c in zip(counts.words, counts.counts, strict=True) if 20 <= c <= 200 and w.isalpha() and len(w) > 4]
    held = sorted(rng.choice(mid, size=min(args.held_out, len(mid)), replace=False).tolist())
    held_path = f"{tmp}/held.txt"
    Path(held_path).write_text("\n".join(held), encoding="utf-8")
    side = harness.Side("oov", "side_oov", dict(corpus=corpus, held_path=held_path, out=f"{tmp}/oov.npz",
                                                settings=settings_for(args)))
    harness.measure(__file__, [side], args, repeats=1, warmup=0, rounds=1)
    f = np.load(f"{tmp}/oov.npz")
    # put A's space onto B's by orthogonal Procrustes on the words both learned (each space centred on its
    # shared words' mean and scaled to unit rows first: raw vectors share a large common direction)
    def unit(x):
        x = np.asarray(x, dtype=np.float64)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    ma, mb = f["a_shared"].mean(axis=0), f["b_shared"].mean(axis=0)
    a_sh, b_sh = unit(f["a_shared"] - ma), unit(f["b_shared"] - mb)
    u, _, vt = np.linalg.svd(a_sh.T @ b_sh)
    rot = u @ vt
    a_held = unit(unit(f["a_held"] - ma) @ rot)
    b_held = unit(f["b_held"] - mb)
    same = np.sum(a_held * b_held, axis=1)
    shuffled = np.sum(a_held * b_held[rng.permutation(len(b_held))], axis=1)
    seen = np.sum(unit(a_sh @ rot) * b_sh, axis=1)
    # neighbours: A's composed vector among A's vocabulary vs B's learned vector among B's (shared words only)
    a_kv = KeyedVectors(f["a_words"].tolist(), f["a_vectors"])
    shared_set = set(f["shared"].tolist())
    b_kv = KeyedVectors(f["shared"].tolist() + f["held"].tolist(),
                        np.concatenate([f["b_shared"], f["b_held"]]))
    overlap = []
    for w, va in zip(f["held"].tolist(), f["a_held"], strict=True):
        na = {x for x, _ in a_kv.most_similar(va, topn=10) if x in shared_set}
        nb = {x for x, _ in b_kv.most_similar(w, topn=20) if x in shared_set}
        overlap.append(len(na & set(list(nb)[:10])) / 10)
    print(f"OOV experiment on the first {n_tokens:,} tokens: {len(held)} held-out words (count 20-200, alphabetic, "
          f"> 4 letters), deleted from model A's corpus; model B saw them. Spaces centred and aligned by orthogonal "
          f"Procrustes on {len(f['shared'])} shared words.")
    print(f"  cosine(A's composed vector, B's learned vector), held-out words: median {np.median(same):.3f} "
          f"(mean {same.mean():.3f})")
    print(f"  the same for a random other held-out word (chance):            median {np.median(shuffled):.3f}")
    print(f"  the same for words both models learned (ceiling):              median {np.median(seen):.3f}")
    print(f"  top-10 neighbour overlap (A composed vs B learned):            mean {np.mean(overlap):.3f}")
    for w, va in list(zip(f["held"].tolist(), f["a_held"], strict=True))[:8]:
        na = [x for x, _ in a_kv.most_similar(va, topn=5)]
        nb = [x for x, _ in b_kv.most_similar(w, topn=6) if x != w][:5]
        print(f"    {w:15s} composed: {', '.join(na):60s} learned: {', '.join(nb)}")
    print(f"load average now: {os.getloadavg()}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(DEFAULT_DATA / "corpus" / "bench.txt"))
    p.add_argument("--analogies", default=str(DEFAULT_DATA / "eval" / "questions-words.txt"))
    p.add_argument("--pairs", default=str(DEFAULT_DATA / "eval" / "wordsim353.tsv"))
    p.add_argument("--tokens", type=int, default=2_000_000, help="use the first N tokens (whole lines)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--mode", choices=["speed", "buckets", "oov"], default="speed")
    p.add_argument("--libs", default="minembed,gensim,facebook")
    p.add_argument("--minembed-like-facebook", action="store_true",
                   help="minembed with Facebook's alpha 0.05, sample 1e-4 and ns_exponent 0.5")
    p.add_argument("--shuffle-lines", action="store_true",
                   help="shuffle the selected lines (seed 0): every library then ends its training on the same "
                        "mix of sources (see the note on corpus order above)")
    p.add_argument("--buckets", default="10000,100000,500000,2000000")
    p.add_argument("--held-out", type=int, default=300)
    harness.add_arguments(p, rounds=2)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        n_tokens = first_tokens(args.corpus, corpus, args.tokens, shuffle=args.shuffle_lines)
        {"speed": run_speed, "buckets": run_buckets, "oov": run_oov}[args.mode](args, corpus, n_tokens, tmp)


if __name__ == "__main__":
    main()
