"""The numerical check of every gradient: a central finite difference on the same problem.

Backpropagation's ∂L/∂w is checked the way one checks a derivative by hand:
nudge w by a small h each way, recompute the loss (in float64, by the same
rules), and divide: (L(w + h) − L(w − h)) / 2h. The two must agree to far
more digits than the explanation rounds to; where they do not, the line says
so loudly, because then a derivative somewhere is wrong (or a kink of ReLU,
|·| or max lies within h of the point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .derivation import replay
from .graph import Graph, Node
from .model import Note, Section
from .numbers import number_text, typographic_minus

__all__ = ["FiniteDifference", "finite_difference", "insert_checks", "step_size"]

#: Relative agreement the check asks for: far below any rounding the explanation shows, far above the
#: O(h²) truncation and the O(ε/h) cancellation error of a central difference with h ≈ 1e-5·|w|.
TOLERANCE = 1e-5


@dataclass
class FiniteDifference(Note):
    """A note that carries the check's exact numbers (for JSON), one per parameter."""

    parameter: str = ""
    h: float = 0.0
    estimate: object = None  # (L(w + h) − L(w − h)) / 2h: a number, or one per element
    gradient: object = None  # backpropagation's exact ∂L/∂w
    agrees: bool = True
    along_gradient: bool = False  # a large tensor: estimate and gradient are the slope along g/‖g‖ and ‖g‖

    def fields(self) -> dict:
        from .explanation import _number_or_list

        return {"check": "finite_difference", "parameter": self.parameter, "h": self.h,
                "estimate": _number_or_list(self.estimate), "gradient": _number_or_list(self.gradient),
                "agrees": self.agrees, "along_gradient": self.along_gradient}


def step_size(value) -> float:
    """h: 10⁻⁵ of the parameter's size (at least 10⁻⁵), a power of ten so that w ± h is exact enough to read."""
    scale = float(np.max(np.abs(np.asarray(value, dtype=float)), initial=0.0))
    return 1e-5 * 10.0 ** max(0, int(np.floor(np.log10(scale)))) if scale >= 1 else 1e-5


def _loss_at(graph: Graph, node: Node, value, dtype=np.float64) -> float:
    if dtype is np.float64:
        computed = replay(graph, {node.index: np.asarray(value, dtype=float)})
    else:  # every leaf in the wider type, so that no step rounds back to float64
        leaves = {n.index: np.asarray(n.value, dtype=dtype) for n in graph.nodes if n.rule is None}
        computed = replay(graph, {**leaves, node.index: np.asarray(value, dtype=dtype)})
    return np.asarray(computed[graph.root.index], dtype=dtype).sum()


#: A wider float where the platform has one (x86's 80-bit long double): the check's second try, for a loss
#: whose float64 value carries rounding noise that 2h would magnify (ln(1 − σ(26)) from σ(26)).
WIDE = np.longdouble if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps else None


#: Tensors up to this many elements are checked element by element; larger ones along one direction.
MAX_ELEMENTS = 64


def finite_difference(graph: Graph, node: Node, direction=None, h: float | None = None,
                      dtype=np.float64) -> tuple[float, object]:
    """(h, the central difference): element by element for a small tensor parameter, or along the
    unit ``direction`` (the directional derivative, the gradient's projection on it) when one is given.
    The losses are computed in ``dtype`` (float64, or the wider float of the second try)."""
    value = np.asarray(node.value, dtype=dtype)
    h = step_size(value) if h is None else h

    def central(nudge):
        return float((_loss_at(graph, node, value + nudge, dtype) - _loss_at(graph, node, value - nudge, dtype))
                     / (2 * h))

    if value.ndim == 0 or direction is not None:
        return h, central(h if direction is None else h * np.asarray(direction, dtype=dtype))
    estimate = np.zeros(value.shape)
    for position in np.ndindex(value.shape):
        nudge = np.zeros(value.shape, dtype=dtype)
        nudge[position] = h
        estimate[position] = central(nudge)
    return h, estimate


def agrees(estimate, gradient, loss_scale: float) -> bool:
    estimate, gradient = np.asarray(estimate, dtype=float), np.asarray(gradient, dtype=float)
    if not (np.all(np.isfinite(estimate)) and np.all(np.isfinite(gradient))):
        return False
    scale = np.maximum(np.abs(gradient), 1.0) + 1e-3 * loss_scale
    return bool(np.all(np.abs(estimate - gradient) <= TOLERANCE * scale))


