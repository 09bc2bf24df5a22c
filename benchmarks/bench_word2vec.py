"""minembed Word2Vec vs gensim (when importable), identical settings, each library alone in its own
fresh process (benchmarks/harness.py), rounds alternating.

    PYTHONPATH=. python benchmarks/bench_word2vec.py --corpus ../shared/data/corpus/bench.txt

Settings (the issue's): negative=5, window=5, vector_size=100, min_count=5, sample=1e-3, epochs=5;
skip-gram at workers=1 and 2, and CBOW at workers=1 and 2. In each process: imports, a warm-up on a
tiny corpus (compiled code loaded), the vocabulary, then the timed ``train()``, then the vectors are
saved for evaluation. Printed per process: train words/s (epochs x corpus tokens / train seconds),
CPU seconds of training, setup seconds (process start to training start), peak memory (the process's
own high-water mark, before evaluation) and "base MB" (resident after the warm-up, so "peak - base" is
what the vocabulary, corpus and tables added), analogy accuracy on questions-words.txt and Spearman on
wordsim353.tsv. Both libraries' vectors are scored by the same code (minembed's evaluators, run by this
driver on the saved vectors); gensim's own figures are printed too as a cross-check. Ratios are
minembed / gensim from the same invocation. ``--epochs`` / ``--limit-lines`` make quicker runs.
``--seeds 1,2,3`` repeats every configuration per seed (one seed's quality figures move by a few
hundredths; compare means).

gensim is raced in its fastest mode here, ``--gensim-input memory``: the sentences as lists of tokens
in memory (read before the clock starts). Its ``corpus_file`` mode was slower on this 2-core machine
(133 s vs 100 s for the 8.3M-token corpus at 2 workers), and it also decays the learning rate
differently: from gensim 4.x's word2vec_corpusfile.pyx, each of its ``workers`` threads reads
1/workers of the file but measures its progress against the whole corpus, so with workers=2 the rate
only falls half way within each epoch (mean rate ~10% higher, ending at 0.1 x alpha instead of
min_alpha); CBOW's analogy score gains about a point from that. minembed reads ``corpus_file`` (it
encodes the corpus to a temporary file of int32 ids) and decays the rate linearly, as gensim's
in-memory mode does.
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
WARMUP = [["a", "b", "c", "a", "b", "d"]] * 20


# ------------------------------------------------------------------------------ sides (run in the children)
def _rss_mb() -> float:
    """Current resident set size in MB (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _save(path, words, vectors):
    import numpy as np

    np.savez(path, words=np.array(words), vectors=np.asarray(vectors, dtype=np.float32))


def side_minembed(corpus, out, settings):
    """minembed's Word2Vec: vocabulary from the file, then train() on it."""
    from minembed.text import Word2Vec

    Word2Vec(WARMUP, progress=False, **dict(settings, min_count=1, epochs=1))  # loads the compiled kernel
    base = _rss_mb()
    model = Word2Vec(progress=False, **settings)
    model.build_vocab(corpus_file=corpus)

    def after():
        _save(out, model.wv.index_to_key, model.wv.vectors)
        return {"base_mb": base}
    return model.train, after


def side_gensim(corpus, out, settings, gensim_input, analogies, pairs):
    """gensim's Word2Vec, fed in memory (default) or through corpus_file."""
    import logging

    logging.disable(logging.CRITICAL)
    from gensim.models import Word2Vec

    Word2Vec(WARMUP, **dict(settings, min_count=1, epochs=1))
    base = _rss_mb()
    model = Word2Vec(**settings)
    if gensim_input == "memory":
        with open(corpus, encoding="utf-8") as fh:
            source = {"corpus_iterable": [line.split() for line in fh]}
    else:
        source = {"corpus_file": corpus}
    model.build_vocab(**source)

    def run():
        model.train(**source, total_words=model.corpus_total_words, total_examples=model.corpus_count,
                    epochs=settings["epochs"])

    def after():
        _save(out, model.wv.index_to_key, model.wv.vectors)
        own_analogy, _ = model.wv.evaluate_word_analogies(analogies)
        own_pairs = model.wv.evaluate_word_pairs(pairs)
        return {"base_mb": base, "own_analogy": float(own_analogy), "own_spearman": float(own_pairs[1][0])}
    return run, after


# ----------------------------------------------------------------------------------------- driver
def evaluate(path, analogies, pairs):
    """Analogy accuracy and WordSim Spearman of saved vectors, by minembed's evaluators (for both libraries)."""
    import numpy as np

    from minembed.space.vectors import WordVectors

    with np.load(path, allow_pickle=False) as f:
        wv = WordVectors(f["words"].tolist(), f["vectors"])
    acc, _ = wv.evaluate_word_analogies(analogies)
    (_, _), (rho, _), _ = wv.evaluate_word_pairs(pairs)
    return float(acc), float(rho), len(wv)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(DEFAULT_DATA / "corpus" / "bench.txt"))
    p.add_argument("--analogies", default=str(DEFAULT_DATA / "eval" / "questions-words.txt"))
    p.add_argument("--pairs", default=str(DEFAULT_DATA / "eval" / "wordsim353.tsv"))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--limit-lines", type=int, default=0, help="use only the first N lines of the corpus")
    p.add_argument("--configs", default="sg1,sg2,cbow1,cbow2", help="comma list from sg1,sg2,cbow1,cbow2")
    p.add_argument("--libs", default="minembed,gensim")
    p.add_argument("--gensim-input", choices=["memory", "corpus_file"], default="memory",
                   help="how gensim reads the corpus (see the module docstring)")
    p.add_argument("--seeds", default="1", help="comma list of seeds; quality is averaged over them")
    harness.add_arguments(p, rounds=2)
    args = p.parse_args(argv)

    libs = args.libs.split(",")
    if "gensim" in libs and not harness.available("gensim"):
        print("gensim is not importable here: minembed only (install gensim in this environment to compare)")
        libs.remove("gensim")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if args.limit_lines:
            corpus = os.path.join(tmp, "corpus.txt")
            with open(args.corpus, encoding="utf-8") as src, open(corpus, "w", encoding="utf-8") as dst:
                for _, line in zip(range(args.limit_lines), src, strict=False):
                    dst.write(line)
        with open(corpus, encoding="utf-8") as fh:
            n_tokens = sum(len(line.split()) for line in fh)
        rows = []
        for name in args.configs.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                settings = dict(vector_size=100, window=5, min_count=5, sample=1e-3, sg=int(name.startswith("sg")),
                                negative=5, epochs=args.epochs, seed=seed, workers=int(name[-1]))
                sides = [harness.Side("minembed", "side_minembed",
                                      dict(corpus=corpus, out=f"{tmp}/minembed.npz", settings=settings))]
                if "gensim" in libs:
                    sides.append(harness.Side("gensim", "side_gensim", dict(
                        corpus=corpus, out=f"{tmp}/gensim.npz", settings=settings, gensim_input=args.gensim_input,
                        analogies=args.analogies, pairs=args.pairs)))
                sides = [s for s in sides if s.label in libs]
                res = harness.measure(__file__, sides, args, repeats=1, warmup=0)
                if not rows:
                    lines = f" (first {args.limit_lines} lines)" if args.limit_lines else ""
                    harness.print_header(
                        f"word2vec on {args.corpus}{lines}: {n_tokens:,} tokens; dim=100 window=5 negative=5 "
                        f"min_count=5 sample=1e-3 epochs={args.epochs}; gensim input: {args.gensim_input}",
                        res, args)
                    print(f"{'config':7s} {'seed':>4s} {'library':9s} {'words/s':>10s} {'min-max':>19s} "
                          f"{'train s':>8s} {'CPU s':>7s} {'setup s':>8s} {'peak MB':>8s} {'base MB':>8s} "
                          f"{'analogy':>8s} {'WS353':>6s}  gensim's own eval")
                row = {}
                for lib, r in res.items():
                    work = n_tokens * args.epochs
                    analogy, rho, vocab = evaluate(f"{tmp}/{lib}.npz", args.analogies, args.pairs)
                    lo, hi = r.spread()
                    row[lib] = dict(words_per_s=work / r.median(), words_per_cpu_s=work / r.median("cpu"),
                                    peak_mb=statistics.median(r.peak_mb),
                                    base_mb=statistics.median(a["base_mb"] for a in r.after),
                                    analogy=analogy, spearman=rho)
                    own = r.after[-1]
                    own = f"  {100 * own['own_analogy']:.1f}% / {own['own_spearman']:.3f}" if lib == "gensim" else ""
                    print(f"{name:7s} {seed:4d} {lib:9s} {work / r.median():10,.0f} "
                          f"{f'{work / hi:,.0f}-{work / lo:,.0f}':>19s} {r.median():8.1f} {r.median('cpu'):7.1f} "
                          f"{statistics.median(r.setup):8.1f} {row[lib]['peak_mb']:8.0f} {row[lib]['base_mb']:8.0f} "
                          f"{100 * analogy:7.1f}% {rho:6.3f}{own}", flush=True)
                rows.append((name, row))
    print(f"\nwords/s and times: median of {args.rounds} process(es) per library and config (min-max over them); "
          "analogy and WS353: the last process's vectors")
    if "gensim" in libs and "minembed" in libs:
        _summarize(rows, args.configs.split(","))


