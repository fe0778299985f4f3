"""Elementwise primitives. Each formula is the local derivative ∂out/∂input.

Arithmetic uses the ``operator`` functions rather than the numpy ufuncs: on
arrays they call the same ufunc, but on the numpy scalars that hold 0-d values
a ufunc call costs about ten times more than the operator.
"""

from __future__ import annotations

import operator

import numpy as np

from ..rules import rule
from ._sampling import binary, separated_pair, unary, uniform


def sigmoid_array(x):
    """σ(x) = 1 / (1 + e^(−x)), computed as exp(−log(1 + e^(−x))) so that neither
    tail overflows or warns (|x| = 1000 is fine) and tiny values keep their
    relative precision (σ(−40) ≈ 4.2e−18, not 0)."""
    return np.exp(-np.logaddexp(0, -x))


def _pow_vjp(g, out, a, b):
    # PyTorch's conventions at the edges: where b = 0, a^b is the constant 1, so ∂/∂a is 0 (not 0·a⁻¹,
    # which is NaN at a = 0); ∂/∂b = a^b·ln a is taken as 0 at a = 0 when b ≥ 0 (and is −inf for b < 0,
    # NaN for a < 0, as ln a is).
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        grad_a = np.where(b == 0, 0.0, g * b * a ** (b - 1))
        grad_b = np.where((a == 0) & (b >= 0), 0.0, g * out * np.log(a))
    return _like(grad_a, g * a), _like(grad_b, g * b)


def _like(values, reference):
    """``values`` in the dtype of ``reference`` (np.where promotes float32 with a Python 0.0), as a scalar for 0-d."""
    return np.asarray(values, dtype=np.result_type(reference))[()]


def _pow_scalar_vjp(g, out, x, p):
    if p == 0:  # x⁰ is the constant 1: a zero gradient everywhere, x = 0 included (as PyTorch)
        return (_like(np.zeros_like(g * x), g * x),)
    return (g * p * x ** (p - 1),)


def _relu_grad(g, x):
    # A multiplication by the mask is several times faster than np.where on a
    # large array; it gives −0.0 where np.where gives 0.0, which compares equal.
    return g * (x > 0)


def _sample_pow(rng, shape):
    base = uniform(rng, shape, 0.5, 2.0)
    exponent = uniform(rng, shape if rng.random() < 0.5 else shape[-1:], -2.0, 2.0)
    return [base, exponent], {}


def _sample_pow_scalar(rng, shape):
    exponent = float(rng.choice([2.0, 3.0, 0.5, -1.0, 1.5]))
    return [uniform(rng, shape, 0.5, 2.0)], {"p": exponent}


def _sample_where(rng, shape):
    condition = rng.random(shape) < 0.5
    return [condition, uniform(rng, shape), uniform(rng, shape[-1:] if shape else shape)], {}


def _sample_clip(rng, shape):
    values = uniform(rng, shape, -2.0, 2.0)
    # Keep values away from the bounds, where the derivative jumps.
    values = np.where(np.abs(np.abs(values) - 1.0) < 0.05, values * 1.2, values)
    return [values], {"low": -1.0, "high": 1.0}


def _clip_forward(x, low=-np.inf, high=np.inf):
    return np.clip(x, low, high)


def _leaky_relu_forward(x, slope=0.01):
    return np.where(x > 0, x, x * slope)


def _max_vjp(g, out, a, b):
    # Ties share the gradient equally, as in PyTorch and HIPS autograd.
    return np.where(a > b, g, np.where(a == b, g * 0.5, 0)), np.where(b > a, g, np.where(a == b, g * 0.5, 0))


def _min_vjp(g, out, a, b):
    return np.where(a < b, g, np.where(a == b, g * 0.5, 0)), np.where(b < a, g, np.where(a == b, g * 0.5, 0))


rule("add", forward=operator.add, vjp=lambda g, out, a, b: (g, g), inputs=("a", "b"),
     formulas=("1", "1"), sample=binary(), elementwise=True, notation="a + b")
rule("sub", forward=operator.sub, vjp=lambda g, out, a, b: (g, -g), inputs=("a", "b"),
     formulas=("1", "-1"), sample=binary(), elementwise=True, notation="a - b")
