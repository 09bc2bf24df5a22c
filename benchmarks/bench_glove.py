"""minembed GloVe vs the reference C implementation (stanfordnlp/GloVe, when you built it), identical settings,
each in its own fresh process (benchmarks/harness.py), rounds alternating.

    PYTHONPATH=. python benchmarks/bench_glove.py --corpus ../shared/data/corpus/bench.txt \
        [--glove-c PATH/TO/GloVe/build] [--x-max 10] [--rounds 2]

Settings (issue 15): min_count 5, window 10 (symmetric, 1/d weights), 100 dimensions, x_max 10, alpha 0.75,
learning rate 0.05, 10 iterations, 2 threads; vectors W + C. The C side runs ``vocab_count``, ``cooccur
-memory 4``, ``shuffle -memory 4`` and ``glove -threads 2 -binary 0 -model 2`` as its demo.sh does
(build it yourself: ``git clone https://github.com/stanfordnlp/GloVe && make``; never vendored here).

Printed per side: counting time (minembed: vocabulary + encoding + co-occurrences, ``build_vocab``; C:
``vocab_count`` + ``cooccur``, wall and CPU), the number of non-zero pairs (a check of the windowing rules:
they must agree), the training time per iteration (wall and CPU seconds of all threads; C: ``shuffle`` is
reported apart, its ``glove`` CPU time is divided by the iterations), the last iteration's cost, and WS353
Spearman / analogy accuracy of the saved vectors, scored by the same minembed evaluators for both.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_DATA = next((p / "shared" / "data" for p in (REPO.parent, REPO.parent.parent)
                     if (p / "shared" / "data").exists()), REPO.parent / "shared" / "data")
WARMUP = [["a", "b", "c", "a", "b", "d"]] * 20


def side_minembed(corpus, out, settings):
    """minembed's GloVe: build_vocab (vocabulary, ids in a temporary file, co-occurrences), then train()."""
    import numpy as np

    from minembed.text import GloVe

    GloVe(WARMUP, progress=False, **dict(settings, min_count=1, epochs=1))  # loads the compiled kernels

    def run():
        model = GloVe(progress=False, **settings)
        w0, c0 = time.perf_counter(), time.process_time()
        model.build_vocab(corpus_file=corpus)
        count_wall, count_cpu = time.perf_counter() - w0, time.process_time() - c0
        model.train()
        np.savez(out, words=np.array(model.wv.index_to_key), vectors=model.wv.vectors)
        return {"count_wall": count_wall, "count_cpu": count_cpu, "pairs": len(model.cooccurrence),
                "vocab": len(model.vocab), "iter_wall": model.epoch_times, "iter_cpu": model.epoch_cpu_times,
                "shuffle_wall": 0.0, "cost": model.loss_history[-1]}
    return run


