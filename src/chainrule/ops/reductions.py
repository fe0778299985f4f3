"""Reductions: sum, mean, max and min over an axis (or all axes).

Their VJP formulas are written over the upstream gradient ``g``: a reduction
copies ``g`` back over the axes it removed (``expand``).
"""

from __future__ import annotations

import math

import numpy as np

from ..rules import rule
from ._sampling import random_axis, uniform


def expand(g, shape, axis, keepdims):
    """Give ``g`` back the reduced axes and broadcast it to ``shape`` (a read-only view)."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def _sum_vjp(g, out, x, axis=None, keepdims=False):
    return (expand(g, x.shape, axis, keepdims),)


def _mean_vjp(g, out, x, axis=None, keepdims=False):
    # g has the shape of out: the count averaged is what the reduction removed. Only x's shape is
    # read, so changing x in place afterwards does not spoil this gradient.
    count = math.prod(x.shape) // max(math.prod(np.shape(g)), 1)
    return (expand(g / count, x.shape, axis, keepdims),)


def _extreme_vjp(g, out, x, axis=None, keepdims=False):
    # Ties share the gradient equally, as in PyTorch's amax and HIPS autograd.
    is_extreme = x == expand(out, x.shape, axis, keepdims)
    count = np.sum(is_extreme, axis=axis, keepdims=True).astype(x.dtype)
    share = expand(g, x.shape, axis, keepdims) / count
    return (np.where(is_extreme, share, 0),)


def _sample_reduction(rng, shape):
    attrs = {"axis": random_axis(rng, shape), "keepdims": bool(rng.random() < 0.5)}
    return [uniform(rng, shape)], attrs


def _sum(x, axis=None, keepdims=False):
    return np.sum(x, axis=axis, keepdims=keepdims)


def _mean(x, axis=None, keepdims=False):
    return np.mean(x, axis=axis, keepdims=keepdims)


def _max(x, axis=None, keepdims=False):
    return np.max(x, axis=axis, keepdims=keepdims)


def _min(x, axis=None, keepdims=False):
    return np.min(x, axis=axis, keepdims=keepdims)


rule("sum", forward=_sum, vjp=_sum_vjp, inputs=("x",), formulas=("expand(g)",),
     sample=_sample_reduction, notation="sum(x)")
rule("mean", forward=_mean, vjp=_mean_vjp, inputs=("x",), formulas=("expand(g)/n",),
     sample=_sample_reduction, notation="sum(x)/n", doc="n is the number of elements averaged")
rule("max", forward=_max, vjp=_extreme_vjp, inputs=("x",), formulas=("argmask(x)*expand(g)",),
     sample=_sample_reduction, notation="max(x, axis)")
rule("min", forward=_min, vjp=_extreme_vjp, inputs=("x",), formulas=("argmask(x)*expand(g)",),
     sample=_sample_reduction, notation="min(x, axis)")
