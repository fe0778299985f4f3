"""Exercises in the browser: the worksheet as JSON (no numbers to work out in it), and ``check``'s marking."""

from __future__ import annotations

import math

import numpy as np

from ..explain.exercises import check_answers
from ..explain.exercises.worksheet import Line, build_worksheet
from ..explain.explanation import Explanation, equation_text
from ..explain.model import Equation, Note, Table
from . import limits
from .errors import RequestError

__all__ = ["worksheet_json", "check_json", "answers_from"]


def worksheet_json(explanation: Explanation) -> dict:
    """The worksheet's parts: the given values, and each line to work out with the names of its blanks."""
    sheet = build_worksheet(explanation)
    parts = []
    for part in sheet.parts:
        items = []
        for item in part.items:
            if isinstance(item, Line):
                relation = "←" if item.equation.assign else "="
                texts = [item.equation.lhs.to_text()] + [form.to_text() for form in item.forms]
                items.append({"type": "line", "text": f" {relation} ".join(texts) + " =", "name": item.name,
                              "shape": list(np.asarray(item.equation.shown).shape), "note": item.note,
                              "blanks": [{"label": b.label, "step": b.step.name if b.step else None}
                                         for b in item.blanks]})
            elif isinstance(item, Equation):
                items.append({"type": "given", "text": equation_text(item), "note": item.note})
            elif isinstance(item, Note):
                items.append({"type": "note", "text": item.text})
            elif isinstance(item, Table):
                items.append({"type": "note", "text": "(a table of the data set: see the explanation)"})
        parts.append({"title": part.title, "intro": part.intro, "items": items})
    return {"title": sheet.title, "description": sheet.description, "precision": sheet.precision, "parts": parts}


def answers_from(body: dict) -> dict[str, float]:
    answers = body.get("answers")
    if not isinstance(answers, dict):
        raise RequestError("answers: expected an object of step name: number")
    if len(answers) > limits.MAX_ANSWERS:
        raise RequestError(f"answers: {len(answers)} answers, more than the {limits.MAX_ANSWERS} the server takes")
    out = {}
    for name, value in answers.items():
        if isinstance(value, str):
            try:
                value = float(value.replace("−", "-"))
            except ValueError:
                raise RequestError(f"answers: {name!r}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise RequestError(f"answers: {name!r}: expected a finite number")
        out[str(name)] = float(value)
    return out


def check_json(explanation: Explanation, answers: dict[str, float]) -> dict:
    """``check``'s verdicts, one per answered step, and its report as the command line prints it."""
    result = check_answers(explanation, answers)
    return {
        "ok": result.ok,
        "report": result.report(),
        "verdicts": [{"step": v.step.name, "answer": v.answer, "status": v.status, "diagnosis": v.diagnosis}
                     for v in result.verdicts],
        "unknown": result.unknown,
        "missing": result.missing,
    }
