"""Reductions over an axis (or all axes): sum, mean, max, min, prod, var, std, logsumexp, norm; and cumsum.

Their VJP formulas are written over the upstream gradient ``g``: a reduction
copies ``g`` back over the axes it removed (``expand``).
"""

from __future__ import annotations

import numpy as np

from ..rules import rule
from ._sampling import random_axis, uniform


def expand(g, shape, axis, keepdims):
    """Give ``g`` back the reduced axes and broadcast it to ``shape`` (a read-only view)."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def _count(x, out):
    return x.size // max(np.size(out), 1)


def _sum_vjp(g, out, x, axis=None, keepdims=False):
    return (expand(g, x.shape, axis, keepdims),)


def _mean_vjp(g, out, x, axis=None, keepdims=False):
    return (expand(g / _count(x, out), x.shape, axis, keepdims),)


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


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _zero_where(condition, values):
    """``values`` with zeros where ``condition`` holds, in the dtype of ``values``."""
    return np.where(condition, np.zeros_like(values), values)


def _prod(x, axis=None, keepdims=False):
    return np.prod(x, axis=axis, keepdims=keepdims)


def _product_of_the_others(x, axes):
    """For each element, the product of the other elements of its group (no division, so zeros are exact).

    The reduced axes are moved to the end and flattened into one; the product of the others is the
    product of everything before an element times everything after it (two running products).
    """
    ndim, k = np.ndim(x), len(axes)
    ends = list(range(ndim - k, ndim))
    moved = np.moveaxis(x, axes, ends)
    flat = np.reshape(moved, np.shape(moved)[: ndim - k] + (-1,))
    ones = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
    return np.moveaxis(np.reshape(before * after, np.shape(moved)), ends, axes)


def _prod_vjp(g, out, x, axis=None, keepdims=False):
    return (expand(g, np.shape(x), axis, keepdims) * _product_of_the_others(x, _axes(axis, np.ndim(x))),)


def _cumsum_vjp(g, out, x, axis):
    # Element i reaches every running sum from i on: the gradient is the reversed running sum of g.
    return (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),)


def _var(x, axis=None, keepdims=False, correction=1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.var(x, axis=axis, ddof=correction, keepdims=keepdims)


def _var_vjp(g, out, x, axis=None, keepdims=False, correction=1):
    centred = x - np.mean(x, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (expand(g, np.shape(x), axis, keepdims) * centred * (2 / (_count(x, out) - correction)),)


def _std(x, axis=None, keepdims=False, correction=1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.std(x, axis=axis, ddof=correction, keepdims=keepdims)


def _std_vjp(g, out, x, axis=None, keepdims=False, correction=1):
    # ∂√v = ∂v/(2√v); where the spread is 0 every centred value is 0 too, and PyTorch gives 0, not 0/0.
    with np.errstate(divide="ignore", invalid="ignore"):
        upstream = _zero_where(out == 0, g / (2 * out))
    return _var_vjp(upstream, out, x, axis, keepdims, correction)


def _logsumexp(x, axis=None, keepdims=False):
    # Shift by the max so no exponent is positive; an all −inf (or +inf) group keeps its infinity.
    shift = np.max(x, axis=axis, keepdims=True)
    shift = _zero_where(~np.isfinite(shift), shift)
    total = np.sum(np.exp(x - shift), axis=axis, keepdims=keepdims)
    with np.errstate(divide="ignore"):
        return np.log(total) + (shift if keepdims else np.squeeze(shift, axis))


def _logsumexp_vjp(g, out, x, axis=None, keepdims=False):
    shape = np.shape(x)
    return (expand(g, shape, axis, keepdims) * np.exp(x - expand(out, shape, axis, keepdims)),)


def _norm(x, p=2, axis=None, keepdims=False):
    size = np.abs(x)
    if p == 2:
        return np.sqrt(np.sum(size * size, axis=axis, keepdims=keepdims))
    if p == np.inf:
        return np.max(size, axis=axis, keepdims=keepdims)
    if p == -np.inf:
        return np.min(size, axis=axis, keepdims=keepdims)
    if p == 0:
        return np.sum(size != 0, axis=axis, keepdims=keepdims).astype(np.result_type(x))
    if p == 1:
        return np.sum(size, axis=axis, keepdims=keepdims)
    return np.sum(size**p, axis=axis, keepdims=keepdims) ** (1 / p)


def _norm_vjp(g, out, x, p=2, axis=None, keepdims=False):
    shape = np.shape(x)
    g, out = expand(g, shape, axis, keepdims), expand(out, shape, axis, keepdims)
    if p == 0:
        return (np.zeros_like(g * x),)
    if p == 1:
        return (g * np.sign(x),)
    if p in (np.inf, -np.inf):
        # Ties for the extreme |x| share the gradient, as in PyTorch.
        chosen = np.abs(x) == out
        count = np.sum(chosen, axis=axis, keepdims=True)
        return (g * np.sign(x) * chosen / count,)
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 2:
            local = x / out
        else:
            local = np.sign(x) * _zero_where(x == 0, np.abs(x) ** (p - 1)) / out ** (p - 1)
        # A zero norm has no direction: PyTorch's gradient there is 0.
        return (g * _zero_where(out == 0, local),)


def _sample_prod(rng, shape):
    values, attrs = _sample_reduction(rng, shape)
    values = values[0]
    if np.ndim(values) and rng.random() < 0.5:  # a zero factor: the gradient must not divide by it
        values = values.copy()
        values.flat[int(rng.integers(0, values.size))] = 0.0
    return [values], attrs


def _sample_cumsum(rng, shape):
    shape = tuple(shape) or (3,)
    return [uniform(rng, shape)], {"axis": int(rng.integers(-len(shape), len(shape))) % len(shape)}


def _sample_var(rng, shape):
    arrays, attrs = _sample_reduction(rng, shape)
    count = int(np.prod([np.shape(arrays[0])[a] for a in _axes(attrs["axis"], len(shape))], dtype=int))
    # n − correction must stay positive, or the variance is inf/NaN (as in PyTorch) with no gradient to check.
    return arrays, attrs | {"correction": int(rng.integers(0, 2)) if count > 1 else 0}


def _sample_norm(rng, shape):
    arrays, attrs = _sample_reduction(rng, shape)
    p = float(rng.choice([2.0, 2.0, 1.0, 3.0, 0.5, np.inf, -np.inf]))
    return [uniform(rng, np.shape(arrays[0]), margin=0.1)], attrs | {"p": p}


rule("sum", forward=_sum, vjp=_sum_vjp, inputs=("x",), formulas=("expand(g)",),
     sample=_sample_reduction, notation="sum(x)")
rule("mean", forward=_mean, vjp=_mean_vjp, inputs=("x",), formulas=("expand(g)/n",),
     sample=_sample_reduction, notation="sum(x)/n", doc="n is the number of elements averaged")
rule("max", forward=_max, vjp=_extreme_vjp, inputs=("x",), formulas=("argmask(x)*expand(g)",),
     sample=_sample_reduction, notation="max(x, axis)")
rule("min", forward=_min, vjp=_extreme_vjp, inputs=("x",), formulas=("argmask(x)*expand(g)",),
     sample=_sample_reduction, notation="min(x, axis)")
rule("prod", forward=_prod, vjp=_prod_vjp, inputs=("x",), formulas=("expand(g)*expand(out)/x",),
     sample=_sample_prod,
     doc="the gradient is the product of the other factors, computed without dividing (exact at zeros)")
rule("cumsum", forward=lambda x, axis: np.cumsum(x, axis=axis), vjp=_cumsum_vjp, inputs=("x",),
     formulas=("revcumsum(g)",), sample=_sample_cumsum)
rule("var", forward=_var, vjp=_var_vjp, inputs=("x",), formulas=("expand(g)*2*(x - xbar)/(n - correction)",),
     sample=_sample_var, doc="Σ(x − x̄)²/(n − correction); correction 1 is the unbiased estimate")
rule("std", forward=_std, vjp=_std_vjp, inputs=("x",),
     formulas=("expand(g)*(x - xbar)/((n - correction)*expand(out))",), sample=_sample_var,
     doc="√var(x), with gradient 0 where the spread is 0 (as PyTorch)")
rule("logsumexp", forward=_logsumexp, vjp=_logsumexp_vjp, inputs=("x",), formulas=("expand(g)*softmax(x)",),
     sample=_sample_reduction, notation="log(sum(exp(x)))", doc="ln Σ eˣ, shifted by the max so it never overflows")
rule("norm", forward=_norm, vjp=_norm_vjp, inputs=("x",), formulas=("expand(g)*x/expand(out)",),
     sample=_sample_norm, doc="the p-norm (Σ|x|ᵖ)^(1/p); the formula shows p = 2")
