"""HNSW (Malkov & Yashunin, 2016): insertion and search on a layered proximity graph.

The graph
---------
Every node (a stored vector) gets a random *level* ``l = floor(-ln(U) / ln(M))``, U uniform in
(0, 1]: all nodes live on layer 0, a fraction ``1/M`` also on layer 1, ``1/M^2`` on layer 2, ...
On each layer a node keeps links to a few near nodes: at most ``M0 = 2 M`` on layer 0, ``M`` above.
A search starts at the *entry point* (a node of the top layer), walks greedily towards the query
on each upper layer (few nodes, long hops), then does a best-first search with a candidate list of
``ef`` nodes on layer 0 (all nodes, short hops). Insertion is the same search for the new node's
own vector, followed by linking it to the neighbours found.

Arrays (all owned by :class:`minembed.space.HNSWIndex`; these functions only read and write them)::

    data       (cap, D) float32   the vectors; for cosine already unit length
    levels     (cap,)   int32     the level of each node
    links0     (cap, M0) int32    layer-0 neighbours of node i: links0[i, :count0[i]]
    count0     (cap,)   int32
    upper_ptr  (cap,)   int64     the links of node i on layer l >= 1 are row upper_ptr[i] + l - 1 of
    links_up   (R, M)   int32     links_up (count_up[row] of them); -1 for a node of level 0
    count_up   (R,)     int32
    state      (2,)     int64     [entry point or -1 when empty, its level]

Distances: ``metric`` 0 is the squared Euclidean distance, 1 the negated inner product (cosine is
the inner product of unit vectors), so smaller is nearer for both. Every ordering is on the pair
(distance, node id), so equal distances are broken by the lower id, the same way in the reference
and in the kernel: on data whose distances are exact (small integers) both build the same graph.

Three pieces, as in the paper (algorithm numbers in brackets):

* ``search_layer`` [2]: best-first search on one layer. A min-heap C of candidates to expand and a
  max-heap W of the ``ef`` nearest found so far. Pop the nearest candidate; stop when it is farther
  than the farthest of W (nothing nearer can be reached through it); else look at its neighbours,
  and each one not yet visited that beats the farthest of W (or W is not full) enters both heaps.
  With a mask of nodes that may be *returned* (deleted nodes, a filter), masked-out nodes are still
  walked through but never enter W, and the search goes on until W holds ``ef`` returnable nodes:
  a selective filter makes the search longer, not shorter of results (hnswlib does the same).
* ``select_neighbors`` [4], the heuristic: go through the candidates nearest first and keep one
  only if it is nearer to the new node than to every neighbour kept so far. This keeps links that
  point in *different directions* (towards other clusters) instead of M links into one clump, which
  is what lets greedy search cross from cluster to cluster.
* ``insert`` [1]: greedy descent to the node's level, then on each layer from there down:
  ``search_layer`` with ``ef_construction``, link to the heuristic's choice, add the reverse links;
  a neighbour that now has too many links keeps the heuristic's choice among them. The nearest node
  found is the entry into the layer below.

The visited set is an int32 array with one tag per node: a node is visited when its tag equals the
current search's *epoch*. A new search only increments the epoch (no clearing of N entries); the
array is zeroed only when the epoch would overflow, once every two billion searches.

In this file: ``insert_reference`` and ``search_reference`` (plain Python: heapq, a set of visited
nodes), and the Numba kernels ``insert_kernel`` (serial: each insertion reads the graph the previous
ones built) and ``search_kernel`` (queries in parallel with ``prange``: chunks of queries, one
visited array and one set of heaps per chunk). ``tests/test_kernels_hnsw.py`` holds them equal.
"""
from __future__ import annotations

import heapq

import numpy as np

from .jit import FASTMATH, jit, prange

L2, IP = 0, 1
_EPOCH_LIMIT = 2**31 - 2


# --------------------------------------------------------------------------- reference
def _dist_reference(a: np.ndarray, b: np.ndarray, metric: int) -> float:
    if metric == L2:
        diff = a - b
        return float(np.dot(diff, diff))
    return -float(np.dot(a, b))


