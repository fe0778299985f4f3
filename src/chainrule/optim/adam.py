"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, _check_lr, _check_nonnegative, _check_positive, _check_unit_interval, _sqrt

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (PyTorch's ``torch.optim.Adam`` algorithm), optionally AMSGrad.

    For each parameter θ with gradient g, learning rate γ, betas (β₁, β₂),
    weight decay λ, at step t = 1, 2, …, with m₀ = v₀ = v̂ₘₐₓ = 0:

        g ← −g                                  if maximize
        g ← g + λ·θ                             if λ ≠ 0  (L2 penalty; AdamW decouples it)
        m ← β₁·m + (1 − β₁)·g
        v ← β₂·v + (1 − β₂)·g²
        v̂ₘₐₓ ← max(v̂ₘₐₓ, v),  v ← v̂ₘₐₓ           if amsgrad
        θ ← θ − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    State per parameter: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v) and,
    with amsgrad, ``max_exp_avg_sq``.

    >>> import chainrule
    >>> from chainrule.optim import Adam
    >>> w = chainrule.tensor(2.0, requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w ** 2).backward()              # g = 4: m = 0.4, v = 0.016, m̂ = 4, v̂ = 16
    >>> opt.step()
    >>> round(w.item(), 6)               # 2 − 0.1 · 4 / (4 + 1e-8)
    1.9
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, maximize: bool = False):
        betas = tuple(betas) if isinstance(betas, (tuple, list)) else betas
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=bool(amsgrad),
                        maximize=bool(maximize))
        super().__init__(params, defaults)

    def _validate(self, group: dict) -> None:
        owner = self._name
        _check_lr(owner, group["lr"])
        _check_positive(owner, "eps", group["eps"])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
        _check_unit_interval(owner, "betas[0]", betas[0])
        _check_unit_interval(owner, "betas[1]", betas[1])
        _check_nonnegative(owner, "weight_decay", group["weight_decay"])

    def _hyper(self, group: dict) -> tuple:
        beta1, beta2 = group["betas"]
        return (float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                float(group["weight_decay"]), bool(group["amsgrad"]), bool(group["maximize"]))

    def _state_names(self, group: dict) -> set[str]:
        names = {"step", "exp_avg", "exp_avg_sq"}
        return names | {"max_exp_avg_sq"} if group["amsgrad"] else names

    def _init_state(self, data, hyper) -> dict:
        state = {"step": 0, "exp_avg": self._zeros(data), "exp_avg_sq": self._zeros(data)}
        if hyper[5]:
            state["max_exp_avg_sq"] = self._zeros(data)
        return state

    def _update_array(self, p, g, state, hyper) -> None:
        lr, beta1, beta2, eps, weight_decay, amsgrad, maximize = hyper
        step = state["step"] = state["step"] + 1
        g = self._followed_gradient(p, g, 0 if self._decoupled else weight_decay, maximize)
        if weight_decay != 0 and self._decoupled:
            np.multiply(p, 1.0 - lr * weight_decay, out=p)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        u = self._scratch(p, 1)
        m += np.multiply(np.subtract(g, m, out=u), 1.0 - beta1, out=u)  # m + (1 − β₁)(g − m)
        v *= beta2
        v += np.multiply(np.multiply(g, 1.0 - beta2, out=u), g, out=u)
        if amsgrad:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = np.sqrt(v, out=u)
        denom /= (1.0 - beta2**step) ** 0.5
        denom += eps
        update = np.divide(m, denom, out=u)
        update *= lr / (1.0 - beta1**step)
        np.subtract(p, update, out=p)

    def _update_scalar(self, p, g, state, hyper):
        lr, beta1, beta2, eps, weight_decay, amsgrad, maximize = hyper
        step = state["step"] = state["step"] + 1
        g = self._followed_gradient(p, g, 0 if self._decoupled else weight_decay, maximize)
        if weight_decay != 0 and self._decoupled:
            p = p * (1.0 - lr * weight_decay)
        m = state["exp_avg"]
        m = state["exp_avg"] = m + (1.0 - beta1) * (g - m)
        v = state["exp_avg_sq"] = state["exp_avg_sq"] * beta2 + (1.0 - beta2) * g * g
        if amsgrad:
            v_max = state["max_exp_avg_sq"]
            v = state["max_exp_avg_sq"] = v_max if v_max >= v else v
        denom = _sqrt(v) / (1.0 - beta2**step) ** 0.5 + eps
        return p - (m / denom) * (lr / (1.0 - beta1**step))


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (PyTorch's ``torch.optim.AdamW`` algorithm).

    The decay shrinks the weights directly instead of entering the gradient,
    so it is not rescaled by the adaptive step. At step t, before the Adam
    update (which then runs with λ = 0):

        θ ← θ · (1 − γ·λ)
        then m, v, (v̂ₘₐₓ) and θ ← θ − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)  as in Adam

    Defaults as PyTorch: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8,
    weight_decay = 1e-2.

    >>> import chainrule
    >>> from chainrule.optim import AdamW
    >>> w = chainrule.tensor(2.0, requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w ** 2).backward()
    >>> opt.step()                       # 2 · (1 − 0.05) = 1.9, then the Adam step of −0.1
    >>> round(w.item(), 6)
    1.8
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)
