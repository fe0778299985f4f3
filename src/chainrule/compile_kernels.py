"""Buffer-writing versions of the hottest rules, for ``chainrule.compile``'s replays.

A replayed tape knows every value's shape and dtype in advance, so it can keep one array per value
and have numpy write into it (``out=``) instead of allocating a fresh array on every step: for a
784-256 layer that is an 800 kB weight gradient, and a fresh array that size costs the kernel
mapping new pages each time. Each kernel computes exactly what its rule's ``forward`` or ``vjp``
computes — the same numpy operations in the same order — so a replay still equals the eager step
bit for bit (tests/test_compile.py checks it). A rule without a kernel is replayed by calling its
own ``forward``/``vjp``: kernels are an optimisation, never a second definition of the maths.

``FORWARD[name](buffer, *arrays, **attrs)`` writes the value into ``buffer`` (None: into a fresh
array) and returns it, or returns None when the call is outside what the kernel covers (the tape
then calls the rule). ``VJP[name](buffers, g, out, *arrays, [needs,] scratch)`` returns one gradient
per input like the rule's VJP, each written into its buffer where one is given (None: a fresh
array); ``scratch`` is a list the kernel may keep work arrays in between calls. The tape keeps the
arrays a kernel returns and passes them back as the buffers of the next replay.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FORWARD", "VJP"]


def _linear(buffer, x, w, b=None):
    if x.ndim != 2:
        return None
    out = np.matmul(x, w.T, out=buffer)
    if b is not None:
        out += b
    return out


def _linear_vjp(buffers, g, out, x, w, b=None, needs=(True, True, True), scratch=None):
    if x.ndim != 2:
        return None
    grad_x = np.matmul(g, w, out=buffers[0]) if needs[0] else None
    grad_w = np.matmul(g.T, x, out=buffers[1]) if needs[1] else None
    if b is None:
        return grad_x, grad_w
    return grad_x, grad_w, (np.sum(g, axis=0, out=buffers[2]) if needs[2] else None)


def _relu(buffer, x):
    return np.maximum(x, 0, out=buffer)


def _relu_vjp(buffers, g, out, x, scratch):
    # The rule computes g * (x > 0); here the mask has a buffer of its own too.
    mask = scratch[0]
    if mask is None or mask.shape != x.shape:
        mask = scratch[0] = np.empty(x.shape, dtype=bool)
    np.greater(x, 0, out=mask)
    return (np.multiply(g, mask, out=buffers[0]),)


def _elementwise(ufunc):
    def kernel(buffer, a, b):
        if a.__class__ is not np.ndarray or b.__class__ is not np.ndarray or a.shape != b.shape:
            return None  # broadcasting, scalars: the rule's own call decides the result
        return ufunc(a, b, out=buffer)

    return kernel


def _fill(buffer, shape, value):
    if buffer is None or buffer.shape != shape:
        buffer = np.empty(shape, dtype=np.asarray(value).dtype)
    buffer.fill(value)
    return buffer


def _sum_vjp(buffers, g, out, x, axis=None, keepdims=False, scratch=None):
    # The rule broadcasts g to x's shape (a view that costs ~15 µs to make); a whole-array sum's
    # g is one number, which fills a kept array in under a microsecond: the same values.
    if axis is not None or np.ndim(g) != 0:
        return None
    return (_fill(buffers[0], x.shape, g),)


def _mean_vjp(buffers, g, out, x, axis=None, keepdims=False, scratch=None):
    if axis is not None or np.ndim(g) != 0 or not x.size:
        return None
    return (_fill(buffers[0], x.shape, g / x.size),)  # the rule's g / count: a whole-array mean counts x.size


def _mean(buffer, x, axis=None, keepdims=False):
    # np.mean's own steps for a whole float array, without its Python wrapper: numpy's pairwise
    # sum, then one division by the count in the array's dtype. Anything else: the rule's call.
    if axis is not None or keepdims or x.__class__ is not np.ndarray or x.dtype.char not in "fd" or not x.size:
        return None
    total = np.add.reduce(x, axis=None)
    return total.dtype.type(total / x.size)


FORWARD = {
    "linear": _linear,
    "relu": _relu,
    "mean": _mean,
    "add": _elementwise(np.add),
    "sub": _elementwise(np.subtract),
    "mul": _elementwise(np.multiply),
}

VJP = {
    "linear": _linear_vjp,
    "relu": _relu_vjp,
    "sum": _sum_vjp,
    "mean": _mean_vjp,
}
