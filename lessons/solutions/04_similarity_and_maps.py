"""Solutions to the exercises of lesson 04 (Similarity search and maps).
Run: python lessons/solutions/04_similarity_and_maps.py — every answer checks itself.

To stay quick, the word vectors here are trained on the bundled Bible (a quarter of the lesson's corpus)."""
import heapq
import tempfile
import time
from pathlib import Path

import numpy as np

import minembed as me
from minembed.space import formats
from minembed.space import maps as viz
from minembed.space import search as sim


def train_vectors():
    return me.Word2Vec(me.load_corpus("bible"), vector_size=64, window=5, min_count=5, sg=1, negative=5,
                       epochs=3, workers=1, seed=1, progress=False).wv


def exercise_1(wv):
    """With raw vectors and a dot product, long vectors win every query: the same few words show up in
    many neighbour lists. Their counts show they are frequent words (word2vec makes frequent, consistently
    used words long)."""
    raw, unit = wv.vectors, sim.normalize(wv.vectors)
    queries = [wv.get_index(w) for w in ["king", "god", "water", "love", "land", "house", "son", "city"]]
    raw_ids, _ = sim.topk(raw[queries], raw, 6, metric="dot", exclude=np.array(queries)[:, None])
    cos_ids, _ = sim.topk(unit[queries], unit, 6, metric="dot", exclude=np.array(queries)[:, None])
    words_raw, counts = np.unique(raw_ids, return_counts=True)
    everywhere = words_raw[counts >= 3]
    print("raw dot: words in >= 3 of 8 neighbour lists:", [wv.index_to_key[i] for i in everywhere])
    norms = np.linalg.norm(raw, axis=1)
    # the raw-dot neighbours are longer than the cosine neighbours, and the dot product is why
    assert norms[raw_ids].mean() > norms[cos_ids].mean()
    print(f"mean length of raw-dot neighbours {norms[raw_ids].mean():.2f}, of cosine neighbours "
          f"{norms[cos_ids].mean():.2f}; their median count {np.median(wv.counts[raw_ids]):.0f} vs "
          f"{np.median(wv.counts[cos_ids]):.0f}")


def topk_heap(query, database, k):
    """A min-heap of the k best (score, -index): one comparison with the root per row, O(M log k)."""
    heap = []
    for j, score in enumerate(database @ query):
        item = (float(score), -j)
        if len(heap) < k:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    return [-j for _, j in sorted(heap, reverse=True)]


def exercise_2(rng):
    """The heap keeps only k items: its time grows like log k, where a full sort costs M log M whatever k."""
    database = sim.normalize(rng.standard_normal((5000, 32)))
    query = sim.normalize(rng.standard_normal(32))
    for k in (1, 10, 100):
        start = time.perf_counter()
        got = topk_heap(query, database, k)
        took = time.perf_counter() - start
        assert got == me.topk(query, database, k, metric="dot")[0].tolist()
        print(f"heap top-{k:3d} of 5,000 rows: {1e3 * took:.1f} ms (same ids as me.topk)")


def exercise_3(wv):
    """Grammatical relations of frequent words work best; on the Bible, family and plural relations too."""
    questions = [("father", "mother", "son", "daughter"), ("brother", "sister", "son", "daughter"),
                 ("king", "kings", "son", "sons"), ("day", "days", "year", "years"), ("he", "him", "they", "them"),
                 ("man", "men", "woman", "women"), ("go", "went", "come", "came"), ("his", "he", "her", "she"),
                 ("hand", "hands", "eye", "eyes"), ("city", "cities", "house", "houses")]
    questions = [q for q in questions if all(w in wv for w in q)]
    unit = sim.normalize(wv.vectors)
    a, b, c = ([wv.get_index(q[i]) for q in questions] for i in range(3))
    ids, _ = sim.analogy(unit, a, b, c, k=3, method="add", normalized=True)
    hits = 0
    for q, row in zip(questions, ids, strict=True):
        answers = [wv.index_to_key[j] for j in row]
        hits += q[3] in answers
        print(f"{q[0]}:{q[1]} :: {q[2]}:? -> {answers} (expected {q[3]})")
    print(f"{hits}/{len(questions)} in the top 3")
    inputs = np.stack([a, b, c], axis=1)
    # the three input words never answer their own question
    assert not any(set(row) & set(q) for row, q in zip(ids.tolist(), inputs.tolist(), strict=True))


def exercise_4(wv):
    """Small perplexity: many tight, small clumps (each point looks at ~5 neighbours); large perplexity:
    fewer, rounder groups. What stays: who is near whom at small scale (measured: the share of each word's
    10 nearest words in 64-d that are also among its 10 nearest on the map)."""
    unit = sim.normalize(wv.vectors[50:250])
    true_nn = me.topk(unit, unit, 11, metric="dot")[0][:, 1:]
    for perplexity in (5, 15, 50):
        xy = viz.tsne(unit, perplexity=perplexity, seed=0)
        d = ((xy[:, None] - xy[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        map_nn = np.argsort(d, axis=1)[:, :10]
        kept = np.mean([len(set(t) & set(m)) / 10 for t, m in zip(true_nn, map_nn, strict=True)])
        print(f"perplexity {perplexity:2d}: {kept:.0%} of the 10 nearest neighbours kept on the map")
        assert kept > 0.2          # random maps keep 10/199 = 5%


def exercise_5(wv):
    """The Projector needs a browser; what can be checked here is that the two files hold exactly our vectors
    and words, in the same order."""
    with tempfile.TemporaryDirectory(prefix="minembed-projector-") as folder:
        paths = formats.export_projector(wv.vectors[:500], wv.index_to_key[:500], Path(folder))
        back = np.loadtxt(paths["vectors"], delimiter="\t", dtype=np.float32)
        assert np.allclose(back, wv.vectors[:500], rtol=1e-6, atol=1e-6)
        assert open(paths["metadata"], encoding="utf-8").read().splitlines() == wv.index_to_key[:500]
    print("the export holds our vectors and words; load vectors.tsv and metadata.tsv at https://projector.tensorflow.org")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    wv = train_vectors()
    exercise_1(wv)
    exercise_2(rng)
    exercise_3(wv)
    exercise_4(wv)
    exercise_5(wv)
    print("lesson 04 solutions: all checks passed")