def _timed(cmd, stdin=None, stdout=None):
    """Run ``cmd``; its wall and CPU seconds (user + system of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    proc = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=False)
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stderr.decode(errors="replace")


def side_c(corpus, out, bindir, settings, threads):
    """The reference C code, its four programs one after another (demo.sh's pipeline)."""
    b = Path(bindir)

    def run():
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            with open(corpus, "rb") as src, open(t / "vocab.txt", "wb") as dst:
                w1, c1, _ = _timed([b / "vocab_count", "-min-count", str(settings["min_count"]), "-verbose", "0"],
                                   src, dst)
            with open(corpus, "rb") as src, open(t / "cooc.bin", "wb") as dst:
                w2, c2, _ = _timed([b / "cooccur", "-memory", "4.0", "-vocab-file", t / "vocab.txt", "-verbose", "0",
                                    "-window-size", str(settings["window"]), "-overflow-file", t / "overflow"],
                                   src, dst)
            pairs = os.path.getsize(t / "cooc.bin") // 16
            with open(t / "cooc.bin", "rb") as src, open(t / "shuf.bin", "wb") as dst:
                w3, _, _ = _timed([b / "shuffle", "-memory", "4.0", "-verbose", "0", "-temp-file", t / "temp"],
                                  src, dst)
            w4, c4, log = _timed([b / "glove", "-save-file", t / "vectors", "-threads", str(threads),
                                  "-input-file", t / "shuf.bin", "-x-max", str(settings["x_max"]),
                                  "-iter", str(settings["epochs"]), "-vector-size", str(settings["vector_size"]),
                                  "-binary", "0", "-model", "2", "-vocab-file", t / "vocab.txt", "-verbose", "2",
                                  "-seed", "1", "-eta", str(settings["learning_rate"])])
            costs = [float(line.split("cost:")[1]) for line in log.splitlines() if "cost:" in line]
            with open(t / "vocab.txt", encoding="utf-8") as fh:
                vocab = sum(1 for _ in fh)
            os.replace(t / "vectors.txt", out)
        iters = settings["epochs"]
        return {"count_wall": w1 + w2, "count_cpu": c1 + c2, "pairs": pairs, "vocab": vocab,
                "iter_wall": [w4 / iters] * iters, "iter_cpu": [c4 / iters] * iters, "shuffle_wall": w3,
                "cost": costs[-1] if costs else float("nan")}
    return run


def evaluate(path, analogies, pairs):
    """Analogy accuracy (and questions scored) and WordSim Spearman, by minembed's evaluators (for both sides)."""
    import numpy as np

    from minembed.space.vectors import KeyedVectors

    if str(path).endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            wv = KeyedVectors(f["words"].tolist(), f["vectors"])
    else:
        wv = KeyedVectors.load_word2vec_format(path, binary=False, no_header=True)
    acc, sections = wv.evaluate_word_analogies(analogies)
    scored = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
    (_, _), (rho, _), _ = wv.evaluate_word_pairs(pairs)
    return float(acc), scored, float(rho)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=str(DEFAULT_DATA / "corpus" / "bench.txt"))
    p.add_argument("--analogies", default=str(DEFAULT_DATA / "eval" / "questions-words.txt"))
    p.add_argument("--pairs", default=str(DEFAULT_DATA / "eval" / "wordsim353.tsv"))
    p.add_argument("--glove-c", metavar="DIR", help="folder with the built C programs (vocab_count, cooccur, ...)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--x-max", type=float, nargs="+", default=[10.0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--bias-learning-rate", type=float, default=None,
                   help="minembed's bias step rate (default: = learning_rate; 1.0 = the C code's since 2019)")
    harness.add_arguments(p, rounds=2)
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        for x_max in args.x_max:
            settings = dict(vector_size=100, window=10, min_count=5, x_max=x_max, alpha=0.75, learning_rate=0.05,
                            epochs=args.epochs, workers=args.workers, seed=1,
                            bias_learning_rate=args.bias_learning_rate)  # read by minembed's side only
            sides = [harness.Side("minembed", "side_minembed",
                                  dict(corpus=args.corpus, out=f"{tmp}/minembed.npz", settings=settings))]
            if args.glove_c:
                sides.append(harness.Side("glove-c", "side_c", dict(corpus=args.corpus, out=f"{tmp}/c.txt",
                                                                     bindir=args.glove_c, settings=settings,
                                                                     threads=args.workers)))
            res = harness.measure(__file__, sides, args, repeats=1, warmup=0)
            harness.print_header(f"GloVe on {args.corpus}: min_count 5, window 10, dim 100, x_max {x_max:g}, "
                                 f"{args.epochs} iterations, {args.workers} threads"
                                 + (f", minembed bias_learning_rate {args.bias_learning_rate:g}"
                                    if args.bias_learning_rate is not None else ""), res, args)
            print(f"{'side':9s} {'count s':>8s} {'count CPU':>9s} {'pairs':>11s} {'vocab':>7s} {'iter s':>7s} "
                  f"{'iter CPU s':>10s} {'shuffle s':>9s} {'cost':>8s} {'WS353':>6s} {'analogy':>8s} {'scored':>7s}")
            for label, r in res.items():
                ex = [e for rnd in r.extras for e in rnd]
                med = {k: statistics.median(e[k] for e in ex) for k in ("count_wall", "count_cpu", "pairs",
                                                                        "shuffle_wall", "cost")}
                it_w = statistics.median(t for e in ex for t in e["iter_wall"])
                it_c = statistics.median(t for e in ex for t in e["iter_cpu"])
                acc, scored, rho = evaluate(f"{tmp}/{'minembed.npz' if label == 'minembed' else 'c.txt'}",
                                            args.analogies, args.pairs)
                print(f"{label:9s} {med['count_wall']:8.1f} {med['count_cpu']:9.1f} {int(med['pairs']):11,d} "
                      f"{ex[-1]['vocab']:7,d} {it_w:7.2f} {it_c:10.2f} {med['shuffle_wall']:9.1f} "
                      f"{med['cost']:8.5f} {rho:6.3f} {100 * acc:7.1f}% {scored:7,d}", flush=True)
            if len(res) == 2:
                m, c = (res[k].extras for k in ("minembed", "glove-c"))
                mi = statistics.median(t for rnd in m for e in rnd for t in e["iter_cpu"])
                ci = statistics.median(t for rnd in c for e in rnd for t in e["iter_cpu"])
                print(f"CPU seconds per iteration, minembed / C: {mi / ci:.2f}x")
            print(f"(medians over {args.rounds} process(es) per side; quality: the last process's vectors)\n")


if __name__ == "__main__":
    main()
