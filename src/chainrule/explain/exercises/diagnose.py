"""Name the slip behind a wrong answer, when the numbers say which one it was.

Each slip is a way to get the step wrong that learners often take: forgetting
the 2 of the squared error, stepping with the gradient instead of against
it, adding where the mean divides, using z where the activation σ(z) is
needed, dropping a minus sign. For each, the wrong number the slip would
give is computed from the step's own numeric form; a diagnosis is said only
when the learner's answer matches it within the step's tolerance.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...formula import FUNCTIONS, Bin, Call, Expr, Num
from ..numbers import number_text
from .follow import Recomputation, nodes, rewrite
from .steps import Step

__all__ = ["diagnose"]


def _number(value: float, step: Step) -> str:
    return number_text(value, step.decimals, max(step.decimals, 1)).replace("-", "−")


def _flipped_update(expr: Expr) -> Expr | None:
    """p + η·g for the update p − η·g (the outermost subtraction turned into an addition)."""
    if isinstance(expr, Bin) and expr.op == "-":
        return Bin("+", expr.left, expr.right)
    return None


def _activations(expr: Expr) -> list[Call]:
    """The one-argument function calls of a formula (σ(z), tanh(z)…), outermost first."""
    found = []
    for node in nodes(expr):
        function = FUNCTIONS.get(node.fn) if isinstance(node, Call) else None
        if function is not None and function.compute is not None and len(node.args) == 1 and node not in found:
            found.append(node)
    return found


def _without(expr: Expr, calls: list[Call]) -> Expr:
    """The formula with each of ``calls`` replaced by its argument: z(1 − z) for σ(z)(1 − σ(z))."""
    return rewrite(expr, lambda node: node.args[0] if node in calls else None)


def _sum_terms(expr: Expr) -> list[Expr]:
    terms, stack = [], [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Bin) and node.op == "+":
            stack += [node.right, node.left]
        else:
            terms.append(node)
    return terms


def _candidates(step: Step, recompute: Recomputation | None, answers: dict[str, float],
                expected: float) -> Iterator[tuple[float, str]]:
    """(the number a slip gives, the sentence that names it), most specific slips first."""
    equation = step.equation
    symbolic = next((f.expr for f in equation.forms if f.values is None), None)
    if recompute is not None:
        numeric = recompute.expression(answers, keep_calls=True)
        if equation.kind == "update":
            flipped = _flipped_update(numeric)
            if flipped is not None:
                value = recompute.value(answers, flipped)
                if value is not None:
                    yield value, (f"You added the step instead of subtracting it: gradient descent moves against "
                                  f"the gradient, p − η·g, so {_number(value, step)} (p + η·g) should be "
                                  f"{_number(expected, step)}.")
        if isinstance(numeric, Bin) and numeric.op == "/" and isinstance(numeric.right, Num) \
                and len(_sum_terms(numeric.left)) > 1:
            count = numeric.right.value
            value = recompute.value(answers, numeric.left)
            if value is not None:
                yield value, (f"{_number(value, step)} is the sum, {count:g} × the mean: a batch's gradient is the "
                              f"average of the per-sample gradients, so divide by {count:g}.")
        terms = _sum_terms(numeric)
        if len(terms) > 1 and equation.kind in ("chain", "gradient", "batch"):
            value = recompute.value(answers, Bin("/", numeric, Num(float(len(terms)))))
            if value is not None:
                yield value, (f"{_number(value, step)} is the mean of the {len(terms)} terms, 1/{len(terms)} of "
                              f"their sum: the products along the paths add up, they are not averaged.")
        unfolded = recompute.unfolded()
        calls = _activations(unfolded)
        for chosen in ([calls] if len(calls) > 1 else []) + [[call] for call in calls]:
            value = recompute.value(answers, _without(unfolded, chosen))
            if value is not None:
                yield value, _activation_sentence(symbolic, chosen, value, step)
    if expected != 0:
        formula = f" ({step.lhs_text} = {symbolic.to_text()})" if symbolic is not None and "2" in \
            symbolic.to_text() else ""
        yield expected / 2, f"Your value is exactly half of {_number(expected, step)}: a factor 2 is missing{formula}."
        yield -expected, (f"Your value has the wrong sign: it should be {_number(expected, step)}; "
                          "a minus sign was lost on the way.")


def _activation_sentence(symbolic: Expr | None, calls: list[Call], value: float, step: Step) -> str:
    call = calls[0]
    inner = call.args[0].to_text()
    if symbolic is not None and all(call in set(nodes(symbolic)) for call in calls):
        wrong = _without(symbolic, calls).to_text()
        return (f"{_number(value, step)} is {wrong}: you used {inner} where {call.to_text()} is needed; "
                f"the line is {symbolic.to_text()}.")
    return f"{_number(value, step)} is what you get with {inner} in place of {call.to_text()}: use the value of " \
           f"{call.to_text()}, not {inner} itself."


def diagnose(step: Step, answer: float, expected: float, recompute: Recomputation | None,
             answers: dict[str, float]) -> str | None:
    """One sentence naming the slip that gives ``answer`` instead of ``expected``, or None."""
    tolerance = step.tolerance
    for value, sentence in _candidates(step, recompute, answers, expected):
        if abs(value - expected) <= tolerance:
            continue  # this slip would not have changed the answer, so it explains nothing
        if abs(answer - value) <= tolerance:
            return sentence
    return None

