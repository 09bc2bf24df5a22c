"""Solutions to lesson 14's fast-search exercises (5 and 6). Run: python lessons/solutions/14_fast_search.py"""
import heapq

import numpy as np

import minembed as me
from minembed.space import ExactIndex


def lesson_points(seed=14):
    """The lesson's 800 points around 8 centres, its 12-cell IVF in NumPy and its 4-NN graph."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-4, 4, size=(8, 2))
    points = (centres[rng.integers(0, 8, 800)] + 0.9 * rng.standard_normal((800, 2))).astype(np.float32)
    km = me.KMeans(12, seed=0).fit(points)
    cell = km.predict(points)
    order = np.argsort(cell, kind="stable")
    list_ptr = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=12))])
    knn = ExactIndex(points, "euclidean").search(points, 5)[0][:, 1:]
    return points, km.cluster_centers_, order, list_ptr, knn


# ------------------------------------------------------------------------------------ exercise 5
def ivf_recall(nprobe, points, centroids, order, list_ptr, n_queries=300, k=5, seed=0):
    """Mean recall@k of the NumPy IVF search against brute force, over random queries in the square."""
    queries = np.random.default_rng(seed).uniform(-6, 6, size=(n_queries, 2)).astype(np.float32)
    hits = 0
    for q in queries:
        near = np.argsort(((centroids - q) ** 2).sum(1))[:nprobe]
        cand = np.concatenate([order[list_ptr[c]:list_ptr[c + 1]] for c in near])
        found = cand[np.argsort(((points[cand] - q) ** 2).sum(1))[:k]]
        true = np.argsort(((points - q) ** 2).sum(1))[:k]
        hits += len(set(found.tolist()) & set(true.tolist()))
    return hits / (n_queries * k)


# ------------------------------------------------------------------------------------ exercise 6
def beam_search(q, start, ef, points, knn):
    """HNSW's layer search on the k-NN graph: the ef nearest points found, nearest first, as (distance, id)."""
    dist = lambda i: float(((points[i] - q) ** 2).sum())  # noqa: E731
    visited = {start}
    candidates = [(dist(start), start)]            # min-heap: expand the nearest first
    best = [(-dist(start), start)]                 # max-heap of the ef best: farthest on top
    while candidates:
        d, c = heapq.heappop(candidates)
        if d > -best[0][0]:
            break                                  # the nearest unexpanded point is worse than all ef kept
        for nb in knn[c].tolist():
            if nb in visited:
                continue
            visited.add(nb)
            dn = dist(nb)
            if len(best) < ef or dn < -best[0][0]:
                heapq.heappush(candidates, (dn, nb))
                heapq.heappush(best, (-dn, nb))
                if len(best) > ef:
                    heapq.heappop(best)
    return sorted((-d, i) for d, i in best)


def smallest_ef_that_finds(q, start, points, knn, max_ef=64):
    nearest = int(np.argmin(((points - q) ** 2).sum(1)))
    for ef in range(1, max_ef + 1):
        if beam_search(q, start, ef, points, knn)[0][1] == nearest:
            return ef
    return None


if __name__ == "__main__":
    pts, cents, order, ptr, knn = lesson_points()
    for p in (1, 2, 3, 4, 6, 12):
        print(f"nprobe={p:2d}: recall@5 {ivf_recall(p, pts, cents, order, ptr):.3f}")
    far = np.array([3.5, 3.0], dtype=np.float32)
    ef = smallest_ef_that_finds(far, 0, pts, knn)
    if ef is None:  # the 4-NN graph falls apart into pieces: no beam crosses from one to another
        print("no beam reaches the true nearest point: it is not reachable from point 0 on the 4-NN graph")
    else:
        print("the beam reaches the true nearest point from ef =", ef)
