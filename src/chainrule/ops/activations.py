"""Smooth activations of modern networks: GELU (exact and tanh forms), SiLU and ELU.

Each is one elementwise primitive rather than a chain of exp/mul/where: ELU's
chain would take e^x of large positive x (inf) and multiply it by a zero
gradient (NaN), and one call is cheaper than five. Their formulas are the
local derivatives, checked against the VJPs by the test-suite.
"""

from __future__ import annotations

import math

import numpy as np

from ..formula import FUNCTIONS, Function
from ..rules import rule
from ._sampling import unary
from .elementwise import sigmoid_array

_erf_elementwise = np.frompyfunc(math.erf, 1, 1)
_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def erf(x):
    """The error function, elementwise, in the dtype of ``x`` (numpy has none; math.erf is exact)."""
    dtype = np.result_type(x, np.float32)
    return np.asarray(_erf_elementwise(x), dtype=dtype)[()]


# The formulas below name erf, so the formula language must know it (rendered erf(x), evaluated exactly).
FUNCTIONS.setdefault("erf", Function("erf", 1, erf, "erf({0})", r"\operatorname{{erf}}\left({0}\right)"))


def _gelu(x):
    return 0.5 * x * (1 + erf(x / _SQRT_2))


def _gelu_vjp(g, out, x):
    # d/dx x·Φ(x) = Φ(x) + x·φ(x)
    return (g * (0.5 * (1 + erf(x / _SQRT_2)) + _INV_SQRT_2PI * x * np.exp(-(x * x) / 2)),)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))


def _gelu_tanh_vjp(g, out, x):
    t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
    inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
    return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner),)


def _silu_vjp(g, out, x):
    s = sigmoid_array(x)
    return (g * (s * (1 + x * (1 - s))),)


def _elu(x, alpha=1.0):
    # expm1 of min(x, 0): never overflows, and keeps precision near 0.
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _elu_vjp(g, out, x, alpha=1.0):
    return (g * np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))),)


rule("gelu", forward=_gelu, vjp=_gelu_vjp, inputs=("x",),
     formulas=("0.5*(1 + erf(x/sqrt(2))) + 0.3989422804014327*x*exp(-x^2/2)",), sample=unary(-3.0, 3.0),
     elementwise=True, notation="x*0.5*(1 + erf(x/sqrt(2)))", doc="x·Φ(x), Φ the standard normal CDF")
rule("gelu_tanh", forward=_gelu_tanh, vjp=_gelu_tanh_vjp, inputs=("x",),
     formulas=("0.5*(1 + tanh(0.7978845608028654*(x + 0.044715*x^3))) + 0.5*x*(1 - tanh(0.7978845608028654*"
               "(x + 0.044715*x^3))^2)*0.7978845608028654*(1 + 0.134145*x^2)",),
     sample=unary(-3.0, 3.0), elementwise=True,
     notation="0.5*x*(1 + tanh(0.7978845608028654*(x + 0.044715*x^3)))",
     doc="GELU's tanh approximation, ½x(1 + tanh(√(2/π)(x + 0.044715x³)))")
rule("silu", forward=lambda x: x * sigmoid_array(x), vjp=_silu_vjp, inputs=("x",),
     formulas=("sigmoid(x)*(1 + x*(1 - sigmoid(x)))",), sample=unary(-4.0, 4.0), elementwise=True,
     notation="x*sigmoid(x)", doc="x·σ(x), also called swish")
rule("elu", forward=_elu, vjp=_elu_vjp, inputs=("x",), formulas=("where(x > 0, 1, alpha*exp(x))",),
     sample=unary(margin=0.05, alpha=1.5), elementwise=True, notation="where(x > 0, x, alpha*(exp(x) - 1))",
     doc="x for x > 0, else α(eˣ − 1)")
