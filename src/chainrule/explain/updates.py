"""The update step, narrated for the optimizers of ``chainrule.optim``: SGD, SGD with momentum, Adam.

The numbers of the first update come from the optimizer itself (one
``step()`` on copies of the parameters), so the explanation shows exactly what
training would do. A later step t (``at(t, state)``) carries the optimizer's
state — momentum's velocity, Adam's two moments — and writes each of its
equations: v ← μ·v + g; m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², the bias
corrections m/(1 − β1ᵗ) and v/(1 − β2ᵗ), and the step. Its exact numbers follow
the optimizer's own arithmetic (``chainrule.optim``), and the tests hold both
to PyTorch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..formula import Bin, Call, Expr, Num, Var
from ..tensor import Tensor, tensor
from .model import Equation, Form

__all__ = ["UpdateRule", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "momentum", "adam")


def _significant(value, decimals: int) -> int:
    """Enough decimals for four significant digits of a small number (v = 0.00008526), at least ``decimals``."""
    magnitude = float(np.max(np.abs(np.asarray(value, dtype=float)), initial=0.0))
    if magnitude == 0:
        return decimals
    return int(max(decimals, min(12, -np.floor(np.log10(magnitude)) + 3)))


def _partial(top: str, bottom: str) -> Expr:
    return Call("d", (Var(top), Var(bottom)))


@dataclass(frozen=True)
class UpdateRule:
    """Which optimizer takes the step, with its settings (PyTorch's defaults)."""

    name: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    #: The step this rule takes (1 for the first), and the optimizer's state before it, by parameter name:
    #: {"v": velocity} for momentum, {"m": …, "v": …} for Adam (as written, on a hand path).
    t: int = 1
    state: dict | None = None

    def at(self, t: int, state: dict | None) -> UpdateRule:
        """The same optimizer at step ``t``, from ``state``."""
        return dataclasses.replace(self, t=t, state=state)

    def advance(self, entry: dict | None, g) -> dict:
        """The optimizer's state after a step with gradient ``g`` (exact, in the optimizer's own arithmetic)."""
        g = np.asarray(g, dtype=float)
        if self.name == "sgd":
            return {}
        if self.name == "momentum":
            return {"v": g.copy() if entry is None else np.asarray(entry["v"], dtype=float) * self.momentum + g}
        m = np.zeros_like(g) if entry is None else np.asarray(entry["m"], dtype=float)
        v = np.zeros_like(g) if entry is None else np.asarray(entry["v"], dtype=float)
        return {"m": m + (1.0 - self.beta1) * (g - m), "v": v * self.beta2 + (1.0 - self.beta2) * g * g}

    def _step_from(self, p, g, entry: dict | None, lr: float) -> np.ndarray:
        """The parameter after step ``t`` from state ``entry`` (None: zeros), as ``chainrule.optim`` computes it."""
        p = np.asarray(p, dtype=float)
        new = self.advance(entry, g)
        if self.name == "sgd":
            return p - lr * np.asarray(g, dtype=float)
        if self.name == "momentum":
            return p - lr * new["v"]
        denom = np.sqrt(new["v"]) / (1.0 - self.beta2 ** self.t) ** 0.5 + self.eps
        return p - (new["m"] / denom) * (lr / (1.0 - self.beta1 ** self.t))

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.name!r}")

    @property
    def title(self) -> str:
        if self.t > 1:  # (the step's sections say which step it is)
            return {"sgd": "Gradient descent update", "momentum": "Gradient descent with momentum",
                    "adam": "Adam"}[self.name]
        return {"sgd": "Gradient descent update", "momentum": "Gradient descent with momentum: the first step",
                "adam": "Adam: the first step"}[self.name]

    @property
    def intro(self) -> str:
        if self.t > 1 and self.name == "momentum":
            return (f"The velocity carries the past steps: v ← μ·v + ∂L/∂p with the v of step {self.t - 1}, "
                    f"then p_new = p − η·v (μ = {self.momentum:g}).")
        if self.t > 1 and self.name == "adam":
            powers = [Bin("^", Var(beta), Num(float(self.t))).to_text() for beta in ("β1", "β2")]
            return (f"The two running averages take in this step's gradient (m ← β1·m + (1 − β1)·g, v ← β2·v + "
                    f"(1 − β2)·g²), their bias corrections divide by 1 − {powers[0]} and 1 − {powers[1]}, and "
                    f"the step is η·m̂/(√v̂ + ε).")
        return {
            "sgd": "Each parameter takes a step against its gradient: p_new = p − η · ∂L/∂p.",
            "momentum": f"A velocity v remembers past gradients: v ← μ·v + ∂L/∂p, then p_new = p − η·v "
                        f"(μ = {self.momentum:g}). On the first step v is just the gradient.",
            "adam": f"Adam keeps running averages of the gradient (m) and of its square (v), corrects their bias "
                    f"toward zero, and steps by m̂/(√v̂ + ε) (β1 = {self.beta1:g}, β2 = {self.beta2:g}, "
                    f"ε = {self.eps:g}). On the first step that is about η in the direction of −sign(∂L/∂p).",
        }[self.name]

    def optimizer(self, parameters: list[Tensor], lr: float):
        from .. import optim

        if self.name == "sgd":
            return optim.SGD(parameters, lr=lr)
        if self.name == "momentum":
            return optim.SGD(parameters, lr=lr, momentum=self.momentum)
        return optim.Adam(parameters, lr=lr, betas=(self.beta1, self.beta2), eps=self.eps)

    def first_step(self, values: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> dict:
        """Exact parameters after this step (the real optimizer's, for a first step without state)."""
        if self.t > 1 or self.state:
            # A parameter without state here (a hand computation's stand-in name) starts from zeros.
            return {name: self._step_from(values[name], grads[name], (self.state or {}).get(name), lr)
                    for name in values}
        leaves = {name: tensor(np.array(value, dtype=float), requires_grad=True) for name, value in values.items()}
        for name, leaf in leaves.items():
            leaf.grad = tensor(np.array(grads[name], dtype=float))
        self.optimizer(list(leaves.values()), lr).step()
        return {name: np.asarray(leaf.data, dtype=float) for name, leaf in leaves.items()}

    def lines(self, name: str, env: dict | None, decimals: int, fine: int, lr: float,
              value_exact, grad_exact, new_exact, new_shown, shape, top: str = "L",
              numbers=None) -> list[Equation]:
        """The update's lines for one parameter. ``env`` holds hand values (scalars) or is None (tensors)."""
        grad = _partial(top, name)
        scalar = env is not None
        if self.t > 1 and self.name != "sgd":
            return self._later_lines(name, env, decimals, fine, lr, grad_exact, new_exact, new_shown, shape,
                                     grad, numbers)
        if self.name == "sgd":
            rule = Bin("-", Var(name), Bin("*", Var("η"), grad))
            numbers = Bin("-", Var(name), Bin("*", Var("η"), Var("#g")))
            forms = [Form(rule)] + ([Form(numbers, env)] if scalar else [])
            return [Equation("update", Var(f"{name}_new"), forms, new_exact, new_shown, fine,
                             node=name, shape=shape)]
        if self.name == "momentum":
            velocity = f"v_{name}"
            first = Equation("update", Var(velocity), [Form(grad)], grad_exact,
                             env["#g"] if scalar else grad_exact, decimals, node=name, shape=shape,
                             note="the first step: no past gradients yet, so the velocity is the gradient")
            rule = Bin("-", Var(name), Bin("*", Var("η"), Var(velocity)))
            numbers = Bin("-", Var(name), Bin("*", Var("η"), Var("#g")))
            forms = [Form(rule)] + ([Form(numbers, env)] if scalar else [])
            return [first, Equation("update", Var(f"{name}_new"), forms, new_exact, new_shown,
                                    fine, node=name, shape=shape)]
        # Adam, first step (t = 1): the averages and their bias corrections, then the step. For scalars
        # each is written down (``numbers``, the number model) and the next line uses it as written.
        write = numbers.computed if numbers is not None else (lambda value: value)
        given = numbers.given if numbers is not None else (lambda value: value)
        g = np.asarray(env["#g"] if scalar else grad_exact, dtype=float)
        beta1, beta2, eps = given(self.beta1), given(self.beta2), given(self.eps)
        m = write((1 - beta1) * g)
        v = write((1 - beta2) * g * g)
        m_hat, v_hat = write(m / (1 - beta1)), write(v / (1 - beta2))
        numbers_env = {"β1": beta1, "β2": beta2, "ε": eps, "η": lr, name: env[name] if scalar else None}
        gname = f"#g{name}"
        lines = []
        steps = [
            (f"m_{name}", Bin("*", Bin("-", Num(1.0), Var("β1")), grad),
             Bin("*", Bin("-", Num(1.0), Var("β1")), Var(gname)), m),
            (f"v_{name}", Bin("*", Bin("-", Num(1.0), Var("β2")), Bin("^", grad, Num(2.0))),
             Bin("*", Bin("-", Num(1.0), Var("β2")), Bin("^", Var(gname), Num(2.0))), v),
            (f"m̂_{name}", Bin("/", Var(f"m_{name}"), Bin("-", Num(1.0), Var("β1"))),
             Bin("/", Var(f"#m{name}"), Bin("-", Num(1.0), Var("β1"))), m_hat),
            (f"v̂_{name}", Bin("/", Var(f"v_{name}"), Bin("-", Num(1.0), Var("β2"))),
             Bin("/", Var(f"#v{name}"), Bin("-", Num(1.0), Var("β2"))), v_hat),
        ]
        values = {gname: env["#g"] if scalar else g, f"#m{name}": m, f"#v{name}": v}
        # The exact values of the same four lines, from the exact gradient (the JSON's ``value``).
        exact_g = np.asarray(grad_exact, dtype=float)
        exact_m, exact_v = (1 - self.beta1) * exact_g, (1 - self.beta2) * exact_g * exact_g
        exact = [exact_m, exact_v, exact_m / (1 - self.beta1), exact_v / (1 - self.beta2)]
        for (lhs, symbolic, numeric, value), exact_value in zip(steps, exact):
            forms = [Form(symbolic)] + ([Form(numeric, {**numbers_env, **values})] if scalar else [])
            lines.append(Equation("update", Var(lhs), forms, exact_value, value, _significant(value, fine),
                                  node=name, shape=shape))
        step = Bin("-", Var(name), Bin("*", Var("η"), Bin("/", Var(f"m̂_{name}"),
                                                          Bin("+", Call("sqrt", (Var(f"v̂_{name}"),)), Var("ε")))))
        step_numbers = Bin("-", Var(name), Bin("*", Var("η"), Bin("/", Var(f"#mh{name}"),
                                                                   Bin("+", Call("sqrt", (Var(f"#vh{name}"),)),
                                                                       Var("ε")))))
        if numbers is not None:  # the step from the written m̂ and v̂, written so that its change shows
            new_shown = numbers.updated(env[name], float(env[name]) - float(lr) * float(m_hat) /
                                        (np.sqrt(float(v_hat)) + float(eps)))
            fine = numbers.update_decimals(env[name], new_shown)
        forms = [Form(step)] + ([Form(step_numbers, {**numbers_env, f"#mh{name}": m_hat, f"#vh{name}": v_hat},
                                      collapse=False)] if scalar else [])
        lines.append(Equation("update", Var(f"{name}_new"), forms, new_exact, new_shown, fine,
                              node=name, shape=shape))
        return lines

    def _later_lines(self, name, env, decimals, fine, lr, grad_exact, new_exact, new_shown, shape, grad,
                     numbers) -> list[Equation]:
        """Step t ≥ 2 of momentum or Adam: each state update an equation of its own, then the step.

        On a hand path (``numbers``, scalars) each line is worked from the numbers written before it, the
        state's included, so it checks on a calculator; its ``value`` is exact (the caller puts the exact
        path's values there).
        """
        from .derivation import hand_arithmetic  # (derivation imports this module)

        scalar = env is not None and numbers is not None
        entry = (self.state or {}).get(name) or {}
        exact_state = self.advance(entry or None, grad_exact)
        given = numbers.given if scalar else (lambda value: value)
        lines: list[Equation] = []

        def line(lhs, symbolic, numeric, values, exact_value, assign=True):
            if scalar:
                shown = numbers.computed(hand_arithmetic(numeric, values))
                digits = _significant(shown, fine)
                forms = [Form(symbolic), Form(numeric, values, collapse=False)]
            else:
                shown, digits, forms = exact_value, _significant(exact_value, fine), [Form(symbolic)]
            lines.append(Equation("update", Var(lhs), forms, exact_value, shown, digits, node=name, shape=shape,
                                  assign=assign))
            return shown

        g = env["#g"] if scalar else grad_exact
        step_env = {"η": lr, name: env[name] if scalar else None}
        if self.name == "momentum":
            mu = given(self.momentum)
            v = line(f"v_{name}", Bin("+", Bin("*", Var("μ"), Var(f"v_{name}")), grad),
                     Bin("+", Bin("*", Var("μ"), Var("#v")), Var("#g")),
                     {"μ": mu, "#v": entry.get("v"), "#g": g}, exact_state["v"])
            rule = Bin("-", Var(name), Bin("*", Var("η"), Var(f"v_{name}")))
            numeric = Bin("-", Var(name), Bin("*", Var("η"), Var("#v")))
            if scalar:
                new_shown = numbers.updated(env[name], float(env[name]) - float(lr) * float(v))
                fine = numbers.update_decimals(env[name], new_shown)
            forms = [Form(rule)] + ([Form(numeric, {**step_env, "#v": v})] if scalar else [])
            lines.append(Equation("update", Var(f"{name}_new"), forms, new_exact, new_shown, fine, node=name,
                                  shape=shape))
            return lines
        beta1, beta2, eps = given(self.beta1), given(self.beta2), given(self.eps)
        t = Num(float(self.t))
        m = line(f"m_{name}", Bin("+", Bin("*", Var("β1"), Var(f"m_{name}")),
                                  Bin("*", Bin("-", Num(1.0), Var("β1")), grad)),
                 Bin("+", Bin("*", Var("β1"), Var("#m")), Bin("*", Bin("-", Num(1.0), Var("β1")), Var("#g"))),
                 {"β1": beta1, "#m": entry.get("m"), "#g": g}, exact_state["m"])
        v = line(f"v_{name}", Bin("+", Bin("*", Var("β2"), Var(f"v_{name}")),
                                  Bin("*", Bin("-", Num(1.0), Var("β2")), Bin("^", grad, Num(2.0)))),
                 Bin("+", Bin("*", Var("β2"), Var("#v")),
                     Bin("*", Bin("-", Num(1.0), Var("β2")), Bin("^", Var("#g"), Num(2.0)))),
                 {"β2": beta2, "#v": entry.get("v"), "#g": g}, exact_state["v"])
        m_hat = line(f"m̂_{name}", Bin("/", Var(f"m_{name}"), Bin("-", Num(1.0), Bin("^", Var("β1"), t))),
                     Bin("/", Var("#m"), Bin("-", Num(1.0), Bin("^", Var("β1"), t))), {"β1": beta1, "#m": m},
                     exact_state["m"] / (1.0 - self.beta1 ** self.t), assign=False)
        v_hat = line(f"v̂_{name}", Bin("/", Var(f"v_{name}"), Bin("-", Num(1.0), Bin("^", Var("β2"), t))),
                     Bin("/", Var("#v"), Bin("-", Num(1.0), Bin("^", Var("β2"), t))), {"β2": beta2, "#v": v},
                     exact_state["v"] / (1.0 - self.beta2 ** self.t), assign=False)
        step = Bin("-", Var(name), Bin("*", Var("η"), Bin("/", Var(f"m̂_{name}"),
                                                          Bin("+", Call("sqrt", (Var(f"v̂_{name}"),)), Var("ε")))))
        numeric = Bin("-", Var(name), Bin("*", Var("η"), Bin("/", Var("#mh"),
                                                             Bin("+", Call("sqrt", (Var("#vh"),)), Var("ε")))))
        if scalar:
            new_shown = numbers.updated(env[name], float(env[name]) - float(lr) * float(m_hat) /
                                        (np.sqrt(float(v_hat)) + float(eps)))
            fine = numbers.update_decimals(env[name], new_shown)
        forms = [Form(step)] + ([Form(numeric, {**step_env, "ε": eps, "#mh": m_hat, "#vh": v_hat},
                                      collapse=False)] if scalar else [])
        lines.append(Equation("update", Var(f"{name}_new"), forms, new_exact, new_shown, fine, node=name,
                              shape=shape))
        return lines
