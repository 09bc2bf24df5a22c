"""Learning-rate schedules: change an optimizer's ``lr`` as training goes on.

A schedule holds an optimizer and, like PyTorch's ``torch.optim.lr_scheduler`` classes, is
stepped once after each ``optimizer.step()``::

    opt = Adam(model.parameters(), lr=1e-3)          # 1e-3 is the peak ("base") learning rate
    sched = CosineSchedule(opt, total_steps=epochs * batches_per_epoch)
    for batch in batches:
        ...; opt.step(); sched.step()

The only thing a schedule touches is ``optimizer.lr``; the optimizer reads it at every step.
"""
from __future__ import annotations

import math

from .optim import Optimizer


def cosine_lr(k: int, total_steps: int, peak_lr: float, warmup_steps: int = 0, min_lr: float = 0.0) -> float:
    """The learning rate of step ``k`` (0-based) under :class:`CosineSchedule`'s formula, as a plain
    function (for loops that set ``lr`` themselves). ``min_lr = peak_lr`` gives a constant rate
    after the warm-up."""
    w, t = warmup_steps, total_steps
    if k < w:
        return peak_lr * (k + 1) / w
    if k >= t:
        return min_lr
    s = (k - w) / (t - w)  # 0 at the end of the warm-up, 1 at total_steps (t > w here, since w <= k < t)
    return min_lr + (peak_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * s))


class CosineSchedule:
    """Optional linear warm-up, then a half cosine from the peak ``lr`` down to ``min_lr``.

    With ``peak`` the optimizer's ``lr`` when the schedule is made, ``W = warmup_steps`` and
    ``T = total_steps``, the learning rate used by optimizer step ``k`` (0-based) is::

        k < W:        peak * (k + 1) / W                                   (linear warm-up)
        W <= k <= T:  min_lr + (peak - min_lr) * (1 + cos(pi * (k - W) / (T - W))) / 2
        k > T:        min_lr

    so the first step after the warm-up uses ``peak`` and step ``T`` would use ``min_lr`` (the
    last of ``T`` steps, ``k = T - 1``, still uses a little more). With ``W = 0`` this is the
    sequence of PyTorch's ``CosineAnnealingLR(opt, T_max=T, eta_min=min_lr)`` stepped once per
    batch. One difference: PyTorch's cosine keeps going past ``T_max`` (the lr rises again, a
    cosine wave); here it stays at ``min_lr``.

    ``step()`` advances by one optimizer step and sets ``optimizer.lr``; ``lr_at(k)`` gives the
    value for any step without changing anything; ``last_lr`` is the current value.
    """

    def __init__(self, optimizer: Optimizer, total_steps: int, warmup_steps: int = 0, min_lr: float = 0.0):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CosineSchedule needs a minembed Optimizer, got {type(optimizer).__name__}")
        if int(total_steps) != total_steps or total_steps < 1:
            raise ValueError(f"total_steps must be an integer >= 1, got {total_steps}")
        if int(warmup_steps) != warmup_steps or not 0 <= warmup_steps <= total_steps:
            raise ValueError(f"warmup_steps must be an integer in [0, total_steps={total_steps}], got {warmup_steps}")
        if not 0 <= min_lr <= optimizer.lr:
            raise ValueError(f"min_lr must be in [0, peak lr={optimizer.lr}], got {min_lr}")
        self.optimizer = optimizer
        self.peak_lr, self.min_lr = float(optimizer.lr), float(min_lr)
        self.total_steps, self.warmup_steps = int(total_steps), int(warmup_steps)
        self.step_count = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, k: int) -> float:
        """The learning rate of optimizer step ``k`` (0-based); see the class docstring."""
        return cosine_lr(k, self.total_steps, self.peak_lr, self.warmup_steps, self.min_lr)

    @property
    def last_lr(self) -> float:
        return self.optimizer.lr

    def step(self) -> None:
        """Call once after each ``optimizer.step()``: the next step uses ``lr_at(step_count)``."""
        self.step_count += 1
        self.optimizer.lr = self.lr_at(self.step_count)

    def __repr__(self) -> str:
        return (f"CosineSchedule(peak_lr={self.peak_lr}, total_steps={self.total_steps}, "
                f"warmup_steps={self.warmup_steps}, min_lr={self.min_lr}, step_count={self.step_count})")
