"""``POST /api/explain``: a JSON request becomes the problem the command line would explain, then its explanation.

The problem is a built-in example's name, an expression, or TOML text; it is
never a path (the server reads no file a client names). Values, the target and
the training settings are written into the problem's own table before the
problem is validated, so a wrong one gets the problem reader's own one-line
message; the options of ``explain_problem`` (``detail``, ``exact`` and any added
later) are passed through by name.
"""

from __future__ import annotations

import copy
import inspect
import re
import tomllib
from importlib import resources

import numpy as np

from ..explain import (
    DomainError,
    Explanation,
    ProblemError,
    builtin_names,
    explain_problem,
    expression_problem,
    load_builtin,
)
from ..explain.limits import ExplainTooLarge
from ..explain.problems import LOSSES, MODES, parse_problem
from ..formula import FormulaSyntaxError
from . import fields, limits
from .errors import RequestError

__all__ = ["explanation_for", "explain_fields", "FORMATS", "render"]

OPTIMIZERS = ("sgd", "momentum", "adam")
FORMATS = ("json", "markdown", "html", "text")
#: Fields this module reads itself; the options of ``explain_problem`` come on top (see ``_passed_through``).
_OWN_FIELDS = ("problem", "set", "target", "loss", "lr", "optimizer", "momentum", "steps", "mode", "batch_size",
               "precision", "params", "format")
#: A line that only TOML writes: a [table] header or a key = value.
_TOML_LINE = re.compile(r"^\s*(\[|[A-Za-z_][\w.-]*\s*=(?!=))", re.MULTILINE)


def _passed_through() -> tuple[str, ...]:
    """The keyword options of ``explain_problem`` beyond those read here: new ones work as soon as they exist."""
    parameters = inspect.signature(explain_problem).parameters.values()
    return tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in _OWN_FIELDS)


def explain_fields() -> tuple[str, ...]:
    """Every field ``POST /api/explain`` reads."""
    return _OWN_FIELDS + _passed_through()


def explanation_for(body: dict) -> Explanation:
    """The explanation a request asks for, or a ``RequestError`` with one line."""
    fields.refuse_unknown(body, explain_fields())
    text = fields.text(body, "problem", limits.MAX_PROBLEM_CHARS)
    if text is None or not text.strip():
        raise RequestError("problem: missing; give a built-in example (" + ", ".join(_explainable()) + "), an "
                           "expression such as \"sigmoid(w*x)\" or the text of a TOML problem")
    options = _explain_options(body)
    try:
        problem = _problem(text.strip(), body)
        _check_work(problem, options.get("steps"))
        with np.errstate(all="ignore"):
            return explain_problem(problem, **options)
    except (ProblemError, FormulaSyntaxError, ExplainTooLarge, DomainError) as error:
        raise RequestError(_one_line(error)) from None
    except (ValueError, TypeError) as error:  # an option explain_problem refuses (e.g. detail = "bogus")
        raise RequestError(_one_line(error)) from None
    except RecursionError:
        raise RequestError("problem: nested too deeply to process") from None


def _check_work(problem, steps: int | None) -> None:
    """Refuse a problem whose explanation would take the server more than a few seconds (``MAX_EXPLAIN_WORK``)."""
    if problem.kind == "mlp":
        parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(problem.sizes[:-1], problem.sizes[1:]))
    elif problem.kind == "neuron":
        parameters = problem.weights.size + (problem.bias is not None)
    else:
        parameters = len(problem.parameters)
    steps = steps or problem.steps
    if problem.samples > limits.MAX_EXPLAIN_SAMPLES:
        raise RequestError(f"problem: the data set has {problem.samples:,} samples, more than the "
                           f"{limits.MAX_EXPLAIN_SAMPLES} the server narrates; explain fewer")
    if steps > limits.MAX_EXPLAIN_STEPS:
        raise RequestError(f"steps: at most {limits.MAX_EXPLAIN_STEPS} here, got {steps}")
    work = parameters * steps * max(problem.samples, 1)
    if work > limits.MAX_EXPLAIN_WORK:
        raise RequestError(f"problem: {parameters:,} parameters × {steps} step(s) × {max(problem.samples, 1):,} "
                           f"sample(s) is more than the {limits.MAX_EXPLAIN_WORK:,} the server explains; use fewer "
                           "(or chainrule explain on your own machine)")


def render(explanation: Explanation, fmt: str) -> tuple[str, str]:
    """The body and media type of an explanation in one of ``FORMATS``."""
    if fmt == "markdown":
        return explanation.to_markdown(), "text/markdown; charset=utf-8"
    if fmt == "html":
        return explanation.to_html(), "text/html; charset=utf-8"
    if fmt == "text":
        return explanation.to_text(), "text/plain; charset=utf-8"
    return explanation.to_json(), "application/json"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _explainable() -> list[str]:
    return [name for name in builtin_names() if name.startswith("example")]


def _explain_options(body: dict) -> dict:
    options = {
        "steps": fields.integer(body, "steps", 1, limits.MAX_EXPLAIN_STEPS),
        "precision": fields.integer(body, "precision", 0, 12),
        "optimizer": fields.choice(body, "optimizer", OPTIMIZERS),
    }
    for name in _passed_through():
        if name in body and body[name] is not None:
            value = body[name]
            if not isinstance(value, (str, bool, int, float)):
                raise RequestError(f"{name}: expected a string, number or true/false, got {type(value).__name__}")
            options[name] = value
    return {key: value for key, value in options.items() if value is not None}


