"""Learning-rate schedules: set each parameter group's ``lr`` from the epoch count.

As in PyTorch, a scheduler remembers each group's starting rate as
``group["initial_lr"]`` (the base rate), sets epoch 0's rate when it is made,
and moves one epoch on each ``step()`` — call it after ``optimizer.step()``.
The rates come from closed forms of the epoch, so they do not drift.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence

from .optimizer import Optimizer, _check_nonnegative, _check_real, _unplain

__all__ = [
    "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR", "LinearLR",
    "OneCycleLR", "SequentialLR", "ReduceLROnPlateau",
]


def _check_positive_int(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{owner}: invalid {name}={value!r} (must be > 0)")
    return int(value)


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and writes ``get_lr()`` into every group.

    A subclass gives ``_lr(base_lr, epoch)`` and names its settings in ``_settings``.

    >>> import chainrule
    >>> from chainrule.optim import SGD, StepLR
    >>> w = chainrule.tensor(1.0, requires_grad=True)
    >>> scheduler = StepLR(SGD([w], lr=1.0), step_size=2, gamma=0.5)
    >>> scheduler.last_epoch, scheduler.get_last_lr()
    (0, [1.0])
    """

    _settings: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, numbers.Integral) or last_epoch < -1:
            raise ValueError(f"{type(self).__name__}: invalid last_epoch={last_epoch!r} (must be an int >= -1)")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise ValueError(
                    f"{type(self).__name__}: resuming from last_epoch={last_epoch} needs 'initial_lr' in "
                    f"parameter group {i} (made by the scheduler that ran before)"
                )
        self.base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._last_lr: list[float] = []
        self.step()

    def _lr(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        """The rates for the current epoch ``last_epoch``, one per parameter group."""
        return [self._lr(base, self.last_epoch) for base in self.base_lrs]

    def get_last_lr(self) -> list[float]:
        """The rates the last ``step()`` (or the constructor) set, one per parameter group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Move to the next epoch and set every group's ``lr``."""
        self._set_epoch(self.last_epoch + 1)

    def _set_epoch(self, epoch: int) -> None:
        """Jump to ``epoch`` and set its rates (``SequentialLR`` restarts a schedule at 0 this way)."""
        self.last_epoch = epoch
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    def state_dict(self) -> dict:
        """``last_epoch``, ``base_lrs``, ``last_lr`` and the settings, as plain numbers and lists."""
        state = {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs), "last_lr": list(self._last_lr)}
        state.update({name: getattr(self, name) for name in self._settings})
        return state

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Restore what ``state_dict`` saved (the groups' ``lr`` change at the next ``step``, as in PyTorch)."""
        name = f"{type(self).__name__}.load_state_dict"
        missing = [k for k in ("last_epoch", "base_lrs", "last_lr", *self._settings) if k not in state_dict]
        if missing:
            raise ValueError(f"{name}: missing {missing}")
        base_lrs = [float(x) for x in _as_list(state_dict["base_lrs"])]
        last_lr = [float(x) for x in _as_list(state_dict["last_lr"])]
        groups = len(self.optimizer.param_groups)
        if len(base_lrs) != groups or len(last_lr) != groups:
            raise ValueError(f"{name}: the state has rates for {len(base_lrs)} parameter group(s) but the optimizer "
                             f"has {groups}")
        settings = {k: _unplain(state_dict[k], getattr(self, k)) for k in self._settings}
        self._check(**settings)
        last_epoch = _unplain(state_dict["last_epoch"])
        if not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{name}: invalid last_epoch={last_epoch!r}")
        self.__dict__.update(settings)
        self.base_lrs, self._last_lr, self.last_epoch = base_lrs, last_lr, last_epoch

    def _check(self, **settings) -> None:
        """Raise for a bad setting (subclasses)."""

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._settings)
        return f"{type(self).__name__}({settings}, last_epoch={self.last_epoch})"


def _as_list(value) -> list:
    plain = _unplain(value)
    return plain if isinstance(plain, list) else [plain]


