"""Adagrad: each parameter's step shrinks with the sum of its squared gradients so far."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_lr, _check_nonnegative, _check_positive, _sqrt

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (PyTorch's ``torch.optim.Adagrad`` algorithm).

    For each parameter θ with gradient g, learning rate γ, learning-rate decay η, weight decay λ,
    at step t = 1, 2, …, with the sum s₀ = ``initial_accumulator_value``:

        g ← −g                          if maximize
        g ← g + λ·θ                     if λ ≠ 0
        γ̃ ← γ / (1 + (t − 1)·η)
        s ← s + g²
        θ ← θ − γ̃ · g / (√s + ε)

    State per parameter: ``step`` (t) and ``sum`` (s).

    >>> import chainrule
    >>> from chainrule.optim import Adagrad
    >>> w = chainrule.tensor(2.0, requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> (w ** 2).backward()              # g = 4: s = 16, √s = 4
    >>> opt.step()
    >>> round(w.item(), 6)               # 2 − 0.5 · 4 / (4 + 1e-10)
    1.5
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, maximize: bool = False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=bool(maximize))
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        _check_lr("Adagrad", group["lr"])
        _check_nonnegative("Adagrad", "lr_decay", group["lr_decay"])
        _check_nonnegative("Adagrad", "weight_decay", group["weight_decay"])
        _check_nonnegative("Adagrad", "initial_accumulator_value", group["initial_accumulator_value"])
        _check_positive("Adagrad", "eps", group["eps"])

    def _hyper(self, group: dict) -> tuple:
        return (float(group["lr"]), float(group["lr_decay"]), float(group["weight_decay"]),
                float(group["initial_accumulator_value"]), float(group["eps"]), bool(group["maximize"]))

    def _state_names(self, group: dict) -> set[str]:
        return {"step", "sum"}

    def _init_state(self, data, hyper) -> dict:
        start = hyper[3]
        if isinstance(data, np.ndarray):
            return {"step": 0, "sum": np.full_like(data, start)}
        return {"step": 0, "sum": data.dtype.type(start)}

    def _update_array(self, p, g, state, hyper) -> None:
        lr, lr_decay, weight_decay, _, eps, maximize = hyper
        step = state["step"] = state["step"] + 1
        g = self._followed_gradient(p, g, weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)
        u = self._scratch(p, 1)
        total = state["sum"]
        total += np.multiply(g, g, out=u)
        std = np.sqrt(total, out=u)
        std += eps
        np.divide(g, std, out=u)
        u *= clr
        np.subtract(p, u, out=p)

    def _update_scalar(self, p, g, state, hyper):
        lr, lr_decay, weight_decay, _, eps, maximize = hyper
        step = state["step"] = state["step"] + 1
        g = self._followed_gradient(p, g, weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)
        total = state["sum"] = state["sum"] + g * g
        return p - clr * (g / (_sqrt(total) + eps))
