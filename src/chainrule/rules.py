"""The rule table: every primitive declared once, read by the engine, the gradient
checker and the explainer.

A ``Rule`` carries four things:

* ``forward(*arrays, **attrs)``: the value, on raw numpy arrays;
* ``vjp(g, out, *arrays, **attrs)``: one gradient per input (``None`` for an input
  that is not differentiable, such as ``where``'s condition). A ``selective``
  rule also takes ``needs``, which inputs want a gradient, and returns ``None``
  for the others. ``g`` is the
  gradient of the loss with respect to ``out``. A rule may return gradients in
  the *broadcast* shape; the engine sums them back to each input's shape in one
  place (``autograd.unbroadcast``), so no rule repeats that logic;
* ``formulas``: one ``formula.Expr`` per input. For elementwise rules it is the
  local derivative ∂out/∂input written over the input names, ``out`` and the
  attributes (``sigmoid``: ``out·(1 − out)``), so the explainer can show it and
  the test-suite can check that evaluating it equals the VJP with ``g = 1``. For
  other rules it is the VJP itself written over ``g`` (``matmul``: ``g·bᵀ``);
* ``sample(rng, shape)``: valid random inputs ``(arrays, attrs)`` for the
  gradient checker (``log`` wants positives, ``where`` wants a boolean mask).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .formula import Expr, parse

__all__ = ["Rule", "RULES", "rule", "get_rule"]


@dataclass(frozen=True, eq=False, slots=True)
class Rule:
    name: str
    forward: Callable
    vjp: Callable
    inputs: tuple[str, ...]
    formulas: tuple[Expr | None, ...]
    sample: Callable[[np.random.Generator, tuple[int, ...]], tuple[list, dict]]
    elementwise: bool = False
    #: How the explainer writes the operation itself, e.g. ``a · b`` for ``mul``.
    notation: Expr | None = None
    doc: str = ""
    #: Inputs never differentiated (a boolean mask, integer class labels).
    constant_inputs: frozenset[int] = field(default_factory=frozenset)
    #: Takes any number of inputs (concatenate, stack); they share the one formula.
    variadic: bool = False
    #: The VJP accepts ``needs=(bool, …)`` and skips the gradients of inputs that
    #: need none: worth it where one costs a matrix product (x·Wᵀ with x the data).
    selective: bool = False

    def __repr__(self) -> str:
        return f"Rule({self.name!r})"

    def formula(self, position: int) -> Expr | None:
        """The formula for the input at ``position`` (variadic rules share one)."""
        return self.formulas[min(position, len(self.formulas) - 1)]

    def input_name(self, position: int) -> str:
        if self.variadic:
            return f"{self.inputs[0]}{position + 1}"
        return self.inputs[position]


RULES: dict[str, Rule] = {}


def rule(
    name: str,
    *,
    forward: Callable,
    vjp: Callable,
    inputs: Sequence[str],
    formulas: Sequence[str | None],
    sample: Callable,
    elementwise: bool = False,
    notation: str | None = None,
    variadic: bool = False,
    selective: bool = False,
    doc: str = "",
) -> Rule:
    """Declare a primitive and add it to ``RULES``. Formulas are parsed here, once."""
    if name in RULES:
        raise ValueError(f"rule {name!r} is declared twice")
    if len(formulas) != len(inputs):
        raise ValueError(f"rule {name!r}: {len(inputs)} inputs but {len(formulas)} formulas")
    parsed = tuple(None if f is None else parse(f) for f in formulas)
    entry = Rule(
        name=name,
        forward=forward,
        vjp=vjp,
        inputs=tuple(inputs),
        formulas=parsed,
        sample=sample,
        elementwise=elementwise,
        notation=None if notation is None else parse(notation),
        doc=doc,
        variadic=variadic,
        selective=selective,
        constant_inputs=frozenset(i for i, f in enumerate(formulas) if f is None),
    )
    RULES[name] = entry
    return entry


def get_rule(name: str) -> Rule:
    try:
        return RULES[name]
    except KeyError:
        raise KeyError(f"no rule named {name!r}; known rules: {', '.join(sorted(RULES))}") from None