class StepLR(LRScheduler):
    """Multiply the rate by γ every ``step_size`` epochs.

        lr(epoch) = base_lr · γ^⌊epoch / step_size⌋

    >>> import chainrule
    >>> from chainrule.optim import SGD, StepLR
    >>> w = chainrule.tensor(1.0, requires_grad=True)
    >>> opt = SGD([w], lr=1.0)
    >>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
    >>> rates = []
    >>> for epoch in range(5):
    ...     rates.append(opt.param_groups[0]["lr"])
    ...     opt.step()                   # (a training epoch)
    ...     scheduler.step()
    >>> rates
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    _settings = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self._check(step_size=step_size, gamma=gamma)
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer, last_epoch)

    def _check(self, step_size, gamma) -> None:
        _check_positive_int("StepLR", "step_size", step_size)
        _check_nonnegative("StepLR", "gamma", gamma)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiply the rate by γ every epoch.

        lr(epoch) = base_lr · γ^epoch

    >>> import chainrule
    >>> from chainrule.optim import SGD, ExponentialLR
    >>> w = chainrule.tensor(1.0, requires_grad=True)
    >>> opt = SGD([w], lr=1.0)
    >>> scheduler = ExponentialLR(opt, gamma=0.5)
    >>> opt.step(); scheduler.step(); opt.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.25]
    """

    _settings = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self._check(gamma=gamma)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def _check(self, gamma) -> None:
        _check_nonnegative("ExponentialLR", "gamma", gamma)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the base rate down to ``eta_min`` over ``T_max`` epochs.

        lr(epoch) = η_min + (base_lr − η_min) · (1 + cos(π · epoch / T_max)) / 2

    Past ``T_max`` the cosine goes on, so the rate climbs back (period 2·T_max), as in PyTorch.

    >>> import chainrule
    >>> from chainrule.optim import SGD, CosineAnnealingLR
    >>> w = chainrule.tensor(1.0, requires_grad=True)
    >>> opt = SGD([w], lr=1.0)
    >>> scheduler = CosineAnnealingLR(opt, T_max=4, eta_min=0.0)
    >>> rates = []
    >>> for epoch in range(5):
    ...     rates.append(round(opt.param_groups[0]["lr"], 4))
    ...     opt.step()
    ...     scheduler.step()
    >>> rates
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    _settings = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self._check(T_max=T_max, eta_min=eta_min)
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer, last_epoch)

    def _check(self, T_max, eta_min) -> None:
        if not _check_real("CosineAnnealingLR", "T_max", T_max) > 0:
            raise ValueError(f"CosineAnnealingLR: invalid T_max={T_max!r} (must be > 0)")
        _check_nonnegative("CosineAnnealingLR", "eta_min", eta_min)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0


