"""Data parallelism inside one process: cut the batch into shards, one per thread, each through its own replica.

Until the loss, every sample of a batch goes through a network on its own: sentence 3's attention never
looks at sentence 7. So a batch of B samples can be cut into T shards of about B/T samples and the shards
run through the network *at the same time*, on T threads (NumPy's products and the Numba kernels release
the GIL). A shard needs its own copy of everything a forward caches for its backward, and its own
gradients, but not its own weights: a **replica** here is a copy of the model whose parameters share the
model's weight arrays and have their own ``grad``. Replica 0 is the model itself.

The gradient of a sum is the sum of the gradients. With the loss computed once over the whole batch
(its mean over all N items), each shard's upstream gradient already carries the 1/N, so::

    dL/dW = sum over shards k of (the gradient shard k's backward leaves in replica k's W.grad)

and :meth:`Replicas.add_grads` adds replicas 1.. T-1's gradients into the model's own. The optimizer then
steps the model's parameters in place, and the replicas see the new weights, because they are the same
arrays. PyTorch's ``DistributedDataParallel`` does the same across processes, with an all-reduce.

Why not split each operation instead? In a tiny transformer most products take 1-5 ms; handing half of one
to another thread costs ~0.1 ms of wake-up each time, and a step has ~60 of them. A shard is handed over
twice per step (forward, backward), and inside it every product runs on one thread at full speed.

Limits: a replica is made by ``copy.deepcopy`` with the weight arrays shared, so a model that keeps its
own random generator (dropout) would give each replica a copy of the same stream; the models that use
this class have none. If a weight array is *replaced* (``load_state_dict``, ``astype``), the replicas are
rebuilt at the next :meth:`Replicas.get`.
"""
from __future__ import annotations

import copy

import numpy as np

from ..kernels.threads import split_bounds, split_rows
from .module import Module, Parameter, RowSparseGrad


class Replicas:
    """Up to ``n`` replicas of ``model`` (the model itself first) that share its weight arrays."""

    def __init__(self, model: Module):
        self.model = model
        self._copies: list[tuple[Module, list]] = []     # (replica, its parameters)

    @staticmethod
    def _current(params: list, replica_params: list) -> bool:
        return len(params) == len(replica_params) and all(
            rp.data is p.data for p, rp in zip(params, replica_params, strict=True))

    def _make(self) -> tuple[Module, list]:
        params = self.model.parameters()
        # Everything deep-copied except the weight arrays, and the model's own helper objects (a tokenizer,
        # this Replicas): a replica needs its own layers, parameters (for their grads) and caches only.
        memo = {id(p.data): p.data for p in params}
        memo.update({id(v): v for v in vars(self.model).values()
                     if not isinstance(v, (Module, Parameter, np.ndarray, list, tuple, dict))})
        replica = copy.deepcopy(self.model, memo)
        replica_params = replica.parameters()
        for rp in replica_params:
            rp.grad, rp._spare, rp._stale = None, None, None
        return replica, replica_params

    def get(self, n: int) -> list[Module]:
        """``[model, replica 1, ..., replica n-1]``, each in the model's train/eval mode and with its
        frozen parameters frozen."""
        params = self.model.parameters()
        self._copies = [c for c in self._copies if self._current(params, c[1])]
        while len(self._copies) < n - 1:
            self._copies.append(self._make())
        mods = list(self.model.modules())
        for replica, replica_params in self._copies[:n - 1]:
            for m, rm in zip(mods, replica.modules(), strict=True):
                rm.training = m.training
            for p, rp in zip(params, replica_params, strict=True):
                rp.requires_grad = p.requires_grad
        return [self.model] + [replica for replica, _ in self._copies[:n - 1]]

    def add_grads(self, replicas: list[Module]) -> None:
        """Add the gradients of ``replicas[1:]`` (as returned by :meth:`get`) into the model's own, and
        clear theirs."""
        params = self.model.parameters()
        lists = {id(replica): replica_params for replica, replica_params in self._copies}
        for replica in replicas[1:]:
            for p, rp in zip(params, lists[id(replica)], strict=True):
                g = rp.grad
                if g is None or not p.requires_grad:
                    continue
                if isinstance(g, RowSparseGrad):
                    p.add_rows(g.indices, g.values)
                else:
                    p.accumulate(g)
                rp.zero_grad()


def shard_bounds(n: int, threads: int) -> list[int]:
    """Boundaries of the shards of a batch of ``n`` samples over ``threads`` threads (at least one sample
    each): ``[0, ..., n]``."""
    return split_bounds(n, max(1, min(threads, n)))


def run_shards(bounds: list[int], work) -> list:
    """``work(k, lo, hi)`` for shard k = samples ``[lo, hi)``, one thread per shard (shard 0 in this
    thread; one after the other where no thread is free); their results in order."""
    n = len(bounds) - 1
    parts = split_rows(n, lambda lo, hi, _t: [work(k, bounds[k], bounds[k + 1]) for k in range(lo, hi)],
                       threads=n)
    return [result for part in parts for result in part]


def shard_of_rows(sample: np.ndarray, bounds: list[int]) -> np.ndarray:
    """The shard of each item, given the sample it belongs to: (M,) int -> (M,) int."""
    return np.searchsorted(np.asarray(bounds[1:-1]), sample, side="right")
