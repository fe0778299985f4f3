"""Every rule against HIPS autograd, an independent autodiff, on random broadcast shapes."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.scipy.special import erf, logsumexp
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule  # noqa: F401
from chainrule.rules import RULES
from chainrule.tensor import _apply, _new


def _log_softmax(x, axis=-1):
    return x - logsumexp(x, axis=axis, keepdims=True)


def _onehot(labels, classes):
    return (np.arange(classes) == labels[..., None]).astype(float)


def _pad(x, padding, value=0.0):
    """Pad the last two axes by concatenation (differentiable in HIPS autograd)."""
    (top, bottom), (left, right) = padding
    n, c, h, w = x.shape
    x = anp.concatenate([np.full((n, c, top, w), value), x, np.full((n, c, bottom, w), value)], axis=2)
    h = x.shape[2]
    return anp.concatenate([np.full((n, c, h, left), value), x, np.full((n, c, h, right), value)], axis=3)


def _patches(xp, kernel, stride, dilation):
    """Every kernel offset's strided slice: a list of (i, j, (N, C, OH, OW)) in row-major order."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    return [(i, j, xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw])
            for i in range(kh) for j in range(kw)]


def _conv2d(x, w, b=None, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1)):
    out = sum(anp.einsum("nchw,oc->nohw", part, w[:, :, i, j])
              for i, j, part in _patches(_pad(x, padding), w.shape[2:], stride, dilation))
    return out if b is None else out + b[:, None, None]


def _max_pool2d(x, kernel, stride, padding, dilation):
    parts = [part for _, _, part in _patches(_pad(x, padding, -np.inf), kernel, stride, dilation)]
    return anp.max(anp.stack(parts, axis=-1), axis=-1)


def _avg_pool2d(x, kernel, stride, padding, count_include_pad, divisor_override):
    total = sum(part for _, _, part in _patches(_pad(x, padding), kernel, stride, (1, 1)))
    if divisor_override is not None:
        return total / divisor_override
    if count_include_pad:
        return total / (kernel[0] * kernel[1])
    inside = np.ones((1, 1) + x.shape[2:])
    return total / sum(part for _, _, part in _patches(_pad(inside, padding), kernel, stride, (1, 1)))
def _einsum_without_repeats(*xs, subscripts):
    """einsum with each letter repeated inside one operand (a diagonal) renamed and tied back by an
    identity matrix: HIPS autograd's einsum gradient cannot handle the repeats themselves."""
    inputs, output = subscripts.split("->")
    free = iter(sorted(set("abcdefghijklmnopqrstuvwxyz") - set(subscripts)))
    terms, ties, identities = [], [], []
    for term, x in zip(inputs.split(","), xs):
        renamed = ""
        for letter, size in zip(term, np.shape(x)):
            if letter in renamed:
                fresh = next(free)
                ties.append(letter + fresh)
                identities.append(np.eye(size))
                letter = fresh
            renamed += letter
        terms.append(renamed)
    return anp.einsum(",".join(terms + ties) + "->" + output, *xs, *identities)


def _index_mesh(index, dim):
    grids = list(np.ix_(*[np.arange(n) for n in index.shape]))
    grids[dim] = index
    return tuple(grids)


def _scatter_add(x, index, src, dim):
    """x + Σ src·[index == k] along dim, written with a one-hot and a sum (autograd has no add.at)."""
    region = src[tuple(slice(0, n) for n in index.shape)]
    hits = (index[..., None] == np.arange(x.shape[dim])).astype(float)
    added = anp.moveaxis(anp.sum(region[..., None] * hits, axis=dim), -1, dim)
    widths = [(0, 0 if d == dim else m - n) for d, (m, n) in enumerate(zip(x.shape, added.shape))]
    return x + anp.pad(added, widths, "constant")


def _prod(x, axis, keepdims):
    """The product as a chain of multiplications (autograd's own prod gradient divides by x)."""
    axes = tuple(range(np.ndim(x))) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    axes = tuple(a % max(np.ndim(x), 1) for a in axes) if np.ndim(x) else ()
    ends = list(range(np.ndim(x) - len(axes), np.ndim(x)))
    moved = anp.moveaxis(x, axes, ends) if axes else x
    flat = anp.reshape(moved, np.shape(moved)[: np.ndim(x) - len(axes)] + (-1,))
    out = flat[..., 0]
    for i in range(1, flat.shape[-1]):
        out = out * flat[..., i]
    if keepdims:
        out = anp.reshape(out, tuple(1 if i in axes else n for i, n in enumerate(np.shape(x))))
    return out


def _norm(x, p, axis, keepdims):
    size = anp.abs(x)
    if p == np.inf:
        return anp.max(size, axis=axis, keepdims=keepdims)
    if p == -np.inf:
        return anp.min(size, axis=axis, keepdims=keepdims)
    return anp.sum(size**p, axis=axis, keepdims=keepdims) ** (1 / p)


