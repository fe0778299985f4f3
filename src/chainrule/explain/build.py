"""Turn a ``Problem`` into recorded graphs: one loss per sample (or per batch) with readable names."""

from __future__ import annotations

import operator
from collections.abc import Mapping

import numpy as np

from .. import functional as F
from ..formula import Bin, Call, Expr, FormulaSyntaxError, Neg, Num, Program, Var, fold, parse_program
from ..rules import RULES
from ..tensor import Tensor, _apply, tensor
from .classification import softmax_loss
from .problems import EXPRESSION_FUNCTIONS, Problem, ProblemError

__all__ = ["initial_parameters", "build_loss", "parameter_names"]

_ACTIVATIONS = {
    "sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu, "leaky_relu": F.leaky_relu, "softplus": F.softplus,
    "identity": lambda z: z,
}

#: The tensor operation behind each function an expression may call.
_TENSOR_FUNCTIONS = {
    "exp": F.exp, "log": F.log, "sqrt": F.sqrt, "abs": F.abs, "sigmoid": F.sigmoid, "tanh": F.tanh,
    "relu": F.relu, "softplus": F.softplus, "leaky_relu": F.leaky_relu, "max": F.maximum, "min": F.minimum,
}
assert set(_TENSOR_FUNCTIONS) == set(EXPRESSION_FUNCTIONS)


def parameter_names(problem: Problem) -> list[str]:
    if problem.kind == "expression":
        return list(problem.parameters)
    if problem.kind == "neuron":
        n = problem.weights.size
        names = ["w"] if n == 1 else [f"w{i + 1}" for i in range(n)]
        return names + ([] if problem.bias is None else ["b"])
    names = []
    for layer in range(len(problem.sizes) - 1):
        names += [f"W{layer + 1}", f"b{layer + 1}"]
    return names


def initial_parameters(problem: Problem) -> dict[str, np.ndarray]:
    """The starting values of every parameter, by name."""
    if problem.kind == "expression":
        return {name: np.float64(value) for name, value in problem.parameters.items()}
    if problem.kind == "neuron":
        names = parameter_names(problem)
        values = {name: np.float64(w) for name, w in zip(names, problem.weights)}
        if problem.bias is not None:
            values["b"] = np.float64(problem.bias)
        return values
    values = {}
    rng = np.random.default_rng(problem.seed)
    for layer, (n_in, n_out) in enumerate(zip(problem.sizes[:-1], problem.sizes[1:])):
        if problem.layer_weights is not None:
            weight, bias = problem.layer_weights[layer], problem.layer_biases[layer]
        else:
            bound = 1 / np.sqrt(n_in)  # PyTorch's Linear initialisation
            weight, bias = rng.uniform(-bound, bound, (n_out, n_in)), rng.uniform(-bound, bound, n_out)
            # Written down to four decimals, so a learner can read (and use) the starting weights as given.
            weight, bias = np.round(weight, 4), np.round(bias, 4)
        values[f"W{layer + 1}"], values[f"b{layer + 1}"] = np.array(weight, float), np.array(bias, float)
    return values


def _loss(problem: Problem, prediction: Tensor, target: Tensor | None) -> Tensor:
    """The per-sample loss of the seed and its relatives, written so the explainer can show it."""
    kind = problem.loss
    if kind == "none" or target is None:
        # No target: the output is a function f whose gradient is explained (and, with a learning
        # rate, minimised); over a batch, its mean.
        output = prediction if prediction.numel() == 1 else prediction.mean()
        if output.name is None or output.numel() == 1:
            output.name = "f"
        return output
    if prediction.ndim > 0:  # a batch: per-sample losses, then their mean
        per_sample = {
            "mse": lambda: _apply(RULES["squared_error"], (prediction, target)),
            "l1": lambda: (prediction - target).abs(),
            "bce": lambda: _apply(RULES["binary_cross_entropy"], (prediction, target)),
            "bce_with_logits": lambda: _apply(RULES["bce_with_logits"], (prediction, target)),
            "hinge": lambda: (1 - (2 * target - 1) * prediction).relu(),
        }[kind]()
        return per_sample.mean()
    if kind == "mse":
        return (prediction - target) ** 2
    if kind == "l1":
        return (prediction - target).abs()
    if kind == "bce":
        return _apply(RULES["binary_cross_entropy"], (prediction, target))
    if kind == "bce_with_logits":
        return _apply(RULES["bce_with_logits"], (prediction, target))
    if kind == "hinge":
        label = float(target.data)
        if label not in (0.0, 1.0, -1.0):
            raise ProblemError(f"{problem.source}: the hinge loss needs a class label, 0 or 1 (or −1 or 1), "
                               f"got y = {label:g}")
        # The hinge loss is written with labels ±1: y = 0 is the class −1.
        signed = tensor(2 * label - 1 if label == 0.0 else label, dtype=np.float64, name="y")
        return (1 - signed * prediction).relu()
    raise ProblemError(f"{problem.source}: [training] loss: unknown loss {kind!r}")


_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "^": operator.pow}


def _evaluate_expression(expr: Expr, tensors: Mapping[str, Tensor]) -> Tensor:
    """Record ``expr`` on tensors, operands first (a fold, so a 1,000-term sum does not recurse)."""
    return fold(expr, lambda node, operands: _record(node, operands, tensors))


