"""Indexing primitives along one axis: ``gather`` picks values by index, ``scatter_add`` adds them in.

Both follow PyTorch's rule for an ``index`` of the same rank as the input: along ``dim`` the position
comes from ``index``; along every other axis it is the position in ``index`` itself, so ``index`` may be
smaller than the input there. ``max(dim)``, ``sort`` and ``topk`` take their values with ``gather``, so
their gradient goes to exactly the elements chosen (not shared between ties, as PyTorch does).
"""

from __future__ import annotations

import numpy as np

from ..rules import rule
from ._sampling import uniform


def index_mesh(index: np.ndarray, dim: int) -> tuple:
    """The fancy index that reads ``x[..., index[i, j, …], …]`` at every position of ``index``."""
    grids = list(np.ix_(*[np.arange(n) for n in index.shape]))
    grids[dim] = index
    return tuple(grids)


def _gather(x, index, dim):
    return x[index_mesh(index, dim)]


def _gather_vjp(g, out, x, index, dim):
    # One index may pick an element twice; add.at accumulates both gradients into the fresh zeros.
    grad = np.zeros(np.shape(x), dtype=np.result_type(g))
    np.add.at(grad, index_mesh(index, dim), g)
    return grad, None


def _scatter_add(x, index, src, dim):
    out = np.array(x, copy=True)
    region = tuple(slice(0, n) for n in index.shape)
    np.add.at(out, index_mesh(index, dim), src[region])
    return out


def _scatter_add_vjp(g, out, x, index, src, dim):
    # src contributes only where index reaches; the rest of src gets zeros (padding, not writes).
    picked = g[index_mesh(index, dim)]
    padding = [(0, s - n) for s, n in zip(np.shape(src), index.shape)]
    return g, None, np.pad(picked, padding)


def _sample_index(rng, shape, reach):
    """An index of the same rank as ``shape``, at most as large, with values below ``reach[dim]``."""
    dim = int(rng.integers(0, len(shape)))
    index_shape = [int(rng.integers(1, n + 1)) for n in shape]
    index_shape[dim] = int(rng.integers(1, 5))
    return rng.integers(0, reach[dim], size=index_shape), dim


def _sample_gather(rng, shape):
    shape = tuple(shape) or (3,)
    index, dim = _sample_index(rng, shape, shape)
    return [uniform(rng, shape), index], {"dim": dim}


def _sample_scatter_add(rng, shape):
    shape = tuple(shape) or (3,)
    index, dim = _sample_index(rng, shape, shape)
    src_shape = tuple(n + int(rng.integers(0, 2)) for n in index.shape)
    return [uniform(rng, shape), index, uniform(rng, src_shape)], {"dim": dim}


rule("gather", forward=_gather, vjp=_gather_vjp, inputs=("x", "index"), formulas=("scatter(g)", None),
     sample=_sample_gather, doc="values of x picked along dim by index")
rule("scatter_add", forward=_scatter_add, vjp=_scatter_add_vjp, inputs=("x", "index", "src"),
     formulas=("g", None, "gather(g)"), sample=_sample_scatter_add,
     doc="x with src added at the positions index names along dim")