def _neighbours_reference(node, layer, links0, count0, upper_ptr, links_up, count_up):
    if layer == 0:
        return links0[node, :count0[node]].tolist()
    row = upper_ptr[node] + layer - 1
    return links_up[row, :count_up[row]].tolist()


def _set_links_reference(node, layer, ids, links0, count0, upper_ptr, links_up, count_up):
    if layer == 0:
        links0[node, :len(ids)] = ids
        count0[node] = len(ids)
    else:
        row = upper_ptr[node] + layer - 1
        links_up[row, :len(ids)] = ids
        count_up[row] = len(ids)


def _greedy_reference(data, q, ep, ep_d, layer, graph, metric):
    """Move to a nearer neighbour while there is one (the search with ef = 1 of the upper layers)."""
    changed = True
    while changed:
        changed = False
        for nb in _neighbours_reference(ep, layer, *graph):
            d = _dist_reference(data[nb], q, metric)
            if d < ep_d:
                ep, ep_d, changed = nb, d, True
    return ep, ep_d


def search_layer_reference(data, q, ep, ef, layer, graph, metric, mask=None):
    """Algorithm 2: the ``ef`` nearest nodes to ``q`` on ``layer`` reachable from ``ep``, as a list of
    (distance, node) sorted nearest first. ``mask``: None, or a bool array of the nodes that may be
    returned (all others are only walked through)."""
    allowed = (lambda i: True) if mask is None else (lambda i: bool(mask[i]))
    d0 = _dist_reference(data[ep], q, metric)
    visited = {ep}
    candidates = [(d0, ep)]                               # min-heap: nearest candidate first
    found = [(-d0, -ep)] if allowed(ep) else []           # max-heap by (distance, id): farthest on top
    while candidates:
        c_d, c = candidates[0]
        if found and c_d > -found[0][0] and (len(found) >= ef or mask is None):
            break                                         # nothing nearer can be reached through c
        heapq.heappop(candidates)
        for nb in _neighbours_reference(c, layer, *graph):
            if nb in visited:
                continue
            visited.add(nb)
            d = _dist_reference(data[nb], q, metric)
            if len(found) < ef or d < -found[0][0]:
                heapq.heappush(candidates, (d, nb))
                if allowed(nb):
                    heapq.heappush(found, (-d, -nb))
                    if len(found) > ef:
                        heapq.heappop(found)              # drop the farthest
    return sorted((-nd, -ni) for nd, ni in found)


def select_neighbors_reference(data, candidates, m, metric):
    """Algorithm 4: from (distance, node) pairs sorted nearest first, keep up to ``m`` nodes, each
    nearer to the base node than to any node kept before it."""
    kept = []
    for d, e in candidates:
        if len(kept) >= m:
            break
        if all(_dist_reference(data[e], data[r], metric) >= d for r in kept):
            kept.append(e)
    return kept


def insert_reference(data, start, end, levels, links0, count0, upper_ptr, links_up, count_up, state,
                     m, ef_construction, metric):
    """Algorithm 1 for nodes ``start .. end - 1`` (in order): link each into the graph. Arrays as in
    the module docstring; ``state`` is updated when a node becomes the new entry point."""
    graph = (links0, count0, upper_ptr, links_up, count_up)
    m0 = links0.shape[1]
    for node in range(start, end):
        level = int(levels[node])
        entry, top = int(state[0]), int(state[1])
        if entry < 0:                                     # the first node: nothing to link to
            state[0], state[1] = node, level
            continue
        q = data[node]
        ep, ep_d = entry, _dist_reference(data[entry], q, metric)
        for layer in range(top, level, -1):               # above the node's level: greedy descent
            ep, ep_d = _greedy_reference(data, q, ep, ep_d, layer, graph, metric)
        for layer in range(min(top, level), -1, -1):
            found = search_layer_reference(data, q, ep, ef_construction, layer, graph, metric)
            chosen = select_neighbors_reference(data, found, m, metric)
            _set_links_reference(node, layer, chosen, *graph)
            width = m0 if layer == 0 else m
            for nb in chosen:                             # reverse links, pruned by the heuristic
                links = _neighbours_reference(nb, layer, *graph)
                if len(links) < width:
                    links.append(node)
                else:
                    pairs = sorted((_dist_reference(data[x], data[nb], metric), x) for x in links + [node])
                    links = select_neighbors_reference(data, pairs, width, metric)
                _set_links_reference(nb, layer, links, *graph)
            ep = found[0][1]                              # the nearest: entry into the layer below
        if level > top:
            state[0], state[1] = node, level


