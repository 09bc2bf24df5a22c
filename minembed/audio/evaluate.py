"""How good is an audio embedding? Scores that need only the vectors and each clip's label (and group).

* :func:`loo_knn_accuracy` — leave-one-out k-NN: each clip is classified by the labels of its ``k``
  most similar *other* clips (cosine). With few clips per class this uses every clip as a query and
  never lets a clip vote for itself.
* :func:`cross_group_retrieval` — for each clip, search only the clips of *other* groups (other
  languages/voices): is the best match the same word? precision@1 and the mean reciprocal rank of the
  first match. A voice-independent embedding scores high here; one that hears the speaker scores low.
"""
from __future__ import annotations

import numpy as np

from ..space.search import as_vectors, normalize, topk


def _label_ids(labels, n: int) -> tuple[np.ndarray, list]:
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"{n} vectors but {len(labels)} labels")
    classes = sorted(set(labels), key=str)
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[lab] for lab in labels], dtype=np.int64), classes


def loo_knn_predict(vectors, labels, k: int = 1) -> list:
    """Each clip's label predicted from its ``k`` nearest other clips (cosine): a list of labels.

    Majority vote; a tie goes to the tied label whose nearest voter is closest.
    """
    v = as_vectors(vectors)
    ids, classes = _label_ids(labels, len(v))
    if not 1 <= k < len(v):
        raise ValueError(f"k must be in [1, {len(v) - 1}] for {len(v)} clips, got {k}")
    nn_ids, _ = topk(v, v, k, metric="cosine", exclude=[[i] for i in range(len(v))])
    preds = []
    for row in nn_ids:
        votes = ids[row]
        counts = np.bincount(votes, minlength=len(classes))
        best = np.flatnonzero(counts == counts.max())
        preds.append(classes[next(c for c in votes if c in best)])   # first (nearest) voter among the tied
    return preds


def loo_knn_accuracy(vectors, labels, k: int = 1) -> float:
    """Fraction of clips whose leave-one-out k-NN label (:func:`loo_knn_predict`) is their own label."""
    preds = loo_knn_predict(vectors, labels, k)
    return float(np.mean([p == lab for p, lab in zip(preds, labels, strict=True)]))


def cross_group_retrieval(vectors, labels, groups) -> dict:
    """Search each clip among the clips of the *other* groups only (cosine).

    Returns ``{"precision_at_1": ..., "mrr": ..., "queries": n}``: the fraction of clips whose best match
    in another group has the same label, and the mean of 1 / (rank of the first same-label match)
    (queries with no same-label clip elsewhere are left out and not counted).
    """
    u = normalize(as_vectors(vectors))
    ids, _ = _label_ids(labels, len(u))
    groups = np.asarray(list(groups), dtype=object)
    if len(groups) != len(u):
        raise ValueError(f"{len(u)} vectors but {len(groups)} groups")
    sims = u @ u.T
    hits, rr = [], []
    for i in range(len(u)):
        other = np.flatnonzero(groups != groups[i])
        if not (ids[other] == ids[i]).any():
            continue
        order = other[np.argsort(-sims[i, other], kind="stable")]
        first = int(np.argmax(ids[order] == ids[i]))
        hits.append(first == 0)
        rr.append(1.0 / (first + 1))
    if not hits:
        raise ValueError("no clip has a same-label clip in another group: nothing to retrieve")
    return {"precision_at_1": float(np.mean(hits)), "mrr": float(np.mean(rr)), "queries": len(hits)}
