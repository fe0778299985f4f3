"""The explainer computes in float64, whatever dtype the learner's tensors have.

``explain(loss)`` receives a graph recorded in the default dtype (float32,
PyTorch's). Explained in float32, ``w = 0.1`` would read 0.10000000149011612
and every later digit would carry float32's rounding. So the graph is recorded
again in float64 first: each float32 given becomes the shortest decimal that
float32 rounds to the same number, which is the number the learner wrote
(``tensor(0.1)`` → 0.1), and every operation runs again on those values.
"""

from __future__ import annotations

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor, _apply, _new

__all__ = ["in_float64"]


def _written(data):
    """A float32 (or float16) value in float64, as the shortest decimal that rounds back to it."""
    array = np.asarray(data)
    as_written = np.array([float(str(v)) for v in array.reshape(-1)], dtype=np.float64).reshape(array.shape)
    return as_written[()] if array.ndim == 0 else as_written


def _needs_float64(data) -> bool:
    dtype = getattr(data, "dtype", None)
    return dtype is not None and dtype.kind == "f" and dtype != np.float64


def _graph(root: Tensor) -> list[Tensor]:
    """Every tensor that ``root`` was computed from, inputs before their consumers."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        tensor, done = stack.pop()
        if done:
            order.append(tensor)
        elif id(tensor) not in seen:
            seen.add(id(tensor))
            stack.append((tensor, True))
            if tensor._ctx is not None:
                stack.extend((parent, False) for parent in reversed(tensor._ctx[1]))
    return order


def in_float64(root: Tensor, names: dict[int, str] | None) -> tuple[Tensor, dict[int, str] | None]:
    """``root`` recorded again in float64, and ``names`` (keyed by tensor id) moved onto the new tensors.

    A graph that is float64 already is returned as it is.
    """
    order = _graph(root)
    if not any(_needs_float64(t.data) for t in order):
        return root, names
    copies: dict[int, Tensor] = {}
    with enable_grad():
        for tensor in order:
            if tensor._ctx is None:
                data = _written(tensor.data) if _needs_float64(tensor.data) else tensor.data
                copy = _new(data, requires_grad=tensor.requires_grad)
            else:
                rule, inputs, attrs, _ = tensor._ctx
                if rule.name == "astype" and np.dtype(attrs["dtype"]).kind == "f":
                    attrs = dict(attrs, dtype=np.dtype(np.float64))  # a cast to float32 would undo the point
                copy = _apply(rule, tuple(copies[id(t)] for t in inputs), attrs)
            copy.name = tensor.name
            copies[id(tensor)] = copy
    if names is not None:
        names = {id(copies[key]): name for key, name in names.items() if key in copies}
    return copies[id(root)], names
