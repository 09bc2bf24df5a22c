"""The solutions of lesson 14's fast-search exercises run and give the right answers."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parent.parent / "lessons" / "solutions" / "14_fast_search.py"


@pytest.fixture(scope="module")
def sol():
    spec = importlib.util.spec_from_file_location("solutions14_fast_search", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lesson(sol):
    return sol.lesson_points()


def test_ivf_recall_grows_to_one_when_every_cell_is_probed(sol, lesson):
    points, centroids, order, ptr, _ = lesson
    recalls = [sol.ivf_recall(p, points, centroids, order, ptr, n_queries=100) for p in (1, 3, 12)]
    assert recalls[0] < recalls[1] <= recalls[2] == 1.0


def test_beam_of_one_is_the_greedy_walk_and_a_wide_beam_is_exact(sol, lesson):
    points, _, _, _, knn = lesson
    rng = np.random.default_rng(1)
    for q in rng.uniform(-6, 6, size=(20, 2)).astype(np.float32):
        # ef = 1: the greedy walk (move to the nearest neighbour while it is nearer)
        here = 0
        while True:
            step = min(knn[here].tolist(), key=lambda j: ((points[j] - q) ** 2).sum())
            if ((points[step] - q) ** 2).sum() >= ((points[here] - q) ** 2).sum():
                break
            here = step
        assert sol.beam_search(q, 0, 1, points, knn)[0][1] == here
        # a beam as wide as the data walks the whole connected graph: the true nearest point
        found = sol.beam_search(q, 0, 800, points, knn)
        reachable = {i for _, i in found}
        best = min(reachable, key=lambda i: ((points[i] - q) ** 2).sum())
        assert found[0][1] == best
    # far_query: a beam finds its nearest point exactly when the 4-NN graph leads there from point 0
    far = np.array([3.5, 3.0], dtype=np.float32)
    nearest = int(np.argmin(((points - far) ** 2).sum(1)))
    reach, todo = {0}, [0]
    while todo:                                   # breadth-first: every point reachable from 0
        for nb in knn[todo.pop()].tolist():
            if nb not in reach:
                reach.add(nb)
                todo.append(nb)
    ef = sol.smallest_ef_that_finds(far, 0, points, knn)
    assert (ef is not None) == (nearest in reach)
