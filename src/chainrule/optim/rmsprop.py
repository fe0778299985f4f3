"""RMSprop: divide the gradient by a running root mean square of its recent values."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_lr, _check_nonnegative, _check_positive, _sqrt

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (PyTorch's ``torch.optim.RMSprop`` algorithm), optionally centered and with momentum.

    For each parameter θ with gradient g, learning rate γ, smoothing α,
    weight decay λ, momentum μ, with v = ḡ = b = 0 at the start:

        g ← −g                                   if maximize
        g ← g + λ·θ                              if λ ≠ 0
        v ← α·v + (1 − α)·g²
        ḡ ← α·ḡ + (1 − α)·g,   ṽ ← v − ḡ²         if centered
        ṽ ← v                                    otherwise
        b ← μ·b + g / (√ṽ + ε),   θ ← θ − γ·b      if μ > 0
        θ ← θ − γ · g / (√ṽ + ε)                 otherwise

    State per parameter: ``step``, ``square_avg`` (v), with centered
    ``grad_avg`` (ḡ), with momentum ``momentum_buffer`` (b).

    >>> import chainrule
    >>> from chainrule.optim import RMSprop
    >>> w = chainrule.tensor(2.0, requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w ** 2).backward()              # g = 4: v = 0.25 · 16 = 4, √v = 2
    >>> opt.step()
    >>> round(w.item(), 6)               # 2 − 0.01 · 4 / (2 + 1e-8)
    1.98
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, maximize: bool = False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=bool(centered), maximize=bool(maximize))
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        _check_lr("RMSprop", group["lr"])
        _check_nonnegative("RMSprop", "alpha", group["alpha"])
        _check_positive("RMSprop", "eps", group["eps"])
        _check_nonnegative("RMSprop", "weight_decay", group["weight_decay"])
        _check_nonnegative("RMSprop", "momentum", group["momentum"])

    def _hyper(self, group: dict) -> tuple:
        return (float(group["lr"]), float(group["alpha"]), float(group["eps"]), float(group["weight_decay"]),
                float(group["momentum"]), bool(group["centered"]), bool(group["maximize"]))

    def _state_names(self, group: dict) -> set[str]:
        names = {"step", "square_avg"}
        if group["momentum"] > 0:
            names.add("momentum_buffer")
        if group["centered"]:
            names.add("grad_avg")
        return names

    def _init_state(self, data, hyper) -> dict:
        state = {"step": 0, "square_avg": self._zeros(data)}
        if hyper[4] > 0:
            state["momentum_buffer"] = self._zeros(data)
        if hyper[5]:
            state["grad_avg"] = self._zeros(data)
        return state

    def _update_array(self, p, g, state, hyper) -> None:
        lr, alpha, eps, weight_decay, momentum, centered, maximize = hyper
        state["step"] += 1
        g = self._followed_gradient(p, g, weight_decay, maximize)
        u = self._scratch(p, 1)
        v = state["square_avg"]
        v *= alpha
        v += np.multiply(np.multiply(g, 1.0 - alpha, out=u), g, out=u)
        if centered:
            g_avg = state["grad_avg"]
            g_avg += np.multiply(np.subtract(g, g_avg, out=u), 1.0 - alpha, out=u)
            np.subtract(v, np.multiply(g_avg, g_avg, out=u), out=u)
            avg = np.sqrt(u, out=u)
        else:
            avg = np.sqrt(v, out=u)
        avg += eps
        step = np.divide(g, avg, out=u)
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += step
            step = np.multiply(buf, lr, out=u)
        else:
            step *= lr
        np.subtract(p, step, out=p)

    def _update_scalar(self, p, g, state, hyper):
        lr, alpha, eps, weight_decay, momentum, centered, maximize = hyper
        state["step"] += 1
        g = self._followed_gradient(p, g, weight_decay, maximize)
        v = state["square_avg"] = state["square_avg"] * alpha + (1.0 - alpha) * g * g
        if centered:
            g_avg = state["grad_avg"]
            g_avg = state["grad_avg"] = g_avg + (1.0 - alpha) * (g - g_avg)
            avg = _sqrt(v - g_avg * g_avg) + eps
        else:
            avg = _sqrt(v) + eps
        if momentum > 0:
            buf = state["momentum_buffer"] = state["momentum_buffer"] * momentum + g / avg
            return p - lr * buf
        return p - lr * (g / avg)
