"""Problems a user describes: a small TOML file, a built-in example, or an expression.

The TOML format (every key but ``[model]`` has a default)::

    title = "Example 1: one weight, one sigmoid neuron"

    [model]
    kind = "neuron"            # "neuron", "expression" or "mlp"
    activation = "sigmoid"     # sigmoid, tanh, relu, leaky_relu, softplus, identity
    weights = [0.5]            # one per input
    bias = false               # a number, or false for no bias

    # kind = "expression":  expression = "sigmoid(w*x)"  and  parameters = { w = 0.5 }
    # kind = "mlp":         sizes = [2, 3, 1], activation = "tanh", output = "sigmoid",
    #                       seed = 0  or  weights = [W1, W2…] and biases = [b1, b2…] (W of shape (out, in))
    #                       output = "softmax" classifies: p = softmax(z), with [training] loss = "cross_entropy"

    [data]
    x = [1.0]                  # one sample: its features (a number for one input)
    y = 0.0                    # its target
    # or a data set: x = [[1.0], [2.0], [3.0]]  and  y = [0, 1, 1]
    # expressions name their inputs:  inputs = { x = 1.0 }

    [training]
    loss = "mse"               # mse (the seed's (ŷ − y)²), bce, bce_with_logits, cross_entropy, l1, hinge, none
                               # cross_entropy: an mlp with output = "softmax", y = a class index (from 0)
    lr = 0.1                   # η; leave out to stop after the gradients
    optimizer = "sgd"          # sgd, momentum (momentum = 0.9) or adam, as in chainrule.optim
    steps = 1                  # gradient-descent steps (epochs, for a data set)
    mode = "batch"             # data sets: batch, stochastic, minibatch or compare
    batch_size = 2             # for minibatch (and compare)
    frozen = ["b1", "b2"]      # parameters that are never updated (Mazur's biases)
    derive = "all"             # with steps > 1: derive every step ("all"), the "first" or the "last"

    [display]
    precision = 3              # decimals, as the seed rounds
    detail = "neurons"         # an MLP neuron by neuron (net and out per neuron, one line per weight)
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from ..formula import FUNCTIONS, FormulaSyntaxError, Function, parse_program

__all__ = ["Problem", "ProblemError", "load_problem", "retarget", "parse_problem", "builtin_names", "load_builtin",
           "expression_problem", "LOSSES", "ACTIVATION_NAMES"]

LOSSES = ("mse", "bce", "bce_with_logits", "cross_entropy", "l1", "hinge", "none")
ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")
MODES = ("batch", "stochastic", "minibatch", "compare")
DERIVE = ("all", "first", "last")
DETAILS = ("auto", "elements", "summary", "neurons")
#: The functions an expression may call (each is a tensor operation, see ``build``).
EXPRESSION_FUNCTIONS: dict[str, Function] = {
    name: FUNCTIONS[name]
    for name in ("exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "softplus", "leaky_relu", "max", "min")
}
_KNOWN = {
    "": {"title", "description", "model", "data", "training", "display", "reference"},
    "model": {"kind", "activation", "weights", "bias", "expression", "parameters", "sizes", "output", "seed",
              "biases"},
    "data": {"x", "y", "inputs"},
    "training": {"loss", "lr", "steps", "mode", "batch_size", "optimizer", "momentum", "frozen", "derive"},
    "display": {"precision", "detail"},
    "reference": {"source", "values"},
}
_NAME = re.compile(r"[^\W\d]\w*$")


class ProblemError(ValueError):
    """A problem description is wrong; the message names the source, the key and what is wrong."""


@dataclass
class Problem:
    """A validated problem, ready to build graphs from."""

    title: str
    kind: str  # neuron, expression, mlp
    activation: str = "sigmoid"
    weights: np.ndarray | None = None
    bias: float | None = None
    expression: str | None = None
    parameters: dict[str, float] = field(default_factory=dict)
    sizes: list[int] | None = None
    output: str | None = None
    seed: int | None = None
    layer_weights: list[np.ndarray] | None = None
    layer_biases: list[np.ndarray] | None = None
    x: np.ndarray | None = None  # (samples, features)
    y: np.ndarray | None = None  # (samples,) or (samples, outputs)
    inputs: list[dict[str, float]] | None = None  # expression inputs, one dict per sample
    loss: str = "mse"
    lr: float | None = None
    steps: int = 1
    mode: str = "batch"
    batch_size: int | None = None
    optimizer: str = "sgd"
    momentum: float = 0.9
    precision: int = 3
    description: str | None = None
    source: str = "<problem>"
    #: Numbers a text (a textbook, the seed document) writes for this problem, by answer name
    #: ("new ŷ", "sample 2: ∂L2/∂w"): the explanation says where its own numbers differ, and why.
    reference: dict[str, str] = field(default_factory=dict)
    reference_source: str = "the reference"
    #: Parameters that are given but never updated (``requires_grad=False``), by name.
    frozen: tuple[str, ...] = ()
    #: Which of several steps are derived line by line: "all", "first" or "last" (None: by the step count).
    derive: str | None = None
    #: How the explanation shows the model: None (by size), "elements", "summary" or "neurons".
    detail: str | None = None

    @property
    def samples(self) -> int:
        if self.inputs is not None:
            return len(self.inputs)
        return 0 if self.x is None else len(self.x)

    @property
    def is_dataset(self) -> bool:
        return self.samples > 1


class _Reader:
    """Typed access to a TOML table, with errors that say where."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, message: str):
        raise ProblemError(f"{self.source}: {key}: {message}")

    def table(self, data: Mapping, key: str) -> Mapping:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            self.fail(f"[{key}]", f"expected a table, got {type(value).__name__}")
        unknown = set(value) - _KNOWN[key]
        if unknown:
            self.fail(f"[{key}] {sorted(unknown)[0]}", f"unknown key (known: {', '.join(sorted(_KNOWN[key]))})")
        return value

    def number(self, data: Mapping, key: str, where: str, default=None, *, positive=False):
        if key not in data:
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            self.fail(f"{where} {key}", f"expected a finite number, got {value!r}")
        if positive and value <= 0:
            self.fail(f"{where} {key}", f"must be positive, got {value!r}")
        return float(value)

    def integer(self, data: Mapping, key: str, where: str, default=None, *, low=1, high=10_000):
        if key not in data:
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(f"{where} {key}", f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    def choice(self, data: Mapping, key: str, where: str, options, default):
        value = data.get(key, default)
        if not isinstance(value, str) or value not in options:
            self.fail(f"{where} {key}", f"expected one of {', '.join(options)}, got {value!r}")
        return value

    def string(self, data: Mapping, key: str, where: str, default=None):
        value = data.get(key, default)
        if value is not None and not isinstance(value, str):
            self.fail(f"{where} {key}", f"expected a string, got {value!r}")
        return value

    def array(self, value, key: str, ndim: tuple[int, ...]):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            self.fail(key, "expected numbers in nested lists of equal length")
        if array.ndim not in ndim:
            self.fail(key, f"expected {' or '.join(f'{n}-D' for n in ndim)} numbers, got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            self.fail(key, "all numbers must be finite")
        return array

    def names(self, data, key: str, where: str) -> dict[str, float]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            self.fail(f"{where} {key}", "expected a table of name = number")
        out = {}
        for name in value:
            if not _NAME.match(name) or name in FUNCTIONS:
                self.fail(f"{where} {key}.{name}", "not a usable variable name")
            out[name] = self.number(value, name, f"{where} {key}")
        return out


def parse_problem(data: Mapping, source: str = "<problem>") -> Problem:
    """Validate a problem given as a dict (the parsed TOML)."""
    read = _Reader(source)
    unknown = set(data) - _KNOWN[""]
    if unknown:
        read.fail(sorted(unknown)[0], f"unknown key (known: {', '.join(sorted(_KNOWN['']))})")
    if "model" not in data:
        read.fail("[model]", "missing; every problem needs a model (kind = \"neuron\", \"expression\" or \"mlp\")")
    model, data_table = read.table(data, "model"), read.table(data, "data")
    training, display = read.table(data, "training"), read.table(data, "display")
    problem = Problem(
        title=read.string(data, "title", "", "chainrule problem"),
        description=read.string(data, "description", ""),
        kind=read.choice(model, "kind", "[model]", ("neuron", "expression", "mlp"), "neuron"),
        loss=read.choice(training, "loss", "[training]", LOSSES, "mse"),
        lr=read.number(training, "lr", "[training]", positive=True),
        steps=read.integer(training, "steps", "[training]", 1, high=1000),
        mode=read.choice(training, "mode", "[training]", MODES, "batch"),
        batch_size=read.integer(training, "batch_size", "[training]"),
        optimizer=read.choice(training, "optimizer", "[training]", ("sgd", "momentum", "adam"), "sgd"),
        momentum=read.number(training, "momentum", "[training]", 0.9),
        precision=read.integer(display, "precision", "[display]", 3, low=0, high=12),
        derive=None if "derive" not in training else read.choice(training, "derive", "[training]", DERIVE, None),
        detail=None if "detail" not in display else read.choice(display, "detail", "[display]", DETAILS, None),
        source=source,
    )
    if problem.kind == "neuron":
        _read_neuron(read, model, problem)
    elif problem.kind == "expression":
        _read_expression(read, model, problem)
    else:
        _read_mlp(read, model, problem)
    _read_data(read, data_table, problem)
    _read_reference(read, read.table(data, "reference"), problem)
    problem.frozen = _read_frozen(read, training, problem)
    if problem.mode == "minibatch" and problem.batch_size is None:
        read.fail("[training] batch_size", "minibatch mode needs a batch size")
    if problem.batch_size is not None and problem.samples and problem.batch_size > problem.samples:
        read.fail("[training] batch_size", f"is {problem.batch_size} but there are only {problem.samples} samples")
    if problem.steps > 1 and problem.lr is None:
        read.fail("[training] steps", "more than one step needs a learning rate (lr)")
    if not 0 <= problem.momentum < 1:
        read.fail("[training] momentum", f"must be in [0, 1), got {problem.momentum}")
    return problem


def _read_frozen(read: _Reader, training, problem: Problem) -> tuple[str, ...]:
    frozen = training.get("frozen", [])
    if not isinstance(frozen, list) or not all(isinstance(name, str) for name in frozen):
        read.fail("[training] frozen", f"expected a list of parameter names, got {frozen!r}")
    if problem.kind == "mlp":
        known = [f"{kind}{layer}" for layer in range(1, len(problem.sizes)) for kind in ("W", "b")]
    elif problem.kind == "neuron":
        known = (["w"] if problem.weights.size == 1 else [f"w{i + 1}" for i in range(problem.weights.size)]) \
            + ([] if problem.bias is None else ["b"])
    else:
        known = list(problem.parameters)
    for name in frozen:
        if name not in known:
            read.fail("[training] frozen", f"{name!r} is not a parameter of this model ({', '.join(known)})")
    if frozen and set(frozen) >= set(known):
        read.fail("[training] frozen", "freezes every parameter, so there is nothing to learn")
    return tuple(frozen)


def _read_reference(read: _Reader, table, problem: Problem) -> None:
    problem.reference_source = read.string(table, "source", "[reference]", "the reference")
    values = table.get("values", {})
    if not isinstance(values, Mapping):
        read.fail("[reference] values", "expected a table of step names and numbers")
    texts = {}
    for name, value in values.items():
        # Kept as the text of the number: how many decimals the reference wrote is part of what it says,
        # so "0.2350" may be given as a string.
        text = value if isinstance(value, str) else repr(value)
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        if isinstance(value, bool) or not np.isfinite(number):
            read.fail(f"[reference] values {name!r}", f"expected a finite number, got {value!r}")
        texts[str(name)] = text
    problem.reference = texts


def _read_neuron(read: _Reader, model, problem: Problem) -> None:
    problem.activation = read.choice(model, "activation", "[model]", ACTIVATION_NAMES, "sigmoid")
    if "weights" not in model:
        read.fail("[model] weights", "a neuron needs its initial weights, one per input")
    problem.weights = read.array(model["weights"], "[model] weights", (0, 1)).reshape(-1)
    if problem.weights.size == 0:
        read.fail("[model] weights", "needs at least one weight")
    bias = model.get("bias", 0.0)
    if bias is False:
        problem.bias = None
    elif bias is True:
        problem.bias = 0.0
    else:
        problem.bias = read.number(model, "bias", "[model]")


def _read_expression(read: _Reader, model, problem: Problem) -> None:
    expression = read.string(model, "expression", "[model]")
    if not expression:
        read.fail("[model] expression", "missing; write the model, e.g. \"sigmoid(w*x)\"")
    try:
        parsed = parse_program(expression, EXPRESSION_FUNCTIONS)
    except FormulaSyntaxError as error:
        read.fail("[model] expression", str(error))
    problem.expression = expression
    problem.parameters = read.names(model, "parameters", "[model]")
    if not problem.parameters:
        read.fail("[model] parameters", "name at least one parameter to learn, e.g. parameters = { w = 0.5 }")
    unused = set(problem.parameters) - parsed.names()
    if unused:
        read.fail(f"[model] parameters.{sorted(unused)[0]}", "is not used in the expression")


def _read_mlp(read: _Reader, model, problem: Problem) -> None:
    sizes = model.get("sizes")
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(
        isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 256 for s in sizes
    ):
        read.fail("[model] sizes", f"expected a list of at least two layer sizes from 1 to 256, got {sizes!r}")
    problem.sizes = sizes
    problem.activation = read.choice(model, "activation", "[model]", ACTIVATION_NAMES, "tanh")
    problem.output = read.choice(model, "output", "[model]", ACTIVATION_NAMES + ("softmax",), "identity")
    if (problem.output == "softmax") != (problem.loss == "cross_entropy"):
        read.fail("[model] output" if problem.output == "softmax" else "[training] loss",
                  "a softmax output and the cross-entropy loss go together: output = \"softmax\" with "
                  "loss = \"cross_entropy\" (and y a class index)")
    if problem.output == "softmax" and sizes[-1] < 2:
        read.fail("[model] sizes", "a softmax classifier needs at least two classes in its last layer")
    problem.seed = read.integer(model, "seed", "[model]", 0, low=0, high=2**31 - 1)
    if "weights" in model or "biases" in model:
        weights, biases = model.get("weights"), model.get("biases")
        if not isinstance(weights, list) or not isinstance(biases, list) or len(weights) != len(sizes) - 1 \
                or len(biases) != len(sizes) - 1:
            read.fail("[model] weights", f"give weights and biases for each of the {len(sizes) - 1} layers")
        problem.layer_weights, problem.layer_biases = [], []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            w = read.array(weights[i], f"[model] weights[{i}]", (2,))
            b = read.array(biases[i], f"[model] biases[{i}]", (1,))
            if w.shape != (n_out, n_in) or b.shape != (n_out,):
                read.fail(f"[model] weights[{i}]", f"layer {i + 1} needs weights of shape ({n_out}, {n_in}) and "
                                                   f"{n_out} biases, got {w.shape} and {b.shape}")
            problem.layer_weights.append(w)
            problem.layer_biases.append(b)


def _read_data(read: _Reader, data, problem: Problem) -> None:
    if problem.kind == "expression":
        inputs = data.get("inputs", {})
        if isinstance(inputs, Mapping):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(i, Mapping) for i in inputs):
            read.fail("[data] inputs", "expected a table of name = number, or a list of such tables")
        problem.inputs = [read.names({"inputs": i}, "inputs", "[data]") for i in inputs] or [{}]
        names = parse_program(problem.expression, EXPRESSION_FUNCTIONS).names()
        for index, sample in enumerate(problem.inputs):
            missing = names - set(sample) - set(problem.parameters)
            if missing:
                read.fail(f"[data] inputs[{index}]", f"no value for {', '.join(sorted(missing))}")
        if "y" in data:
            problem.y = read.array(data["y"], "[data] y", (0, 1)).reshape(-1)
            if len(problem.y) != len(problem.inputs):
                read.fail("[data] y", f"has {len(problem.y)} targets for {len(problem.inputs)} samples")
        elif problem.loss != "none":
            problem.loss = "none"  # no target: the expression itself is what is minimised
        return
    if "x" not in data:
        read.fail("[data] x", "missing; give the input features")
    x = read.array(data["x"], "[data] x", (0, 1, 2))
    features = problem.weights.size if problem.kind == "neuron" else problem.sizes[0]
    if x.ndim == 0 or (x.ndim == 1 and features == x.size):
        x = x.reshape(1, -1)
    elif x.ndim == 1 and features == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2 or x.shape[1] != features:
        read.fail("[data] x", f"the model takes {features} input(s) per sample, got shape {np.shape(data['x'])}")
    problem.x = x
    if "y" not in data:
        if problem.loss != "none":
            read.fail("[data] y", "missing; give the target (or set [training] loss = \"none\")")
        return
    y = read.array(data["y"], "[data] y", (0, 1, 2))
    if problem.loss == "cross_entropy":  # one class index per sample
        if y.size != len(x):
            read.fail("[data] y", f"expected {len(x)} class index(es), one per sample, got shape {np.shape(data['y'])}")
        problem.y = check_class_targets(y, problem.sizes[-1], problem.source, ProblemError)
        return
    outputs = 1 if problem.kind == "neuron" else problem.sizes[-1]
    y = y.reshape(len(x), outputs) if y.size == len(x) * outputs else y
    if y.shape != (len(x), outputs):
        read.fail("[data] y", f"expected {len(x)} target(s) of size {outputs}, got shape {np.shape(data['y'])}")
    problem.y = y


def check_class_targets(y: np.ndarray, classes: int, source: str, error=ProblemError,
                        key: str = "[data] y") -> np.ndarray:
    """Class indices 0…classes−1, one per sample (as PyTorch numbers them)."""
    labels = np.asarray(y, dtype=float).reshape(-1)
    bad = [v for v in labels if v != int(v) or not 0 <= v < classes]
    if bad:
        raise error(f"{source}: {key}: cross-entropy needs class indices 0 to {classes - 1} (classes are "
                    f"numbered from 0, as in PyTorch), got {bad[0]:g}")
    return labels


def retarget(problem: Problem, target: float | None, loss: str | None) -> Problem:
    """The problem with another target (``--target``) or loss (``--loss``): one sample only, checked as a
    problem file's would be (a class index for cross-entropy). A reference text's numbers no longer apply."""
    import dataclasses

    if target is None and loss is None:
        return problem
    where = problem.source
    if problem.is_dataset or problem.kind == "expression" and len(problem.inputs or ()) > 1:
        raise ProblemError(f"{where}: --target and --loss apply to one sample; {where} is a data set "
                           "(copy the problem file and edit its [data] y instead)")
    loss = loss or problem.loss
    if (loss == "cross_entropy") != (problem.output == "softmax"):
        raise ProblemError(f"{where}: --loss {loss}: a softmax output and the cross-entropy loss go together "
                           f"(this model's output is {problem.output or problem.activation})")
    y = problem.y
    if target is not None:
        if loss == "cross_entropy":
            y = check_class_targets(np.array([target]), problem.sizes[-1], where, key="--target")
        elif problem.kind == "expression":
            y = np.array([float(target)])
        else:
            outputs = 1 if problem.kind == "neuron" else problem.sizes[-1]
            y = np.full((1, outputs), float(target))
    if y is None and loss != "none":
        raise ProblemError(f"{where}: --loss {loss} needs a target (--target)")
    # A description written for the file's own loss ("with the squared error") would now mislead.
    description = problem.description if loss == problem.loss else ""
    return dataclasses.replace(problem, y=y, loss=loss, reference={}, description=description)


def load_problem(path) -> Problem:
    """Read and validate a TOML problem file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (some editors write one) is not TOML
    except FileNotFoundError:
        raise ProblemError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProblemError(f"{path}: cannot read it ({error})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProblemError(f"{path}: not valid TOML ({error})") from None
    return parse_problem(data, str(path))


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("chainrule.examples").iterdir() if p.name.endswith(".toml"))


def load_builtin(name: str) -> Problem:
    if name not in builtin_names():
        raise ProblemError(f"no built-in example {name!r}; built-ins: {', '.join(builtin_names())}")
    text = resources.files("chainrule.examples").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    if "toy" in data.get("data", {}):  # a generated data set for `chainrule train`, not a derivation
        raise ProblemError(f"{name} is a training problem: run `chainrule train {name}`; `chainrule explain` "
                           f"takes {', '.join(n for n in builtin_names() if n.startswith('example'))}, a problem "
                           "file or an expression")
    return parse_problem(data, name)


def expression_problem(expression: str, values: Mapping[str, float], *, target: float | None = None,
                       loss: str | None = None, lr: float | None = None, params: list[str] | None = None,
                       precision: int = 3, steps: int = 1, optimizer: str = "sgd") -> Problem:
    """A problem from the command line's expression mode.

    Parameters are the names in ``params``, or else every name that starts
    with w, b or θ (weights and biases); the other names are inputs.
    """
    try:
        parsed = parse_program(expression, EXPRESSION_FUNCTIONS)
    except FormulaSyntaxError as error:
        raise ProblemError(f"expression: {error}") from None
    if loss == "cross_entropy":
        raise ProblemError("expression: --loss cross_entropy needs a softmax over several classes, which an "
                           "expression (one number) has not: write a problem file with kind = \"mlp\", "
                           "output = \"softmax\" (see `chainrule explain softmax`)")
    names = parsed.names()
    missing = names - set(values)
    if missing:
        raise ProblemError(f"expression: no value for {', '.join(sorted(missing))} (use --set name=value)")
    extra = set(values) - names
    if extra:
        raise ProblemError(f"expression: --set {sorted(extra)[0]} is not used in {expression!r}")
    if params is None:
        params = [n for n in sorted(names) if re.match(r"(w|b|θ|theta)\d*$", n) or n.startswith(("w_", "b_"))]
    for name in params:
        if name not in names:
            raise ProblemError(f"expression: --params {name} is not a name in {expression!r}")
    if not params:
        raise ProblemError("expression: no parameter to learn; name them with --params (e.g. --params w)")
    data: dict = {
        "title": f"Explaining {expression}",
        "model": {"kind": "expression", "expression": expression,
                  "parameters": {n: values[n] for n in params}},
        "data": {"inputs": {n: v for n, v in values.items() if n not in params}},
        "training": {"loss": loss or ("mse" if target is not None else "none"), "steps": steps,
                     "optimizer": optimizer},
        "display": {"precision": precision},
    }
    if target is not None:
        data["data"]["y"] = target
    if lr is not None:
        data["training"]["lr"] = lr
    return parse_problem(data, "expression")
