"""``check``: mark a learner's numbers, find the first wrong step, say why, and give follow-through credit.

An answer is right within about 1.5 units of the last shown decimal of either
the number carried by hand (``shown``) or the exact value. A later step that
is wrong only because an earlier answer was wrong, but is computed correctly
from the learner's own numbers, *follows* from that mistake and is counted as
such rather than marked wrong again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..explanation import Explanation, equation_text
from .diagnose import diagnose
from .follow import Recomputation, StepIndex, recomputation
from .steps import Step, answer_steps, normalize_key

__all__ = ["check_answers", "CheckResult", "Verdict"]

#: Later wrong steps explained one per line; the rest are only named, so the report stays readable.
MAX_LATER = 5


@dataclass
class Verdict:
    """What check says about one answered step."""

    step: Step
    answer: float
    status: str  # "right", "follows" (right from the learner's own earlier numbers) or "wrong"
    expected: float  # the right value, from the learner's own earlier numbers where those differ
    diagnosis: str | None = None
    roots: frozenset[str] = frozenset()  # names of the first wrong steps this one depends on


@dataclass
class CheckResult:
    verdicts: list[Verdict] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def _names(self, status: str) -> list[str]:
        return [v.step.name for v in self.verdicts if v.status == status]

    @property
    def correct(self) -> list[str]:
        return self._names("right")

    @property
    def follows(self) -> list[str]:
        return self._names("follows")

    @property
    def wrong(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "wrong"]

    @property
    def ok(self) -> bool:
        return not self.wrong and not self.unknown

    def report(self) -> str:
        lines = []
        if self.unknown:
            lines.append("Unknown step names: " + ", ".join(self.unknown)
                         + " (the answers file that chainrule worksheet --answers writes lists the names)")
        wrong = self.wrong
        if wrong:
            lines += _first_mistake(wrong[0])
            followers = [v for v in self.verdicts if v.status == "follows"]
            if followers:
                source = (f"your value of {wrong[0].step.name}"
                          if all(v.roots == {wrong[0].step.name} for v in followers) else "your own earlier numbers")
                count = f"{len(followers)} later step{'s' if len(followers) > 1 else ''}"
                verb = "follow" if len(followers) > 1 else "follows"
                lines.append(f"→ {count} {verb} correctly from {source}: "
                             + ", ".join(v.step.name for v in followers) + ".")
            for verdict in wrong[1:1 + MAX_LATER]:
                lines.append(_later_mistake(verdict))
            if len(wrong) > 1 + MAX_LATER:
                rest = [v.step.name for v in wrong[1 + MAX_LATER:]]
                lines.append(f"✗ Also wrong ({len(rest)} more): {', '.join(rest)}.")
        if self.correct:
            lines.append(f"✓ Correct: {', '.join(self.correct)}")
        if not wrong and not self.unknown:
            lines.append("All your answers are right." if self.correct else "No answers to check.")
        if self.missing:
            lines.append(f"Not answered: {', '.join(self.missing)}")
        return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:.6g}".replace("-", "−")


def _first_mistake(verdict: Verdict) -> list[str]:
    step = verdict.step
    lines = [f"✗ The first wrong step is {step.name!r} ({step.section}).",
             f"  You wrote {_number(verdict.answer)}; it should be {step.shown_text.replace('-', '−')} "
             f"(exactly {_number(step.exact)})."]
    if verdict.diagnosis:
        lines.append(f"  Why: {verdict.diagnosis}")
    how = equation_text(step.equation)
    if step.index is not None:
        how = f"element {list(step.index)} of {how}"
    lines.append(f"  How: {how}")
    if step.equation.note:
        lines.append(f"  Note: {step.equation.note}")
    return lines


def _later_mistake(verdict: Verdict) -> str:
    step = verdict.step
    from_own = verdict.roots and abs(verdict.expected - step.shown) > step.tolerance
    expected = _number(round(verdict.expected, step.decimals)) if from_own else step.shown_text.replace("-", "−")
    line = (f"✗ Also wrong: {step.name!r}: you wrote {_number(verdict.answer)}; "
            f"{'from your own numbers it would be' if from_own else 'it should be'} {expected}.")
    return line + (f" {verdict.diagnosis}" if verdict.diagnosis else "")


def _resolve(steps: list[Step], answers: dict[str, float]) -> tuple[dict[str, float], list[str]]:
    """The answers by step name, and the names that match no step."""
    by_key: dict[str, Step] = {}
    for step in steps:
        for alias in step.aliases:
            by_key.setdefault(normalize_key(alias), step)
    for step in steps:  # a step's own name wins over another step's old alias
        by_key[normalize_key(step.name)] = step
    resolved, unknown = {}, []
    for key, value in answers.items():
        step = by_key.get(normalize_key(key))
        if step is None:
            unknown.append(key)
        else:
            resolved[step.name] = float(value)
    return resolved, unknown


def check_answers(explanation: Explanation, answers: dict[str, float]) -> CheckResult:
    """Mark each answer right, following from an earlier mistake, or wrong (with a diagnosis where one fits)."""
    steps = answer_steps(explanation)
    learner, unknown = _resolve(steps, answers)
    result = CheckResult(unknown=unknown)
    roots: dict[str, frozenset[str]] = {}  # step name → the first mistakes its answer depends on
    index = StepIndex(steps)
    for step in steps:
        if step.name not in learner:
            result.missing.append(step.name)
            continue
        answer = learner[step.name]
        recompute = recomputation(index, step)
        inherited = _inherited(recompute, roots)
        if _near(answer, step.shown, step) or _near(answer, step.exact, step):
            verdict = Verdict(step, answer, "right", step.shown)
        else:
            own = recompute.value(learner) if recompute is not None else None
            if own is not None and _near(answer, own, step):
                # Right from the learner's numbers: following a mistake, or a carrying of their own.
                verdict = Verdict(step, answer, "follows" if inherited else "right", own, roots=inherited)
            else:
                expected = own if own is not None and inherited else step.shown
                verdict = Verdict(step, answer, "wrong", expected,
                                  diagnose(step, answer, expected, recompute, learner),
                                  roots=inherited or frozenset({step.name}))
        if verdict.status != "right":
            roots[step.name] = verdict.roots
        result.verdicts.append(verdict)
    return result


def _near(answer: float, value: float, step: Step) -> bool:
    return abs(answer - value) <= step.tolerance


def _inherited(recompute: Recomputation | None, roots: dict[str, frozenset[str]]) -> frozenset[str]:
    """The first mistakes behind the earlier answers this step is computed from."""
    if recompute is None:
        return frozenset()
    found: set[str] = set()
    for source in recompute.inputs:
        found |= roots.get(source.name, frozenset())
    return frozenset(found)
