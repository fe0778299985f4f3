"""Matrix products: ``matmul`` (1-D, 2-D and batched, as numpy) and the fused ``linear``."""

from __future__ import annotations

import numpy as np

from ..rules import rule
from ._sampling import uniform


def _matmul_vjp(g, out, a, b, needs=(True, True)):
    # A 1-D operand is a matrix with a unit axis that the product removed;
    # put that axis back on g, compute the 2-D VJP, and let the engine's
    # un-broadcasting sum batch axes and drop the unit axis again.
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    if b.ndim == 1:
        g = np.expand_dims(g, -1)
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    grad_a = grad_b = None
    if needs[0]:
        grad_a = g @ np.swapaxes(b2, -1, -2)
        if a.ndim == 1:
            grad_a = np.squeeze(grad_a, -2)
    if needs[1]:
        grad_b = np.swapaxes(a2, -1, -2) @ g
        if b.ndim == 1:
            grad_b = np.squeeze(grad_b, -1)
    return grad_a, grad_b


def _sample_matmul(rng, shape):
    n, k, m = (int(v) for v in rng.integers(1, 5, size=3))
    kind = rng.integers(0, 5)
    if kind == 0:
        shapes = (n, k), (k, m)
    elif kind == 1:
        shapes = (k,), (k, m)
    elif kind == 2:
        shapes = (n, k), (k,)
    elif kind == 3:
        shapes = (k,), (k,)
    else:
        batch = tuple(shape[:2]) or (2,)
        # Batched, with the batch broadcast on the right operand.
        shapes = batch + (n, k), (1,) * (len(batch) > 1) + (k, m)
    return [uniform(rng, s) for s in shapes], {}


def _linear(x, w, b=None):
    out = x @ w.T
    if b is not None:
        out += b
    return out


def _linear_vjp(g, out, x, w, b=None, needs=(True, True, True)):
    # Flatten any leading batch axes: the weight gradient sums over all of them.
    # g·W is skipped when x needs no gradient: for a first layer, whose input is
    # the data, it is the largest product of the backward pass.
    g2 = g.reshape(-1, g.shape[-1])
    grad_x = g @ w if needs[0] else None
    grad_w = g2.T @ x.reshape(-1, x.shape[-1]) if needs[1] else None
    if b is None:
        return grad_x, grad_w
    return grad_x, grad_w, (g2.sum(axis=0) if needs[2] else None)


def _sample_linear(rng, shape):
    batch = tuple(shape[:2]) or (3,)
    n_in, n_out = (int(v) for v in rng.integers(1, 5, size=2))
    return [uniform(rng, batch + (n_in,)), uniform(rng, (n_out, n_in)), uniform(rng, (n_out,))], {}


rule("matmul", forward=np.matmul, vjp=_matmul_vjp, inputs=("a", "b"), formulas=("g @ T(b)", "T(a) @ g"),
     sample=_sample_matmul, notation="a @ b", selective=True)
rule("linear", forward=_linear, vjp=_linear_vjp, inputs=("x", "W", "b"),
     formulas=("g @ W", "T(g) @ x", "sum(g)"), sample=_sample_linear, notation="x @ T(W) + b", selective=True,
     doc="the fused affine map x·Wᵀ + b of a Linear layer (one Python call instead of three)")