ORACLE = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda x: -x,
    "pow": lambda a, b: anp.power(a, b),
    "pow_scalar": lambda x, p: anp.power(x, p),
    "exp": anp.exp,
    "log": anp.log,
    "sqrt": anp.sqrt,
    "abs": anp.abs,
    "sigmoid": lambda x: 1 / (1 + anp.exp(-x)),
    "tanh": anp.tanh,
    "relu": lambda x: anp.maximum(x, 0.0),
    "leaky_relu": lambda x, slope: anp.where(x > 0, x, x * slope),
    "softplus": lambda x: anp.logaddexp(0.0, x),
    "maximum": anp.maximum,
    "minimum": anp.minimum,
    "where": lambda c, a, b: c * a + (1 - c) * b,  # its where() does not un-broadcast b
    "clip": lambda x, low, high: anp.clip(x, low, high),
    "astype": lambda x, dtype: x * 1.0,
    "sum": lambda x, axis, keepdims: anp.sum(x, axis=axis, keepdims=keepdims),
    "mean": lambda x, axis, keepdims: anp.mean(x, axis=axis, keepdims=keepdims),
    "max": lambda x, axis, keepdims: anp.max(x, axis=axis, keepdims=keepdims),
    "min": lambda x, axis, keepdims: anp.min(x, axis=axis, keepdims=keepdims),
    "matmul": anp.matmul,
    "linear": lambda x, w, b: anp.matmul(x, w.T) + b,
    "reshape": lambda x, shape: anp.reshape(x, shape),
    "transpose": lambda x, axes: anp.transpose(x, axes),
    "broadcast_to": lambda x, shape: x + anp.zeros(shape),  # its broadcast_to rejects new leading axes
    "getitem": lambda x, index: x[index],
    "concatenate": lambda *xs, axis: anp.concatenate(xs, axis=axis),
    "stack": lambda *xs, axis: anp.stack(xs, axis=axis),
    "softmax": lambda x, axis: anp.exp(_log_softmax(x, axis)),
    "log_softmax": _log_softmax,
    "cross_entropy": lambda z, y: -anp.sum(_log_softmax(z) * _onehot(y, z.shape[-1]), axis=-1),
    "squared_error": lambda a, b: (a - b) ** 2,
    "bce_with_logits": lambda z, y: anp.maximum(z, 0.0) - z * y + anp.log1p(anp.exp(-anp.abs(z))),
    "binary_cross_entropy": lambda p, y: -(y * anp.log(p) + (1 - y) * anp.log(1 - p)),
    "gelu": lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2.0))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + anp.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "silu": lambda x: x / (1 + anp.exp(-x)),
    "elu": lambda x, alpha: anp.where(x > 0, x, alpha * (anp.exp(anp.minimum(x, 0.0)) - 1)),
    "conv2d": _conv2d,
    "max_pool2d": _max_pool2d,
    "avg_pool2d": _avg_pool2d,
    "sin": anp.sin,
    "cos": anp.cos,
    "remainder": anp.remainder,
    "clone": lambda x: x * 1.0,
    "cumsum": lambda x, axis: anp.cumsum(x, axis=axis),
    "einsum": _einsum_without_repeats,
    "gather": lambda x, index, dim: x[_index_mesh(index, dim)],
    "scatter_add": _scatter_add,
    "prod": _prod,
    "var": lambda x, axis, keepdims, correction: anp.var(x, axis=axis, ddof=correction, keepdims=keepdims),
    "std": lambda x, axis, keepdims, correction: anp.std(x, axis=axis, ddof=correction, keepdims=keepdims),
    # Its logsumexp returns shape (1,) for a 0-d input; the reduced shape is numpy's.
    "logsumexp": lambda x, axis, keepdims: anp.reshape(logsumexp(x, axis=axis, keepdims=keepdims),
                                                       np.shape(np.sum(x, axis=axis, keepdims=keepdims))),
    "norm": _norm,
    "log1p": anp.log1p,
    "expm1": anp.expm1,
    "sign": anp.sign,
    "floor": anp.floor,
    "ceil": anp.ceil,
    "trunc": anp.trunc,
    "round": anp.round,
}


def test_every_rule_has_an_oracle():
    assert set(RULES) == set(ORACLE), set(RULES) ^ set(ORACLE)


shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.filterwarnings("ignore:Output seems independent of input")  # sign, floor, …: gradient 0
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shape=shapes)
def test_rule_matches_hips_autograd(name, seed, shape):
    rule = RULES[name]
    rng = np.random.default_rng(seed)
    arrays, attrs = rule.sample(rng, shape)
    reference = ORACLE[name]

    ours_out = _apply(rule, tuple(
        _new(np.asarray(a)) if i in rule.constant_inputs else _new(np.array(a, dtype=float), requires_grad=True)
        for i, a in enumerate(arrays)
    ), attrs)
    theirs_out = reference(*arrays, **attrs)
    np.testing.assert_allclose(np.asarray(ours_out.data), theirs_out, rtol=1e-10, atol=1e-12)

    cotangent = rng.normal(size=np.shape(theirs_out))
    leaves = ours_out._ctx[1]
    ours_out.backward(cotangent)
    for position, leaf in enumerate(leaves):
        if position in rule.constant_inputs:
            continue

        def projected(x, position=position):
            args = list(arrays)
            args[position] = x
            return anp.sum(reference(*args, **attrs) * cotangent)

        expected = grad(projected)(np.array(arrays[position], dtype=float))
        np.testing.assert_allclose(np.asarray(leaf.grad.data), expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name}: gradient of input {position}")
