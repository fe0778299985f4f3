"""Recompute a step from the learner's own earlier numbers (follow-through credit).

Each equation keeps its numeric form: the formula with the hand values of the
names it uses substituted (``(ŷ − y)²`` with ŷ = 0.622). To recompute a step
from the learner's numbers, each of those names is traced back to the earlier
step that produced its value, and that step's answer is put in its place.

Names are traced through the equation's symbolic form: a chain-rule line's
placeholders (``#0``, ``#1``) sit where the symbolic form has ``∂L/∂ŷ`` and
``∂ŷ/∂z``. A collapsed call (σ(z) printed as 0.622) is the value of the step
that computed it (ŷ = σ(z)). A trace is kept only when the earlier step's
value is the number the equation actually used, so a wrong trace cannot
happen silently: the name then keeps the explanation's own value.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable

import numpy as np

from ...formula import FUNCTIONS, Bin, Call, Expr, Neg, Num, Var
from ..model import Form
from .steps import Step

__all__ = ["Recomputation", "StepIndex", "recomputation", "rewrite"]


# -- small tree tools, iterative so a long sum cannot overflow the stack ------------------

def children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Neg):
        return (expr.operand,)
    if isinstance(expr, Bin):
        return (expr.left, expr.right)
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, (Num, Var)):
        return ()
    raise TypeError(f"not a formula node: {expr!r}")


def _rebuilt(expr: Expr, parts: list[Expr]) -> Expr:
    if isinstance(expr, Neg):
        return Neg(parts[0])
    if isinstance(expr, Bin):
        return Bin(expr.op, parts[0], parts[1])
    return Call(expr.fn, tuple(parts))


def rewrite(expr: Expr, replace: Callable[[Expr], Expr | None]) -> Expr:
    """A copy of ``expr`` in which ``replace(node)``, where it returns an expression, stands for that node."""
    done: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, visited = stack.pop()
        if visited:
            count = len(children(node))
            parts = done[len(done) - count:]
            del done[len(done) - count:]
            done.append(_rebuilt(node, parts))
            continue
        substitute = replace(node)
        if substitute is not None:
            done.append(substitute)
            continue
        below = children(node)
        if not below:
            done.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(below))
    return done[0]


def nodes(expr: Expr):
    """Every node of ``expr``, parents before children."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def align(symbolic: Expr, numeric: Expr, values: dict) -> dict[str, Expr] | None:
    """Which part of ``symbolic`` each substituted name of ``numeric`` stands for; None if they differ in shape."""
    found: dict[str, Expr] = {}
    stack = [(symbolic, numeric)]
    while stack:
        left, right = stack.pop()
        if isinstance(right, Var) and right.name in values:
            found[right.name] = left
            continue
        if type(left) is not type(right):
            return None
        if isinstance(right, Bin) and right.op != left.op:
            return None
        if isinstance(right, Call) and (right.fn != left.fn or len(right.args) != len(left.args)):
            return None
        if isinstance(right, (Num, Var)) and left != right:
            return None
        stack.extend(zip(children(left), children(right)))
    return found


# -- tracing names back to steps -----------------------------------------------------------

def _mode(context: str | None) -> str | None:
    return None if context is None else context.split(",")[0].strip()


def _compatible(source: Step, step: Step) -> bool:
    """Whether ``step`` may use a number that ``source`` produced (same pass of a data-set narration)."""
    if source.context is None or step.context is None or source.context == step.context:
        return True
    if source.context.startswith("sample "):  # the per-sample gradients at the start serve every mode
        return True
    return source.equation.kind == "update" and _mode(source.context) == _mode(step.context)


def defines(step: Step) -> set[str]:
    """The names under which later lines refer to this step's number."""
    names = {step.lhs_text}
    if step.updates_parameter:
        names.add(step.equation.node)  # w_new is the w of the check
    return names


def _same(a, b) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def _is_collapsed_call(expr) -> bool:
    """A call the numeric form shows as its value (σ(z) as 0.622)."""
    function = FUNCTIONS.get(expr.fn) if isinstance(expr, Call) else None
    return function is not None and function.collapse and function.compute is not None


