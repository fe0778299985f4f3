"""Gradient checking by central differences, in float64.

``gradcheck`` compares the engine's gradients with
(f(x + ε) − f(x − ε)) / 2ε for every element of every input; ``check_rule``
does it for one entry of the rule table, on inputs from the rule's own
sampler, so a new primitive is checked the moment it is declared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .autograd import no_grad
from .rules import RULES, Rule
from .tensor import Tensor, _apply, _new

__all__ = ["gradcheck", "GradcheckError", "check_rule"]


class GradcheckError(RuntimeError):
    """The analytic and numerical gradients disagree (the message names input and element)."""


def _scalarize(output, cotangent) -> float:
    return float(np.sum(np.asarray(output.data, dtype=np.float64) * cotangent))


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check ``fn``'s gradients against central differences.

    Every floating-point input is copied to a float64 leaf that requires grad;
    other inputs (integer labels, boolean masks) are passed unchanged. A
    non-scalar output is reduced with a random weighting ``Σ out·v`` so every
    output element is checked at once.

    Returns True, or raises ``GradcheckError`` naming the first wrong input and
    element (or returns False with ``raise_exception=False``).

    >>> gradcheck(lambda x: (x * x).sum(), [np.array([1.0, 2.0])])
    True
    """
    leaves = []
    for value in inputs:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind == "f":
            leaf = _new(np.array(array, dtype=np.float64), requires_grad=True)
            leaf.name = getattr(value, "name", None)
        else:
            leaf = _new(array)
        leaves.append(leaf)
    output = fn(*leaves)
    if not isinstance(output, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(output).__name__}")
    cotangent = np.random.default_rng(seed).uniform(0.5, 1.5, size=np.shape(output.data))
    if output.requires_grad:
        output.backward(np.asarray(cotangent, dtype=output.dtype))

    for position, leaf in enumerate(leaves):
        if not leaf.requires_grad:
            continue
        analytic = np.zeros(leaf.shape) if leaf.grad is None else np.asarray(leaf.grad.data, dtype=np.float64)
        numeric = np.zeros(leaf.shape)
        data = leaf.data
        with no_grad():
            for index in np.ndindex(leaf.shape):
                original = data[index]
                data[index] = original + eps
                plus = _scalarize(fn(*leaves), cotangent)
                data[index] = original - eps
                minus = _scalarize(fn(*leaves), cotangent)
                data[index] = original
                numeric[index] = (plus - minus) / (2 * eps)
        bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
        if np.any(bad):
            if not raise_exception:
                return False
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            label = f"input {position}" + (f" ({leaf.name!r})" if leaf.name else "")
            raise GradcheckError(
                f"gradcheck: {label} of shape {leaf.shape}, element {index}: "
                f"analytic gradient {float(analytic[index])!r} but numerical {float(numeric[index])!r} "
                f"(difference {abs(analytic[index] - numeric[index]):.3g} > "
                f"atol + rtol·|numerical| = {atol + rtol * abs(numeric[index]):.3g})"
            )
    return True


def check_rule(rule: Rule | str, seed: int = 0, shape: tuple[int, ...] = (2, 3), **tolerances) -> bool:
    """Gradient-check one rule of the table on inputs drawn from its sampler."""
    rule = RULES[rule] if isinstance(rule, str) else rule
    arrays, attrs = rule.sample(np.random.default_rng(seed), tuple(shape))
    inputs = [
        np.asarray(a) if i not in rule.constant_inputs else _new(np.asarray(a)) for i, a in enumerate(arrays)
    ]
    return gradcheck(lambda *xs: _apply(rule, tuple(xs), attrs), inputs, **tolerances)
