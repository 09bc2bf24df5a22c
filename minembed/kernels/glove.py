"""GloVe's inner loop: weighted least squares on co-occurrence pairs, AdaGrad, Hogwild threads.

The objective (Pennington, Socher & Manning 2014)
--------------------------------------------------
Every word ``i`` has a word vector ``W[i]`` and bias ``bw[i]``, and a context vector ``C[i]`` and
bias ``bc[i]``. For every non-zero count ``x = X[i, j]``::

    diff = W[i] . C[j] + bw[i] + bc[j] - log x
    J    = sum over pairs of  1/2 f(x) diff**2,        f(x) = min(1, (x / x_max) ** alpha)

    dJ/dW[i] = f diff C[j]     dJ/dC[j] = f diff W[i]     dJ/dbw[i] = dJ/dbc[j] = f diff

(:func:`glove_cost` and :func:`glove_gradients` compute them for all pairs at once; the tests
check the gradients against finite differences.)

One step per pair, AdaGrad (as the reference C code, stanfordnlp/GloVe ``glove.c``)
-----------------------------------------------------------------------------------
Pairs are visited one at a time (stochastic gradient). Each parameter ``p`` has an accumulator
``G_p`` that starts at 1. With ``g = eta * clip(dJ/dp, -grad_clip, grad_clip)``::

    p  -= g / sqrt(G_p)          (with G_p from *before* this step)
    G_p += g**2

Both vectors' steps use the other vector's value from before the step. The biases step with
their own rate ``bias_eta`` (``g = bias_eta * clip(f diff)``), by default ``eta`` (textbook
AdaGrad, as the 2014 C code). Since 2019 the C code's bias steps are ``f diff / sqrt(G)`` with
``G += (f diff)**2``, i.e. ``bias_eta = 1`` (glove.c's bias update, a side effect of moving
``eta`` into the clipped vector gradient): ``bias_eta=1.0`` reproduces it. The C code also skips a
pair whose ``diff`` is NaN; here a NaN spreads and the trainer stops with an error naming it.

Order and threads
-----------------
The caller shuffles the pairs once (like the C code's ``shuffle``) and cuts them into blocks of
``block`` pairs; each epoch visits the blocks in a fresh random order ``blocks``. With
``workers > 1`` thread ``t`` takes blocks ``t, t + workers, ...`` of that order and updates the
shared tables without locks (Hogwild), so runs differ in the last bits; with one worker the
order is fixed and a seed gives the same bits every run.

``log x`` and ``f(x)`` are computed once per pair before training (:func:`pair_records`), not
once per pair and epoch as the C code does.

In this file: ``GloVeJob``, everything one epoch reads, printable; :func:`train_pairs_reference`,
the loop in NumPy, one pair at a time (the readable definition); ``_train_pairs``, the same loop
compiled by Numba; :func:`train_pairs`, which checks a job and runs one or the other
(the reference when ``MINEMBED_JIT=0``). ``tests/test_kernels_glove.py`` holds them equal.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .jit import FASTMATH, jit, jit_enabled, prange

PAIR_DTYPE = np.dtype([("row", "<i4"), ("col", "<i4"), ("logx", "<f4"), ("weight", "<f4")])


def weighting(x, x_max: float, alpha: float) -> np.ndarray:
    """f(x) = min(1, (x / x_max) ** alpha), in float64."""
    return np.minimum(1.0, (np.asarray(x, dtype=np.float64) / x_max) ** alpha)


def pair_records(rows, cols, counts, x_max: float, alpha: float) -> np.ndarray:
    """The training pairs as one record array (16 bytes a pair, so a shuffle moves whole pairs):
    ``row``, ``col`` int32, ``logx`` = log x and ``weight`` = f(x), float32."""
    out = np.empty(len(counts), dtype=PAIR_DTYPE)
    out["row"], out["col"] = rows, cols
    out["logx"] = np.log(counts)
    out["weight"] = weighting(counts, x_max, alpha)
    return out


# ------------------------------------------------------------------ the objective, vectorised
def glove_cost(W, C, bw, bc, rows, cols, logx, weight) -> float:
    """J = sum 1/2 f (W[i] . C[j] + bw[i] + bc[j] - log x)**2 over the pairs (float64)."""
    diff = np.einsum("nd,nd->n", W[rows], C[cols]) + bw[rows] + bc[cols] - logx
    return float(0.5 * np.sum(weight * diff * diff))


def glove_gradients(W, C, bw, bc, rows, cols, logx, weight):
    """``(dJ/dW, dJ/dC, dJ/dbw, dJ/dbc)`` of :func:`glove_cost` (rows repeated add up)."""
    diff = np.einsum("nd,nd->n", W[rows], C[cols]) + bw[rows] + bc[cols] - logx
    fd = weight * diff
    dW, dC = np.zeros_like(W), np.zeros_like(C)
    dbw, dbc = np.zeros_like(bw), np.zeros_like(bc)
    np.add.at(dW, rows, fd[:, None] * C[cols])
    np.add.at(dC, cols, fd[:, None] * W[rows])
    np.add.at(dbw, rows, fd)
    np.add.at(dbc, cols, fd)
    return dW, dC, dbw, dbc


# ------------------------------------------------------------------ what one epoch needs
class GloVeJob(NamedTuple):
    """Everything :func:`train_pairs` reads. Print it to see what an epoch is about to do.

    Pairs: ``rows``, ``cols`` (N,) int32 in [0, V); ``logx``, ``weight`` (N,) float32 (views of a
    :func:`pair_records` array are fine); visited in blocks of ``block`` pairs, in the order
    ``blocks`` (B,) int64 (block b is pairs ``b * block .. min(N, (b + 1) * block) - 1``).
    Parameters, updated in place: ``W``, ``C`` (V, D) float32; ``bw``, ``bc`` (V,) float32.
    AdaGrad accumulators of the same shapes: ``GW``, ``GC``, ``gbw``, ``gbc`` (start at 1).
    Settings: ``eta`` (learning rate), ``grad_clip`` (each gradient component is clipped to
    [-grad_clip, grad_clip] before the step), ``bias_eta`` (the biases' learning rate; None = ``eta``;
    1.0 = the C code since 2019).
    """

    rows: np.ndarray
    cols: np.ndarray
    logx: np.ndarray
    weight: np.ndarray
    blocks: np.ndarray
    block: int
    W: np.ndarray
    C: np.ndarray
    bw: np.ndarray
    bc: np.ndarray
    GW: np.ndarray
    GC: np.ndarray
    gbw: np.ndarray
    gbc: np.ndarray
    eta: float
    grad_clip: float
    bias_eta: float | None = None

    def __repr__(self) -> str:
        parts = [f"{k}={v.dtype}{list(v.shape)}" if isinstance(v, np.ndarray) else f"{k}={v!r}"
                 for k, v in zip(self._fields, self, strict=True)]
        return "GloVeJob(" + ", ".join(parts) + ")"


# ------------------------------------------------------------------ reference: one pair at a time
def _pair_step_reference(job: GloVeJob, k: int) -> float:
    """Train on pair ``k``; returns its cost 1/2 f diff**2 (float64)."""
    i, j = int(job.rows[k]), int(job.cols[k])
    w, c = job.W[i], job.C[j]
    diff = np.float32(w @ c + job.bw[i] + job.bc[j] - job.logx[k])
    fdiff = np.float32(job.weight[k] * diff)
    eta, clip = np.float32(job.eta), np.float32(job.grad_clip)
    gw = eta * np.clip(fdiff * c, -clip, clip)      # both from the vectors before this step
    gc = eta * np.clip(fdiff * w, -clip, clip)
    w -= gw / np.sqrt(job.GW[i])
    c -= gc / np.sqrt(job.GC[j])
    job.GW[i] += gw * gw
    job.GC[j] += gc * gc
    gb = np.float32(job.eta if job.bias_eta is None else job.bias_eta) * np.clip(fdiff, -clip, clip)
    job.bw[i] -= gb / np.sqrt(job.gbw[i])
    job.bc[j] -= gb / np.sqrt(job.gbc[j])
    job.gbw[i] += gb * gb
    job.gbc[j] += gb * gb
    return 0.5 * float(fdiff) * float(diff)


def train_pairs_reference(job: GloVeJob, progress=None) -> float:
    """One epoch, block after block in the order ``job.blocks``, pair after pair: the readable
    definition of the kernel (same pairs, same order, same updates as one worker). Returns the
    summed cost (float64, each pair's cost from before its step); ``progress[0]`` gets the
    pairs done after each block."""
    n = len(job.rows)
    cost, done = 0.0, 0
    for b in job.blocks:
        start, stop = int(b) * job.block, min(n, (int(b) + 1) * job.block)
        for k in range(start, stop):
            cost += _pair_step_reference(job, k)
        done += stop - start
        if progress is not None:
            progress[0] = done
    return cost


# ------------------------------------------------------------------------------ kernel
# error_model="numpy": a float division never raises ZeroDivisionError (the accumulators are >= 1, so none
# divides by zero). Numba's default Python error model guards every division with a branch, and that branch
# kept LLVM from vectorising the update loop: 744 -> 289 ns a pair at D=100 (busy machine, one thread).
@jit(nogil=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def _train_pairs(job, first, step, progress, slot):
    """Blocks ``first, first + step, ...`` of ``job.blocks``; returns the summed cost. After each
    block ``progress[slot]`` holds the pairs this thread has done."""
    rows, cols, logx, weight, blocks, block = job.rows, job.cols, job.logx, job.weight, job.blocks, job.block
    W, C, bw, bc, GW, GC, gbw, gbc = job.W, job.C, job.bw, job.bc, job.GW, job.GC, job.gbw, job.gbc
    eta, clip, bias_eta = np.float32(job.eta), np.float32(job.grad_clip), np.float32(job.bias_eta)
    n, dim = rows.shape[0], W.shape[1]
    cost = 0.0
    done = 0
    for bi in range(first, blocks.shape[0], step):
        start = blocks[bi] * block
        stop = min(n, start + block)
        for k in range(start, stop):
            i, j = rows[k], cols[k]
            diff = np.float32(0.0)
            for d in range(dim):
                diff += W[i, d] * C[j, d]
            diff += bw[i] + bc[j] - logx[k]
            fdiff = weight[k] * diff
            cost += 0.5 * np.float64(fdiff) * np.float64(diff)
            for d in range(dim):
                w = W[i, d]
                c = C[j, d]
                gw = eta * min(max(fdiff * c, -clip), clip)
                gc = eta * min(max(fdiff * w, -clip), clip)
                W[i, d] = w - gw / math.sqrt(GW[i, d])
                C[j, d] = c - gc / math.sqrt(GC[j, d])
                GW[i, d] += gw * gw
                GC[j, d] += gc * gc
            gb = bias_eta * min(max(fdiff, -clip), clip)
            bw[i] -= gb / math.sqrt(gbw[i])
            bc[j] -= gb / math.sqrt(gbc[j])
            gbw[i] += gb * gb
            gbc[j] += gb * gb
        done += stop - start
        progress[slot] = done
    return cost


@jit(nogil=True, cache=True, fastmath=FASTMATH, parallel=True, error_model="numpy")
def _train_pairs_parallel(job, workers, progress, costs):
    # Hogwild: thread t takes blocks t, t + workers, ... of the epoch's order; no locks. Progress
    # slots are 8 int64 (one cache line) apart: no false sharing.
    for t in prange(workers):
        costs[t] = _train_pairs(job, t, workers, progress, 8 * t)


def _checked(job: GloVeJob) -> GloVeJob:
    """Validate a job (Numba does no bounds checks) and fix its scalar types (one compiled signature)."""
    if not isinstance(job, GloVeJob):
        raise TypeError(f"train_pairs needs a GloVeJob, got {type(job).__name__}")
    v, dim = job.W.shape if job.W.ndim == 2 else (0, 0)
    for name in ("W", "C", "GW", "GC"):
        a = getattr(job, name)
        if a.dtype != np.float32 or a.shape != (v, dim) or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a C-contiguous float32 ({v}, {dim}) array, got {a.dtype} {a.shape}")
    for name in ("bw", "bc", "gbw", "gbc"):
        a = getattr(job, name)
        if a.dtype != np.float32 or a.shape != (v,) or not a.flags.c_contiguous:
            raise ValueError(f"{name} must be a contiguous float32 ({v},) array, got {a.dtype} {a.shape}")
    n = len(job.rows)
    for name, dtype in (("rows", np.int32), ("cols", np.int32), ("logx", np.float32), ("weight", np.float32)):
        a = getattr(job, name)
        if a.dtype != dtype or a.shape != (n,):
            raise ValueError(f"{name} must be {np.dtype(dtype)} of shape ({n},), got {a.dtype} {a.shape}")
    if n and (job.rows.min() < 0 or job.cols.min() < 0 or job.rows.max() >= v or job.cols.max() >= v):
        raise IndexError(f"pair ids must be in [0, {v})")
    block = int(job.block)
    if block < 1:
        raise ValueError(f"block must be >= 1, got {job.block!r}")
    blocks = job.blocks
    n_blocks = -(-n // block)
    if blocks.dtype != np.int64 or blocks.ndim != 1 or (blocks.size and (blocks.min() < 0
                                                                          or blocks.max() >= n_blocks)):
        raise ValueError(f"blocks must be int64 block numbers in [0, {n_blocks})")
    if not (job.eta > 0 and math.isfinite(job.eta)) or not job.grad_clip > 0:
        raise ValueError(f"eta and grad_clip must be > 0, got {job.eta!r} and {job.grad_clip!r}")
    bias_eta = job.eta if job.bias_eta is None else job.bias_eta
    if not (bias_eta > 0 and math.isfinite(bias_eta)):
        raise ValueError(f"bias_eta must be > 0, got {job.bias_eta!r}")
    return job._replace(block=block, eta=float(job.eta), grad_clip=float(job.grad_clip), bias_eta=float(bias_eta))


def train_pairs(job: GloVeJob, workers: int = 1, progress=None) -> float:
    """Checked entry point: one epoch over ``job.blocks`` with ``workers`` Hogwild threads
    (:func:`train_pairs_reference` when ``MINEMBED_JIT=0``, whatever ``workers`` is). Returns the
    summed cost (float64). ``progress`` (int64, at least ``8 * workers`` entries) receives each
    thread's pairs done at ``8 * t``; the call releases the GIL."""
    job = _checked(job)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if progress is None:
        progress = np.zeros(8 * workers, dtype=np.int64)
    if progress.dtype != np.int64 or progress.shape[0] < 8 * workers:
        raise ValueError("progress must be an int64 array of at least 8 * workers entries")
    if not jit_enabled():
        return train_pairs_reference(job, progress)
    if workers == 1:
        return float(_train_pairs(job, 0, 1, progress, 0))
    costs = np.zeros(workers, dtype=np.float64)
    _train_pairs_parallel(job, int(workers), progress, costs)
    return float(costs.sum())