class MultiStepLR(LRScheduler):
    """Multiply the rate by γ at each milestone epoch.

        lr(epoch) = base_lr · γ^(number of milestones ≤ epoch)

    >>> import chainrule
    >>> from chainrule.optim import SGD, MultiStepLR
    >>> opt = SGD([chainrule.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> scheduler = MultiStepLR(opt, milestones=[2, 3], gamma=0.5)
    >>> rates = []
    >>> for epoch in range(5):
    ...     rates.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     scheduler.step()
    >>> rates
    [1.0, 1.0, 0.5, 0.25, 0.25]
    """

    _settings = ("milestones", "gamma")

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1, last_epoch: int = -1):
        milestones = sorted(_as_list(list(milestones))) if len(milestones) else []
        self._check(milestones=milestones, gamma=gamma)
        self.milestones, self.gamma = [int(m) for m in milestones], float(gamma)
        super().__init__(optimizer, last_epoch)

    def _check(self, milestones, gamma) -> None:
        for milestone in milestones:
            if isinstance(milestone, bool) or not isinstance(milestone, numbers.Integral):
                raise TypeError(f"MultiStepLR: milestones must be ints, got {milestone!r}")
        _check_nonnegative("MultiStepLR", "gamma", gamma)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class LambdaLR(LRScheduler):
    """The base rate times a factor that a function of the epoch gives (one function, or one per group).

        lr(epoch) = base_lr · lr_lambda(epoch)

    >>> import chainrule
    >>> from chainrule.optim import SGD, LambdaLR
    >>> opt = SGD([chainrule.tensor(1.0, requires_grad=True)], lr=0.5)
    >>> scheduler = LambdaLR(opt, lambda epoch: 1 / (epoch + 1))
    >>> opt.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable | Sequence[Callable], last_epoch: int = -1):
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"LambdaLR: expected {groups} lr_lambdas, got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * groups
        for function in self.lr_lambdas:
            if not callable(function):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(function).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * function(self.last_epoch) for base, function in zip(self.base_lrs, self.lr_lambdas)]


class LinearLR(LRScheduler):
    """Scale the base rate by a factor that moves linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` epochs, then stays (a warm-up).

        lr(epoch) = base_lr · (start + (end − start) · min(epoch, total_iters) / total_iters)

    >>> import chainrule
    >>> from chainrule.optim import SGD, LinearLR
    >>> opt = SGD([chainrule.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> scheduler = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> rates = []
    >>> for epoch in range(5):
    ...     rates.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     scheduler.step()
    >>> rates
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    _settings = ("start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        self._check(start_factor=start_factor, end_factor=end_factor, total_iters=total_iters)
        self.start_factor, self.end_factor, self.total_iters = float(start_factor), float(end_factor), total_iters
        super().__init__(optimizer, last_epoch)

    def _check(self, start_factor, end_factor, total_iters) -> None:
        if not 0 < _check_real("LinearLR", "start_factor", start_factor) <= 1:
            raise ValueError(f"LinearLR: start_factor must lie in (0, 1], got {start_factor!r}")
        if not 0 <= _check_real("LinearLR", "end_factor", end_factor) <= 1:
            raise ValueError(f"LinearLR: end_factor must lie in [0, 1], got {end_factor!r}")
        _check_positive_int("LinearLR", "total_iters", total_iters)

    def _lr(self, base_lr: float, epoch: int) -> float:
        progress = min(self.total_iters, epoch) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith and Topin 2017), stepped once per *batch*: the rate rises from
    max_lr/div_factor to ``max_lr`` over the first ``pct_start`` of ``total_steps``, then anneals to
    initial_lr/final_div_factor (cosine or linear); the momentum (or Adam's β₁) moves the other way,
    between ``max_momentum`` and ``base_momentum``. ``three_phase`` comes back down to the initial
    rate first and then anneals, as in PyTorch.

    >>> import chainrule
    >>> from chainrule.optim import SGD, OneCycleLR
    >>> opt = SGD([chainrule.tensor(1.0, requires_grad=True)], lr=0.1, momentum=0.9)
    >>> scheduler = OneCycleLR(opt, max_lr=1.0, total_steps=10)
    >>> round(opt.param_groups[0]["lr"], 6), opt.param_groups[0]["momentum"]
    (0.04, 0.95)
    """

    _settings = ("total_steps",)

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: expected an Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            self.total_steps = _check_positive_int("OneCycleLR", "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_check_positive_int("OneCycleLR", "epochs", epochs)
                                * _check_positive_int("OneCycleLR", "steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
        if not 0 <= _check_real("OneCycleLR", "pct_start", pct_start) <= 1:
            raise ValueError(f"OneCycleLR: pct_start must lie in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy, self.cycle_momentum = anneal_strategy, bool(cycle_momentum)
        total = self.total_steps
        # (last step of the phase, rate from, rate to, momentum from, momentum to), keys of the group.
        if three_phase:
            self._phases = [
                (float(pct_start * total) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * total) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (float(pct_start * total) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        groups = optimizer.param_groups
        max_lrs = _per_group("OneCycleLR", "max_lr", max_lr, len(groups))
        if last_epoch == -1:
            for group, peak in zip(groups, max_lrs):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("OneCycleLR: cycle_momentum needs an optimizer with momentum or betas")
            self._use_beta1 = "betas" in optimizer.defaults
            highs = _per_group("OneCycleLR", "max_momentum", max_momentum, len(groups))
            lows = _per_group("OneCycleLR", "base_momentum", base_momentum, len(groups))
            if last_epoch == -1:
                for group, high, low in zip(groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self._use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, fraction: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for index, (end_step, lr_from, lr_to, momentum_from, momentum_to) in enumerate(self._phases):
                if step <= end_step or index == len(self._phases) - 1:
                    fraction = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], fraction))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[momentum_from], group[momentum_to], fraction))
                    break
                start_step = end_step
        return lrs


def _per_group(owner: str, name: str, value, groups: int) -> list[float]:
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"{owner}: expected {groups} values of {name}, got {len(value)}")
        return [float(v) for v in value]
    return [float(value)] * groups


class SequentialLR(LRScheduler):
    """Run schedulers one after another: ``schedulers[i]`` from epoch ``milestones[i − 1]`` on, each
    restarted at its own epoch 0 when its turn comes (a warm-up, then a decay).

    >>> import chainrule
    >>> from chainrule.optim import SGD, LinearLR, ExponentialLR, SequentialLR
    >>> opt = SGD([chainrule.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> scheduler = SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> rates = []
    >>> for epoch in range(5):
    ...     rates.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     scheduler.step()
    >>> rates
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SequentialLR: expected an Optimizer, got {type(optimizer).__name__}")
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR: expects at least one scheduler")
        for index, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau) or not isinstance(scheduler, LRScheduler):
                raise TypeError(f"SequentialLR: scheduler {index} must be an epoch-based LRScheduler, "
                                f"got {type(scheduler).__name__}")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {index} belongs to another optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones, "
                             f"got {len(milestones)}")
        self.optimizer = optimizer
        self._schedulers, self._milestones = schedulers, [int(m) for m in milestones]
        self.base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch + 1
        # Each scheduler set its epoch 0 when it was made; undo that and start the first one again.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in schedulers:
            scheduler.last_epoch -= 1
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first.step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._set_epoch(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def get_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs), "last_lr": list(self._last_lr),
                "milestones": list(self._milestones), "schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: Mapping) -> None:
        states = state_dict.get("schedulers")
        if not isinstance(states, (list, tuple)) or len(states) != len(self._schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: expected the states of {len(self._schedulers)} "
                             "schedulers")
        for scheduler, state in zip(self._schedulers, states):
            scheduler.load_state_dict(state)
        self.last_epoch = int(_unplain(state_dict["last_epoch"]))
        self._last_lr = [float(x) for x in _as_list(state_dict["last_lr"])]

    def __repr__(self) -> str:
        inner = ", ".join(type(s).__name__ for s in self._schedulers)
        return f"SequentialLR([{inner}], milestones={self._milestones}, last_epoch={self.last_epoch})"


class ReduceLROnPlateau:
    """Divide the rate by 1/``factor`` when a metric has stopped improving for ``patience`` epochs.

    Call ``scheduler.step(validation_loss)`` once per epoch. "Improving" means below
    best·(1 − threshold) (``mode="min"``, ``threshold_mode="rel"``), below best − threshold
    (``"abs"``), or the mirror images for ``mode="max"``. After a reduction, ``cooldown`` epochs
    pass before bad epochs count again; no rate goes below ``min_lr``, and a change smaller than
    ``eps`` is not made. As PyTorch's.

    >>> import chainrule
    >>> from chainrule.optim import SGD, ReduceLROnPlateau
    >>> opt = SGD([chainrule.tensor(1.0, requires_grad=True)], lr=1.0)
    >>> scheduler = ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [1.0, 0.9, 0.9, 0.9, 0.9]:
    ...     scheduler.step(loss)
    >>> scheduler.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0,
                 eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an Optimizer, got {type(optimizer).__name__}")
        if not _check_real("ReduceLROnPlateau", "factor", factor) < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        self.min_lrs = _per_group("ReduceLROnPlateau", "min_lr", min_lr, len(optimizer.param_groups))
        self.last_epoch = 0
        self._last_lr = [float(group["lr"]) for group in optimizer.param_groups]
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            bound = self.best * (1.0 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return value < bound
        bound = self.best * (1.0 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return value > bound

    def step(self, metrics) -> None:
        """Record one epoch's metric (a number or a one-element tensor) and reduce the rates if due."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, floor)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    _STATE = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "eps", "min_lrs",
              "last_epoch", "best", "num_bad_epochs", "cooldown_counter")

    def state_dict(self) -> dict:
        state = {name: getattr(self, name) for name in self._STATE}
        state["min_lrs"], state["last_lr"] = list(self.min_lrs), list(self._last_lr)
        return state

    def load_state_dict(self, state_dict: Mapping) -> None:
        missing = [k for k in self._STATE if k not in state_dict]
        if missing:
            raise ValueError(f"ReduceLROnPlateau.load_state_dict: missing {missing}")
        for name in self._STATE:
            value = _unplain(state_dict[name])
            setattr(self, name, [float(v) for v in _as_list(value)] if name == "min_lrs" else value)
        if "last_lr" in state_dict:
            self._last_lr = [float(x) for x in _as_list(state_dict["last_lr"])]

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor}, patience={self.patience}, "
                f"best={self.best}, num_bad_epochs={self.num_bad_epochs})")
