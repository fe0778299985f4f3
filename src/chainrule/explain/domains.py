"""Stop where a function leaves its domain, before anything is narrated.

ln of a negative number, √ of a negative number, a binary cross-entropy of a
"probability" of 2: numpy answers NaN or ∞ and carries on, and a derivation
written from there would blame the learning rate for it. The explainer
instead names the forward (or backward) step where the numbers stop being
numbers, the function, the value and a fix, in one sentence.
"""

from __future__ import annotations

import numpy as np

from .graph import Graph, Node
from .numbers import typographic_minus
from .problems import ProblemError

__all__ = ["DomainError", "check_forward", "check_gradients"]


class DomainError(ProblemError):
    """A function was given a value outside its domain (or overflowed)."""


def _number(array) -> str:
    values = np.asarray(array, dtype=float).reshape(-1)
    shown = ", ".join(f"{v:.6g}" for v in values[:4]) + (", …" if values.size > 4 else "")
    return typographic_minus(shown)


def _problem(node: Node) -> str:
    """Why this node's value is not a finite number, given finite inputs, and what to do about it."""
    rule = node.rule.name
    inputs = [np.asarray(p.value, dtype=float) for p in node.inputs]
    first = _number(inputs[0]) if inputs else ""
    if rule == "log":
        return (f"ln needs a positive number, but its argument here is {first}; "
                "start from other values so that it stays above 0")
    if rule == "sqrt":
        return (f"√ needs a number ≥ 0, but its argument here is {first}; "
                "start from other values so that it stays at or above 0")
    if rule == "binary_cross_entropy":
        return (f"binary cross-entropy needs a prediction strictly between 0 and 1 (a probability), got ŷ = "
                f"{first}; put a sigmoid on the output, or use the bce_with_logits loss on the raw output")
    if rule == "div":
        return f"division by zero (the divisor here is {_number(inputs[1])})"
    overflow = not np.any(np.isnan(node.value))  # ∞ without NaN: the number grew too large
    if rule in ("exp", "pow", "pow_scalar", "mul", "softplus") and overflow:
        return f"{rule} overflows at {first}: the numbers are too large; start from smaller values"
    return f"{rule} gives {_number(node.value)} at {first}"


#: Losses that compare a prediction with a probability: their target must lie in [0, 1].
_PROBABILITY_TARGETS = ("binary_cross_entropy", "bce_with_logits")


def check_forward(graph: Graph) -> None:
    """Raise ``DomainError`` at the first step whose value is NaN or ∞ although its inputs are finite,
    or whose target is not what the function takes (a binary cross-entropy target outside [0, 1])."""
    for node in graph.nodes:
        if node.rule is not None and node.rule.name in _PROBABILITY_TARGETS and len(node.inputs) > 1:
            target = np.asarray(node.inputs[1].value, dtype=float)
            if np.any((target < 0) | (target > 1)):
                raise DomainError(f"explain: binary cross-entropy compares ŷ with a probability, so the target "
                                  f"must be between 0 and 1, got y = {_number(target)}; use another loss (mse) "
                                  "for other targets")
        if node.rule is not None and node.rule.name == "binary_cross_entropy":
            _check_bce_precision(graph, node)
        if node.rule is None or np.all(np.isfinite(node.value)):
            continue
        if all(np.all(np.isfinite(p.value)) for p in node.inputs):
            where = _step_name(graph, node)
            raise DomainError(f"explain: the forward pass breaks at {where}: {_problem(node)}")


#: The most a loss may be off by float64's rounding of ŷ before the explainer refuses to narrate it: well
#: below the last decimal any explanation shows by default.
BCE_ROUNDING_LIMIT = 1e-4


def _check_bce_precision(graph: Graph, node: Node) -> None:
    """Refuse a binary cross-entropy whose ŷ float64 cannot hold: σ(37) is 1 − 8.5·10⁻¹⁷, which rounds to
    1 − 1.1·10⁻¹⁶, so ln(1 − ŷ) and the loss come out 0.26 too small. Rounding ŷ moves ln(1 − ŷ) (or ln ŷ)
    by up to half a unit in the last place of ŷ divided by 1 − ŷ (or ŷ)."""
    p = np.asarray(node.inputs[0].value, dtype=float)
    if not np.all(np.isfinite(p)) or np.any((p <= 0) | (p >= 1)):
        return  # out of the domain altogether: the usual message follows
    bound = np.spacing(p) / 2 / np.minimum(p, 1 - p)
    if np.max(bound) > BCE_ROUNDING_LIMIT:
        worst = float(p.reshape(-1)[int(np.argmax(bound))])
        raise DomainError(f"explain: binary cross-entropy at {_step_name(graph, node)} cannot be computed in "
                          f"float64: ŷ = {worst!r} is so close to {'1' if worst > 0.5 else '0'} that rounding it "
                          f"moves the loss by up to {np.max(bound):.2g}; start from values that saturate the "
                          "sigmoid less, or use the bce_with_logits loss on the raw output (it never forms 1 − ŷ)")


def check_gradients(graph: Graph, gradients: dict[int, np.ndarray]) -> None:
    """Raise ``DomainError`` where backpropagation meets an infinite slope (√ at 0, ln at 0…)."""
    for node in reversed(graph.nodes):
        grad = gradients.get(id(node.tensor))
        if grad is None or np.all(np.isfinite(grad)):
            continue
        consumers = [c for c in node.consumers
                     if np.all(np.isfinite(gradients.get(id(c.tensor), 0.0)))]
        culprit = consumers[0] if consumers else None
        if culprit is not None and culprit.rule is not None:
            value = _number(node.value)
            slope = {"sqrt": f"√ has an infinite slope at {value}",
                     "log": f"ln has an infinite slope at {value}",
                     "pow": f"the power has an infinite slope at {value}",
                     "pow_scalar": f"the power has an infinite slope at {value}"}.get(
                culprit.rule.name, f"{culprit.rule.name} has no finite derivative at {value}")
            raise DomainError(f"explain: backpropagation breaks at {_step_name(graph, culprit)}: {slope}; "
                              "start from other values")
        raise DomainError(f"explain: backpropagation gives a non-finite gradient for {_step_name(graph, node)}")


def _step_name(graph: Graph, node: Node) -> str:
    """The visible step the node belongs to: its own name, or the step whose expression folds it in."""
    current = node
    while not current.visible and current.consumers:
        current = current.consumers[0]
    name = current.name or (current.rule.name if current.rule else "?")
    if current.rule is not None and current.visible:
        return f"{name} = {graph.expression(current).to_text()}"
    return name
