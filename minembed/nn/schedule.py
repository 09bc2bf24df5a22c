"""Learning-rate schedules: change an optimizer's ``lr`` as training goes on.

A schedule holds an optimizer and, like PyTorch's ``torch.optim.lr_scheduler`` classes, is
stepped once after each ``optimizer.step()``::

    opt = Adam(model.parameters(), lr=1e-3)          # 1e-3 is the peak ("base") learning rate
    sched = CosineSchedule(opt, total_steps=epochs * batches_per_epoch)
    for batch in batches:
        ...; opt.step(); sched.step()

The only thing a schedule touches is ``optimizer.lr``; the optimizer reads it at every step.
:func:`make_schedule` turns a model's ``fit(schedule="constant" | "cosine")`` into one.
"""
from __future__ import annotations

import math

from .optim import Optimizer


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
        w, t, peak, low = self.warmup_steps, self.total_steps, self.peak_lr, self.min_lr
        if k < w:
            return peak * (k + 1) / w
        if k >= t:
            return low
        s = (k - w) / (t - w)  # 0 at the end of the warm-up, 1 at total_steps (t > w here, since w <= k < t)
        return low + (peak - low) * 0.5 * (1.0 + math.cos(math.pi * s))

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


SCHEDULES = ("constant", "cosine")


def make_schedule(optimizer: Optimizer, schedule: str, total_steps: int, warmup_steps: int = 0,
                  min_lr: float = 0.0) -> CosineSchedule:
    """The schedule a model's ``fit(schedule=...)`` names, over ``total_steps`` optimizer steps.

    ``"cosine"``: :class:`CosineSchedule` from the optimizer's ``lr`` down to ``min_lr``, after
    ``warmup_steps`` of linear warm-up. ``"constant"``: the same class with ``min_lr`` = the peak,
    a flat line after the warm-up (``min_lr`` is not used). ``ValueError`` for another name.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be 'constant' or 'cosine', got {schedule!r}")
    return CosineSchedule(optimizer, total_steps, warmup_steps, min_lr=min_lr if schedule == "cosine" else optimizer.lr)
