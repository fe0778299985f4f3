"""Matrix products: ``matmul`` (1-D, 2-D and batched, as numpy), the fused ``linear``, and ``einsum``."""

from __future__ import annotations

import string

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


def _einsum(*xs, subscripts):
    return np.einsum(subscripts, *xs)


def _einsum_vjp(g, out, *xs, subscripts, needs=None):
    """The gradient of operand k is itself an einsum: g and the other operands contracted to k's subscripts.

    Two cases need a helper operand. A letter repeated in k (a diagonal, ``ii``) cannot repeat in an
    output, so its second use is renamed and an identity matrix ties the two names together (the
    gradient lands on the diagonal only). A letter only k has (summed by the forward, ``ij->i``) gets a
    vector of ones, so the gradient is copied along it.
    """
    inputs, output = subscripts.split("->")
    operands = inputs.split(",")
    free = iter(sorted(set(string.ascii_letters) - set(subscripts)))
    dtype = np.result_type(g)
    grads = []
    for k, (x, own) in enumerate(zip(xs, operands)):
        if needs is not None and not needs[k]:
            grads.append(None)
            continue
        terms = [output] + [s for i, s in enumerate(operands) if i != k]
        values = [g] + [v for i, v in enumerate(xs) if i != k]
        target = ""
        for letter, size in zip(own, np.shape(x)):
            if letter in target:
                renamed = next(free)
                terms.append(letter + renamed)
                values.append(np.eye(size, dtype=dtype))
                letter = renamed
            target += letter
        for letter, size in zip(own, np.shape(x)):
            if not any(letter in term for term in terms):
                terms.append(letter)
                values.append(np.ones(size, dtype=dtype))
        grads.append(np.einsum(",".join(terms) + "->" + target, *values))
    return tuple(grads)


_EINSUM_SAMPLES = ("ij,jk->ik", "ii->i", "ij->", "bij,bjk->bik", "i,i->", "ij,j->i", "ii->", "iij->j",
                   "ij->ji", "i,j->ij", "ijk,k->ij", "ij,ij->ij", "ij,kj,k->i")


def _sample_einsum(rng, shape):
    subscripts = str(rng.choice(_EINSUM_SAMPLES))
    sizes = {letter: int(rng.integers(1, 4)) for letter in set(subscripts) - set(",->")}
    operands = subscripts.split("->")[0].split(",")
    return [uniform(rng, tuple(sizes[letter] for letter in term)) for term in operands], {"subscripts": subscripts}
rule("einsum", forward=_einsum, vjp=_einsum_vjp, inputs=("x",), formulas=("einsum(g)",), sample=_sample_einsum,
     variadic=True, selective=True,
     doc="Einstein summation over explicit subscripts ('ij,jk->ik'); each gradient is an einsum too")
