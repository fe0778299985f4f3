"""Writing by index: the scatter that undoes ``getitem`` (and ``gather``), and ``x[index] = v``.

``scatter`` is ``getitem``'s VJP made a rule of its own, so that gradients of gradients can pass
back through it (its own VJP is ``getitem`` again). ``index_put`` is ``x[index] = v`` computed out of
place: a copy of ``x`` with the indexed elements replaced by ``v``.
"""

from __future__ import annotations

import numpy as np

from ..rules import rule
from ._sampling import uniform
from .shape import is_basic_index


def _scatter(g, shape, index):
    grad = np.zeros(shape, dtype=np.result_type(g))
    if is_basic_index(index):
        grad[index] = g
    else:
        # Integer arrays may pick one element twice; add.at accumulates both.
        np.add.at(grad, index, g)
    return grad[()] if grad.ndim == 0 else grad


def _index_put(x, v, index):
    out = np.array(x, copy=True)
    out[index] = v
    return out[()] if out.ndim == 0 else out


def _index_put_vjp(g, out, x, v, index):
    kept = np.ones(x.shape, dtype=bool)  # allocated here, so written here
    kept[index] = False
    return np.where(kept, g, 0), g[index]


def _sample_index(rng, shape):
    shape = tuple(shape) or (3,)
    if rng.random() < 0.5:
        return slice(None, None, 2)
    return (Ellipsis, int(rng.integers(0, shape[-1])))


def _sample_scatter(rng, shape):
    shape = tuple(shape) or (3,)
    index = _sample_index(rng, shape) if rng.random() < 0.6 else rng.integers(0, shape[0], size=4)
    return [uniform(rng, np.empty(shape)[index].shape)], {"shape": shape, "index": index}


def _sample_index_put(rng, shape):
    shape = tuple(shape) or (3,)
    index = _sample_index(rng, shape)
    target = np.empty(shape)[index].shape
    value_shape = target[1:] if target and rng.random() < 0.3 else target  # v broadcast over the selection
    return [uniform(rng, shape), uniform(rng, value_shape)], {"index": index}


rule("scatter", forward=_scatter, vjp=lambda g, out, x, shape, index: (g[index],), inputs=("x",),
     formulas=("select(g)",), sample=_sample_scatter, notation="scatter(x)",
     doc="x written at index into zeros of the given shape, repeated indices adding (getitem's VJP)")
rule("index_put", forward=_index_put, vjp=_index_put_vjp, inputs=("x", "v"),
     formulas=("where(kept, g, 0)", "select(g)"), sample=_sample_index_put,
     doc="x with x[index] replaced by v, out of place (item assignment x[index] = v)")
