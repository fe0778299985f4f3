"""Selecting, masking and rearranging elements, the PyTorch way: ``index_select``, ``nonzero``, ``unique``,
``triu``/``tril``, ``roll``, ``tile``, ``repeat_interleave``, ``unbind``, the logical operators on masks
(``&``, ``|``, ``^``, ``~``) and the ``new_*`` factories.

``SelectionMixin`` is inherited by ``TensorOps`` (and so by ``Tensor``); the module-level functions are
``chainrule.index_select`` and friends. Nothing here is a new rule: every differentiable result is an
index (the ``getitem`` rule, whose gradient scatters back and adds where an element is picked twice) or
a ``where`` (the masked-out places get no gradient), so the gradients come from rules already checked.
Index-valued results (``nonzero``, ``unique``, ``count_nonzero``) are int64 tensors without a gradient,
as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import tensor as _t  # a cycle by design, as in tensor_ops: names are looked up at call time

__all__ = [
    "SelectionMixin", "index_select", "nonzero", "count_nonzero", "unique", "triu", "tril", "roll", "tile",
    "repeat_interleave", "unbind", "median", "cdist",
]


def _axis(dim, ndim: int, op: str) -> int:
    return _t._normalize_axis(dim, max(ndim, 1), op)


def _int64(values) -> _t.Tensor:
    array = np.asarray(values, dtype=np.int64)
    return _t._new(array[()] if array.ndim == 0 else array)


def _indices(index, op: str) -> np.ndarray:
    """A 1-D (or 0-d) integer index from a tensor, array or list."""
    array = np.asarray(index.data if isinstance(index, _t.Tensor) else index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: the index must hold integers (int64), got dtype {array.dtype}")
    if array.ndim > 1:
        raise ValueError(f"{op}: the index must be 0-d or 1-D, got shape {array.shape}")
    return array.astype(np.intp).reshape(-1)


def _along(x, axis: int, positions: np.ndarray):
    """``x`` indexed by ``positions`` along ``axis`` (the getitem rule)."""
    return x[(slice(None),) * axis + (positions,)]


def _logical(x, other, op, name: str):
    for value in (x, other):
        data = np.asarray(value.data if isinstance(value, _t.Tensor) else value)
        if data.dtype.kind not in "biu":
            raise TypeError(f"{name}: only integer and boolean tensors, got dtype {data.dtype}")
    return x._compare(other, op)


class SelectionMixin:
    """The methods of this module, mixed into ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    # -- logical operators on masks (and bitwise ones on ints), as in PyTorch --------------------------
    def __and__(self, other):
        return _logical(self, other, np.bitwise_and, "&")

    def __or__(self, other):
        return _logical(self, other, np.bitwise_or, "|")

    def __xor__(self, other):
        return _logical(self, other, np.bitwise_xor, "^")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        data = np.asarray(self.data)
        if data.dtype.kind not in "biu":
            raise TypeError(f"~: only integer and boolean tensors, got dtype {data.dtype}")
        return _t._new(np.invert(self.data))

    def logical_not(self):
        return _t._new(np.logical_not(self.data))

    def logical_and(self, other):
        return self._compare(other, np.logical_and)

    def logical_or(self, other):
        return self._compare(other, np.logical_or)

    # -- selection -------------------------------------------------------------------------------------
    def index_select(self, dim: int, index):
        return index_select(self, dim, index)

    def masked_select(self, mask):
        """The elements where ``mask`` holds, as a 1-D tensor (``x[mask]`` after broadcasting)."""
        mask = np.asarray(mask.data if isinstance(mask, _t.Tensor) else mask, dtype=bool)
        shape = np.broadcast_shapes(self.shape, mask.shape)
        return self.broadcast_to(shape)[np.broadcast_to(mask, shape)]

    def nonzero(self, *, as_tuple: bool = False):
        return nonzero(self, as_tuple=as_tuple)

    def count_nonzero(self, dim=None):
        return count_nonzero(self, dim)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):  # noqa: A002
        return unique(self, sorted, return_inverse, return_counts, dim)

    def median(self, dim=None, keepdim: bool = False):
        return median(self, dim, keepdim)

    def masked_fill_(self, mask, value):
        """``masked_fill`` in place."""
        mask_data = np.asarray(mask.data if isinstance(mask, _t.Tensor) else mask, dtype=bool)
        return _t._inplace.update(
            self, "masked_fill_", value, lambda old: old.masked_fill(mask, value),
            lambda data: np.where(mask_data, np.asarray(value.data if isinstance(value, _t.Tensor) else value), data),
        )

    # -- rearranging ------------------------------------------------------------------------------------
    def triu(self, diagonal: int = 0):
        return triu(self, diagonal)

    def tril(self, diagonal: int = 0):
        return tril(self, diagonal)

    def roll(self, shifts, dims=None):
        return roll(self, shifts, dims)

    def tile(self, *dims):
        return tile(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)

    def repeat_interleave(self, repeats, dim=None):
        return repeat_interleave(self, repeats, dim)

    def unbind(self, dim: int = 0):
        return unbind(self, dim)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    # -- new tensors with this one's dtype ------------------------------------------------------------
    def new_tensor(self, data, dtype=None, requires_grad: bool = False):
        return _t.tensor(data, dtype=self.dtype if dtype is None else dtype, requires_grad=requires_grad)

    def _new_filled(self, size, value, dtype, requires_grad):
        shape = _t._shape_arg(size, "new_full")
        array = np.full(shape, value, dtype=self.dtype if dtype is None else _t._to_array(0, dtype).dtype)
        return _t.Tensor(array, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad: bool = False):
        return self._new_filled(size, 0, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad: bool = False):
        return self._new_filled(size, 1, dtype, requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad: bool = False):
        return self._new_filled(size, 0, dtype, requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad: bool = False):
        return self._new_filled((size,), fill_value, dtype, requires_grad)