def _text(value, precision: int) -> str:
    """Two decimals and figures more than the explanation, by the number model's rules, but at most six
    significant figures: a central difference is good to about that many, so more would be noise."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return typographic_minus(number_text(float(array), min(precision + 2, 5), min(max(precision, 1) + 2, 6)))
    if array.ndim == 1:
        return "[" + ", ".join(_text(v, precision) for v in array) + "]"
    return "[" + ", ".join(_text(row, precision) for row in array) + "]"


def check_note(graph: Graph, node: Node, gradient, precision: int, top: str = "L") -> FiniteDifference:
    gradient = np.asarray(gradient, dtype=float)
    name = node.name
    direction = None
    if gradient.size > MAX_ELEMENTS:
        # One number for a large tensor: the slope along the gradient's own direction u = g/‖g‖ is ‖g‖.
        norm = float(np.linalg.norm(gradient))
        direction = gradient / norm if norm > 0 else np.full(gradient.shape, 1 / np.sqrt(gradient.size))
        gradient = np.float64(norm)
    loss = float(np.asarray(graph.root.value, dtype=float).sum())
    # A loss that curves sharply in w (a large input multiplies it) needs a smaller h, as the central
    # difference's error grows as h²; one whose float64 value carries noise (ln(1 − σ(18)) from σ(18)) needs a
    # larger one, as that noise is divided by 2h. So h tries a hundred times smaller and larger before the verdict.
    # If none agrees in float64, the same ladder runs once more in the wider float, where there is one.
    base = step_size(node.value)
    ladder = [float(f"{base * factor:.0e}") for factor in (1, 0.1, 0.01, 10, 100)]  # exact powers of ten
    tries = [(h, np.float64) for h in ladder] + ([(h, WIDE) for h in ladder] if WIDE is not None else [])
    for h, dtype in tries:
        h, estimate = finite_difference(graph, node, direction, h, dtype)
        good = agrees(estimate, gradient, abs(loss))
        if good:
            break
    else:  # no h agrees: the verdict is given at the usual h
        h, estimate = finite_difference(graph, node, direction, base)
    # The step is called h, unless the problem has a value of that name (a hidden unit h): then ε.
    step = "ε" if any(n.name == "h" for n in graph.visible) else "h"
    return _note(name, h, estimate, gradient, good, precision, top, step, direction)


def check_loss_note(name: str, loss_at, value: float, gradient: float, precision: int,
                    top: str = "L") -> FiniteDifference:
    """The same check for a loss given as a function of one scalar parameter, ``loss_at(value)`` in float64:
    a data set's mean loss, whose gradient is the average of the per-sample gradients."""
    base = step_size(value)
    loss = abs(float(loss_at(value)))
    for h in [float(f"{base * factor:.0e}") for factor in (1, 0.1, 0.01, 10, 100)]:
        estimate = (loss_at(value + h) - loss_at(value - h)) / (2 * h)
        good = agrees(estimate, gradient, loss)
        if good:
            break
    else:
        h = base
        estimate = (loss_at(value + h) - loss_at(value - h)) / (2 * h)
    return _note(name, h, np.float64(estimate), np.float64(gradient), good, precision, top, "h", None)


def _note(name, h, estimate, gradient, good, precision, top, step, direction) -> FiniteDifference:
    h_text = typographic_minus(number_text(h, 0, 1))
    if direction is not None:
        head = (f"finite-difference check along u = ∂{top}/∂{name} / ‖∂{top}/∂{name}‖: "
                f"({top}({name} + {step}·u) − {top}({name} − {step}·u)) / 2{step} with {step} = {h_text}")
    else:
        head = (f"finite-difference check: ({top}({name} + {step}) − {top}({name} − {step})) / 2{step}"
                + (", element by element," if np.ndim(estimate) else "") + f" with {step} = {h_text}")
    if good:
        what = f"‖∂{top}/∂{name}‖" if direction is not None else "backpropagation"
        text = f"{head}: {_text(estimate, precision)} ✓ ({what}: {_text(gradient, precision)})"
    else:
        text = (f"{head}: {_text(estimate, precision)} ✗ — backpropagation gave {_text(gradient, precision)}. "
                "They disagree: a derivative on the way is wrong, or a kink (ReLU at 0, |·|, max) lies within h.")
    return FiniteDifference(text, "check" if good else "bad", parameter=name, h=h, estimate=estimate,
                            gradient=gradient, agrees=good, along_gradient=direction is not None)


_GRADIENT_KINDS = ("local", "chain", "gradient")


def insert_checks(sections: list[Section], graph: Graph, gradients: dict[str, np.ndarray], precision: int) -> None:
    """After the line that gives each parameter's gradient, its finite-difference check (in place)."""
    top = graph.root.name
    for node in graph.parameters:
        if not node.visible or node.name not in gradients:
            continue
        lhs = f"∂{top}/∂{node.name}"
        place = None
        for section in sections:
            if section.kind not in ("local", "chain", "gradient"):
                continue
            for position, item in enumerate(section.items):
                if getattr(item, "kind", None) in _GRADIENT_KINDS and item.lhs.to_text() == lhs:
                    place = (section, position)
        if place is None:
            continue
        section, position = place
        section.items.insert(position + 1, check_note(graph, node, gradients[node.name], precision, top))
