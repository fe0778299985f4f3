"""numpy's protocols on tensors: ``np.exp(t)``, ``np.sum(t, axis=0)``, ``ndarray * t`` give Tensors.

numpy hands a call that involves a Tensor to ``Tensor.__array_ufunc__`` (elementwise functions such as
``np.exp`` and the operators of arrays and numpy scalars) or ``Tensor.__array_function__`` (the rest:
``np.sum``, ``np.where``, ``np.reshape``…). Three kinds of answer:

* a function the rule table has (a ufunc finds the rule of its own name: ``np.sin`` is ``sin``), or
  a short composition of rules (``np.square``, ``np.expand_dims``, ``np.cumprod``), runs as that,
  recorded in the graph like the method would be. This is what makes higher-order gradients cheap to
  write: a rule's VJP is numpy code, and with Tensors as arguments the same code records its own graph
  (see ``autograd``, ``create_graph``);
* a function whose result carries no gradient and has no rule (comparisons, logical operations,
  ``np.isfinite``, ``np.shape``, ``np.zeros_like``…) runs on the raw values and returns a constant;
* any other function runs on the raw values when no input needs a gradient; otherwise it raises a
  ``TypeError`` naming the function, rather than silently cutting the graph.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .autograd import GradMode
from .rules import RULES
from .tensor import (
    Tensor,
    _apply,
    _binary,
    _constant,
    _new,
    _normalize_axis,
    as_tensor,
    concatenate,
    matmul,
    stack,
    where,
)

__all__ = ["array_ufunc", "array_function"]


def _lift(value, like) -> Tensor:
    return value if isinstance(value, Tensor) else _constant(value, like, "numpy")


def _rule_binary(name):
    rule = RULES[name]

    def apply(a, b):
        if isinstance(a, Tensor):
            return _binary(rule, a, b)
        return _apply(rule, (_lift(a, b), b))

    return apply


def _rule_unary(name):
    rule = RULES[name]
    return lambda x: _apply(rule, (x,))


def _power(a, b):
    if isinstance(a, Tensor) and isinstance(b, numbers.Real) and not isinstance(b, bool):
        return a ** b
    return _rule_binary("pow")(a, b)


#: ufuncs that are rules, or short compositions of rules (recorded).
_UFUNCS = {
    "add": _rule_binary("add"),
    "subtract": _rule_binary("sub"),
    "multiply": _rule_binary("mul"),
    "divide": _rule_binary("div"),
    "true_divide": _rule_binary("div"),
    "power": _power,
    "float_power": _power,
    "maximum": _rule_binary("maximum"),
    "minimum": _rule_binary("minimum"),
    "negative": _rule_unary("neg"),
    "positive": lambda x: x,
    "exp": _rule_unary("exp"),
    "log": _rule_unary("log"),
    "sqrt": _rule_unary("sqrt"),
    "absolute": _rule_unary("abs"),
    "tanh": _rule_unary("tanh"),
    "square": lambda x: x * x,
    "reciprocal": lambda x: 1 / as_tensor(x),
    "matmul": lambda a, b: matmul(a, b),
}

#: ufuncs whose result is piecewise constant or boolean: its gradient is zero, so it is a constant.
_CONSTANT_UFUNCS = frozenset(
    "greater greater_equal less less_equal equal not_equal logical_and logical_or logical_xor logical_not "
    "sign signbit floor ceil trunc rint isnan isinf isfinite bitwise_and bitwise_or bitwise_xor invert "
    "floor_divide remainder".split()
)


def _raw(value):
    """Tensors (also inside lists and tuples) replaced by their arrays."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_raw(v) for v in value)
    return value


def _wrap(result):
    """numpy results back as constant Tensors (Python values, shapes and dtypes stay as they are)."""
    if isinstance(result, (np.ndarray, np.generic)) and not isinstance(result, np.dtype):
        return _new(result)
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, list):
        return [_wrap(r) for r in result]
    return result


def _needs_grad(values) -> bool:
    if not GradMode.enabled:
        return False
    for v in values:
        if isinstance(v, Tensor):
            if v.requires_grad:
                return True
        elif isinstance(v, (list, tuple)) and _needs_grad(v):
            return True
    return False


