"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_lr, _check_nonnegative, _check_real

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's ``torch.optim.SGD`` algorithm).

    For each parameter θ with gradient g = ∂L/∂θ, learning rate γ, momentum μ,
    dampening τ and weight decay λ, at step t:

        g ← −g                          if maximize
        g ← g + λ·θ                     if λ ≠ 0
        b ← g                           if μ ≠ 0, at the first step (no dampening)
        b ← μ·b + (1 − τ)·g             if μ ≠ 0, at later steps
        g ← g + μ·b  (nesterov)   or   g ← b   (otherwise)     if μ ≠ 0
        θ ← θ − γ·g

    ``nesterov`` needs μ > 0 and τ = 0. The momentum buffer b is
    ``state[i]["momentum_buffer"]``.

    >>> import chainrule
    >>> from chainrule.optim import SGD
    >>> w = chainrule.tensor(2.0, requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):               # loss = w², so g = 2w
    ...     opt.zero_grad()
    ...     (w ** 2).backward()
    ...     opt.step()
    >>> round(w.item(), 10)              # 2 − 0.1·4 = 1.6; b = 0.9·4 + 3.2 = 6.8; 1.6 − 0.68
    0.92
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 nesterov: bool = False, weight_decay: float = 0, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=bool(nesterov),
                        weight_decay=weight_decay, maximize=bool(maximize))
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        _check_lr("SGD", group["lr"])
        _check_nonnegative("SGD", "momentum", group["momentum"])
        _check_real("SGD", "dampening", group["dampening"])
        _check_nonnegative("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True requires momentum > 0 and dampening = 0")

    def _hyper(self, group: dict) -> tuple:
        return (float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
                bool(group["nesterov"]), float(group["weight_decay"]), bool(group["maximize"]))

    def _state_names(self, group: dict) -> set[str]:
        return {"momentum_buffer"} if group["momentum"] != 0 else set()

    def _update_array(self, p, g, state, hyper) -> None:
        lr, momentum, dampening, nesterov, weight_decay, maximize = hyper
        g = self._followed_gradient(p, g, weight_decay, maximize)
        u = self._scratch(p, 1)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                if dampening != 0:
                    buf += np.multiply(g, 1.0 - dampening, out=u)
                else:
                    buf += g
            if nesterov:
                np.multiply(buf, momentum, out=u)
                g = np.add(g, u, out=u)
            else:
                g = buf
        np.multiply(g, lr, out=u)
        np.subtract(p, u, out=p)

    def _update_scalar(self, p, g, state, hyper):
        lr, momentum, dampening, nesterov, weight_decay, maximize = hyper
        g = self._followed_gradient(p, g, weight_decay, maximize)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            buf = g if buf is None else buf * momentum + (1.0 - dampening) * g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if nesterov else buf
        return p - lr * g