def _problem(text: str, body: dict):
    if text in builtin_names():
        load_builtin(text)  # refuses a training problem (moons) with its own message
        source = resources.files("chainrule.examples").joinpath(f"{text}.toml").read_text(encoding="utf-8")
        return _table_problem(tomllib.loads(source), text, body)
    if _TOML_LINE.search(text):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise RequestError(f"problem: not valid TOML ({_one_line(error)})") from None
        return _table_problem(data, "problem", body)
    return _expression_problem(text, body)


# -- an expression ----------------------------------------------------------------------------------

def _expression_problem(expression: str, body: dict):
    for key in ("mode", "batch_size"):
        if body.get(key) is not None:
            raise RequestError(f"{key}: applies to a problem with a data set, not to one expression")
    values = _values(body)
    params = body.get("params")
    if params is not None and (not isinstance(params, list) or not all(isinstance(p, str) for p in params)):
        raise RequestError("params: expected a list of names")
    problem = expression_problem(
        expression, values, target=fields.number(body, "target"), loss=fields.choice(body, "loss", LOSSES),
        lr=fields.number(body, "lr", positive=True), params=params)
    momentum = _momentum(body)
    if momentum is not None:
        problem.momentum = momentum
    return problem


def _momentum(body: dict):
    momentum = fields.number(body, "momentum")
    if momentum is not None and not 0 <= momentum < 1:
        raise RequestError(f"momentum: must be in [0, 1), got {momentum}")
    return momentum


def _values(body: dict) -> dict[str, float]:
    given = body.get("set") or {}
    if not isinstance(given, dict):
        raise RequestError("set: expected an object of name: number")
    if len(given) > limits.MAX_SET_VALUES:
        raise RequestError(f"set: {len(given)} values, more than the {limits.MAX_SET_VALUES} the server takes")
    return {str(name): fields.number(given, name) for name in given}


# -- a problem table (a built-in example or TOML text) -------------------------------------------------

def _table_problem(data: dict, source: str, body: dict):
    if not isinstance(data.get("model", {}), dict) or not isinstance(data.get("data", {}), dict) \
            or not isinstance(data.get("training", {}), dict):
        return parse_problem(data, source)  # the reader names what is wrong
    original = copy.deepcopy(data)
    training = data.setdefault("training", {})
    for key in ("lr",):
        value = fields.number(body, key, positive=True)
        if value is not None:
            training[key] = value
    momentum = _momentum(body)
    if momentum is not None:
        training["momentum"] = momentum
    for key, options in (("loss", LOSSES), ("mode", MODES)):
        value = fields.choice(body, key, options)
        if value is not None:
            training[key] = value
    batch_size = fields.integer(body, "batch_size", 1, limits.MAX_SAMPLES)
    if batch_size is not None:
        training["batch_size"] = batch_size
    if body.get("params") is not None:
        raise RequestError("params: applies to an expression; a problem file names its own parameters")
    values = _values(body)
    target = fields.number(body, "target")
    if target is not None:
        values["y"] = target
    _assign(data, values, source)
    if any(data.get(key) != original.get(key) for key in ("model", "data", "training")):
        data.pop("reference", None)  # a reference text's numbers are for the problem as written
    return parse_problem(data, source)


def _assign(data: dict, values: dict[str, float], source: str) -> None:
    """Write ``set``'s values where the problem keeps them: a weight, the bias, an input, the target."""
    if not values:
        return
    slots = _slots(data)
    for name, value in values.items():
        if name not in slots:
            settable = ", ".join(slots) or "nothing (edit the problem's text instead)"
            raise RequestError(f"set: {source} has no single value named {name!r}; it can set {settable}")
        slots[name](value)


def _slots(data: dict) -> dict:
    """Each value that ``set`` may change, by the name the explanation gives it, with a function that sets it."""
    model, table = data.setdefault("model", {}), data.setdefault("data", {})
    kind = model.get("kind", "neuron")
    slots: dict = {}

    def element(container: dict, key: str, index: int):
        def put(value):
            values = np.ravel(np.asarray(container[key], dtype=float)).tolist()
            values[index] = value
            container[key] = values
        return put

    def entry(container: dict, key: str):
        return lambda value: container.__setitem__(key, value)

    try:
        if kind == "neuron" and "weights" in model:
            count = np.size(model["weights"])
            for i in range(count):
                slots["w" if count == 1 else f"w{i + 1}"] = element(model, "weights", i)
            if model.get("bias", 0.0) is not False:
                slots["b"] = entry(model, "bias")
            x = np.asarray(table.get("x", []), dtype=float)
            if x.size and (x.ndim <= 1 or x.shape[0] == 1):
                for i in range(x.size):
                    slots["x" if x.size == 1 else f"x{i + 1}"] = element(table, "x", i)
        elif kind == "expression":
            for name in model.get("parameters", {}) or {}:
                slots[name] = entry(model["parameters"], name)
            inputs = table.get("inputs", {})
            if isinstance(inputs, dict):
                for name in inputs:
                    slots[name] = entry(inputs, name)
        y = table.get("y")
        if kind != "mlp" and (y is None or np.size(y) == 1) and (kind != "neuron" or "x" in slots or "x1" in slots):
            slots["y"] = entry(table, "y")
    except (TypeError, ValueError):
        return {}  # a malformed table: the problem reader names what is wrong
    return slots
