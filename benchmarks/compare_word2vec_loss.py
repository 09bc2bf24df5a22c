"""Per-epoch word2vec loss, minembed vs gensim, on identical settings (each library in its own process).

    PYTHONPATH=. python benchmarks/compare_word2vec_loss.py --sg 1 0 --seeds 1 2 3

Why: with the default linear learning-rate decay the loss that both libraries report rises in the
last epoch (issue 11). This script separates two measurements for every epoch:

* **on the fly** -- what ``loss_history`` (minembed) and ``get_latest_training_loss()`` (gensim)
  report: each example's loss is taken *just before its own update*, by a model that is learning
  while it is measured. Normalised per raw corpus token (the same number for both libraries);
  minembed's per-example mean (``loss_history``) is printed too.
* **frozen** -- the loss of the model as it is at the end of the epoch, not updating, on a fixed
  sample of training examples drawn once with NumPy (same subsampling, reduced windows and noise
  distribution as training; the same examples for both libraries, mapped by word). Mean per example,
  computed exactly in float64 (``softplus``, no clipping); ``gensim-style`` drops the targets with
  ``|score| >= 6`` as gensim's loss does.

gensim's running loss is a float32 sum, so one ``train()`` call per epoch would lose precision once it
reaches ~1e7 (gensim issue 2735). The gensim worker therefore trains each epoch as ``--segments``
consecutive ``train()`` calls on slices of the corpus, each with the start/end alpha of its slice in
the global linear schedule (alpha falls by raw words, as in gensim's own ``total_words`` mode), and
sums the slices' losses in float64. ``--libs gensim-1call`` adds a plain single ``train()`` call with
a callback taking differences of the running loss at ``on_epoch_end`` (what a gensim user sees).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MAX_SENTENCE = 10_000  # both libraries cut sentences here; we cut them first so both see the same ones


# ------------------------------------------------------------------------------------------ corpus
def load_sentences(corpus: str) -> list[list[str]]:
    """Token lists of a bundled name or a file (read with minembed's reader, which handles .gz);
    lines longer than MAX_SENTENCE tokens (text8) are cut into pieces."""
    sys.path.insert(0, str(REPO))
    from minembed.datasets import load_corpus

    out = []
    for toks in load_corpus(corpus):
        for i in range(0, len(toks), MAX_SENTENCE):
            out.append(toks[i:i + MAX_SENTENCE])
    return out


def vocabulary(sentences, min_count):
    counts = Counter(w for s in sentences for w in s)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return words, np.array([counts[w] for w in words], dtype=np.float64)


def fixed_examples(sentences, cfg, n_examples, seed=20261202):
    """Training examples drawn once, as training draws them: subsample each sentence (word2vec.c's
    keep probability), a reduced window ``window - b`` per centre, ``negative`` noise words from
    counts**0.75. Returns words, and int arrays in that word list's ids:
    ctx (E, 2*window) with mask ctx_ok, centre (E,), noise (E, negative).
    Skip-gram: one context per example; CBOW: the window's contexts (averaged)."""
    words, counts = vocabulary(sentences, cfg["min_count"])
    index = {w: i for i, w in enumerate(words)}
    rng = np.random.default_rng(seed)
    t = cfg["sample"] * counts.sum()
    keep = np.minimum(1.0, (np.sqrt(counts / t) + 1.0) * t / counts) if cfg["sample"] > 0 else np.ones(len(words))
    noise_p = counts ** 0.75 / (counts ** 0.75).sum()
    win = cfg["window"]
    ctx, ok, centre = [], [], []
    n = 0
    for s in rng.permutation(len(sentences)):
        ids = np.array([index[w] for w in sentences[s] if w in index], dtype=np.int64)
        ids = ids[rng.random(len(ids)) < keep[ids]]
        reach = win - rng.integers(0, win, size=len(ids))
        for i in range(len(ids)):
            js = [j for j in range(i - reach[i], i + reach[i] + 1) if j != i and 0 <= j < len(ids)]
            if not js:
                continue
            groups = [[j] for j in js] if cfg["sg"] else [js]
            for g in groups:
                row = np.zeros(2 * win, np.int64)
                row[:len(g)] = ids[g]
                m = np.zeros(2 * win, bool)
                m[:len(g)] = True
                ctx.append(row)
                ok.append(m)
                centre.append(ids[i])
                n += 1
        if n >= n_examples:
            break
    centre = np.array(centre[:n_examples])
    noise = rng.choice(len(words), size=(len(centre), cfg["negative"]), p=noise_p)
    return words, np.array(ctx[:n_examples]), np.array(ok[:n_examples]), centre, noise


def frozen_loss(syn0, syn1neg, ex, batch=20_000):
    """Mean over the fixed examples of -log s(h.o_centre) - sum_noise log s(-h.o_noise), float64,
    h = mean of the context rows; exact, and gensim's way (terms with |score| >= 6 dropped, the others
    read from its table)."""
    ctx, ok, centre, noise = ex
    exact = gens = 0.0
    for b0 in range(0, len(centre), batch):
        sl = slice(b0, b0 + batch)
        m = ok[sl].astype(np.float64)
        h = (syn0[ctx[sl]].astype(np.float64) * m[:, :, None]).sum(1) / m.sum(1, keepdims=True)
        targets = np.concatenate([centre[sl, None], noise[sl]], axis=1)
        x = np.einsum("ed,etd->et", h, syn1neg[targets].astype(np.float64))
        signed = x.copy()
        signed[:, 1:] *= -1
        use = np.ones(x.shape, bool)
        use[:, 1:] = noise[sl] != centre[sl, None]  # a noise word equal to the centre is skipped
        term = np.logaddexp(0.0, -signed) * use
        exact += term.sum()
        # gensim: log sigma read from a 1000-entry table at the grid point just below the score
        grid = -6.0 + 0.012 * np.floor((signed + 6.0) / 0.012)
        gens += (np.logaddexp(0.0, -grid) * use * (np.abs(x) < 6)).sum()
    return exact / len(centre), gens / len(centre)


# ------------------------------------------------------------------------------------------ workers
def worker(cfg) -> dict:
    sentences = load_sentences(cfg["corpus"])
    raw = sum(len(s) for s in sentences)
    words, *ex = fixed_examples(sentences, cfg, cfg["eval_examples"])
    common = dict(vector_size=cfg["dim"], window=cfg["window"], min_count=cfg["min_count"], sample=cfg["sample"],
                  sg=cfg["sg"], negative=cfg["negative"], seed=cfg["seed"], workers=1, alpha=cfg["alpha"],
                  min_alpha=cfg["min_alpha"], epochs=cfg["epochs"])
    out = dict(raw_words=raw, on_the_fly=[], per_example=[], frozen=[], frozen_gensim_style=[])

    def frozen(keys, syn0, syn1neg):
        own = {w: i for i, w in enumerate(keys)}
        perm = np.array([own[w] for w in words])
        mapped = (perm[ex[0]], ex[1], perm[ex[2]], perm[ex[3]])
        e, g = frozen_loss(syn0, syn1neg, mapped)
        out["frozen"].append(e)
        out["frozen_gensim_style"].append(g)

    t0 = time.perf_counter()
    if cfg["lib"] == "minembed":
        from minembed.nn.train import Callback
        from minembed.text import Word2Vec

        class Record(Callback):
            def on_train_begin(self, model):
                frozen(model.wv.index_to_key, model.wv.vectors, model.syn1neg)

            def on_epoch_end(self, model):
                out["on_the_fly"].append(model.epoch_loss_sums[-1] / raw)
                out["per_example"].append(model.loss_history[-1])
                frozen(model.wv.index_to_key, model.wv.vectors, model.syn1neg)

        model = Word2Vec(progress=False, callbacks=[Record()], **common)
        model.build_vocab(sentences)
        model.train()
    else:
        import logging

        logging.disable(logging.CRITICAL)
        from gensim.models import Word2Vec as GensimW2V
        from gensim.models.callbacks import CallbackAny2Vec

        model = GensimW2V(compute_loss=True, **common)
        model.build_vocab(sentences)
        if cfg["lib"] == "gensim-1call":   # the user's way: differences of the float32 running loss
            class Diff(CallbackAny2Vec):
                last = 0.0

                def on_epoch_end(self, m):
                    now = m.get_latest_training_loss()
                    out["on_the_fly"].append((now - self.last) / raw)
                    self.last = now
                    frozen(m.wv.index_to_key, m.wv.vectors, m.syn1neg)

            frozen(model.wv.index_to_key, model.wv.vectors, model.syn1neg)
            model.train(sentences, total_examples=len(sentences), epochs=cfg["epochs"], compute_loss=True,
                        callbacks=[Diff()])
        else:
            frozen(model.wv.index_to_key, model.wv.vectors, model.syn1neg)
            sizes = np.cumsum([0] + [len(s) for s in sentences])
            cuts = np.unique(np.searchsorted(sizes, np.linspace(0, raw, cfg["segments"] + 1)))
            a0, a1, total = cfg["alpha"], cfg["min_alpha"], cfg["epochs"] * raw
            for ep in range(cfg["epochs"]):
                loss = 0.0
                for s0, s1 in zip(cuts[:-1], cuts[1:], strict=True):
                    if s1 <= s0:
                        continue
                    start = a0 - (a0 - a1) * (ep * raw + sizes[s0]) / total
                    end = a0 - (a0 - a1) * (ep * raw + sizes[s1]) / total
                    model.train(sentences[s0:s1], total_words=int(sizes[s1] - sizes[s0]), epochs=1,
                                start_alpha=start, end_alpha=end, compute_loss=True)
                    loss += model.get_latest_training_loss()
                out["on_the_fly"].append(loss / raw)
                frozen(model.wv.index_to_key, model.wv.vectors, model.syn1neg)
    out["seconds"] = time.perf_counter() - t0
    return out


def run(cfg) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)], capture_output=True, text=True,
                          env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{cfg['lib']} failed:\n{proc.stderr[-3000:]}")


