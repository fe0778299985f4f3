"""Primitives of neural networks: stable softmax, and fused per-sample losses.

The losses are per-sample primitives; ``mean`` or ``sum`` then reduce them. A
fused loss is one Python call instead of five, and it keeps precision that the
unfused chain loses (``log(σ(z))`` underflows long before the fused form does).
"""

from __future__ import annotations

import numpy as np

from ..rules import rule
from ._calls import call
from ._sampling import binary, uniform


def _softmax(x, axis=-1):
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _softmax_vjp(g, out, x, axis=-1):
    return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)


def _log_softmax_vjp(g, out, x, axis=-1):
    return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)


def _cross_entropy(logits, target):
    """−log softmax(logits)[target], one value per row; target holds class indices."""
    log_p = _log_softmax(logits, axis=-1)
    return -np.take_along_axis(log_p, target[..., np.newaxis].astype(np.intp), axis=-1)[..., 0]


def _cross_entropy_vjp(g, out, logits, target):
    # softmax(z) − onehot(y), written without writing into an array, so that it also runs on Tensors.
    onehot = target[..., np.newaxis] == np.arange(logits.shape[-1])
    return (call("softmax", logits, axis=-1) - onehot) * g[..., np.newaxis], None


def _bce_with_logits(z, y):
    # max(z, 0) − z·y + log(1 + e^(−|z|)): the exponent is never positive.
    return np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _bce(p, y):
    # PyTorch clamps each log at −100 so that p = 0 or 1 gives a large, finite loss.
    return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))


def _bce_vjp(g, out, p, y):
    # PyTorch's guard against p(1 − p) = 0.
    denominator = np.maximum(p * (1 - p), 1e-12)
    return g * (p - y) / denominator, g * (np.maximum(np.log1p(-p), -100) - np.maximum(np.log(p), -100))


def _sample_softmax(rng, shape):
    shape = tuple(shape) or (3,)
    return [uniform(rng, shape, -3.0, 3.0)], {"axis": int(rng.integers(-len(shape), len(shape)))}


def _sample_cross_entropy(rng, shape):
    batch = tuple(shape[:-1]) if len(shape) > 1 else (int(rng.integers(1, 5)),)
    classes = int(rng.integers(2, 6))
    return [uniform(rng, batch + (classes,), -3.0, 3.0), rng.integers(0, classes, size=batch)], {}


def _sample_probabilities(rng, shape):
    return [uniform(rng, shape, 0.05, 0.95), uniform(rng, shape, 0.0, 1.0)], {}


rule("softmax", forward=_softmax, vjp=_softmax_vjp, inputs=("x",), formulas=("out*(g - sum(g*out))",),
     sample=_sample_softmax, notation="softmax(x)")
rule("log_softmax", forward=_log_softmax, vjp=_log_softmax_vjp, inputs=("x",),
     formulas=("g - exp(out)*sum(g)",), sample=_sample_softmax, notation="log(softmax(x))")
rule("cross_entropy", forward=_cross_entropy, vjp=_cross_entropy_vjp, inputs=("z", "y"),
     formulas=("(softmax(z) - onehot(y))*g", None), sample=_sample_cross_entropy,
     notation="-log(softmax(z))", doc="per-row cross-entropy of logits z against class indices y")
rule("squared_error", forward=lambda a, b: np.square(a - b),
     vjp=lambda g, out, a, b: (g * 2 * (a - b), g * -2 * (a - b)), inputs=("a", "b"),
     formulas=("2*(a - b)", "-2*(a - b)"), sample=binary(), elementwise=True, notation="(a - b)^2",
     doc="the seed's per-sample loss (ŷ − y)²")
rule("bce_with_logits", forward=_bce_with_logits,
     vjp=lambda g, out, z, y: (g * (call("sigmoid", z) - y), -g * z), inputs=("z", "y"),
     formulas=("sigmoid(z) - y", "-z"), sample=binary(), elementwise=True,
     notation="-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))",
     doc="binary cross-entropy on a logit, computed without overflow")
rule("binary_cross_entropy", forward=_bce, vjp=_bce_vjp, inputs=("p", "y"),
     formulas=("(p - y)/(p*(1 - p))", "log(1 - p) - log(p)"), sample=_sample_probabilities,
     elementwise=True, notation="-(y*log(p) + (1 - y)*log(1 - p))")