def search_reference(data, queries, k, ef, levels, links0, count0, upper_ptr, links_up, count_up, state,
                     metric, mask=None):
    """The k nearest returnable nodes for every query: (ids (Q, k) int64, distances (Q, k) float32),
    nearest first, padded with -1 / +inf when the search found fewer. ``mask`` as in
    :func:`search_layer_reference`."""
    graph = (links0, count0, upper_ptr, links_up, count_up)
    n_q = queries.shape[0]
    ids = np.full((n_q, k), -1, dtype=np.int64)
    dists = np.full((n_q, k), np.inf, dtype=np.float32)
    entry, top = int(state[0]), int(state[1])
    for i in range(n_q):
        q = queries[i]
        ep, ep_d = entry, _dist_reference(data[entry], q, metric)
        for layer in range(top, 0, -1):
            ep, ep_d = _greedy_reference(data, q, ep, ep_d, layer, graph, metric)
        found = search_layer_reference(data, q, ep, max(ef, k), 0, graph, metric, mask)[:k]
        for j, (d, node) in enumerate(found):
            ids[i, j], dists[i, j] = node, d
    return ids, dists


# ------------------------------------------------------------------------------ kernels
@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _dist(x, i, y, j, metric):
    """Distance between row i of x and row j of y (rows, not views: no reference counting per call)."""
    s = np.float32(0.0)
    if metric == 0:
        for t in range(x.shape[1]):
            diff = x[i, t] - y[j, t]
            s += diff * diff
        return s
    for t in range(x.shape[1]):
        s += x[i, t] * y[j, t]
    return -s


@jit(nogil=True, cache=True)
def _before(d1, i1, d2, i2):
    """(d1, i1) comes before (d2, i2): nearer, or as near with a lower id."""
    return d1 < d2 or (d1 == d2 and i1 < i2)


@jit(nogil=True, cache=True)
def _heap_push(hd, hi, n, d, i, is_max):
    """Push (d, i) into the heap hd/hi of n items; a min-heap, or a max-heap when is_max. Returns n + 1."""
    pos = n
    while pos > 0:
        parent = (pos - 1) // 2
        if is_max:
            up = _before(hd[parent], hi[parent], d, i)
        else:
            up = _before(d, i, hd[parent], hi[parent])
        if not up:
            break
        hd[pos] = hd[parent]
        hi[pos] = hi[parent]
        pos = parent
    hd[pos] = d
    hi[pos] = i
    return n + 1


@jit(nogil=True, cache=True)
def _heap_pop(hd, hi, n, is_max):
    """Remove the root of the heap of n items (read it before). Returns n - 1."""
    n -= 1
    d = hd[n]
    i = hi[n]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        if child + 1 < n:
            if is_max:
                if _before(hd[child], hi[child], hd[child + 1], hi[child + 1]):
                    child += 1
            elif _before(hd[child + 1], hi[child + 1], hd[child], hi[child]):
                child += 1
        if is_max:
            down = _before(d, i, hd[child], hi[child])
        else:
            down = _before(hd[child], hi[child], d, i)
        if not down:
            break
        hd[pos] = hd[child]
        hi[pos] = hi[child]
        pos = child
    if n > 0:
        hd[pos] = d
        hi[pos] = i
    return n


