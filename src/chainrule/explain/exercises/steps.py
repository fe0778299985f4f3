"""The numbered steps of an explanation that a learner can answer, and their names.

A step's name says where it belongs: the left side of its equation
(``z``, ``∂L/∂w``, ``w_new``), after ``new `` in the check that follows the
update (``new L``), and after its place in a data-set narration
(``stochastic, sample 2: w``, ``batch: ∂L/∂w``). A tensor's elements are
steps of their own, indexed from 0 as numpy does (``∂L/∂W1[0,1]``).

The names of earlier versions (``w #2``, ``dL/dw``, ``yhat``) stay accepted
as aliases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..explanation import Explanation
from ..model import Equation
from ..numbers import WrittenArray, number_text, shortest

__all__ = ["Step", "answer_steps", "normalize_key", "MAX_ELEMENTS"]

#: Tensors with more elements than this are blanked as a whole, not asked element by element.
MAX_ELEMENTS = 16


@dataclass
class Step:
    """One number a learner can write down: a scalar equation, or one element of a tensor equation."""

    name: str
    equation: Equation
    section: str
    section_kind: str
    position: int  # order in the explanation
    index: tuple[int, ...] | None = None  # the element of a tensor equation
    aliases: list[str] = field(default_factory=list)
    precision: int = 3  # the explanation's decimals (updated parameters get one more)

    @property
    def shown(self) -> float:
        return float(_element(self.equation.shown, self.index))

    @property
    def exact(self) -> float:
        return float(_element(self.equation.value, self.index))

    @property
    def shown_text(self) -> str:
        if self.index is None:
            return self.equation.shown_text()
        if isinstance(self.equation.shown, WrittenArray):  # carried elements print as they were written
            return shortest(self.shown)
        return number_text(self.shown, self.equation.decimals, max(self.equation.decimals, 1))

    @property
    def decimals(self) -> int:
        """The decimals the learner is asked for: the precision (one more for an update), or more where the
        number is written with more (a small value in significant figures). A result that happens to be
        exact with fewer (2(0.720 − 1.0) = −0.56) is still worked to the precision."""
        asked = self.precision + (1 if self.updates_parameter else 0)
        return max(asked, self.equation.decimals, shown_decimals(self.shown_text))

    @property
    def tolerance(self) -> float:
        """About 1.5 units of the last shown decimal: an answer rounded either way still counts."""
        return 1.5 * 10.0 ** -self.decimals

    @property
    def updates_parameter(self) -> bool:
        """A parameter's new value (w_new, or w ← … in a data-set narration), not a velocity or a moment."""
        equation = self.equation
        return equation.kind == "update" and equation.node is not None and \
            self.lhs_text in (equation.node, f"{equation.node}_new")

    @property
    def lhs_text(self) -> str:
        return self.equation.lhs.to_text()

    @property
    def context(self) -> str | None:
        return self.equation.context


def _element(value, index):
    array = np.asarray(value, dtype=float)
    if index is None:
        return array.reshape(-1)[0] if array.size == 1 else array
    return array[index]


def shown_decimals(text: str) -> int:
    """Decimals of a printed number: ``−0.0277`` → 4, ``1.0`` → 1, ``4.4e-04`` → 5."""
    match = re.fullmatch(r"[-+−]?\d*(?:\.(\d*))?(?:e([-+−]?\d+))?", text.strip())
    if match is None:
        return 0
    decimals = len(match.group(1) or "") - int((match.group(2) or "0").replace("−", "-"))
    return max(decimals, 0)


def normalize_key(key: str) -> str:
    """One spelling for every way of writing a step's name (``dL/dyhat`` is ``∂L/∂ŷ``)."""
    text = key.strip().replace(" ", "").replace(",", "").replace("∂", "d").replace("ŷ", "yhat")
    text = text.replace("y\u0302", "yhat").replace("mini-batch", "minibatch")
    text = text.replace("η", "eta").replace("′", "_new").replace("'", "_new")
    text = re.sub(r"^new", "new ", text)
    return text.replace("#", " #").lower()


def _is_answerable(equation: Equation) -> bool:
    return equation.kind != "given"


def _element_suffix(index: tuple[int, ...]) -> str:
    return "[" + ",".join(str(i) for i in index) + "]"


def answer_steps(explanation: Explanation) -> list[Step]:
    """Every number the learner works out, in order, with unique names and the old names as aliases."""
    steps: list[Step] = []
    for section in explanation.sections:
        prefix = "new " if section.kind == "check" else ""
        for equation in section.equations():
            if not _is_answerable(equation):
                continue
            lhs = equation.lhs.to_text()
            base = f"{equation.context}: {lhs}" if equation.context else prefix + lhs
            size = np.asarray(equation.shown).size
            if size == 1:
                steps.append(Step(base, equation, section.title, section.kind, len(steps),
                                  aliases=[prefix + lhs], precision=explanation.precision))
            elif size <= MAX_ELEMENTS:
                for index in np.ndindex(np.asarray(equation.shown).shape):
                    steps.append(Step(base + _element_suffix(index), equation, section.title, section.kind,
                                      len(steps), index=index, precision=explanation.precision))
    _make_unique(steps)
    return steps


def _make_unique(steps: list[Step]) -> None:
    """Number repeated names (``w``, ``w #2``…): primary names first, then the old-style aliases."""
    for attribute in ("name", "alias"):
        seen: dict[str, int] = {}
        for step in steps:
            if attribute == "name":
                key = step.name
            elif step.aliases:
                key = step.aliases[0]
            else:
                continue
            count = seen[normalize_key(key)] = seen.get(normalize_key(key), 0) + 1
            numbered = key if count == 1 else f"{key} #{count}"
            if attribute == "name":
                step.name = numbered
            else:
                step.aliases[0] = numbered
    primary = {normalize_key(step.name) for step in steps}
    for step in steps:  # an alias never hides another step's own name
        step.aliases = [a for a in step.aliases if normalize_key(a) == normalize_key(step.name)
                        or normalize_key(a) not in primary]