def _unsupported(name: str):
    return TypeError(
        f"numpy.{name}: not differentiable in chainrule (no rule for it); call it on t.detach() "
        "or t.numpy() if no gradient should flow through it"
    )


#: ufuncs named otherwise than their rule.
_RULE_NAMES = {"rint": "round"}


def _by_rule(name, inputs):
    """The rule of the table that has the ufunc's name (``np.sin`` → ``sin``), or None."""
    rule = RULES.get(_RULE_NAMES.get(name, name))
    if rule is None or rule.variadic or len(rule.inputs) != len(inputs):
        return None
    like = next(v for v in inputs if isinstance(v, Tensor))
    return _apply(rule, tuple(_lift(v, like) for v in inputs))


def array_ufunc(ufunc, method, inputs, kwargs):
    """``Tensor.__array_ufunc__``: see the module's docstring."""
    name = ufunc.__name__
    if method == "__call__" and not kwargs:
        handler = _UFUNCS.get(name)
        if handler is not None:
            return handler(*inputs)
        result = _by_rule(name, inputs)
        if result is not None:
            return result
    if "out" in kwargs:  # ``array += t``: numpy writes into its own array, which no graph can record
        if any(isinstance(o, Tensor) for o in kwargs["out"]):
            raise TypeError(f"numpy.{name}: out= cannot be a Tensor; use the tensor's in-place methods")
        return getattr(ufunc, method)(*_raw(inputs), **kwargs)
    if name in _CONSTANT_UFUNCS or not _needs_grad(inputs):
        return _wrap(getattr(ufunc, method)(*_raw(inputs), **kwargs))
    raise _unsupported(name if method == "__call__" else f"{name}.{method}")


# -- functions -----------------------------------------------------------------------------


def _reduction(method):
    def reduce(a, axis=None, keepdims=False, **extra):
        if extra:
            return NotImplemented
        return getattr(as_tensor(a), method)(axis=axis, keepdims=keepdims)

    return reduce


def _reshape(a, shape=None, order="C", *, newshape=None):
    shape = newshape if shape is None else shape
    if order != "C":
        return NotImplemented
    return as_tensor(a).reshape(shape if isinstance(shape, (tuple, list)) else (shape,))


def _transpose(a, axes=None):
    a = as_tensor(a)
    return a.transpose() if axes is None else a.permute(tuple(int(i) for i in axes))


def _swapaxes(a, axis1, axis2):
    return as_tensor(a).transpose(axis1, axis2)


def _moveaxis(a, source, destination):
    a = as_tensor(a)
    source = normalize_axis_tuple(source, a.ndim, "source")
    destination = normalize_axis_tuple(destination, a.ndim, "destination")
    order = [axis for axis in range(a.ndim) if axis not in source]
    for to, axis in sorted(zip(destination, source)):
        order.insert(to, axis)
    return a.permute(tuple(order))


