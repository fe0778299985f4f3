"""Shape primitives: they move numbers around, so their VJPs move gradients back."""

from __future__ import annotations

import numpy as np

from ..rules import rule
from ._calls import call
from ._sampling import broadcastable_shape, uniform


def is_basic_index(index) -> bool:
    """True for ints, slices, None and Ellipsis: such an index never repeats an element."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts
    ) and not any(isinstance(p, bool) for p in parts)


def _getitem_vjp(g, out, x, index):
    # The scatter is a rule of its own (ops.indexing), so a gradient of this gradient passes back too.
    if g.dtype != x.dtype:
        g = g.astype(np.result_type(g.dtype, x.dtype))
    return (call("scatter", g, shape=x.shape, index=index),)


def _transpose(x, axes=None):
    return np.transpose(x, axes)


def _transpose_vjp(g, out, x, axes=None):
    return (np.transpose(g, None if axes is None else np.argsort(axes)),)


def _concatenate_vjp(g, out, *xs, axis=0):
    boundaries = np.cumsum([x.shape[axis] for x in xs[:-1]])
    return tuple(np.split(g, boundaries, axis=axis))


def _stack_vjp(g, out, *xs, axis=0):
    return tuple(np.moveaxis(g, axis, 0))


def _sample_reshape(rng, shape):
    size = int(np.prod(shape, dtype=int))
    target = (size,) if rng.random() < 0.5 else (1, size, 1)
    return [uniform(rng, shape)], {"shape": target}


def _sample_transpose(rng, shape):
    axes = tuple(int(a) for a in rng.permutation(len(shape))) if rng.random() < 0.7 else None
    return [uniform(rng, shape)], {"axes": axes}


def _sample_broadcast_to(rng, shape):
    return [uniform(rng, broadcastable_shape(rng, shape))], {"shape": tuple(shape)}


def _sample_getitem(rng, shape):
    shape = tuple(shape) or (3,)
    choice = rng.random()
    if choice < 0.3:
        index = slice(None, None, 2)
    elif choice < 0.5:
        index = (Ellipsis, int(rng.integers(0, shape[-1])))
    elif choice < 0.8:
        # Repeated integer indices: the VJP must add, not overwrite.
        index = rng.integers(0, shape[0], size=5)
    else:
        index = rng.random(shape) < 0.5
    return [uniform(rng, shape)], {"index": index}


def _sample_concatenate(rng, shape):
    shape = tuple(shape) or (2,)
    axis = int(rng.integers(0, len(shape)))
    parts = []
    for _ in range(int(rng.integers(1, 4))):
        part = list(shape)
        part[axis] = int(rng.integers(1, 4))
        parts.append(uniform(rng, tuple(part)))
    return parts, {"axis": axis}


def _sample_stack(rng, shape):
    axis = int(rng.integers(0, len(shape) + 1))
    return [uniform(rng, shape) for _ in range(int(rng.integers(1, 4)))], {"axis": axis}


def _concatenate(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def _stack(*xs, axis=0):
    return np.stack(xs, axis=axis)


rule("reshape", forward=lambda x, shape: np.reshape(x, shape),
     vjp=lambda g, out, x, shape: (np.reshape(g, x.shape),), inputs=("x",),
     formulas=("reshape(g)",), sample=_sample_reshape, notation="reshape(x)")
rule("transpose", forward=_transpose, vjp=_transpose_vjp, inputs=("x",), formulas=("permute(g)",),
     sample=_sample_transpose, notation="T(x)")
rule("broadcast_to", forward=lambda x, shape: np.broadcast_to(x, shape),
     vjp=lambda g, out, x, shape: (g,), inputs=("x",), formulas=("unbroadcast(g)",),
     sample=_sample_broadcast_to, notation="expand(x)")
rule("getitem", forward=lambda x, index: x[index], vjp=_getitem_vjp, inputs=("x",),
     formulas=("scatter(g)",), sample=_sample_getitem)
rule("concatenate", forward=_concatenate, vjp=_concatenate_vjp, inputs=("x",), formulas=("split(g)",),
     sample=_sample_concatenate, variadic=True)
rule("stack", forward=_stack, vjp=_stack_vjp, inputs=("x",), formulas=("split(g)",),
     sample=_sample_stack, variadic=True)