def fmt(xs) -> str:
    return " ".join(f"{x:6.3f}" for x in xs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="sample", help="'sample' (bundled) or a text file")
    p.add_argument("--sg", type=int, nargs="+", default=[1, 0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--libs", default="minembed,gensim", help="minembed, gensim, gensim-1call (comma-separated)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--alpha", type=float, default=0.025)
    p.add_argument("--min-alpha", type=float, default=0.0001)
    p.add_argument("--segments", type=int, default=20, help="gensim train() calls per epoch (float32 loss)")
    p.add_argument("--eval-examples", type=int, default=100_000)
    p.add_argument("--json", help="also write every run's numbers here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print("RESULT " + json.dumps(worker(json.loads(args.child))))
        return
    libs = args.libs.split(",")
    print(f"corpus {args.corpus}; dim {args.dim} window {args.window} negative {args.negative} sample {args.sample} "
          f"alpha {args.alpha}->{args.min_alpha} epochs {args.epochs}, workers=1; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    runs = []
    for sg in args.sg:
        for k, seed in enumerate(args.seeds):
            order = libs if k % 2 == 0 else libs[::-1]   # alternate which library runs first
            for lib in order:
                cfg = dict(vars(args), lib=lib, sg=sg, seed=seed, min_count=args.min_count)
                cfg.pop("child"), cfg.pop("json"), cfg.pop("libs"), cfg.pop("seeds")
                r = run(cfg)
                runs.append(dict(lib=lib, sg=sg, seed=seed, **r))
                print(f"  sg={sg} seed={seed} {lib:13s} {r['seconds']:.0f} s", file=sys.stderr)
    for sg in args.sg:
        print(f"\n{'skip-gram' if sg else 'CBOW'} (median over seeds {args.seeds}; epoch 0 = before training)")
        for lib in libs:
            rs = [r for r in runs if r["lib"] == lib and r["sg"] == sg]
            def med(key, rs=rs):
                return [statistics.median(v) for v in zip(*(r[key] for r in rs), strict=True)]

            print(f"  {lib:13s} on the fly, per raw token   epochs 1..: {fmt(med('on_the_fly'))}")
            if lib == "minembed":
                print(f"  {lib:13s} on the fly, per example     epochs 1..: {fmt(med('per_example'))}")
            print(f"  {lib:13s} frozen, per example (exact)  epochs 0..: {fmt(med('frozen'))}")
            print(f"  {lib:13s} frozen, gensim-style         epochs 0..: {fmt(med('frozen_gensim_style'))}")
            for r in rs:
                print(f"      seed {r['seed']}: on the fly {fmt(r['on_the_fly'])} | frozen {fmt(r['frozen'][1:])}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
