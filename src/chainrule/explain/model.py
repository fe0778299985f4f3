"""The pieces of an explanation: sections of equations, notes and tables.

An ``Equation`` is what the seed document writes on one line:
``lhs = symbolic form = numbers substituted = result``. It keeps the exact
value (full precision, for JSON and checks) beside the number a person
computing by hand would write down (``shown``), and the number of decimals
that number is written with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..formula import Expr
from .numbers import Written, number_text

__all__ = ["Form", "Equation", "Note", "Table", "Section", "format_value"]


def format_value(value, decimals: int) -> str:
    """A number (or nested list of numbers) by the number model's rules, at ``decimals``."""
    if isinstance(value, Written):
        return value.text
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return number_text(array, decimals, max(decimals, 1))
    return _format_array(array, decimals)


def _format_array(array: np.ndarray, decimals: int) -> str:
    if array.ndim == 1:
        return "[" + ", ".join(number_text(v, decimals, max(decimals, 1)) for v in array) + "]"
    return "[" + ", ".join(_format_array(row, decimals) for row in array) + "]"


@dataclass
class Form:
    """One right-hand side: symbolic, or with ``values`` substituted for the names.

    ``collapse`` writes function calls as their values (σ(z) → 0.622), as in
    a derivative; without it a definition keeps the call (σ(0.5)).
    """

    expr: Expr
    values: dict | None = None
    collapse: bool = True


@dataclass
class Equation:
    """One line of a derivation."""

    kind: str  # given, forward, loss, local, gradient, chain, update, check, sample, batch, step
    lhs: Expr
    forms: list[Form]  # symbolic, then with numbers substituted
    value: object  # exact, full precision
    shown: object  # the rounded number a person writes (hand arithmetic)
    decimals: int
    node: str | None = None  # the graph node this line is about (for highlighting)
    shape: tuple[int, ...] | None = None
    note: str | None = None
    #: For a local derivative or chain term: the edge (from, to) in the graph.
    edge: tuple[str, str] | None = None
    #: An assignment (w ← w − η·g) rather than a definition.
    assign: bool = False
    #: How a tensor value is shown: "auto" (elements up to 16, else a summary), "elements" or "summary".
    detail: str = "auto"
    #: Values are exact (rounded only when printed), not hand-rounded and carried.
    exact: bool = False
    #: The explanation's precision, for numbers on the line that were not written down before.
    precision: int = 3
    #: The written numbers the line's result was computed from (their keys), for refining the carry.
    inputs: tuple[str, ...] = ()
    #: Where the line belongs in a data-set narration: "batch", "stochastic, sample 2", "minibatch, batch 1"…
    context: str | None = None
    #: The sample (1-based) whose forward or backward pass the line is part of, if any.
    sample: int | None = None
    #: The parameter values (as written) that the line is computed at, in a data-set narration.
    at: dict | None = None

    @property
    def relation(self) -> str:
        return "←" if self.assign else "="

    def shown_text(self) -> str:
        return format_value(self.shown, self.decimals)


@dataclass
class Note:
    text: str
    kind: str = "note"  # note, good, bad


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str | None = None


@dataclass
class Section:
    title: str
    kind: str
    intro: str | None = None
    items: list = field(default_factory=list)

    def equations(self) -> list[Equation]:
        return [item for item in self.items if isinstance(item, Equation)]
