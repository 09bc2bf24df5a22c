"""minembed's recommenders vs scikit-surprise and implicit on MovieLens 100k, each side alone in its own
fresh process (benchmarks/harness.py), rounds alternating.

    PYTHONPATH=. python benchmarks/bench_recsys.py --threads 1            # needs recbole's copy of ml-100k
    PYTHONPATH=. python benchmarks/bench_recsys.py --sweep sweep.png      # embedding-size sweep, plotted

MovieLens 100k comes from ``pip install --no-deps recbole==1.2.1`` (or ``--movielens PATH`` to an ml-100k
folder); every side reads it through ``minembed.datasets.load_movielens_100k`` before its clock starts and
gets the same splits (``minembed.space.ranking``: 5 folds from seed 0 for ratings; one 80/20 split from
seed 0 for ranking).

* **Explicit (RMSE, 5-fold)**: minembed ``FunkSVD`` at its defaults and at Surprise's settings (100
  factors, 20 epochs, lr 0.005, reg 0.02, constant rate), Surprise ``SVD()`` (its defaults), and
  minembed ``ExplicitALS``. Timed: the five fits (CPU seconds of the process, every thread); RMSE/MAE of
  the clipped predictions on each test fold.
* **Implicit (top-10, seen items filtered)**: the ratings of the training split as interaction strengths.
  minembed ``ImplicitALS`` (64 factors, 15 iterations, CG) vs ``implicit``'s ``AlternatingLeastSquares``
  (64 factors, 15 iterations, its defaults otherwise: regularization 0.01, alpha 1, 3 CG steps); minembed
  ``BPR`` vs ``implicit``'s ``BayesianPersonalizedRanking`` (its defaults: 100 factors, 100 iterations).
  Timed: ``fit``. Both sides' top-10 lists are scored by the same code (``space.ranking.ranking_metrics``:
  precision as the textbook defines it and as ``implicit`` does, NDCG@10, MAP@10); most popular beside them.

``--threads 1`` is ``implicit``'s own advice (``OPENBLAS_NUM_THREADS=1``); minembed's solvers call no BLAS.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import harness

SVD_SURPRISE_SETTINGS = dict(n_factors=100, n_epochs=20, lr_all=0.005, reg_all=0.02, lr_decay=1.0)


# --------------------------------------------------------------------------------- sides (in the children)
def _movielens(path):
    from minembed.datasets import load_movielens_100k

    return load_movielens_100k(path)


def side_minembed_explicit(model, settings, movielens, folds):
    import time

    import numpy as np

    from minembed.recsys import ExplicitALS, FunkSVD
    from minembed.space import ranking as R

    cls = {"FunkSVD": FunkSVD, "ExplicitALS": ExplicitALS}[model]
    data = _movielens(movielens)
    splits = R.kfold_splits(len(data), folds, seed=0)
    cls(**settings).fit(data.subset(np.arange(500)))  # loads the compiled kernels (untimed warm-up)

    def run():
        out = {"rmse": [], "mae": [], "fit_cpu": []}
        for train_rows, test_rows in splits:
            train, test = data.subset(train_rows), data.subset(test_rows)
            c0 = time.process_time()
            m = cls(**settings).fit(train)
            out["fit_cpu"].append(time.process_time() - c0)
            pred = m.predict(test.user, test.item)
            out["rmse"].append(R.rmse(pred, test.rating))
            out["mae"].append(R.mae(pred, test.rating))
        return out
    return run


def side_surprise_svd(movielens, folds):
    import os
    import tempfile
    import time

    from surprise import SVD, Dataset, Reader, accuracy

    from minembed.space import ranking as R

    data = _movielens(movielens)
    splits = R.kfold_splits(len(data), folds, seed=0)
    tmp = tempfile.mkdtemp()
    sets = []
    for f, (train_rows, test_rows) in enumerate(splits):
        path = os.path.join(tmp, f"train{f}.txt")
        with open(path, "w") as fh:
            for u, i, r in zip(data.user[train_rows], data.item[train_rows], data.rating[train_rows], strict=True):
                fh.write(f"{u}\t{i}\t{r}\n")
        trainset = Dataset.load_from_file(path, Reader(line_format="user item rating", sep="\t",
                                                       rating_scale=(1, 5))).build_full_trainset()
        testset = [(str(u), str(i), float(r)) for u, i, r in zip(data.user[test_rows], data.item[test_rows],
                                                                   data.rating[test_rows], strict=True)]
        sets.append((trainset, testset))

    def run():
        out = {"rmse": [], "mae": [], "fit_cpu": []}
        for trainset, testset in sets:
            c0 = time.process_time()
            algo = SVD(random_state=0)
            algo.fit(trainset)
            out["fit_cpu"].append(time.process_time() - c0)
            pred = algo.test(testset)
            out["rmse"].append(accuracy.rmse(pred, verbose=False))
            out["mae"].append(accuracy.mae(pred, verbose=False))
        return out
    return run


def _split(movielens):
    from minembed.space import ranking as R

    data = _movielens(movielens)
    train_rows, test_rows = R.train_test_split(len(data), 0.2, seed=0)
    return data.subset(train_rows), data.subset(test_rows)


def _scores(top, test):
    from minembed.space import ranking as R

    m = R.ranking_metrics(top, test.user, test.item, 10)
    return {k: m[k] for k in ("precision", "precision_implicit", "ndcg", "map", "recall")}


def side_minembed_implicit(model, settings, movielens):
    import numpy as np

    from minembed.recsys import BPR, ImplicitALS

    cls = {"ImplicitALS": ImplicitALS, "BPR": BPR}[model]
    train, test = _split(movielens)
    cls(**dict(settings, iterations=1)).fit(train.subset(np.arange(500)))  # compiled kernels loaded
    state = {}

    def run():
        state["model"] = cls(**settings).fit(train)
        return lambda: _scores(state["model"].recommend_all(10), test)
    return run


def side_implicit(model, settings, movielens):
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from scipy.sparse import csr_matrix

    train, test = _split(movielens)
    user_items = csr_matrix((train.rating, (train.user, train.item)), shape=(train.n_users, train.n_items))
    cls = {"ALS": AlternatingLeastSquares, "BPR": BayesianPersonalizedRanking}[model]
    state = {}

    def run():
        state["model"] = cls(random_state=0, **settings)
        state["model"].fit(user_items, show_progress=False)

        def after():
            from implicit.evaluation import ranking_metrics_at_k

            users = np.arange(train.n_users)
            ids, _ = state["model"].recommend(users, user_items[users], N=10, filter_already_liked_items=True)
            out = _scores(ids, test)
            test_items = csr_matrix((np.ones(len(test)), (test.user, test.item)), shape=user_items.shape)
            own = ranking_metrics_at_k(state["model"], user_items, test_items, K=10, show_progress=False)
            out["implicit_own_precision"] = own["precision"]
            out["implicit_own_ndcg"] = own["ndcg"]
            return out
        return after
    return run


# ----------------------------------------------------------------------------------------------- driver
def _median_extra(res, key):
    values = [v for rnd in res.extras for e in rnd if e for v in (e[key] if isinstance(e[key], list) else [e[key]])]
    return statistics.median(values) if values else float("nan")


def explicit(args):
    sides = [harness.Side("minembed FunkSVD (defaults)", "side_minembed_explicit",
                          dict(model="FunkSVD", settings={}, movielens=args.movielens, folds=5)),
             harness.Side("minembed FunkSVD (Surprise's settings)", "side_minembed_explicit",
                          dict(model="FunkSVD", settings=SVD_SURPRISE_SETTINGS, movielens=args.movielens, folds=5)),
             harness.Side("minembed ExplicitALS (defaults)", "side_minembed_explicit",
                          dict(model="ExplicitALS", settings={}, movielens=args.movielens, folds=5))]
    if harness.available("surprise"):
        sides.append(harness.Side("Surprise SVD (defaults)", "side_surprise_svd",
                                  dict(movielens=args.movielens, folds=5)))
    results = harness.measure(__file__, sides, args, repeats=1, warmup=0)
    harness.print_header("Explicit ratings, MovieLens 100k, 5-fold CV (same folds on every side)", results, args)
    print(f"{'side':42s}{'RMSE':>8s}{'MAE':>8s}{'fit CPU s/fold':>16s}{'fit wall s/fold':>17s}")
    for label, res in results.items():
        wall_per_fold = res.median() / 5
        print(f"{label:42s}{_median_extra(res, 'rmse'):8.4f}{_median_extra(res, 'mae'):8.4f}"
              f"{_median_extra(res, 'fit_cpu'):16.3f}{wall_per_fold:17.3f}")
    if "Surprise SVD (defaults)" in results:
        s = _median_extra(results["Surprise SVD (defaults)"], "fit_cpu")
        for label in list(results)[:2]:
            print(f"fit CPU time of {label}: {_median_extra(results[label], 'fit_cpu') / s:.2f}x Surprise's")
    print()


def implicit(args):
    sides = [harness.Side("minembed ImplicitALS (64 f, 15 it, CG)", "side_minembed_implicit",
                          dict(model="ImplicitALS", settings=dict(factors=64, iterations=15),
                               movielens=args.movielens)),
             harness.Side("minembed BPR (defaults)", "side_minembed_implicit",
                          dict(model="BPR", settings={}, movielens=args.movielens))]
    if harness.available("implicit"):
        sides += [harness.Side("implicit ALS (64 f, 15 it, CG)", "side_implicit",
                               dict(model="ALS", settings=dict(factors=64, iterations=15), movielens=args.movielens)),
                  harness.Side("implicit BPR (defaults)", "side_implicit",
                               dict(model="BPR", settings={}, movielens=args.movielens))]
    results = harness.measure(__file__, sides, args, repeats=1, warmup=1)
    harness.print_header("Implicit feedback, MovieLens 100k, one 80/20 split (seed 0), top-10 with seen items "
                         "filtered", results, args)
    sys.path.insert(0, str(harness.REPO))
    from minembed.space import ranking as R

    train, test = _split(args.movielens)
    pop = R.ranking_metrics(R.most_popular_top_k(train.user, train.item, train.n_users, train.n_items, 10)[0],
                            test.user, test.item, 10)
    print(f"{'side':40s}{'fit s':>8s}{'CPU s':>8s}{'p@10':>8s}{'p@10 impl.':>11s}{'NDCG@10':>9s}{'MAP@10':>8s}"
          f"{'  implicit own p/NDCG':>22s}")
    for label, res in results.items():
        extras = [e for rnd in res.extras for e in rnd if e] or [{}]
        med = {k: statistics.median([e[k] for e in extras]) for k in extras[0]}
        own = f"{med.get('implicit_own_precision', float('nan')):.4f}/{med.get('implicit_own_ndcg', float('nan')):.4f}"
        print(f"{label:40s}{res.median():8.3f}{res.median('cpu'):8.3f}{med.get('precision', 0):8.4f}"
              f"{med.get('precision_implicit', 0):11.4f}{med.get('ndcg', 0):9.4f}{med.get('map', 0):8.4f}"
              f"{own:>22s}")
    print(f"{'most popular':40s}{'':16s}{pop['precision']:8.4f}{pop['precision_implicit']:11.4f}"
          f"{pop['ndcg']:9.4f}{pop['map']:8.4f}")
    if "implicit ALS (64 f, 15 it, CG)" in results:
        a, b = results["minembed ImplicitALS (64 f, 15 it, CG)"], results["implicit ALS (64 f, 15 it, CG)"]
        print(f"ImplicitALS fit CPU time: {a.median('cpu') / b.median('cpu'):.2f}x implicit's "
              f"(wall {a.median() / b.median():.2f}x)")
        a, b = results["minembed BPR (defaults)"], results["implicit BPR (defaults)"]
        print(f"BPR fit CPU time: {a.median('cpu') / b.median('cpu'):.2f}x implicit's")
    print()


def sweep(args):
    """Embedding size 4..256: 5-fold-free quick version (one 80/20 split): FunkSVD RMSE and ImplicitALS NDCG@10."""
    sys.path.insert(0, str(harness.REPO))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from minembed.recsys import FunkSVD, ImplicitALS
    from minembed.space import ranking as R

    train, test = _split(args.movielens)
    sizes = [4, 8, 16, 32, 64, 128, 256]
    rmses, ndcgs = [], []
    for d in sizes:
        svd = FunkSVD(n_factors=d).fit(train)
        rmses.append(R.rmse(svd.predict(test.user, test.item), test.rating))
        als = ImplicitALS(factors=d).fit(train)
        ndcgs.append(R.ranking_metrics(als.recommend_all(10), test.user, test.item, 10)["ndcg"])
        print(f"D={d:4d}  FunkSVD RMSE {rmses[-1]:.4f}   ImplicitALS NDCG@10 {ndcgs[-1]:.4f}", flush=True)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(sizes, rmses, "o-")
    a.set(xscale="log", xlabel="embedding size D", ylabel="test RMSE (lower is better)",
          title="FunkSVD: rating error vs embedding size")
    b.plot(sizes, ndcgs, "o-", color="C1")
    b.set(xscale="log", xlabel="embedding size D", ylabel="NDCG@10 (higher is better)",
          title="ImplicitALS: ranking quality vs size")
    for ax in (a, b):
        ax.set_xticks(sizes, [str(s) for s in sizes])
    fig.suptitle("MovieLens 100k, one 80/20 split")
    fig.tight_layout()
    fig.savefig(args.sweep, dpi=120)
    print(f"saved {args.sweep}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movielens", default=None, help="an ml-100k folder (default: recbole's copy)")
    parser.add_argument("--skip-explicit", action="store_true")
    parser.add_argument("--skip-implicit", action="store_true")
    parser.add_argument("--sweep", metavar="PNG", help="run the embedding-size sweep instead and save its plot")
    harness.add_arguments(parser, rounds=2)
    args = parser.parse_args()
    if args.sweep:
        sweep(args)
        return
    if not args.skip_explicit:
        explicit(args)
    if not args.skip_implicit:
        implicit(args)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
