"""Where a problem's reference text (a textbook, the seed document) writes other numbers than ours, say why.

A reference value agrees when it is the carried number on the line or the exact
value, rounded to as many decimals as the reference wrote. Where it is neither,
the line gets a note with the exact value, so a learner comparing the two texts
knows which one to trust (the seed writes σ(0.4708) ≈ 0.615; it is 0.6156).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .problems import ProblemError

__all__ = ["annotate_reference"]


def _rounded(value: float, decimals: int) -> Decimal:
    number = Decimal(repr(float(value)))
    if not number.is_finite() or abs(number) >= 10 ** 15:
        return number  # nothing to round at these magnitudes
    return number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def annotate_reference(explanation, reference: dict[str, str], source: str) -> list[str]:
    """Add a note to every step whose reference value differs; return the names of those steps."""
    from .exercises.steps import answer_steps  # the answer names are the exercises' (worksheet, check)

    if not reference:
        return []
    steps = {}
    for step in answer_steps(explanation):
        steps[step.name] = step
        for alias in step.aliases:
            steps.setdefault(alias, step)
    differing = []
    for name, text in reference.items():
        step = steps.get(name)
        if step is None:
            raise ProblemError(f"[reference] values: no step is called {name!r}")
        decimals = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 0
        written = Decimal(text)
        if written in (_rounded(step.shown, decimals), _rounded(step.exact, decimals)):
            continue
        exact = _rounded(step.exact, max(decimals + 2, 6)).normalize()
        note = (f"{source} writes {text} here; the exact value is {exact:f}, "
                f"which rounds to {_rounded(step.exact, decimals):f}.").replace("-", "−")
        equation = step.equation
        equation.note = note if not equation.note else f"{equation.note.rstrip('.')}. {note}"
        differing.append(name)
    return differing
