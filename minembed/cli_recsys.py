"""``minembed recsys train / recommend / evaluate``: recommenders from the command line.

RATINGS is a file of ``user item rating [timestamp]`` lines (whitespace or tab separated; a recbole-style
header line is skipped), a MovieLens 100k folder, or ``movielens`` for the copy inside an installed
``recbole`` (``pip install --no-deps recbole==1.2.1``). Users and items are named by the ids of the file.
"""
from __future__ import annotations

import argparse
from pathlib import Path

MODELS = {"funksvd": "FunkSVD", "als": "ExplicitALS", "implicit-als": "ImplicitALS", "bpr": "BPR"}
EXPLICIT = {"funksvd", "als"}


def _load_ratings(spec: str):
    from .datasets import load_movielens_100k, load_ratings

    if spec == "movielens":
        return load_movielens_100k()
    path = Path(spec)
    if path.is_dir():
        return load_movielens_100k(path)
    if path.name in ("u.data", "ml-100k.inter"):
        return load_movielens_100k(path)
    return load_ratings(path)


def _make(args):
    from . import recsys

    cls = getattr(recsys, MODELS[args.model])
    settings = {"seed": args.seed, "workers": args.workers}
    if args.model == "funksvd":
        settings.update(n_factors=args.factors or 50)
        if args.epochs:
            settings["n_epochs"] = args.epochs
    else:
        settings.update(factors=args.factors or {"als": 10, "implicit-als": 64, "bpr": 64}[args.model])
        if args.epochs:
            settings["iterations"] = args.epochs
    return cls(**settings)


def _train(args: argparse.Namespace) -> int:
    from .cli import _check_output

    out = Path(args.output)
    _check_output(out)
    data = _load_ratings(args.ratings)
    model = _make(args).fit(data)
    model.save(out)
    print(f"{type(model).__name__} on {data}: {model.n_users} users x {model.n_items} items; saved to {out}")
    return 0


def _load_model(path: str):
    import json

    from . import recsys
    from .io import load_npz

    arrays = load_npz(path)
    try:
        kind = json.loads(str(arrays["meta"][()]))["format"].rsplit(".", 1)[-1]
    except (KeyError, ValueError, TypeError, AttributeError):
        kind = None
    if kind not in MODELS.values():
        raise ValueError(f"{path} is not a minembed recommender file (minembed recsys train writes one)")
    return getattr(recsys, kind).load(path)


def _key(text: str, keys: list, what: str) -> int:
    """The row of the id ``text`` (ids are compared as integers when they are integers)."""
    for candidate in ([int(text)] if text.lstrip("-").isdigit() else []) + [text]:
        if candidate in keys:
            return keys.index(candidate)
    raise KeyError(f"{what} {text!r} is not in the model ({len(keys)} {what}s, e.g. {keys[:3]})")


def _recommend(args: argparse.Namespace) -> int:
    model = _load_model(args.model_file)
    names = getattr(model, "item_names", None)
    if args.similar_to is not None:
        item = _key(args.similar_to, model.item_keys, "item")
        items, scores = model.similar_items(item, k=args.k)
        print(f"items like {model.item_keys[item]}" + (f" ({names[item]})" if names else ""))
    else:
        if args.user is None:
            raise ValueError("give a USER id, or --similar-to ITEM")
        user = _key(args.user, model.user_keys, "user")
        items, scores = model.recommend(user, k=args.k, filter_seen=not args.include_seen)
        if model.last_fallback:
            print(f"user {args.user} had no training interactions: the most popular items instead")
    for i, s in zip(items, scores, strict=True):
        print(f"{s:9.4f}  {model.item_keys[i]}" + (f"  {names[i]}" if names else ""))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from .recsys import MostPopular
    from .space import ranking as R

    data = _load_ratings(args.ratings)
    if args.model in EXPLICIT:
        out = R.cross_validate(lambda: _make(args), data, n_splits=args.folds, seed=args.seed)
        print(f"{MODELS[args.model]}, {args.folds}-fold on {data}")
        print(f"RMSE {out['mean_rmse']:.4f} (folds {', '.join(f'{x:.4f}' for x in out['rmse'])}); "
              f"MAE {out['mean_mae']:.4f}; fit {np.mean(out['fit_seconds']):.2f} s per fold")
        return 0
    train_rows, test_rows = R.train_test_split(len(data), args.test_size, seed=args.seed)
    train, test = data.subset(train_rows), data.subset(test_rows)
    print(f"top-{args.k} on a {1 - args.test_size:.0%}/{args.test_size:.0%} split of {data}, seen items filtered")
    for label, model in (("most popular", MostPopular()), (MODELS[args.model], _make(args))):
        model.fit(train)
        m = R.ranking_metrics(model.recommend_all(args.k), test.user, test.item, args.k)
        print(f"{label:14s} precision@{args.k} {m['precision']:.4f}  recall {m['recall']:.4f}  "
              f"NDCG {m['ndcg']:.4f}  MAP {m['map']:.4f}  (precision as implicit computes it: "
              f"{m['precision_implicit']:.4f})")
    return 0


def add_parser(sub, positive_int, non_negative_int) -> None:
    """The ``recsys`` sub-command and its three actions."""
    rs = sub.add_parser("recsys", help="recommenders: matrix factorisation, ALS, BPR")
    rs_sub = rs.add_subparsers(dest="recsys_command", metavar="ACTION", required=True)

    def model_options(p):
        p.add_argument("ratings", metavar="RATINGS",
                       help="'user item rating [timestamp]' lines, an ml-100k folder, or 'movielens' (from an "
                            "installed recbole: pip install --no-deps recbole==1.2.1)")
        p.add_argument("--model", choices=sorted(MODELS), default="funksvd",
                       help="funksvd (SGD, ratings), als (explicit ALS), implicit-als, bpr (default: %(default)s)")
        p.add_argument("--factors", type=positive_int, default=None, help="embedding size (default: per model)")
        p.add_argument("--epochs", type=positive_int, default=None, help="epochs / iterations (default: per model)")
        p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: %(default)s)")
        p.add_argument("--workers", type=positive_int, default=1, help="threads (default: %(default)s)")

    tr = rs_sub.add_parser("train", help="fit a model and save it (.npz)")
    model_options(tr)
    tr.add_argument("-o", "--output", required=True, metavar="MODEL", help="where to save the model (.npz)")
    tr.set_defaults(func=_train)

    rec = rs_sub.add_parser("recommend", help="top-k items for a user, or items similar to an item")
    rec.add_argument("model_file", metavar="MODEL", help="a model saved by 'minembed recsys train'")
    rec.add_argument("user", metavar="USER", nargs="?", help="the user's id in the ratings file")
    rec.add_argument("-k", type=positive_int, default=10, help="how many (default: %(default)s)")
    rec.add_argument("--similar-to", metavar="ITEM", help="list items whose vectors are closest to ITEM's instead")
    rec.add_argument("--include-seen", action="store_true", help="do not leave out the user's training items")
    rec.set_defaults(func=_recommend)

    ev = rs_sub.add_parser("evaluate", help="k-fold RMSE (funksvd, als) or top-k metrics beside most popular")
    model_options(ev)
    ev.add_argument("--folds", type=positive_int, default=5, help="folds for RMSE (default: %(default)s)")
    ev.add_argument("--test-size", type=float, default=0.2, help="held-out share for ranking (default: %(default)s)")
    ev.add_argument("-k", type=positive_int, default=10, help="list length for ranking metrics (default: %(default)s)")
    ev.set_defaults(func=_evaluate)