rule("mul", forward=operator.mul, vjp=lambda g, out, a, b: (g * b, g * a), inputs=("a", "b"),
     formulas=("b", "a"), sample=binary(), elementwise=True, notation="a * b")
rule("div", forward=operator.truediv, vjp=lambda g, out, a, b: (g / b, -g * out / b), inputs=("a", "b"),
     formulas=("1/b", "-a/b^2"), sample=binary(second=(0.5, 2.0)), elementwise=True, notation="a / b")
rule("neg", forward=operator.neg, vjp=lambda g, out, x: (-g,), inputs=("x",),
     formulas=("-1",), sample=unary(), elementwise=True, notation="-x")
rule("pow", forward=operator.pow, vjp=_pow_vjp, inputs=("a", "b"),
     formulas=("b*a^(b - 1)", "a^b*log(a)"), sample=_sample_pow, elementwise=True, notation="a^b")
rule("pow_scalar", forward=lambda x, p: x**p, vjp=_pow_scalar_vjp, inputs=("x",),
     formulas=("p*x^(p - 1)",), sample=_sample_pow_scalar, elementwise=True, notation="x^p",
     doc="x raised to a constant exponent p")
rule("exp", forward=np.exp, vjp=lambda g, out, x: (g * out,), inputs=("x",),
     formulas=("exp(x)",), sample=unary(), elementwise=True, notation="exp(x)")
rule("log", forward=np.log, vjp=lambda g, out, x: (g / x,), inputs=("x",),
     formulas=("1/x",), sample=unary(0.2, 3.0), elementwise=True, notation="log(x)")
rule("sqrt", forward=np.sqrt, vjp=lambda g, out, x: (g / (2 * out),), inputs=("x",),
     formulas=("1/(2*sqrt(x))",), sample=unary(0.2, 3.0), elementwise=True, notation="sqrt(x)")
rule("abs", forward=np.abs, vjp=lambda g, out, x: (g * np.sign(x),), inputs=("x",),
     formulas=("sign(x)",), sample=unary(margin=0.05), elementwise=True, notation="abs(x)")
rule("sigmoid", forward=sigmoid_array, vjp=lambda g, out, x: (g * out * (1 - out),), inputs=("x",),
     formulas=("sigmoid(x)*(1 - sigmoid(x))",), sample=unary(-4.0, 4.0), elementwise=True,
     notation="sigmoid(x)")
rule("tanh", forward=np.tanh, vjp=lambda g, out, x: (g * (1 - out * out),), inputs=("x",),
     formulas=("1 - tanh(x)^2",), sample=unary(), elementwise=True, notation="tanh(x)")
rule("relu", forward=lambda x: np.maximum(x, 0), vjp=lambda g, out, x: (_relu_grad(g, x),),
     inputs=("x",), formulas=("step(x)",), sample=unary(margin=0.05), elementwise=True, notation="relu(x)")
rule("leaky_relu", forward=_leaky_relu_forward,
     vjp=lambda g, out, x, slope=0.01: (np.where(x > 0, g, g * slope),), inputs=("x",),
     formulas=("where(x > 0, 1, slope)",), sample=unary(margin=0.05, slope=0.1), elementwise=True,
     notation="leaky_relu(x)")
rule("softplus", forward=lambda x: np.logaddexp(0, x), vjp=lambda g, out, x: (g * sigmoid_array(x),),
     inputs=("x",), formulas=("sigmoid(x)",), sample=unary(-4.0, 4.0), elementwise=True,
     notation="softplus(x)")
rule("maximum", forward=np.maximum, vjp=_max_vjp, inputs=("a", "b"),
     formulas=("where(a > b, 1, where(a == b, 0.5, 0))", "where(b > a, 1, where(a == b, 0.5, 0))"),
     sample=separated_pair(), elementwise=True, notation="max(a, b)")
rule("minimum", forward=np.minimum, vjp=_min_vjp, inputs=("a", "b"),
     formulas=("where(a < b, 1, where(a == b, 0.5, 0))", "where(b < a, 1, where(a == b, 0.5, 0))"),
     sample=separated_pair(), elementwise=True, notation="min(a, b)")
