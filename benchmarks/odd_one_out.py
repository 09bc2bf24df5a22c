"""Word odd-one-out (gensim's ``doesnt_match``) on word sets built from the analogy file's categories.

    PYTHONPATH=. python benchmarks/odd_one_out.py --analogies ../shared/data/eval/questions-words.txt \
        (--vectors vectors.bin | --corpus ../shared/data/corpus/bench.txt [--epochs 1]) [--sets 500]

The analogy file has sections (``: capital-common-countries``, ``: family``, ``: gram3-comparative``, ...) of
lines ``a b c d`` where a:b = c:d, so within a section the words in columns 1 and 3 form one category (capitals,
male relatives, adjectives) and the words in columns 2 and 4 another (countries, female relatives,
comparatives). From these categories, sets of five words: four from one category and one intruder,

* **easy**: the intruder comes from an unrelated category (four capitals and a comparative adjective); a
  category sharing a word with the four's (capitals of ``capital-world`` for ``capital-common-countries``,
  countries of ``currency`` for those of ``capital-world``) is never the intruder's;
* **hard**: the intruder comes from the partner category of the same section (four capitals and a country).

Two odd-one-out rules are scored: ``KeyedVectors.doesnt_match`` (the word least similar to the normalised
mean of the five unit vectors: a nearest-centroid anomaly score; it always agrees with "lowest mean cosine to
the other four", since ``u_i . sum_j u_j = 1 + sum_{j != i} u_i . u_j``) and the word whose most similar
other word is least similar (the 1-nearest-neighbour score). Chance is 20%.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

import minembed as me


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--analogies", required=True)
    p.add_argument("--vectors", default=None, help="a word2vec file (binary or text); otherwise --corpus is trained")
    p.add_argument("--corpus", default=None, help="a tokenized text file: skip-gram, 100-d, min_count 5, 2 workers")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--sets", type=int, default=500, help="random sets per kind")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def categories(path, vocab):
    """{(section, 0 or 1): sorted words in the vocabulary}: column 1+3 words and column 2+4 words per section."""
    cats = defaultdict(set)
    section = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == ":":
                section = parts[1]
                continue
            words = [w.lower() for w in parts]
            for col, w in enumerate(words):
                if w in vocab:
                    cats[(section, col % 2)].add(w)
    both = {key: sorted(ws) for key, ws in cats.items() if len(ws) >= 4}
    return {k: v for k, v in both.items() if set(v).isdisjoint(both.get((k[0], 1 - k[1]), []))}


def odd_one_out_nearest_neighbour(wv, words):
    """The word farthest from its nearest other word (cosine)."""
    unit = np.stack([wv.get_vector(w, norm=True) for w in words])
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    return words[int(np.argmin(sims.max(1)))]


def main(argv=None):
    args = parse_args(argv)
    t = time.perf_counter()
    if args.vectors:
        wv = me.KeyedVectors.load_word2vec_format(args.vectors)
        source = args.vectors
    elif args.corpus:
        model = me.Word2Vec(me.load_corpus(args.corpus), vector_size=100, window=5, min_count=5, sg=1, negative=5,
                            epochs=args.epochs, workers=2, seed=1, progress=False)
        wv, source = model.wv, f"skip-gram 100-d, {args.epochs} epoch(s) on {args.corpus}"
    else:
        raise SystemExit("give --vectors or --corpus")
    vocab = set(wv.index_to_key)
    cats = categories(args.analogies, vocab)
    print(f"vectors: {source} ({len(wv):,} words, {time.perf_counter() - t:.0f} s); "
          f"{len(cats)} categories with >= 4 known words")
    rng = np.random.default_rng(args.seed)
    keys = sorted(cats)
    results = {}
    for kind in ("easy", "hard"):
        hits = defaultdict(lambda: [0, 0, 0])   # per section: doesnt_match hits, 1-NN rule hits, sets
        for _ in range(args.sets):
            key = keys[rng.integers(len(keys))]
            if kind == "hard":
                other = (key[0], 1 - key[1])
                if other not in cats:
                    continue
            else:
                related = {k for k in keys if not set(cats[k]).isdisjoint(cats[key])}
                forbidden = set().union(*(cats[k] for k in related))
                others = [k for k in keys if k[0] != key[0] and set(cats[k]).isdisjoint(forbidden)]
                other = others[rng.integers(len(others))]
            four = list(rng.choice(cats[key], 4, replace=False))
            intruder = cats[other][rng.integers(len(cats[other]))]
            words = four + [intruder]
            order = rng.permutation(5)
            words = [words[i] for i in order]
            h = hits[key[0]]
            h[0] += wv.doesnt_match(words) == intruder
            h[1] += odd_one_out_nearest_neighbour(wv, words) == intruder
            h[2] += 1
        total = np.sum([v for v in hits.values()], axis=0)
        results[kind] = (total, hits)
        print(f"\n{kind}: {total[2]} sets of 4 + 1 intruder; accuracy doesnt_match {total[0] / total[2]:.1%}, "
              f"1-NN rule {total[1] / total[2]:.1%} (chance 20%)")
        for section in sorted(hits):
            a, b, n = hits[section]
            print(f"  {section:30s} {n:4d} sets  doesnt_match {a / n:6.1%}  1-NN rule {b / n:6.1%}")


if __name__ == "__main__":
    main()
