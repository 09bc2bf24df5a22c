"""minembed Word2Vec vs gensim (when importable), identical settings, each run in its own process.

    PYTHONPATH=. /work/peers/bin/python benchmarks/bench_word2vec.py --corpus ../shared/data/corpus/bench.txt

Settings (the issue's): negative=5, window=5, vector_size=100, min_count=5, sample=1e-3, epochs=5;
skip-gram at workers=1 and 2, and CBOW at workers=1 and 2. Each (library, config) runs in a fresh
subprocess so its peak resident memory (``ru_maxrss``) is its own. Printed per run: train words/s
(epochs x corpus tokens / time spent in ``train()``), train time, wall time (process start to
vectors ready: imports, vocabulary, encoding, training), peak memory (max RSS up to the end of
training, before evaluation), analogy accuracy on
questions-words.txt and Spearman on wordsim353.tsv (both computed with minembed's evaluators for
every library; gensim's own figures are printed too as a cross-check). Ratios are minembed / gensim
from the same invocation. ``--epochs`` / ``--limit-lines`` make quicker runs. ``--seeds 1,2,3`` repeats
every run per seed (one seed's quality figures move by a few hundredths; compare means). "base MB" is
the resident memory after imports and a warm-up on a tiny corpus (compiled code loaded), so
"peak - base" is what the vocabulary, corpus and tables of the real run added.

gensim reads ``corpus_file`` by default (its fastest path). Note, from gensim 4.x's
word2vec_corpusfile.pyx: each of its ``workers`` threads reads 1/workers of the file but measures
its progress against the whole corpus's ``total_examples``, so with workers=2 the learning rate only
falls half way within each epoch and jumps at the next (mean rate ~10% higher, ending at 0.1 x alpha
instead of min_alpha). CBOW's analogy score gains about a point from that. ``--gensim-input
sentences`` feeds gensim a ``LineSentence`` iterator instead, whose decay is the documented linear
one (minembed's), for a like-for-like quality comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_DATA = next((p / "shared" / "data" for p in (REPO.parent, REPO.parent.parent)
                     if (p / "shared" / "data").exists()), REPO.parent / "shared" / "data")


def child(args) -> None:
    start = time.perf_counter()
    cfg = json.loads(args.child)
    corpus = cfg["corpus"]
    n_tokens = sum(len(line.split()) for line in open(corpus, encoding="utf-8"))
    common = dict(vector_size=cfg["dim"], window=cfg["window"], min_count=cfg["min_count"], sample=cfg["sample"],
                  sg=cfg["sg"], negative=cfg["negative"], epochs=cfg["epochs"], seed=cfg["seed"],
                  workers=cfg["workers"])
    warmup = [["a", "b", "c", "a", "b", "d"]] * 20
    out = {}
    if cfg["lib"] == "gensim":
        import logging

        logging.disable(logging.CRITICAL)
        from gensim.models import Word2Vec as GensimW2V

        GensimW2V(warmup, **dict(common, min_count=1, epochs=1))
        base = _rss_mb()
        model = GensimW2V(**common)
        if cfg["gensim_input"] == "sentences":  # a Python iterator of lines: slower, documented lr decay
            from gensim.models.word2vec import LineSentence

            source = dict(corpus_iterable=LineSentence(corpus))
        else:
            source = dict(corpus_file=corpus)
        model.build_vocab(**source)
        t0, c0 = time.perf_counter(), time.process_time()
        model.train(**source, total_words=model.corpus_total_words, total_examples=model.corpus_count,
                    epochs=cfg["epochs"])
        train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before any evaluation
        from minembed.space.vectors import WordVectors

        wv = WordVectors(model.wv.index_to_key, model.wv.vectors)
        g_acc, _ = model.wv.evaluate_word_analogies(cfg["analogies"])
        g_pairs = model.wv.evaluate_word_pairs(cfg["pairs"])
        out["own_analogy"] = float(g_acc)
        out["own_spearman"] = float(g_pairs[1][0])
    else:
        from minembed.text import Word2Vec

        Word2Vec(warmup, progress=False, **dict(common, min_count=1, epochs=1))  # loads the compiled kernel
        base = _rss_mb()
        model = Word2Vec(progress=False, **common)
        model.build_vocab(corpus_file=corpus)
        t0, c0 = time.perf_counter(), time.process_time()
        model.train()
        train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        wv = model.wv
        out["loss"] = model.loss_history
    acc, _ = wv.evaluate_word_analogies(cfg["analogies"])
    (_, _), (rho, _), oov = wv.evaluate_word_pairs(cfg["pairs"])
    out.update(words_per_s=n_tokens * cfg["epochs"] / train_s, train_s=train_s,
               words_per_cpu_s=n_tokens * cfg["epochs"] / train_cpu, wall_s=wall,
               peak_mb=peak, base_mb=base, analogy=acc, spearman=rho,
               vocab=len(wv))
    print("RESULT " + json.dumps(out))


def _rss_mb() -> float:
    """Current resident set size in MB (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(cfg) -> dict | None:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)], capture_output=True, text=True,
                          env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  ! {cfg['lib']} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(DEFAULT_DATA / "corpus" / "bench.txt"))
    p.add_argument("--analogies", default=str(DEFAULT_DATA / "eval" / "questions-words.txt"))
    p.add_argument("--pairs", default=str(DEFAULT_DATA / "eval" / "wordsim353.tsv"))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--limit-lines", type=int, default=0, help="use only the first N lines of the corpus")
    p.add_argument("--configs", default="sg1,sg2,cbow1,cbow2", help="comma list from sg1,sg2,cbow1,cbow2")
    p.add_argument("--libs", default="minembed,gensim")
    p.add_argument("--gensim-input", choices=["corpus_file", "sentences"], default="corpus_file",
                   help="how gensim reads the corpus (see the module docstring)")
    p.add_argument("--seeds", default="1", help="comma list of seeds; quality is averaged over them")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    corpus = args.corpus
    tmp = None
    if args.limit_lines:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
        with open(corpus, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i >= args.limit_lines:
                    break
                tmp.write(line)
        tmp.close()
        corpus = tmp.name
    libs = args.libs.split(",")
    if "gensim" in libs:
        try:
            import gensim  # noqa: F401
        except ImportError:
            print("gensim is not importable here: minembed only (run with /work/peers/bin/python to compare)")
            libs.remove("gensim")
    print(f"corpus {args.corpus}{f' (first {args.limit_lines} lines)' if args.limit_lines else ''}; "
          f"dim=100 window=5 negative=5 min_count=5 sample=1e-3 epochs={args.epochs}; {os.cpu_count()} CPUs")
    seeds = [int(x) for x in args.seeds.split(",")]
    rows = []
    for name in args.configs.split(","):
        sg = 1 if name.startswith("sg") else 0
        workers = int(name[-1])
        for seed in seeds:
            res = {}
            for lib in libs:
                cfg = dict(lib=lib, corpus=corpus, analogies=args.analogies, pairs=args.pairs, dim=100, window=5,
                           min_count=5, sample=1e-3, negative=5, epochs=args.epochs, sg=sg, workers=workers,
                           seed=seed, gensim_input=args.gensim_input)
                res[lib] = run(cfg)
            rows.append((name, seed, res))
            _print_rows([(name, seed, res)], header=len(rows) == 1)
    if tmp:
        os.unlink(tmp.name)
    print()
    print("minembed / gensim, paired by seed: speed and memory as medians of per-seed ratios; analogy (points) and")
    print("Spearman as the difference of the means over seeds (each side's spread in brackets)")
    for name in args.configs.split(","):
        pairs = [(r["minembed"], r["gensim"]) for n, _, r in rows
                 if n == name and r.get("minembed") and r.get("gensim")]
        if not pairs:
            continue
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


def _print_rows(rows, header):
    if header:
        print(f"{'config':7s} {'seed':>4s} {'library':9s} {'words/s':>10s} {'train s':>8s} {'wall s':>7s} "
              f"{'peak MB':>8s} {'base MB':>8s} {'analogy':>8s} {'WS353':>6s}  gensim's own eval")
    for name, seed, res in rows:
        for lib, r in res.items():
            if r is None:
                print(f"{name:7s} {seed:4d} {lib:9s} failed")
                continue
            own = (f"  {100 * r['own_analogy']:.1f}% / {r['own_spearman']:.3f}" if "own_analogy" in r else "")
            print(f"{name:7s} {seed:4d} {lib:9s} {r['words_per_s']:10,.0f} {r['train_s']:8.1f} {r['wall_s']:7.1f} "
                  f"{r['peak_mb']:8.0f} {r['base_mb']:8.0f} {100 * r['analogy']:7.1f}% {r['spearman']:6.3f}{own}",
                  flush=True)


if __name__ == "__main__":
    main()