def _summarize(rows, configs):
    print("minembed / gensim, paired by seed: speed and memory as medians of per-seed ratios; analogy (points) and")
    print("Spearman as the difference of the means over seeds (each side's spread in brackets)")
    for name in configs:
        pairs = [(r["minembed"], r["gensim"]) for n, r in rows if n == name]
        ms, gs = [m for m, _ in pairs], [g for _, g in pairs]

        def ratio(key, pairs=pairs):
            return statistics.median(m[key] / g[key] for m, g in pairs)

        def diff(key, scale, ms=ms, gs=gs):
            mm, gm = (statistics.mean(x[key] for x in xs) * scale for xs in (ms, gs))
            spread = (f" (sd {statistics.stdev(x[key] * scale for x in ms):.3f} / "
                      f"{statistics.stdev(x[key] * scale for x in gs):.3f})" if len(ms) > 1 else "")
            return f"{mm - gm:+.3f}{spread}"

        data = statistics.median((m["peak_mb"] - m["base_mb"]) / (g["peak_mb"] - g["base_mb"]) for m, g in pairs)
        print(f"  {name:6s} seeds {len(pairs)}  speed x{ratio('words_per_s'):.2f} "
              f"(per CPU-second x{ratio('words_per_cpu_s'):.2f})  peak memory x{ratio('peak_mb'):.2f} "
              f"(training increment x{data:.2f})  analogy {diff('analogy', 100)} pts  "
              f"spearman {diff('spearman', 1)}")


if __name__ == "__main__":
    main()
