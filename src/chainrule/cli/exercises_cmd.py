"""``chainrule worksheet`` and ``chainrule check``: exercise sheets, and marking a learner's answers.

A worksheet takes the same problem and flags as ``explain``; the answers file
it writes records them, so ``check`` explains exactly the same problem again.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..explain import builtin_names
from ..explain.exercises import (
    answer_steps,
    answers_header,
    answers_template,
    check_answers,
    load_answers,
    worksheet_html,
    worksheet_markdown,
)
from ..explain.problems import LOSSES
from .common import CommandError, finite_number, write_output
from .explain_cmd import _decimals, _explanation, _positive, _steps

__all__ = ["register", "run_check", "run_worksheet"]

#: The flags that define the problem, as ``explain`` has them: (flags, argparse keywords).
PROBLEM_FLAGS = [
    (("--precision",), dict(type=_decimals, metavar="N", help="decimals to round to (default 3)")),
    (("--steps",), dict(type=_steps, metavar="N", help="gradient-descent steps to take (default 1)")),
    (("--set",), dict(nargs="+", default=[], metavar="NAME=VALUE", dest="assignments",
                      help="values of the expression's names")),
    (("--target",), dict(dest="y", type=finite_number, metavar="Y", help="the target y (adds a loss)")),
    (("--loss",), dict(choices=LOSSES, help="loss against the target (default: mse, the seed's)")),
    (("--lr",), dict(type=_positive, metavar="η", help="learning rate: adds the update and the check")),
    (("--optimizer",), dict(choices=("sgd", "momentum", "adam"),
                            help="the update rule (default: the problem's, or sgd)")),
    (("--params",), dict(metavar="NAMES",
                         help="comma-separated names to learn (default: names starting with w or b)")),
    (("--exact",), dict(action="store_true", help="exact values, rounded only when printed")),
    (("--detail",), dict(choices=("auto", "elements", "summary"), default="auto",
                         help="tensors element by element, or as shape and statistics (default: by size)")),
]


def register(subparsers) -> None:
    check = subparsers.add_parser(
        "check", help="check hand-computed answers and find the first wrong step",
        description="Mark an answers file (chainrule worksheet --answers writes one): the first wrong step, why "
                    "it is wrong where the numbers show it, and which later steps follow from your own numbers.")
    check.add_argument("answers", metavar="ANSWERS.toml")
    check.set_defaults(run=run_check)

    worksheet = subparsers.add_parser(
        "worksheet", help="an exercise sheet with the numbers blanked",
        description="The explanation of a problem with every computed number blanked. Takes what explain takes: "
                    "example1, a FILE.toml, or an expression with --set, --target, --lr….")
    worksheet.add_argument("target", metavar="example1|example2|example3|FILE.toml|EXPR")
    worksheet.add_argument("--format", "-f", choices=("markdown", "html"), default=None,
                           help="markdown, or a web page with input boxes (default: from --output's extension)")
    worksheet.add_argument("--output", "-o", metavar="PATH", help="the worksheet (default: the terminal)")
    worksheet.add_argument("--solution", metavar="PATH", help="also write the full solution here")
    worksheet.add_argument("--answers", metavar="PATH", help="also write an answers file to fill in for check")
    for flags, keywords in PROBLEM_FLAGS:
        worksheet.add_argument(*flags, **keywords)
    worksheet.set_defaults(run=run_worksheet)


# -- the options an answers file records ---------------------------------------------------------

def _options(args) -> dict:
    """The flags given to the worksheet, as the answers file stores them."""
    options: dict = {}
    if args.assignments:
        values = {}
        for assignment in args.assignments:
            name, _, value = assignment.partition("=")
            try:
                values[name.strip()] = finite_number(value)
            except argparse.ArgumentTypeError:
                continue  # the explanation above has already refused it
        options["set"] = values
    for key, attribute in (("target", "y"), ("loss", "loss"), ("lr", "lr"), ("optimizer", "optimizer"),
                           ("steps", "steps"), ("precision", "precision")):
        if getattr(args, attribute) is not None:
            options[key] = getattr(args, attribute)
    if args.params:
        options["params"] = [p.strip() for p in args.params.split(",") if p.strip()]
    if args.exact:
        options["exact"] = True
    if args.detail != "auto":
        options["detail"] = args.detail
    return options


def _validated(options: dict, path: str) -> dict:
    """An answers file's options, checked as the worksheet's flags are (a precision from 0 to 9…)."""
    keywords = {flags[0].lstrip("-"): kw for flags, kw in PROBLEM_FLAGS}
    for key, value in options.items():
        flag = keywords.get(key, {})
        try:
            if "type" in flag:
                flag["type"](str(value))
        except argparse.ArgumentTypeError as error:
            raise CommandError(f"{path}: [options] {key}: {error}") from None
        if "choices" in flag and value not in flag["choices"]:
            raise CommandError(f"{path}: [options] {key}: expected one of {', '.join(flag['choices'])}, "
                               f"got {value!r}")
    return options


def _namespace(options: dict) -> argparse.Namespace:
    """The flags back from an answers file's options."""
    return argparse.Namespace(
        assignments=[f"{name}={value!r}" for name, value in options.get("set", {}).items()],
        y=options.get("target"), loss=options.get("loss"), lr=options.get("lr"),
        optimizer=options.get("optimizer"), steps=options.get("steps"), precision=options.get("precision"),
        params=",".join(options["params"]) if "params" in options else None,
        exact=options.get("exact", False), detail=options.get("detail", "auto"),
    )


def _is_file(target: str) -> bool:
    return target not in builtin_names() and (target.endswith(".toml") or Path(target).is_file())


def _reference(target: str, answers_path: str | None) -> str:
    """How the answers file names the problem: a problem file relative to the answers file's folder."""
    if answers_path is None or not _is_file(target):
        return target
    folder = Path(answers_path).resolve().parent
    return Path(os.path.relpath(Path(target).resolve(), folder)).as_posix()


# -- the commands ----------------------------------------------------------------------------------

def run_check(args) -> int:
    try:
        answers = load_answers(args.answers)
    except ValueError as error:
        raise CommandError(str(error)) from None
    reference = answers.problem
    if reference not in builtin_names():
        candidate = Path(args.answers).parent / reference
        if candidate.is_file():
            reference = str(candidate)
    explanation = _explanation(_namespace(_validated(answers.options, args.answers)), reference)
    result = check_answers(explanation, answers.answers)
    print(result.report())
    return 0 if result.ok else 1


def _format(args) -> str:
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower() if args.output else ""
    return "html" if suffix in (".html", ".htm") else "markdown"


def run_worksheet(args) -> int:
    explanation = _explanation(args, args.target)
    options = _options(args)
    if _format(args) == "html":
        header = answers_header(_reference(args.target, args.answers or args.output), options)
        content, solution = worksheet_html(explanation, header), explanation.to_html()
    else:
        content, solution = worksheet_markdown(explanation)[0], explanation.to_markdown()
    write_output(content, args.output)
    if args.solution:
        write_output(solution, args.solution)
    if args.answers:
        write_output(answers_template(_reference(args.target, args.answers), answer_steps(explanation), options),
                     args.answers)
    return 0
