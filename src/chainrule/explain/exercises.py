"""Exercises: check a learner's hand-computed numbers, and write worksheets with the numbers blanked.

Every step of an explanation has a key: the left side of its equation as
text (``z``, ``ŷ``, ``L``, ``∂L/∂ŷ``, ``∂L/∂w``, ``w_new``); the steps of the
check after the update get ``new `` in front (``new L``). ASCII spellings are
accepted too: ``yhat`` for ``ŷ``, ``dL/dw`` for ``∂L/∂w``.

An answers file names a problem and gives numbers::

    problem = "example1"        # a built-in, or a problem file next to this one
    [answers]
    "z" = 0.5
    "ŷ" = 0.622
    "dL/dw" = 0.292
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .explanation import Explanation, equation_text
from .model import Equation

__all__ = ["step_keys", "normalize_key", "check_answers", "CheckResult", "load_answers", "worksheet_markdown",
           "answers_template"]


def normalize_key(key: str) -> str:
    """One spelling for every way of writing a step's name."""
    text = key.strip().replace(" ", "").replace("∂", "d").replace("ŷ", "yhat").replace("y\u0302", "yhat")
    text = text.replace("η", "eta").replace("′", "_new").replace("'", "_new")
    text = re.sub(r"^new", "new ", text)
    return text.replace("#", " #").lower()


def step_keys(explanation: Explanation) -> list[tuple[str, Equation, str]]:
    """(key, equation, section title) for every numbered step, in order.

    A name that comes back (w after each stochastic update) is numbered from
    its second time on: ``w``, ``w #2``, ``w #3``.
    """
    keys, seen = [], {}
    for section in explanation.sections:
        prefix = "new " if section.kind == "check" else ""
        for equation in section.equations():
            if equation.kind == "given" or np.asarray(equation.shown).size != 1:
                continue
            key = prefix + equation.lhs.to_text()
            count = seen[normalize_key(key)] = seen.get(normalize_key(key), 0) + 1
            keys.append((key if count == 1 else f"{key} #{count}", equation, section.title))
    return keys


@dataclass
class CheckResult:
    correct: list[str]
    wrong: list[tuple[str, float, Equation, str]]  # key, their value, the equation, section
    unknown: list[str]
    missing: list[str]

    @property
    def ok(self) -> bool:
        return not self.wrong and not self.unknown

    def report(self) -> str:
        lines = []
        if self.unknown:
            lines.append("Unknown step names: " + ", ".join(self.unknown)
                         + " (chainrule worksheet lists the names)")
        if self.wrong:
            key, theirs, equation, section = self.wrong[0]
            expected = equation.shown_text()
            lines += [
                f"✗ The first wrong step is {key!r} ({section}).",
                f"  You wrote {theirs:g}; it should be {expected} "
                f"(exactly {float(np.asarray(equation.value)):.6g}).",
                f"  How: {equation_text(equation)}",
            ]
            if equation.note:
                lines.append(f"  Note: {equation.note}")
            later = [k for k, *_ in self.wrong[1:]]
            if later:
                lines.append(f"  Also different: {', '.join(later)} (they may follow from the first mistake).")
        if self.correct:
            lines.append(f"✓ Correct: {', '.join(self.correct)}")
        if not self.wrong and not self.unknown:
            lines.append("All your answers are right." if self.correct else "No answers to check.")
        if self.missing:
            lines.append(f"Not answered: {', '.join(self.missing)}")
        return "\n".join(lines)


def check_answers(explanation: Explanation, answers: dict[str, float]) -> CheckResult:
    """Compare answers with the explanation's hand-rounded numbers (to 1.5 units of the last decimal)."""
    steps = step_keys(explanation)
    by_key = {normalize_key(key): (key, equation, section) for key, equation, section in steps}
    given = {normalize_key(k): (k, v) for k, v in answers.items()}
    result = CheckResult([], [], [], [])
    for normalized, (original, _) in given.items():
        if normalized not in by_key:
            result.unknown.append(original)
    for key, equation, section in steps:
        normalized = normalize_key(key)
        if normalized not in given:
            result.missing.append(key)
            continue
        theirs = float(given[normalized][1])
        tolerance = 1.5 * 10.0 ** -equation.decimals
        shown, exact = float(np.asarray(equation.shown)), float(np.asarray(equation.value))
        if abs(theirs - shown) <= tolerance or abs(theirs - exact) <= tolerance:
            result.correct.append(key)
        else:
            result.wrong.append((key, theirs, equation, section))
    return result


def load_answers(path) -> tuple[str, dict[str, float]]:
    """Read an answers file: (problem reference, {step: number})."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read it ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML ({error})") from None
    problem = data.get("problem")
    if not isinstance(problem, str) or not problem:
        raise ValueError(f"{path}: problem: name the problem, e.g. problem = \"example1\"")
    answers = data.get("answers")
    if not isinstance(answers, dict) or not answers:
        raise ValueError(f"{path}: [answers]: give at least one step, e.g. \"z\" = 0.5")
    out = {}
    for key, value in answers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{path}: [answers] {key!r}: expected a number, got {value!r}")
        out[key] = float(value)
    return problem, out


def worksheet_markdown(explanation: Explanation) -> tuple[str, list[tuple[str, str]]]:
    """The explanation with every computed number blanked; returns (markdown, [(blank label, key)])."""
    steps = {id(equation): key for key, equation, _ in step_keys(explanation)}
    blanks: list[tuple[str, str]] = []
    lines = [f"# Worksheet: {explanation.title}", ""]
    if explanation.description:
        lines += [explanation.description, ""]
    lines += ["Fill in each blank. Round to the decimals shown in the solution "
              f"({explanation.precision} for values, one more for updated parameters), and carry your rounded "
              "numbers forward as you go.", ""]
    for number, section in enumerate(explanation.sections, 1):
        lines += [f"## {number}. {section.title}", ""]
        if section.intro:
            lines += [section.intro, ""]
        for item in section.items:
            if isinstance(item, Equation):
                key = steps.get(id(item))
                if item.kind == "given" or key is None:
                    lines += [f"- ${_given_latex(item)}$", ""]
                    continue
                label = f"({len(blanks) + 1})"
                blanks.append((label, key))
                symbolic = [f.expr.to_latex() for f in item.forms if f.values is None]
                relation = r"\leftarrow" if item.assign else "="
                body = f" {relation} ".join([item.lhs.to_latex()] + symbolic[:2] + [r"\underline{\qquad}"])
                lines += [f"{label} step `{key}`:", "", f"$$\n{body}\n$$", ""]
            elif hasattr(item, "text"):
                lines += [item.text if item.kind == "note" else "", ""]
    return "\n".join(lines), blanks


def _given_latex(equation: Equation) -> str:
    return f"{equation.lhs.to_latex()} = {equation.shown_text()}"


def answers_template(problem_reference: str, explanation: Explanation) -> str:
    lines = [f'problem = "{problem_reference}"', "", "[answers]",
             "# Uncomment a line and write your number after the equals sign."]
    lines += [f'# "{key}" = ' for key, _, _ in step_keys(explanation)]
    return "\n".join(lines) + "\n"