@jit(nogil=True, cache=True)
def _next_epoch(visited, epoch, slot):
    """A fresh tag for one search: the visited array is cleared only when the counter would overflow."""
    epoch[slot] += 1
    if epoch[slot] >= _EPOCH_LIMIT:
        visited[slot, :] = 0
        epoch[slot] = 1
    return np.int32(epoch[slot])


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _greedy(data, qs, qi, ep, ep_d, layer, upper_ptr, links_up, count_up, metric):
    changed = True
    while changed:
        changed = False
        row = upper_ptr[ep] + layer - 1
        for t in range(count_up[row]):
            nb = links_up[row, t]
            d = _dist(data, nb, qs, qi, metric)
            if d < ep_d:
                ep = nb
                ep_d = d
                changed = True
    return ep, ep_d


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _search_layer(data, qs, qi, ep, ef, layer, links0, count0, upper_ptr, links_up, count_up, metric,
                  visited, slot, tag, cd, ci, rd, ri, mask, use_mask):
    """Algorithm 2 (see search_layer_reference). Leaves W as a max-heap in rd/ri; returns its size."""
    d0 = _dist(data, ep, qs, qi, metric)
    visited[slot, ep] = tag
    nc = _heap_push(cd, ci, 0, d0, ep, False)
    nw = 0
    if not use_mask or mask[ep]:
        nw = _heap_push(rd, ri, 0, d0, ep, True)
    while nc > 0:
        c_d = cd[0]
        c = ci[0]
        if nw > 0 and c_d > rd[0] and (nw >= ef or not use_mask):
            break
        nc = _heap_pop(cd, ci, nc, False)
        row = 0
        if layer == 0:
            cnt = count0[c]
        else:
            row = upper_ptr[c] + layer - 1
            cnt = count_up[row]
        for t in range(cnt):
            nb = links0[c, t] if layer == 0 else links_up[row, t]
            if visited[slot, nb] == tag:
                continue
            visited[slot, nb] = tag
            d = _dist(data, nb, qs, qi, metric)
            if nw < ef or d < rd[0]:
                nc = _heap_push(cd, ci, nc, d, nb, False)
                if not use_mask or mask[nb]:
                    nw = _heap_push(rd, ri, nw, d, nb, True)
                    if nw > ef:
                        nw = _heap_pop(rd, ri, nw, True)
    return nw


@jit(nogil=True, cache=True)
def _drain_sorted(rd, ri, nw, sd, si):
    """Empty the max-heap W into sd/si, nearest first."""
    for t in range(nw - 1, -1, -1):
        sd[t] = rd[0]
        si[t] = ri[0]
        nw = _heap_pop(rd, ri, nw, True)


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _select(data, sd, si, n, m, metric, out):
    """Algorithm 4 over candidates sd/si (sorted nearest first): the kept ids go to out; returns how many."""
    kept = 0
    for a in range(n):
        if kept >= m:
            break
        e = si[a]
        good = True
        for b in range(kept):
            if _dist(data, e, data, out[b], metric) < sd[a]:
                good = False
                break
        if good:
            out[kept] = e
            kept += 1
    return kept


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def _link_back(data, nb, node, layer, links0, count0, upper_ptr, links_up, count_up, metric, pd, pi, tmp):
    """Add node to nb's links on layer; when they are full, keep the heuristic's choice among old + new."""
    row = 0
    if layer == 0:
        width = links0.shape[1]
        cnt = count0[nb]
    else:
        width = links_up.shape[1]
        row = upper_ptr[nb] + layer - 1
        cnt = count_up[row]
    if cnt < width:
        if layer == 0:
            links0[nb, cnt] = node
            count0[nb] = cnt + 1
        else:
            links_up[row, cnt] = node
            count_up[row] = cnt + 1
        return
    # old links + the new node, sorted by (distance to nb, id): insertion sort of <= 2M + 1 items
    for t in range(cnt + 1):
        x = node if t == cnt else (links0[nb, t] if layer == 0 else links_up[row, t])
        d = _dist(data, x, data, nb, metric)
        p = t
        while p > 0 and _before(d, x, pd[p - 1], pi[p - 1]):
            pd[p] = pd[p - 1]
            pi[p] = pi[p - 1]
            p -= 1
        pd[p] = d
        pi[p] = x
    kept = _select(data, pd, pi, cnt + 1, width, metric, tmp)
    for t in range(kept):
        if layer == 0:
            links0[nb, t] = tmp[t]
        else:
            links_up[row, t] = tmp[t]
    if layer == 0:
        count0[nb] = kept
    else:
        count_up[row] = kept