rule("where", forward=np.where,
     vjp=lambda g, out, c, a, b: (None, np.where(c, g, 0), np.where(c, 0, g)), inputs=("c", "a", "b"),
     formulas=(None, "where(c, 1, 0)", "where(c, 0, 1)"), sample=_sample_where, elementwise=True,
     notation="where(c, a, b)")
rule("clip", forward=_clip_forward,
     vjp=lambda g, out, x, low=-np.inf, high=np.inf: (np.where((x >= low) & (x <= high), g, 0),),
     inputs=("x",), formulas=("inside(x, low, high)",), sample=_sample_clip, elementwise=True,
     notation="clip(x, low, high)")
rule("astype", forward=lambda x, dtype: x.astype(dtype), vjp=lambda g, out, x, dtype: (g.astype(x.dtype),),
     inputs=("x",), formulas=("1",), sample=unary(dtype="float64"), elementwise=True, notation="x",
     doc="a change of dtype; the gradient is cast back to the input's dtype")


def _remainder_vjp(g, out, a, b):
    # a mod b = a − b·⌊a/b⌋, and ⌊a/b⌋ is flat between its jumps.
    return g, -g * np.floor(a / b)


def _sample_remainder(rng, shape):
    # Keep a/b away from whole numbers, where the remainder jumps.
    b = uniform(rng, shape[-1:] if shape else shape, 0.5, 2.0) * rng.choice([-1.0, 1.0])
    ratio = rng.integers(-3, 4, size=shape) + rng.uniform(0.2, 0.8, size=shape)
    return [ratio * b, b], {}


rule("sin", forward=np.sin, vjp=lambda g, out, x: (g * np.cos(x),), inputs=("x",),
     formulas=("cos(x)",), sample=unary(-3.0, 3.0), elementwise=True, notation="sin(x)")
rule("cos", forward=np.cos, vjp=lambda g, out, x: (-g * np.sin(x),), inputs=("x",),
     formulas=("-sin(x)",), sample=unary(-3.0, 3.0), elementwise=True, notation="cos(x)")
rule("remainder", forward=np.remainder, vjp=_remainder_vjp, inputs=("a", "b"),
     formulas=("1", "-floor(a/b)"), sample=_sample_remainder, elementwise=True, notation="a - b*floor(a/b)",
     doc="Python's remainder, with the sign of b (PyTorch's % and torch.remainder)")
rule("clone", forward=lambda x: x.copy(), vjp=lambda g, out, x: (g,), inputs=("x",), formulas=("1",),
     sample=unary(), elementwise=True, notation="x", doc="a copy of the values that stays in the graph")
rule("log1p", forward=np.log1p, vjp=lambda g, out, x: (g / (1 + x),), inputs=("x",),
     formulas=("1/(1 + x)",), sample=unary(-0.8, 3.0), elementwise=True, notation="log(1 + x)",
     doc="ln(1 + x), exact for tiny x where log(1 + x) rounds 1 + x")
rule("expm1", forward=np.expm1, vjp=lambda g, out, x: (g * (out + 1),), inputs=("x",),
     formulas=("exp(x)",), sample=unary(), elementwise=True, notation="exp(x) - 1",
     doc="eˣ − 1, exact for tiny x")


def _zero_vjp(g, out, x):
    return (np.zeros_like(g * x),)


def _away_from_jumps(jumps_at_halves: bool):
    """Values at least 0.1 from the jumps (whole numbers, or halves for round), where the derivative is 0."""

    def sample(rng, shape):
        offset = 0.5 if jumps_at_halves else 0.0
        whole = rng.integers(-3, 3, size=shape) + offset
        return [whole + rng.uniform(0.1, 0.9, size=shape)], {}

    return sample


# Piecewise-constant functions: their derivative is 0 wherever it exists, and PyTorch gives 0 everywhere
# (the result still requires grad, so code that mixes them into a loss runs unchanged).
for _name, _forward, _sample in [
    ("sign", np.sign, unary(margin=0.1)),
    ("floor", np.floor, _away_from_jumps(False)),
    ("ceil", np.ceil, _away_from_jumps(False)),
    ("trunc", np.trunc, _away_from_jumps(False)),
    ("round", np.round, _away_from_jumps(True)),
]:
    rule(_name, forward=_forward, vjp=_zero_vjp, inputs=("x",), formulas=("0",), sample=_sample, elementwise=True,
         doc="piecewise constant: derivative 0")
