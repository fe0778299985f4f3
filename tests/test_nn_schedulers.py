"""The new learning-rate schedulers give PyTorch's rates, step for step, over whole runs."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")


def _optimizers(kind="sgd", lrs=(0.1,)):
    ours_params = [cr.tensor(np.ones(2), requires_grad=True) for _ in lrs]
    theirs_params = [torch.ones(2, requires_grad=True) for _ in lrs]
    if kind == "sgd":
        ours = optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ours_params, lrs)], lr=lrs[0], momentum=0.9)
        theirs = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(theirs_params, lrs)], lr=lrs[0],
                                 momentum=0.9)
    else:
        ours = optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(ours_params, lrs)], lr=lrs[0])
        theirs = torch.optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(theirs_params, lrs)], lr=lrs[0])
    return ours, theirs


def _run(ours_opt, theirs_opt, ours_sched, theirs_sched, steps, metrics=None, keys=("lr",)):
    for step in range(steps):
        for key in keys:
            for ours_group, theirs_group in zip(ours_opt.param_groups, theirs_opt.param_groups):
                expected = theirs_group[key]
                got = ours_group[key]
                if key == "betas":
                    expected, got = expected[0], got[0]
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), f"{key} at step {step}"
        ours_opt.step()
        theirs_opt.step()
        if metrics is None:
            ours_sched.step()
            theirs_sched.step()
        else:
            ours_sched.step(metrics[step])
            theirs_sched.step(metrics[step])
        assert ours_sched.get_last_lr() == pytest.approx(theirs_sched.get_last_lr(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("milestones,gamma", [([3, 7], 0.5), ([2, 2, 9], 0.1), ([], 0.3)])
def test_multistep_lr(milestones, gamma):
    ours, theirs = _optimizers(lrs=(0.1, 0.02))
    _run(ours, theirs, optim.MultiStepLR(ours, milestones, gamma), torch.optim.lr_scheduler.MultiStepLR(
        theirs, milestones, gamma), 14)


def test_lambda_lr_with_one_function_and_one_per_group():
    for lambdas in (lambda e: 0.95**e, [lambda e: 1 / (1 + e), lambda e: max(0.0, 1 - e / 10)]):
        ours, theirs = _optimizers(lrs=(0.1, 0.5))
        _run(ours, theirs, optim.LambdaLR(ours, lambdas), torch.optim.lr_scheduler.LambdaLR(theirs, lambdas), 12)


@pytest.mark.parametrize("kwargs", [{}, {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 4},
                                    {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 7}])
def test_linear_lr(kwargs):
    ours, theirs = _optimizers(lrs=(0.1, 0.03))
    _run(ours, theirs, optim.LinearLR(ours, **kwargs), torch.optim.lr_scheduler.LinearLR(theirs, **kwargs), 12)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("kwargs", [
    {"total_steps": 20},
    {"epochs": 3, "steps_per_epoch": 7, "pct_start": 0.25, "anneal_strategy": "linear"},
    {"total_steps": 17, "three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0},
    {"total_steps": 12, "cycle_momentum": False},
])
def test_one_cycle_lr_with_momentum(kind, kwargs):
    ours, theirs = _optimizers(kind, lrs=(0.1, 0.05))
    keys = ("lr",) if not kwargs.get("cycle_momentum", True) else ("lr", "betas" if kind == "adam" else "momentum")
    total = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    _run(ours, theirs, optim.OneCycleLR(ours, max_lr=[1.0, 0.4], **kwargs),
         torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=[1.0, 0.4], **kwargs), total, keys=keys)
    with pytest.raises(ValueError, match="total_steps"):
        one = optim.OneCycleLR(_optimizers()[0], max_lr=1.0, total_steps=2)
        for _ in range(3):
            one.step()


def test_one_cycle_needs_momentum_when_cycling_it():
    plain = optim.SGD([cr.tensor(1.0, requires_grad=True)], lr=0.1)
    if "momentum" not in plain.defaults:
        with pytest.raises(ValueError, match="momentum"):
            optim.OneCycleLR(plain, max_lr=1.0, total_steps=5)


@pytest.mark.parametrize("kwargs", [
    {"factor": 0.5, "patience": 2},
    {"mode": "max", "factor": 0.2, "patience": 1, "threshold": 0.05, "threshold_mode": "abs", "cooldown": 2},
    {"patience": 0, "min_lr": [0.01, 0.001], "cooldown": 1},
    {"factor": 0.9, "patience": 1, "eps": 0.05},
])
def test_reduce_lr_on_plateau(kwargs):
    rng = np.random.default_rng(0)
    metrics = list(np.concatenate([np.linspace(1.0, 0.5, 5), 0.5 + rng.uniform(-0.01, 0.02, size=25)]))
    ours, theirs = _optimizers(lrs=(0.1, 0.05))
    _run(ours, theirs, optim.ReduceLROnPlateau(ours, **kwargs),
         torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs), len(metrics), metrics=metrics)


@pytest.mark.parametrize("build", ["warmup_then_cosine", "three_stages", "first_milestone_late"])
def test_sequential_lr(build):
    ours, theirs = _optimizers(lrs=(0.1, 0.02))

    def make(module, opt):
        s = module.lr_scheduler if module is torch.optim else module
        if build == "warmup_then_cosine":
            return s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.1, total_iters=4),
                                        s.CosineAnnealingLR(opt, T_max=10)], milestones=[4])
        if build == "three_stages":
            return s.SequentialLR(opt, [s.ExponentialLR(opt, gamma=0.9), s.MultiStepLR(opt, [2, 5], 0.5),
                                        s.LinearLR(opt, start_factor=0.5, total_iters=3)], milestones=[3, 9])
        return s.SequentialLR(opt, [s.StepLR(opt, step_size=2, gamma=0.5), s.LambdaLR(opt, lambda e: 1 + e)],
                              milestones=[6])

    _run(ours, theirs, make(optim, ours), make(torch.optim, theirs), 18)


def test_new_schedulers_survive_a_state_dict_round_trip():
    ours, _ = _optimizers(lrs=(0.1,))
    scheduler = optim.MultiStepLR(ours, [2, 4], 0.5)
    for _ in range(3):
        scheduler.step()
    saved = scheduler.state_dict()
    fresh_opt, _ = _optimizers(lrs=(0.1,))
    fresh = optim.MultiStepLR(fresh_opt, [9], 0.9)
    fresh.load_state_dict(saved)
    fresh.step()
    scheduler.step()
    assert fresh.get_last_lr() == scheduler.get_last_lr() == [pytest.approx(0.025)]
    plateau = optim.ReduceLROnPlateau(ours, patience=0)
    plateau.step(1.0)
    plateau.step(2.0)
    copy = optim.ReduceLROnPlateau(_optimizers()[0], patience=0)
    copy.load_state_dict(plateau.state_dict())
    assert copy.best == 1.0 and copy.get_last_lr() == plateau.get_last_lr()
    assert math.isclose(plateau.get_last_lr()[0], 0.1 * 0.25 * 0.1)