def _expand_dims(a, axis):
    a = as_tensor(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return a.reshape(np.expand_dims(np.empty(a.shape, dtype=bool), axes).shape)


def _squeeze(a, axis=None):
    a = as_tensor(a)
    return a.reshape(np.squeeze(np.empty(a.shape, dtype=bool), axis).shape)


def _split(a, indices_or_sections, axis=0):
    a = as_tensor(a)
    pieces = np.split(np.arange(a.shape[axis]), indices_or_sections)
    before = (slice(None),) * (axis % a.ndim)
    return [a[before + (slice(int(p[0]), int(p[-1]) + 1) if len(p) else slice(0, 0),)] for p in pieces]


def _where(condition, x=None, y=None):
    if x is None and y is None:
        return NotImplemented
    return where(condition, x, y)


def _dot(a, b):
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        return NotImplemented
    return matmul(a, b)


def _clip(a, a_min=None, a_max=None, **extra):
    if extra:
        return NotImplemented
    return as_tensor(a).clip(a_min, a_max)


def _broadcast_to(array, shape):
    return as_tensor(array).broadcast_to(shape if isinstance(shape, (tuple, list)) else (shape,))


def _like(factory):
    def make(a, *args, **kwargs):
        return _new(factory(_raw(a), *args, **kwargs))

    return make


def _einsum(subscripts, *operands, **extra):
    if extra or not isinstance(subscripts, str) or "->" not in subscripts:
        return NotImplemented
    like = next(v for v in operands if isinstance(v, Tensor))
    return _apply(RULES["einsum"], tuple(_lift(v, like) for v in operands), {"subscripts": subscripts})


def _cumsum(a, axis=None, **extra):
    if extra:
        return NotImplemented
    a = as_tensor(a)
    if axis is None:
        a, axis = a.reshape(-1), 0
    return _apply(RULES["cumsum"], (a,), {"axis": _normalize_axis(axis, a.ndim, "cumsum")})


def _prod(a, axis=None, keepdims=False, **extra):
    if extra:
        return NotImplemented
    a = as_tensor(a)
    return _apply(RULES["prod"], (a,), {"axis": _normalize_axis(axis, a.ndim, "prod"), "keepdims": bool(keepdims)})


def _cumprod(a, axis=None, **extra):
    """Running products on Tensors (a VJP's, under create_graph): element i of the result is the
    product of a row where the elements after i are replaced by 1, so it is a ``prod`` rule and can be
    differentiated again. It costs n² per group, which only gradients of gradients pay."""
    if extra:
        return NotImplemented
    a = as_tensor(a)
    if axis is None:
        a, axis = a.reshape(-1), 0
    axis = _normalize_axis(axis, a.ndim, "cumprod")
    moved = _moveaxis(a, axis, -1)
    n = moved.shape[-1]
    upto = np.arange(n)[None, :] <= np.arange(n)[:, None]  # row i keeps elements 0..i
    rows = where(upto, moved.reshape(moved.shape[:-1] + (1, n)), 1.0)
    return _moveaxis(_prod(rows, axis=-1), -1, axis)


def _flip(m, axis=None):
    m = as_tensor(m)
    given = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = range(m.ndim) if axis is None else [a % m.ndim for a in given]
    return m[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(m.ndim))]


def _size(a, axis=None):
    shape = np.shape(_raw(a))
    return math.prod(shape) if axis is None else shape[axis]


#: Functions that are rules or compositions of rules (recorded), or give constants.
_FUNCTIONS = {
    np.sum: _reduction("sum"),
    np.mean: _reduction("mean"),
    np.max: _reduction("max"),
    np.amax: _reduction("max"),
    np.min: _reduction("min"),
    np.amin: _reduction("min"),
    np.reshape: _reshape,
    np.transpose: _transpose,
    np.swapaxes: _swapaxes,
    np.moveaxis: _moveaxis,
    np.expand_dims: _expand_dims,
    np.squeeze: _squeeze,
    np.split: _split,
    np.broadcast_to: _broadcast_to,
    np.where: _where,
    np.concatenate: lambda arrays, axis=0: concatenate(list(arrays), axis=axis),
    np.stack: lambda arrays, axis=0: stack(list(arrays), axis=axis),
    np.dot: _dot,
    np.einsum: _einsum,
    np.cumsum: _cumsum,
    np.prod: _prod,
    np.cumprod: _cumprod,
    np.flip: _flip,
    np.clip: _clip,
    np.zeros_like: _like(np.zeros_like),
    np.ones_like: _like(np.ones_like),
    np.full_like: _like(np.full_like),
    np.empty_like: _like(np.empty_like),
    np.shape: lambda a: np.shape(_raw(a)),
    np.ndim: lambda a: np.ndim(_raw(a)),
    np.size: _size,
    np.result_type: lambda *values: np.result_type(*_raw(values)),
}


def array_function(func, args, kwargs):
    """``Tensor.__array_function__``: see the module's docstring."""
    handler = _FUNCTIONS.get(func)
    if handler is not None:
        result = handler(*args, **kwargs)
        if result is not NotImplemented:
            return result
    if _needs_grad(args) or _needs_grad(kwargs.values()):
        raise _unsupported(func.__name__)
    return _wrap(func(*_raw(args), **{k: _raw(v) for k, v in kwargs.items()}))
