"""Learning-rate schedules: set each parameter group's ``lr`` from the epoch count.

As in PyTorch, a scheduler remembers each group's starting rate as
``group["initial_lr"]`` (the base rate), sets epoch 0's rate when it is made,
and moves one epoch on each ``step()`` — call it after ``optimizer.step()``.
The rates come from closed forms of the epoch, so they do not drift.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from .optimizer import Optimizer, _check_nonnegative, _check_real, _unplain

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR"]


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
        self.last_epoch += 1
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
