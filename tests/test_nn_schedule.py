"""CosineSchedule against hand-computed values, against the optimizer steps it drives, and (when
PyTorch is installed) against torch's own CosineAnnealingLR / LinearLR + CosineAnnealingLR sequences."""
import math

import numpy as np
import pytest

from minembed.nn import SGD, Adam, CosineSchedule, Parameter
from minembed.nn.schedule import make_schedule

C = math.cos(math.pi / 4)  # cos 45 degrees = 0.7071...


def make_opt(lr=1.0, cls=SGD):
    return cls([Parameter(np.zeros(1), name="w")], lr=lr)


def lrs(sched, n):
    """The lr each of n optimizer steps would use (stepping the schedule as a training loop does)."""
    out = []
    for _ in range(n):
        out.append(sched.optimizer.lr)
        sched.step()
    return out


def test_cosine_without_warmup_by_hand():
    # T = 4, peak 1: (1 + cos(pi k / 4)) / 2 for k = 0..4, then min_lr (0) for good
    sched = CosineSchedule(make_opt(1.0), total_steps=4)
    expected = [1.0, (1 + C) / 2, 0.5, (1 - C) / 2, 0.0, 0.0, 0.0]
    assert lrs(sched, 7) == pytest.approx(expected, abs=1e-15)
    assert sched.step_count == 7 and sched.last_lr == 0.0


def test_cosine_with_min_lr_and_warmup_by_hand():
    # peak 2, min 0.5, W = 2, T = 6: warm-up 1, 2; then 0.5 + 1.5 (1 + cos(pi (k - 2) / 4)) / 2
    sched = CosineSchedule(make_opt(2.0), total_steps=6, warmup_steps=2, min_lr=0.5)
    expected = [1.0, 2.0, 2.0, 0.5 + 0.75 * (1 + C), 1.25, 0.5 + 0.75 * (1 - C), 0.5, 0.5]
    assert lrs(sched, 8) == pytest.approx(expected, abs=1e-15)
    assert [sched.lr_at(k) for k in range(8)] == pytest.approx(expected, abs=1e-15)  # lr_at has no side effects
    assert sched.step_count == 8


def test_warmup_over_all_steps_is_a_linear_ramp():
    sched = CosineSchedule(make_opt(1.0), total_steps=4, warmup_steps=4)
    assert lrs(sched, 5) == pytest.approx([0.25, 0.5, 0.75, 1.0, 0.0])


def test_making_a_schedule_sets_the_first_lr_and_the_optimizer_uses_every_value():
    # plain SGD with gradient 1: after n steps w = -(sum of the lrs used)
    opt = make_opt(0.1)
    sched = CosineSchedule(opt, total_steps=5, warmup_steps=1)
    assert opt.lr == pytest.approx(0.1) and sched.peak_lr == 0.1
    w = opt.params[0]
    for _ in range(5):
        w.grad = np.ones(1)
        opt.step()
        sched.step()
    assert w.data[0] == pytest.approx(-sum(sched.lr_at(k) for k in range(5)))
    # Adam's first step moves by about lr whatever the gradient's size: it reads opt.lr too
    opt = make_opt(0.1, Adam)
    sched = CosineSchedule(opt, total_steps=2, warmup_steps=2)  # first step: 0.05
    opt.params[0].grad = np.full(1, 123.0)
    opt.step()
    assert opt.params[0].data[0] == pytest.approx(-0.05, rel=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"total_steps": 0}, "total_steps .* got 0"),
    ({"total_steps": -3}, "total_steps .* got -3"),
    ({"total_steps": 2.5}, "total_steps .* got 2.5"),
    ({"total_steps": 10, "warmup_steps": 11}, "warmup_steps .* got 11"),
    ({"total_steps": 10, "warmup_steps": -1}, "warmup_steps .* got -1"),
    ({"total_steps": 10, "min_lr": -0.01}, "min_lr .* got -0.01"),
    ({"total_steps": 10, "min_lr": 2.0}, r"min_lr .*peak lr=1.0.* got 2.0"),
])
def test_bad_settings_raise_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CosineSchedule(make_opt(1.0), **kwargs)


def test_needs_a_minembed_optimizer():
    with pytest.raises(TypeError, match="Optimizer"):
        CosineSchedule(object(), total_steps=3)


def _torch_lrs(torch, opt, sched, n):
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("total, min_lr", [(1, 0.0), (7, 0.0), (469 * 3, 0.0), (50, 1e-5)])
def test_equals_torch_cosine_annealing_lr(total, min_lr):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=1e-3)
    expected = _torch_lrs(torch, opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=min_lr),
                          total + 1)
    ours = lrs(CosineSchedule(make_opt(1e-3, Adam), total_steps=total, min_lr=min_lr), total + 1)
    assert ours == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_warmup_equals_torch_linear_then_cosine():
    # torch: LinearLR from 1/W to 1 over steps 0..W-1, then CosineAnnealingLR over the remaining T - W steps
    torch = pytest.importorskip("torch")
    lr_scheduler = torch.optim.lr_scheduler
    W, T = 5, 40
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.3)
    sched = lr_scheduler.SequentialLR(opt, [
        lr_scheduler.LinearLR(opt, start_factor=1 / W, end_factor=1.0, total_iters=W - 1),
        lr_scheduler.CosineAnnealingLR(opt, T_max=T - W, eta_min=0.01)], milestones=[W])
    expected = _torch_lrs(torch, opt, sched, T + 1)
    ours = lrs(CosineSchedule(make_opt(0.3), total_steps=T, warmup_steps=W, min_lr=0.01), T + 1)
    assert ours == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_make_schedule_by_name():
    # "constant": warm-up (k + 1) / 4 * 0.5, then flat at the peak (min_lr is not used)
    const = make_schedule(make_opt(0.5), "constant", total_steps=6, warmup_steps=4, min_lr=0.1)
    assert lrs(const, 8) == pytest.approx([0.125, 0.25, 0.375, 0.5, 0.5, 0.5, 0.5, 0.5], abs=1e-15)
    # "cosine": 0.1 + 0.4 (1 + cos(pi k / 4)) / 2, then 0.1
    cos = make_schedule(make_opt(0.5), "cosine", total_steps=4, min_lr=0.1)
    assert lrs(cos, 6) == pytest.approx([0.5, 0.1 + 0.2 * (1 + C), 0.3, 0.1 + 0.2 * (1 - C), 0.1, 0.1], abs=1e-15)
    with pytest.raises(ValueError, match="schedule must be 'constant' or 'cosine', got 'linear'"):
        make_schedule(make_opt(), "linear", total_steps=4)
    with pytest.raises(ValueError, match=r"warmup_steps must be an integer in \[0, total_steps=4\], got 5"):
        make_schedule(make_opt(), "constant", total_steps=4, warmup_steps=5)