def _record(expr: Expr, operands: list, tensors: Mapping[str, Tensor]):
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Var):
        return tensors[expr.name]
    if isinstance(expr, Neg):
        return -_as_tensor(operands[0])
    if isinstance(expr, Bin):
        if expr.op in (">", "<", ">=", "<=", "=="):
            raise ProblemError(f"expression: comparisons ({expr.op}) have no derivative and cannot be explained")
        if expr.op == "@":
            raise ProblemError("expression: '@' needs matrices; expressions work on numbers")
        left, right = operands
        if not isinstance(left, Tensor) and not isinstance(right, Tensor):
            return float(Bin(expr.op, Num(left), Num(right)).evaluate({}))
        return _OPERATORS[expr.op](left, right)  # a Python number on either side is fine
    if isinstance(expr, Call):
        return _TENSOR_FUNCTIONS[expr.fn](*[_as_tensor(a) for a in operands])
    raise ProblemError(f"expression: cannot evaluate {expr!r}")


def _as_tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else tensor(float(value), dtype=np.float64)


def parse_expression(source: str) -> Program:
    try:
        return parse_program(source, EXPRESSION_FUNCTIONS)
    except FormulaSyntaxError as error:
        raise ProblemError(f"expression: {error}") from None


def _evaluate_program(program: Program, tensors: dict[str, Tensor]):
    """Each binding computed once and named (so the derivation shows it as a node of its own), then the output."""
    for name, expr in program.bindings:
        value = _evaluate_expression(expr, tensors)
        if isinstance(value, Tensor) and value._ctx is not None and value.name is None:
            value.name = name
        tensors[name] = value  # a plain number, or an alias of a leaf, is used as it is
    return _evaluate_expression(program.output, tensors)


def build_loss(problem: Problem, parameters: Mapping[str, np.ndarray], samples) -> tuple[Tensor, dict[str, Tensor]]:
    """Record the loss on ``samples`` (a list of indices) at the given parameter values.

    A single sample of a neuron or an expression gives a graph of scalars with
    the seed's names (w, x, z, ŷ, y, L); several samples or an MLP give a
    layer-level graph. Returns the loss and the parameter tensors by name.
    """
    # Float64 throughout, whatever the default dtype: explanations are exact. A frozen parameter is given,
    # not learned (requires_grad=False): the derivation shows it as an input.
    leaves = {name: tensor(np.asarray(value, dtype=np.float64), requires_grad=name not in problem.frozen, name=name)
              for name, value in parameters.items()}
    samples = list(samples)
    if problem.kind == "neuron":
        x = problem.x[samples]
        if len(samples) == 1:
            names = parameter_names(problem)
            inputs = ["x"] if x.shape[1] == 1 else [f"x{i + 1}" for i in range(x.shape[1])]
            z = None
            for w_name, x_name, value in zip(names, inputs, x[0]):
                term = leaves[w_name] * tensor(value, dtype=np.float64, name=x_name)
                z = term if z is None else z + term
            if problem.bias is not None:
                z = z + leaves["b"]
            prediction = _ACTIVATIONS[problem.activation](z)
            if problem.y is not None and problem.loss != "none":
                # A step of its own, even when the activation is the identity; a logit loss takes z.
                prediction.name = "z" if problem.loss == "bce_with_logits" else "ŷ"
            target = None if problem.y is None else tensor(problem.y[samples[0], 0], dtype=np.float64, name="y")
        else:
            weights = F.stack([leaves[n] for n in parameter_names(problem) if n != "b"])
            weights.name = "w"
            z = tensor(x, dtype=np.float64, name="x") @ weights
            if problem.bias is not None:
                z = z + leaves["b"]
            prediction = _ACTIVATIONS[problem.activation](z)
            target = None if problem.y is None else tensor(problem.y[samples, 0], dtype=np.float64, name="y")
        return _loss(problem, prediction, target), leaves
    if problem.kind == "expression":
        if len(samples) != 1:
            raise ProblemError("expression: a layer-level graph needs a neuron or an MLP model")
        values = problem.inputs[samples[0]]
        tensors = dict(leaves)
        tensors.update({name: tensor(value, dtype=np.float64, name=name) for name, value in values.items()})
        prediction = _as_tensor(_evaluate_program(parse_expression(problem.expression), tensors))
        if not prediction.requires_grad:
            raise ProblemError("expression: the result does not depend on any parameter")
        has_loss = problem.y is not None and problem.loss != "none"
        if prediction._ctx is None and not has_loss:
            raise ProblemError(f"expression: {problem.expression!r} is the parameter itself, so there is no step "
                               "to differentiate through (∂w/∂w = 1); write an operation, such as w*x or w^2")
        if has_loss and prediction.name is None:
            # The model's output is a step of its own (ŷ; z for a logit loss), not folded into the loss.
            prediction.name = "z" if problem.loss == "bce_with_logits" else "ŷ"
        target = None if problem.y is None else tensor(problem.y[samples[0]], dtype=np.float64, name="y")
        return _loss(problem, prediction, target), leaves
    # MLP: a layer-level graph over the whole batch.
    h = tensor(problem.x[samples], dtype=np.float64, name="x")
    layers = len(problem.sizes) - 1
    for layer in range(1, layers + 1):
        h = F.linear(h, leaves[f"W{layer}"], leaves[f"b{layer}"])
        if layer == layers and problem.output == "softmax":  # a classifier: logits z, p = softmax(z), −ln p[y]
            return softmax_loss(h, None if problem.y is None else problem.y[samples]), leaves
        activation = problem.activation if layer < layers else problem.output
        h = _ACTIVATIONS[activation](h)
        if layer < layers:
            h.name = f"h{layer}"
    target = None if problem.y is None else tensor(problem.y[samples], dtype=np.float64, name="y")
    return _loss(problem, h, target), leaves
