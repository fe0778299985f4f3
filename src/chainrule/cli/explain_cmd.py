"""``chainrule explain``, ``examples``, ``check`` and ``worksheet``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..explain import (
    Explanation,
    GraphvizMissing,
    ProblemError,
    builtin_names,
    explain_problem,
    expression_problem,
    load_builtin,
    load_problem,
)
from ..explain.limits import ExplainTooLarge
from ..explain.problems import LOSSES, retarget
from ..formula import FormulaSyntaxError
from .common import CommandError, finite_number, use_color, write_output

FORMATS = ("text", "markdown", "json", "dot", "svg", "png", "html")


def register(subparsers) -> None:
    explain = subparsers.add_parser(
        "explain", help="write out every step of backpropagation and gradient descent",
        description="Explain a built-in example (example1, example2, example3), a problem file (FILE.toml) or an "
                    "expression such as \"sigmoid(w*x)\" with --set w=0.5 x=1 --target 0 --lr 0.1.",
    )
    explain.add_argument("target", metavar="example1|example2|example3|FILE.toml|EXPR")
    explain.add_argument("--format", "-f", choices=FORMATS, default=None,
                         help="output format (default: text, or from the --output file's extension)")
    explain.add_argument("--output", "-o", metavar="PATH", help="write to a file instead of the terminal")
    explain.add_argument("--precision", type=_decimals, metavar="N", help="decimals to round to (default 3)")
    explain.add_argument("--steps", type=_steps, metavar="N", help="gradient-descent steps to take (default 1)")
    explain.add_argument("--derive", choices=("first", "all", "last"),
                         help="with --steps N: which steps are written out line by line (default: all when N ≤ 5, "
                              "else the first; a table shows every step)")
    explain.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE", dest="assignments",
                         help="values of the expression's names")
    explain.add_argument("--target", dest="y", type=finite_number, metavar="Y",
                         help="the target y (adds a loss; a class index from 0 for --loss cross_entropy)")
    explain.add_argument("--loss", choices=LOSSES, help="loss against the target (default: mse, the seed's)")
    explain.add_argument("--lr", type=_positive, metavar="η", help="learning rate: adds the update and the check")
    explain.add_argument("--optimizer", choices=("sgd", "momentum", "adam"),
                         help="the update rule (default: the problem's, or sgd)")
    explain.add_argument("--params", metavar="NAMES",
                         help="comma-separated names to learn (default: names starting with w or b)")
    explain.add_argument("--exact", action="store_true",
                         help="exact values, rounded only when printed (default: rounded and carried by hand)")
    explain.add_argument("--detail", choices=("auto", "elements", "summary", "neurons"), default="auto",
                         help="tensors element by element, or as shape and statistics (default: by size); "
                              "neurons: an MLP neuron by neuron, one line per weight (Mazur's way)")
    explain.add_argument("--plot", metavar="PATH",
                         help="draw pictures of the dynamics to PATH (.svg or .png; needs matplotlib): the loss "
                              "landscape with every gradient-descent point, the loss per step, a decision boundary")
    explain.add_argument("--plot-kind", choices=("auto", "landscape", "loss", "boundary"), default="auto",
                         help="which picture --plot draws (default: every one that applies)")
    explain.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    explain.set_defaults(run=run_explain)

    examples = subparsers.add_parser("examples", help="list the built-in examples")
    examples.set_defaults(run=run_examples)

    from .exercises_cmd import register as register_exercises

    register_exercises(subparsers)  # check and worksheet


def _positive(text: str) -> float:
    value = finite_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _decimals(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 12:
        raise argparse.ArgumentTypeError(f"expected a whole number of decimals from 0 to 12, got {text!r}")
    return int(text)


def _steps(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number of steps from 1 to 1000, got {text!r}")
    return int(text)


def resolve_problem(target: str, args=None):
    """A built-in name, a TOML file, or (with --set) an expression."""
    if target in builtin_names():
        return load_builtin(target)
    if _looks_like_path(target, bool(args is not None and getattr(args, "assignments", None))):
        return load_problem(Path(target))
    if args is None or not getattr(args, "assignments", None):
        if all(c.isalnum() or c in "_-." for c in target):
            raise CommandError(f"{target!r} is not a built-in example ({', '.join(builtin_names())}), a .toml "
                               "file, or an expression with --set values")
    values = {}
    for assignment in getattr(args, "assignments", []) or []:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--set {assignment!r}: expected NAME=VALUE")
        try:
            values[name.strip()] = finite_number(value)
        except argparse.ArgumentTypeError as error:
            raise CommandError(f"--set {name.strip()}: {error}") from None
    params = [p.strip() for p in args.params.split(",") if p.strip()] if getattr(args, "params", None) else None
    return expression_problem(target, values, target=getattr(args, "y", None), loss=getattr(args, "loss", None),
                              lr=getattr(args, "lr", None), params=params)


#: Characters that write an expression and never appear in the name of a problem file one would type.
_EXPRESSION_CHARACTERS = frozenset("*+()^,<>=·×− \t")


def _looks_like_path(target: str, has_values: bool) -> bool:
    """Whether ``target`` names a problem file rather than writing an expression.

    A file when it ends in .toml; never when it holds an operator or a
    parenthesis (so "w*x" is an expression even beside a file of that name, and
    a 300-character expression is parsed, not opened); otherwise a file when one
    exists by that name, or when it has a path separator and no --set values
    ("w/x" with --set is a division).
    """
    if target.endswith(".toml"):
        return True
    if any(character in _EXPRESSION_CHARACTERS for character in target):
        return False
    try:
        if Path(target).is_file():
            return True
    except OSError:  # a name too long to be a file is not one
        return False
    return not has_values and ("/" in target or "\\" in target)


def _format_for(args) -> str:
    if args.format:
        return args.format
    if args.output:
        suffix = Path(args.output).suffix.lower().lstrip(".")
        return {"md": "markdown", "markdown": "markdown", "json": "json", "dot": "dot", "gv": "dot",
                "svg": "svg", "png": "png", "html": "html", "htm": "html"}.get(suffix, "text")
    return "text"


def render(explanation: Explanation, fmt: str, color: bool = False):
    if fmt == "text":
        return explanation.to_text(color=color)
    if fmt == "markdown":
        return explanation.to_markdown()
    if fmt == "json":
        return explanation.to_json() + "\n"
    if fmt == "dot":
        return explanation.to_dot()
    if fmt == "html":
        return explanation.to_html()
    try:
        return explanation.to_svg() if fmt == "svg" else explanation.to_png()
    except GraphvizMissing as error:
        raise CommandError(str(error)) from None


def _explanation(args, target: str) -> Explanation:
    try:
        problem = resolve_problem(target, args)
        _refuse_expression_flags(args, problem, target)
        if problem.source != "expression":  # a file's own target or loss, changed for this run
            problem = retarget(problem, getattr(args, "y", None), getattr(args, "loss", None))
        if getattr(args, "lr", None) is not None and problem.source != "expression":
            if args.lr != problem.lr:
                problem.reference = {}  # a reference text's numbers are for the problem's own learning rate
            problem.lr = args.lr
        return explain_problem(problem, steps=getattr(args, "steps", None), precision=args.precision,
                               detail=getattr(args, "detail", "auto"), optimizer=getattr(args, "optimizer", None),
                               derive=getattr(args, "derive", None),
                               exact=getattr(args, "exact", False))
    except (ProblemError, FormulaSyntaxError, ExplainTooLarge) as error:
        raise CommandError(str(error)) from None
    except OSError as error:  # from looking the argument up as a file: a name too long, a folder not searchable
        shown = target if len(target) <= 60 else target[:59] + "…"
        raise CommandError(f"{shown}: {error.strerror or error}") from None


def _refuse_expression_flags(args, problem, target: str) -> None:
    """--set and --params build an expression problem; a built-in or a file has its own values (--target and
    --loss may change one sample's target and loss, see ``retarget``)."""
    if problem.source == "expression":
        return
    given = [flag for flag, dest in (("--set", "assignments"), ("--params", "params"))
             if getattr(args, dest, None) not in (None, [])]
    if given:
        raise CommandError(f"{', '.join(given)} appl{'y' if len(given) > 1 else 'ies'} to an expression, not to "
                           f"{target!r}, which sets its own values (copy the problem file and edit it instead)")


def run_explain(args) -> int:
    explanation = _explanation(args, args.target)
    fmt = _format_for(args)
    content = render(explanation, fmt, color=args.output is None and use_color(args.color))
    if getattr(args, "plot", None):  # first: a picture that cannot be drawn stops before any output
        _write_plot(explanation, args.plot, args.plot_kind)
    write_output(content, args.output, binary=fmt == "png")
    return 0


def _write_plot(explanation: Explanation, path: str, kind: str) -> None:
    """``--plot PATH``: the pictures of the explained problem's dynamics (explain.plots)."""
    from .train_report import PLOT_HINT

    if Path(path).suffix.lower() not in (".svg", ".png", ".pdf"):
        raise CommandError(f"--plot {path}: the picture's file must end in .svg, .png or .pdf")
    try:
        from ..explain.plots import write_picture

        source = explanation.picture_source
        dynamics = source() if source is not None else None
        if dynamics is None:
            raise CommandError("--plot draws gradient descent: the problem needs a learning rate (--lr) and a "
                               "parameter to learn")
        write_picture(dynamics, path, kind)
    except ImportError:
        raise CommandError(f"--plot needs matplotlib, which is not installed: {PLOT_HINT}") from None
    except ValueError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"--plot {path}: cannot write the picture ({error.strerror or error})") from None


def run_examples(args) -> int:
    explainable, trainable = [], []
    for name in builtin_names():
        try:
            explainable.append((name, load_builtin(name).title))
        except ProblemError:
            trainable.append(name)  # a training file for `chainrule train`, not an explain problem
    print("For chainrule explain:")
    for name, title in explainable:
        print(f"  {name:<10} {title}")
    if trainable:
        print("For chainrule train:")
        for name in trainable:
            print(f"  {name}")
    print("\nTry: chainrule explain example1   (or --format markdown|json|html|svg)")
    return 0
