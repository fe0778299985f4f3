"""Answers files: the problem (with everything needed to explain it again) and the learner's numbers.

::

    problem = "sigmoid(w*x)"          # a built-in, a problem file next to this one, or an expression
    [options]                         # the flags the worksheet was made with
    set = { w = 0.5, x = 1.0 }
    target = 0.0
    lr = 0.1
    [answers]
    "z" = 0.5
    "ŷ" = 0.622
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .steps import Step

__all__ = ["AnswersFile", "OPTION_TYPES", "load_answers", "answers_header", "answers_template"]

#: The options an answers file may carry, and what each must be.
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "set": (dict,), "target": (int, float), "loss": (str,), "lr": (int, float), "optimizer": (str,),
    "params": (list,), "steps": (int,), "precision": (int,), "exact": (bool,), "detail": (str,),
}


@dataclass
class AnswersFile:
    problem: str
    options: dict = field(default_factory=dict)
    answers: dict[str, float] = field(default_factory=dict)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_options(path: Path, options) -> dict:
    if not isinstance(options, dict):
        raise ValueError(f"{path}: [options]: expected a table of the worksheet's flags")
    for key, value in options.items():
        expected = OPTION_TYPES.get(key)
        if expected is None:
            raise ValueError(f"{path}: [options] {key!r}: unknown option (known: {', '.join(OPTION_TYPES)})")
        if isinstance(value, bool) and bool not in expected or not isinstance(value, expected):
            raise ValueError(f"{path}: [options] {key}: expected {' or '.join(t.__name__ for t in expected)}, "
                             f"got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{path}: [options] {key}: expected a finite number, got {value!r}")
        if key == "set" and not all(isinstance(k, str) and _is_number(v) for k, v in value.items()):
            raise ValueError(f"{path}: [options] set: expected names with numbers, e.g. set = {{ w = 0.5 }}")
        if key == "params" and not all(isinstance(name, str) for name in value):
            raise ValueError(f"{path}: [options] params: expected a list of names, e.g. params = [\"w\"]")
    return options


def load_answers(path) -> AnswersFile:
    """Read an answers file, with one clear message for whatever is wrong with it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
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
    numbers = {}
    for key, value in answers.items():
        if not _is_number(value):
            raise ValueError(f"{path}: [answers] {key!r}: expected a number, got {value!r}")
        numbers[key] = float(value)
    return AnswersFile(problem, _check_options(path, data.get("options", {})), numbers)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)  # TOML basic strings are JSON strings


def answers_header(problem_reference: str, options: dict | None = None) -> str:
    """The start of an answers file: the problem, its options, and the ``[answers]`` heading."""
    lines = [f"problem = {_toml_value(problem_reference)}"]
    if options:
        lines += ["", "[options]"] + [f"{key} = {_toml_value(value)}" for key, value in options.items()]
    return "\n".join(lines + ["", "[answers]"]) + "\n"


def answers_template(problem_reference: str, steps: list[Step], options: dict | None = None) -> str:
    """An answers file to fill in: every step's name, commented out, after the problem and its options."""
    lines = ["# Uncomment a line and write your number after the equals sign."]
    lines += [f"# {_toml_value(step.name)} = " for step in steps]
    return answers_header(problem_reference, options) + "\n".join(lines) + "\n"