class StepIndex:
    """The steps by the names later lines use for them, and by their formula, in order."""

    def __init__(self, steps: list[Step]):
        self.by_name: dict[str, list[Step]] = {}
        self.by_formula: dict[str, list[Step]] = {}
        for step in steps:
            if step.index is not None:
                continue
            for name in defines(step):
                self.by_name.setdefault(name, []).append(step)
            forms = step.equation.forms
            if forms and forms[0].values is None:
                self.by_formula.setdefault(forms[0].expr.to_text(), []).append(step)
        self._positions = {id(table): {key: [s.position for s in found] for key, found in table.items()}
                           for table in (self.by_name, self.by_formula)}

    def nearest(self, table: dict[str, list[Step]], key: str, step: Step) -> Step | None:
        """The nearest step before ``step`` under ``key`` that ``step`` may take a number from."""
        found = table.get(key)
        if not found:
            return None
        for earlier in reversed(found[:bisect_left(self._positions[id(table)][key], step.position)]):
            if _compatible(earlier, step):
                return earlier
        return None

    def source(self, step: Step, reference: str, used) -> Step | None:
        """The nearest earlier step that produced ``reference`` with the value ``used``."""
        earlier = self.nearest(self.by_name, reference, step)
        return earlier if earlier is not None and _same(earlier.shown, used) else None

    def call_source(self, step: Step, call: Call, used) -> Step | None:
        """The earlier step that computed a collapsed call (ŷ = σ(z) for σ(z)), if it wrote the value used."""
        earlier = self.nearest(self.by_formula, call.to_text(), step)
        if earlier is None or abs(earlier.shown - float(used)) > 0.5 * 10.0 ** -earlier.decimals + 1e-12:
            return None
        return earlier


class Recomputation:
    """A step's numeric form with every traceable number tied to the step it came from."""

    def __init__(self, step: Step, form: Form, sources: dict[str, Step], call_sources: dict[Call, Step],
                 meaning: dict[str, Expr]):
        self.step = step
        self.form = form
        self.sources = sources  # substituted name → the step whose number it is
        self.call_sources = call_sources
        self.meaning = meaning  # substituted name → what it stands for in the symbolic form

    def unfolded(self) -> Expr:
        """The numeric form with each placeholder for a call written as the call again (σ(z) for #call0),
        so that a slip inside the call can be tried."""
        values = self.form.values

        def call_for(node: Expr) -> Expr | None:
            if isinstance(node, Var) and _is_collapsed_call(self.meaning.get(node.name)):
                call = self.meaning[node.name]
                if call.names() <= set(values):
                    return call
            return None

        return rewrite(self.form.expr, call_for)

    @property
    def inputs(self) -> list[Step]:
        by_position = {s.position: s for s in [*self.sources.values(), *self.call_sources.values()]}
        return [by_position[p] for p in sorted(by_position)]

    def environment(self, answers: dict[str, float]) -> dict[str, float]:
        """The numeric form's values, with the learner's numbers where they gave one."""
        env = {name: float(np.asarray(value, dtype=float)) for name, value in self.form.values.items()}
        for name, source in self.sources.items():
            env[name] = answers.get(source.name, env[name])
        return env

    def expression(self, answers: dict[str, float], keep_calls: bool = False) -> Expr:
        """The numeric form as a formula whose only names are the environment's; collapsed calls become the
        learner's number for the step that computed them (unless ``keep_calls``)."""
        if keep_calls or not self.call_sources:
            return self.form.expr
        return rewrite(self.form.expr, lambda node: Num(answers[self.call_sources[node].name])
                       if node in self.call_sources and self.call_sources[node].name in answers else None)

    def value(self, answers: dict[str, float], expr: Expr | None = None) -> float | None:
        """The step's result from the learner's numbers, or None if it cannot be computed."""
        try:
            with np.errstate(all="ignore"):
                result = (expr or self.expression(answers)).evaluate(self.environment(answers))
            result = float(np.asarray(result, dtype=float))
        except (KeyError, ValueError, TypeError, ZeroDivisionError, OverflowError):
            return None
        return result if np.isfinite(result) else None


def recomputation(index: StepIndex, step: Step) -> Recomputation | None:
    """How to recompute ``step`` from earlier answers, or None when it has no numeric form."""
    equation = step.equation
    numeric = next((f for f in equation.forms if f.values is not None), None)
    if step.index is not None or numeric is None:
        return None
    try:
        meaning: dict[str, Expr] = {}
        for symbolic in reversed([f for f in equation.forms if f.values is None]):
            found = align(symbolic.expr, numeric.expr, numeric.values)
            if found is not None:
                meaning = found
                break
        sources = {}
        for name, used in numeric.values.items():
            if np.asarray(used).size != 1:
                continue
            reference = meaning.get(name, Var(name))
            if _is_collapsed_call(reference):  # a placeholder for σ(z), written as its value
                source = index.call_source(step, reference, used)
            else:
                text = reference.name if isinstance(reference, Var) else reference.to_text()
                source = index.source(step, text, used)
            if source is not None:
                sources[name] = source
        call_sources = {}
        if numeric.collapse:  # calls left in the numeric form, shown by the renderer as their values
            for node in nodes(numeric.expr):
                if not _is_collapsed_call(node):
                    continue
                used = node.evaluate({k: float(np.asarray(v)) for k, v in numeric.values.items()})
                source = index.call_source(step, node, used)
                if source is not None:
                    call_sources[node] = source
    except (TypeError, KeyError, ValueError):
        return None
    return Recomputation(step, numeric, sources, call_sources, meaning)