@jit(nogil=True, cache=True, fastmath=FASTMATH)
def insert_kernel(data, start, end, levels, links0, count0, upper_ptr, links_up, count_up, state,
                  m, ef_construction, metric, visited, epoch):
    """insert_reference, compiled. ``visited`` (1, cap) int32 and ``epoch`` (1,) int64 persist between calls."""
    cap = data.shape[0]
    cd = np.empty(cap + 1, dtype=np.float32)
    ci = np.empty(cap + 1, dtype=np.int32)
    rd = np.empty(ef_construction + 1, dtype=np.float32)
    ri = np.empty(ef_construction + 1, dtype=np.int32)
    sd = np.empty(ef_construction + 1, dtype=np.float32)
    si = np.empty(ef_construction + 1, dtype=np.int32)
    width = max(links0.shape[1], links_up.shape[1])
    chosen = np.empty(width + 1, dtype=np.int32)
    pd = np.empty(width + 1, dtype=np.float32)
    pi = np.empty(width + 1, dtype=np.int32)
    tmp = np.empty(width + 1, dtype=np.int32)
    mask = np.empty(0, dtype=np.uint8)
    for node in range(start, end):
        level = levels[node]
        entry = state[0]
        top = state[1]
        if entry < 0:
            state[0] = node
            state[1] = level
            continue
        ep = np.int32(entry)
        ep_d = _dist(data, ep, data, node, metric)
        for layer in range(top, level, -1):
            ep, ep_d = _greedy(data, data, node, ep, ep_d, layer, upper_ptr, links_up, count_up, metric)
        for layer in range(min(top, level), -1, -1):
            tag = _next_epoch(visited, epoch, 0)
            nw = _search_layer(data, data, node, ep, ef_construction, layer, links0, count0, upper_ptr, links_up,
                               count_up, metric, visited, 0, tag, cd, ci, rd, ri, mask, False)
            _drain_sorted(rd, ri, nw, sd, si)
            kept = _select(data, sd, si, nw, m, metric, chosen)
            for t in range(kept):
                if layer == 0:
                    links0[node, t] = chosen[t]
                else:
                    links_up[upper_ptr[node] + layer - 1, t] = chosen[t]
            if layer == 0:
                count0[node] = kept
            else:
                count_up[upper_ptr[node] + layer - 1] = kept
            for t in range(kept):
                _link_back(data, chosen[t], node, layer, links0, count0, upper_ptr, links_up, count_up, metric,
                           pd, pi, tmp)
            ep = si[0]
        if level > top:
            state[0] = node
            state[1] = level


@jit(nogil=True, cache=True, parallel=True, fastmath=FASTMATH)
def search_kernel(data, queries, k, ef, links0, count0, upper_ptr, links_up, count_up, state, metric,
                  mask, use_mask, visited, epoch, out_ids, out_d):
    """search_reference, compiled: the queries are split into ``visited.shape[0]`` chunks run in
    parallel, each with its own row of ``visited``, its own epoch and its own heaps.
    out_ids (Q, k) int64 and out_d (Q, k) float32 must come filled with -1 / +inf."""
    n_q = queries.shape[0]
    n_chunks = visited.shape[0]
    cap = data.shape[0]
    entry = state[0]
    top = state[1]
    for c in prange(n_chunks):
        lo = c * n_q // n_chunks
        hi = (c + 1) * n_q // n_chunks
        cd = np.empty(cap + 1, dtype=np.float32)
        ci = np.empty(cap + 1, dtype=np.int32)
        rd = np.empty(ef + 1, dtype=np.float32)
        ri = np.empty(ef + 1, dtype=np.int32)
        sd = np.empty(ef + 1, dtype=np.float32)
        si = np.empty(ef + 1, dtype=np.int32)
        for qi in range(lo, hi):
            ep = np.int32(entry)
            ep_d = _dist(data, ep, queries, qi, metric)
            for layer in range(top, 0, -1):
                ep, ep_d = _greedy(data, queries, qi, ep, ep_d, layer, upper_ptr, links_up, count_up, metric)
            tag = _next_epoch(visited, epoch, c)
            nw = _search_layer(data, queries, qi, ep, ef, 0, links0, count0, upper_ptr, links_up, count_up, metric,
                               visited, c, tag, cd, ci, rd, ri, mask, use_mask)
            _drain_sorted(rd, ri, nw, sd, si)
            for t in range(min(k, nw)):
                out_ids[qi, t] = si[t]
                out_d[qi, t] = sd[t]