# -- the functions ---------------------------------------------------------------------------------------


def index_select(x, dim: int, index):
    """The slices of ``x`` at ``index`` (1-D, int64) along ``dim``; repeats are allowed and add their gradients."""
    x = _t.as_tensor(x)
    axis = _axis(dim, x.ndim, "index_select")
    positions = _indices(index, "index_select")
    reach = x.shape[axis] if x.ndim else 1
    if positions.size and (positions.min() < -reach or positions.max() >= reach):
        raise IndexError(f"index_select: index out of range for dimension {dim} of size {reach}")
    return _along(x.reshape(1) if x.ndim == 0 else x, axis, positions)


def nonzero(x, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per axis."""
    data = np.asarray(_t.as_tensor(x).data)
    found = np.nonzero(np.atleast_1d(data))
    if as_tuple:
        return tuple(_int64(axis) for axis in found)
    return _int64(np.stack(found, axis=1) if data.ndim else np.zeros((len(found[0]), 0)))


def count_nonzero(x, dim=None):
    """How many elements are non-zero, in all or along ``dim`` (int64)."""
    x = _t.as_tensor(x)
    axis = None if dim is None else _t._normalize_axis(tuple(dim) if isinstance(dim, list) else dim, x.ndim,
                                                     "count_nonzero")
    return _int64(np.count_nonzero(x.data, axis=axis))


def unique(x, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):  # noqa: A002
    """The distinct values in ascending order (PyTorch sorts them on the CPU either way), optionally with
    the position of each element among them and how often each occurs."""
    x = _t.as_tensor(x)
    axis = None if dim is None else _axis(dim, x.ndim, "unique")
    values, inverse, counts = np.unique(x.data, return_inverse=True, return_counts=True, axis=axis)
    result = [_t._new(values)]
    if return_inverse:
        result.append(_int64(np.reshape(inverse, x.shape) if axis is None else np.reshape(inverse, -1)))
    if return_counts:
        result.append(_int64(counts))
    return result[0] if len(result) == 1 else tuple(result)


def _triangle(x, diagonal: int, lower: bool, op: str):
    x = _t.as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{op}: expects a tensor with at least 2 dimensions, got shape {x.shape}")
    rows, cols = x.shape[-2:]
    keep = np.tril(np.ones((rows, cols), dtype=bool), diagonal) if lower else np.triu(
        np.ones((rows, cols), dtype=bool), diagonal)
    return _t.where(keep, x, _t._new(np.zeros((), dtype=x.dtype)))


def triu(x, diagonal: int = 0):
    """The upper triangle of the last two axes (on and above ``diagonal``); the rest is 0."""
    return _triangle(x, diagonal, False, "triu")


def tril(x, diagonal: int = 0):
    """The lower triangle of the last two axes (on and below ``diagonal``); the rest is 0."""
    return _triangle(x, diagonal, True, "tril")


def roll(x, shifts, dims=None):
    """The elements shifted by ``shifts`` along ``dims``, wrapping around; over the flattened tensor
    when ``dims`` is None (then reshaped back)."""
    x = _t.as_tensor(x)
    if dims is None:
        if isinstance(shifts, Sequence):
            raise ValueError("roll: give dims when shifts is a sequence")
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = tuple(shifts) if isinstance(shifts, Sequence) else (shifts,)
    dims = tuple(dims) if isinstance(dims, Sequence) else (dims,)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    out = x
    for shift, dim in zip(shifts, dims):
        axis = _axis(dim, x.ndim, "roll")
        n = x.shape[axis]
        out = _along(out, axis, (np.arange(n) - int(shift)) % n)
    return out


def tile(x, dims):
    """Copies of ``x`` along each axis, as ``repeat``; fewer counts than axes mean 1 for the leading ones."""
    x = _t.as_tensor(x)
    dims = tuple(int(d) for d in dims)
    return x.repeat(*((1,) * (x.ndim - len(dims)) + dims))


def repeat_interleave(x, repeats, dim=None):
    """Each element (or slice along ``dim``) repeated ``repeats`` times in place: [1, 2] → [1, 1, 2, 2].
    Over the flattened tensor when ``dim`` is None."""
    x = _t.as_tensor(x)
    if dim is None:
        x, dim = x.reshape(-1), 0
    axis = _axis(dim, x.ndim, "repeat_interleave")
    counts = np.asarray(repeats.data if isinstance(repeats, _t.Tensor) else repeats)
    if counts.dtype.kind not in "iu" or (counts < 0).any():
        raise ValueError("repeat_interleave: repeats must be non-negative integers")
    return _along(x, axis, np.repeat(np.arange(x.shape[axis]), counts))


def unbind(x, dim: int = 0):
    """The slices along ``dim``, as a tuple (that axis removed from each)."""
    x = _t.as_tensor(x)
    axis = _axis(dim, x.ndim, "unbind")
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


def median(x, dim=None, keepdim: bool = False):
    """The median; for an even count the lower of the two middle values, as PyTorch (not their mean).
    Over ``dim`` it is the ``(values, indices)`` pair."""
    x = _t.as_tensor(x)
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise ValueError("median: cannot take the median of an empty tensor")
        order = np.argsort(flat.data, kind="stable")
        return flat[int(order[(flat.shape[0] - 1) // 2])]
    axis = _axis(dim, x.ndim, "median")
    values, indices = x.sort(dim=axis)
    middle = (x.shape[axis] - 1) // 2
    values, indices = values[(slice(None),) * axis + (middle,)], indices[(slice(None),) * axis + (middle,)]
    if keepdim:
        values, indices = values.unsqueeze(axis), indices.unsqueeze(axis)
    from .tensor_ops import return_types

    return return_types.median(values, indices)


def cdist(a, b, p: float = 2.0):
    """The p-norm distances between the rows of ``a`` (…, n, d) and of ``b`` (…, m, d): (…, n, m)."""
    a, b = _t.as_tensor(a), _t.as_tensor(b)
    # The norm rule, not a square root of a sum: its gradient at a zero distance is 0, as PyTorch's.
    return (a.unsqueeze(-2) - b.unsqueeze(-3)).norm(p=p, dim=-1)
