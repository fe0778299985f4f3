"""The PyTorch-shaped Tensor methods beyond the arithmetic core: shapes, indexing, sorting, statistics.

``TensorOps`` is a mixin that ``Tensor`` inherits; it keeps ``tensor.py`` about what a tensor *is* (data,
gradient, graph, operators) and this file about what one can *do*. Every differentiable method here is
either one rule of the table (``gather``, ``prod``, ``var``, ``norm``, …) or a composition of rules that
is exact (``repeat`` is reshape → broadcast → reshape; ``sort`` gathers by the sorted order), so the
gradients come from the rule table and are checked there.

Arguments follow PyTorch (``dim``, ``keepdim``), and numpy's spellings (``axis``, ``keepdims``) are
accepted too. The one place where the two libraries mean different things is ``max``/``min`` over an
axis: ``x.max(1)`` / ``x.max(dim=1)`` is PyTorch's ``(values, indices)`` pair, while ``x.max(axis=1)``
is numpy's array of maxima.
"""

from __future__ import annotations

import math
import string
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from . import tensor as _t  # a cycle by design: tensor.py inherits the mixin; names are looked up at call time
from .rules import RULES
from .tensor_select import SelectionMixin

__all__ = [
    "TensorOps", "Size", "return_types", "reduction_axis", "max_or_maximum", "einsum", "is_tensor", "cat",
    "split", "chunk", "gather", "scatter_add", "mm", "bmm", "allclose", "isclose", "one_hot", "argmax", "argmin",
    "dot", "mv", "outer", "trace",
]


class Size(tuple):
    """A tensor's shape, as ``torch.Size``: a tuple of ints (``x.size() == (2, 3)`` holds)."""

    __slots__ = ()

    def numel(self) -> int:
        return math.prod(self)

    def __repr__(self) -> str:
        return f"Size({list(self)})"


class return_types:  # noqa: N801 (PyTorch's name: torch.return_types.max)
    """The named pairs returned by ``max``, ``min``, ``sort`` and ``topk`` (``values``, ``indices``)."""

    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])
    sort = namedtuple("sort", ["values", "indices"])
    topk = namedtuple("topk", ["values", "indices"])
    median = namedtuple("median", ["values", "indices"])


# -- argument helpers ----------------------------------------------------------------------------------


def reduction_axis(dim, axis, op: str):
    """One axis argument from PyTorch's ``dim`` or numpy's ``axis`` (giving both is an error)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: give dim or axis, not both")
        return axis
    return dim


def keep_flag(keepdim, keepdims) -> bool:
    return bool(keepdim if keepdims is None else keepdims)


def _one_dim(dim, ndim: int, op: str) -> int:
    """A single axis, normalised to 0…ndim−1 (axis 0 or −1 of a 0-d tensor is allowed, as in PyTorch)."""
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}: dim must be one int, got {dim!r}")
    axis = _t._normalize_axis(dim, ndim, op)
    return 0 if axis is None else axis


def _sizes(sizes, op: str) -> tuple[int, ...]:
    return _t._shape_arg(sizes, op)


def _int64(values) -> _t.Tensor:
    array = np.asarray(values, dtype=np.int64)
    return _t._new(array[()] if array.ndim == 0 else array)


def _bool(values) -> _t.Tensor:
    array = np.asarray(values, dtype=bool)
    return _t._new(array[()] if array.ndim == 0 else array)


def _plain(value):
    """The raw array behind a Tensor, array or number."""
    return value.data if isinstance(value, _t.Tensor) else np.asarray(value)


def _floor_operands(tensor, other):
    """The raw operands of ``//`` in PyTorch's result dtype (a Python number does not widen a tensor)."""
    other = other if isinstance(other, _t.Tensor) else _t._constant(other, tensor, "floor_divide")
    a, b = _t._promote(None, tensor, other)
    return a.data, b.data


def _order(data, axis: int, descending: bool) -> np.ndarray:
    """Indices that sort ``data`` along ``axis``, stable: equal values keep their order either way.

    Descending is the ascending order of the reversed array, reversed back, so ties still come out
    first-seen first (and NaN, the largest value to PyTorch, comes first).
    """
    data = np.asarray(data)
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    reversed_order = np.argsort(np.flip(data, axis), axis=axis, kind="stable")
    return np.flip(data.shape[axis] - 1 - reversed_order, axis)


def max_or_maximum(x, other, keepdim, axis, keepdims, which: str):
    """``torch.max`` in all its forms: a full reduction, ``(values, indices)`` over ``dim``, numpy's
    ``axis=`` maxima, or, given a second tensor, the elementwise maximum."""
    x = _t.as_tensor(x)
    if other is not None and not isinstance(other, (int, np.integer)) or isinstance(other, bool):
        if isinstance(other, (_t.Tensor, np.ndarray, list)):
            return x.maximum(other) if which == "max" else x.minimum(other)
        raise TypeError(f"{which}: the second argument must be a dim (int) or a tensor, got {type(other).__name__}")
    if other is not None and axis is not None:
        raise TypeError(f"{which}: give dim or axis, not both")
    if axis is not None:
        return x._reduce(which, axis, keep_flag(keepdim, keepdims))
    if other is None:
        return x._reduce(which, None, False)
    return x._extreme_with_index(which, other, keep_flag(keepdim, keepdims))


class TensorOps(SelectionMixin):
    """Methods mixed into ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    # -- shape queries ------------------------------------------------------------------------------
    def size(self, dim: int | None = None):
        """The shape as a ``Size`` (a tuple), or the length of one axis: ``x.size(0)``."""
        if dim is None:
            return Size(self.shape)
        return self.shape[_one_dim(dim, self.ndim, "size")] if self.ndim else 1

    def numel(self) -> int:
        """The number of elements."""
        return int(np.size(self.data))

    def dim(self) -> int:
        """The number of axes (``ndim``)."""
        return self.ndim

    # -- shape changes (compositions of reshape and broadcast_to) -----------------------------------------
    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """Merge the axes ``start_dim…end_dim`` into one; a 0-d tensor becomes shape (1,)."""
        if self.ndim == 0:
            return self.reshape(1)
        start = _one_dim(start_dim, self.ndim, "flatten")
        end = _one_dim(end_dim, self.ndim, "flatten")
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        shape = self.shape
        return self.reshape(shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :])

    def squeeze(self, dim=None):
        """Drop axes of length 1 (all of them, or those of ``dim``; an axis longer than 1 stays, as in PyTorch)."""
        if dim is None:
            axes = {i for i, n in enumerate(self.shape) if n == 1}
        else:
            chosen = _t._normalize_axis(tuple(dim) if isinstance(dim, list) else dim, self.ndim, "squeeze")
            chosen = () if chosen is None else chosen if isinstance(chosen, tuple) else (chosen,)
            axes = {i for i in chosen if self.shape[i] == 1}
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, dim: int):
        """Insert an axis of length 1 at ``dim`` (−1 appends)."""
        axis = _t._normalize_axis(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def expand(self, *sizes):
        """Broadcast to ``sizes`` without copying; −1 keeps an axis's size; new axes go in front."""
        sizes = _sizes(sizes, "expand")
        if len(sizes) < self.ndim:
            raise ValueError(f"expand: {len(sizes)} sizes given for a tensor with {self.ndim} dimensions")
        lead = len(sizes) - self.ndim
        target = []
        for i, size in enumerate(sizes):
            if size == -1:
                if i < lead:
                    raise ValueError(f"expand: -1 is not allowed for the new leading dimension {i}")
                size = self.shape[i - lead]
            elif i >= lead and self.shape[i - lead] not in (1, size):
                raise ValueError(
                    f"expand: the size {self.shape[i - lead]} of dimension {i - lead} must match {size} "
                    f"(only length-1 dimensions expand); shape {self.shape} to {sizes}"
                )
            target.append(size)
        return self.broadcast_to(tuple(target))

    def expand_as(self, other):
        return self.expand(*other.shape)

    def view_as(self, other):
        return self.reshape(other.shape)

    def repeat(self, *repeats):
        """Tile the tensor: ``repeats[i]`` copies along axis i (like ``np.tile``; extra counts add axes).

        Composed exactly as reshape → broadcast → reshape: a (2, 3) tensor repeated (2, 2) is viewed as
        (1, 2, 1, 3), broadcast to (2, 2, 2, 3) and merged to (4, 6); the gradient sums over the copies.
        """
        repeats = _sizes(repeats, "repeat")
        if len(repeats) < self.ndim:
            raise ValueError(
                f"repeat: {len(repeats)} counts given for a tensor with {self.ndim} dimensions (need at least "
                "that many)"
            )
        if any(r < 0 for r in repeats):
            raise ValueError(f"repeat: counts must not be negative, got {repeats}")
        shape = (1,) * (len(repeats) - self.ndim) + self.shape
        paired = self.reshape(tuple(v for n in shape for v in (1, n)))
        spread = paired.broadcast_to(tuple(v for r, n in zip(repeats, shape) for v in (r, n)))
        return spread.reshape(tuple(r * n for r, n in zip(repeats, shape)))

    def split(self, split_size_or_sections, dim: int = 0):
        """Pieces along ``dim``: of ``split_size`` each (the last may be shorter), or of the listed sizes."""
        return split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0):
        """At most ``chunks`` pieces of equal length (⌈n / chunks⌉) along ``dim``, as in PyTorch."""
        return chunk(self, chunks, dim)

    def t(self):
        """The transpose of a matrix (a 0-d or 1-D tensor is returned as it is), as ``torch.Tensor.t``."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 dimensions, got shape {self.shape}; use transpose")
        return self.transpose() if self.ndim == 2 else self

    def clone(self):
        """A copy of the values that stays in the graph (gradient passes through unchanged)."""
        return _t._apply(RULES["clone"], (self,))

    def contiguous(self):
        """The tensor itself: numpy arrays need no contiguity for anything chainrule does."""
        return self

    # -- indexing ---------------------------------------------------------------------------------------
    def gather(self, dim: int, index):
        """``out[i][j] = x[index[i][j]][j]`` for ``dim=0`` (and likewise for any dim); see ``chainrule.gather``."""
        return gather(self, dim, index)

    def scatter_add(self, dim: int, index, src):
        """A copy of x with ``src`` added at the positions ``index`` names along ``dim``."""
        return scatter_add(self, dim, index, src)

    # -- max, min and sorting -------------------------------------------------------------------------
    def _extreme_with_index(self, which: str, dim, keepdim: bool):
        axis = _one_dim(dim, self.ndim, which)
        if self.numel() == 0:
            raise ValueError(f"{which}: cannot reduce an empty tensor")
        if self.ndim == 0:
            return getattr(return_types, which)(self.clone(), _int64(0))
        pick = np.argmax if which == "max" else np.argmin
        index = pick(np.asarray(self.data), axis=axis, keepdims=True)
        values = _t._apply(RULES["gather"], (self, _t._new(index)), {"dim": axis})
        if not keepdim:
            values = values.squeeze(axis)
            index = np.squeeze(index, axis)
        return getattr(return_types, which)(values, _int64(index))

    def argmax(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The index of the largest value (the first if several), over the flattened tensor when dim is None."""
        return _arg_extreme(self, np.argmax, "argmax", dim, axis, keep_flag(keepdim, keepdims))

    def argmin(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The index of the smallest value (the first if several)."""
        return _arg_extreme(self, np.argmin, "argmin", dim, axis, keep_flag(keepdim, keepdims))

    def amax(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The maxima over ``dim`` (an int or a tuple; all axes by default); ties share the gradient."""
        return self._reduce("max", _empty_is_all(reduction_axis(dim, axis, "amax")), keep_flag(keepdim, keepdims))

    def amin(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The minima over ``dim``; ties share the gradient."""
        return self._reduce("min", _empty_is_all(reduction_axis(dim, axis, "amin")), keep_flag(keepdim, keepdims))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        """``(values, indices)`` sorted along ``dim``; equal values keep their order. The values'
        gradient goes back to the position each value came from."""
        axis = _one_dim(dim, self.ndim, "sort")
        if self.ndim == 0:
            return return_types.sort(self.clone(), _int64(0))
        order = _order(self.data, axis, descending)
        return return_types.sort(_t._apply(RULES["gather"], (self, _t._new(order)), {"dim": axis}), _int64(order))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        """The indices that sort the tensor along ``dim`` (int64)."""
        axis = _one_dim(dim, self.ndim, "argsort")
        return _int64(0) if self.ndim == 0 else _int64(_order(self.data, axis, descending))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002 (PyTorch's name)
        """The ``k`` largest (or smallest) values along ``dim`` and their indices, largest first."""
        axis = _one_dim(dim, self.ndim, "topk")
        length = self.shape[axis] if self.ndim else 1
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= length:
            raise ValueError(f"topk: k must be an int from 0 to {length} (the size of dimension {dim}), got {k!r}")
        if self.ndim == 0:
            return return_types.topk(self.clone() if k else self.reshape(0), _int64(0 if k else []))
        order = np.take(_order(self.data, axis, largest), np.arange(k), axis=axis)
        return return_types.topk(_t._apply(RULES["gather"], (self, _t._new(order)), {"dim": axis}), _int64(order))

    # -- reductions -------------------------------------------------------------------------------------
    def prod(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The product over ``dim`` (all elements by default); exact gradient even with zero factors."""
        return self._reduce("prod", reduction_axis(dim, axis, "prod"), keep_flag(keepdim, keepdims))

    def cumsum(self, dim=None, *, axis=None):
        """Running sums along ``dim``."""
        chosen = reduction_axis(dim, axis, "cumsum")
        if chosen is None:
            raise TypeError("cumsum: give the dimension to sum along (dim=)")
        if self.ndim == 0:
            return self.clone()
        return _t._apply(RULES["cumsum"], (self,), {"axis": _one_dim(chosen, self.ndim, "cumsum")})

    def var(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None, keepdims=None,
            ddof=None):
        """Σ(x − x̄)² / (n − correction): the unbiased estimate (correction 1) by default, as in PyTorch;
        ``unbiased=False`` or ``correction=0`` (numpy's ``ddof=0``) divides by n."""
        return self._spread("var", dim, unbiased, keepdim, correction, axis, keepdims, ddof)

    def std(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None, keepdims=None,
            ddof=None):
        """√var: unbiased by default, as in PyTorch (numpy's ``np.std`` divides by n)."""
        return self._spread("std", dim, unbiased, keepdim, correction, axis, keepdims, ddof)

    def _spread(self, name, dim, unbiased, keepdim, correction, axis, keepdims, ddof):
        if isinstance(dim, bool):  # PyTorch's older form x.std(False)
            dim, unbiased = None, dim
        given = [c for c in (unbiased, correction, ddof) if c is not None]
        if len(given) > 1:
            raise TypeError(f"{name}: give one of unbiased, correction and ddof")
        amount = 1 if not given else int(given[0]) if isinstance(given[0], bool) else given[0]
        chosen = _t._normalize_axis(reduction_axis(dim, axis, name), self.ndim, name)
        return _t._apply(
            RULES[name], (self,), {"axis": chosen, "keepdims": keep_flag(keepdim, keepdims), "correction": amount}
        )

    def logsumexp(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """ln Σ eˣ over ``dim``, shifted by the max so it neither overflows nor underflows."""
        return self._reduce("logsumexp", reduction_axis(dim, axis, "logsumexp"), keep_flag(keepdim, keepdims))

    def norm(self, p="fro", dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The vector p-norm (Σ|x|ᵖ)^(1/p) over ``dim`` (all elements by default); p may be a number,
        ``inf``, ``-inf`` or ``"fro"`` (= 2). The gradient at a zero norm is 0, as in PyTorch."""
        if isinstance(p, str):
            if p != "fro":
                raise ValueError(f"norm: p must be a number, inf or 'fro', got {p!r} (no nuclear norm here)")
            p = 2
        if not isinstance(p, (int, float, np.integer, np.floating)) or isinstance(p, bool):
            raise TypeError(f"norm: p must be a number, got {type(p).__name__}")
        axis = _t._normalize_axis(reduction_axis(dim, axis, "norm"), self.ndim, "norm")
        attrs = {"p": float(p), "axis": axis, "keepdims": keep_flag(keepdim, keepdims)}
        return _t._apply(RULES["norm"], (self,), attrs)

    def all(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """True where every element is nonzero (a bool tensor, no gradient)."""
        chosen = _t._normalize_axis(reduction_axis(dim, axis, "all"), self.ndim, "all")
        return _bool(np.all(self.data, axis=chosen, keepdims=keep_flag(keepdim, keepdims)))

    def any(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """True where some element is nonzero (a bool tensor, no gradient)."""
        chosen = _t._normalize_axis(reduction_axis(dim, axis, "any"), self.ndim, "any")
        return _bool(np.any(self.data, axis=chosen, keepdims=keep_flag(keepdim, keepdims)))

    # -- elementwise ------------------------------------------------------------------------------------
    def sin(self):
        return _t._apply(RULES["sin"], (self,))

    def cos(self):
        return _t._apply(RULES["cos"], (self,))

    def remainder(self, other):
        """Python's ``%``: the result has the sign of the divisor, as in PyTorch."""
        return _t._binary(RULES["remainder"], self, other)

    def __mod__(self, other):
        return self.remainder(other)

    def __rmod__(self, other):
        return _t._reflected(RULES["remainder"], self, other)

    def floor_divide(self, other):
        """⌊a / b⌋. Not differentiable (its derivative is 0 wherever it exists), so the result carries
        no gradient; PyTorch raises at backward instead."""
        a, b = _floor_operands(self, other)
        return _t._new(np.floor_divide(a, b))

    def __floordiv__(self, other):
        return self.floor_divide(other)

    def __rfloordiv__(self, other):
        b, a = _floor_operands(self, other)
        return _t._new(np.floor_divide(a, b))

    def sign(self):
        return _t._apply(RULES["sign"], (self,))

    def floor(self):
        return _t._apply(RULES["floor"], (self,))

    def ceil(self):
        return _t._apply(RULES["ceil"], (self,))

    def trunc(self):
        return _t._apply(RULES["trunc"], (self,))

    def round(self):
        """Round half to even, as PyTorch and numpy."""
        return _t._apply(RULES["round"], (self,))

    def log1p(self):
        return _t._apply(RULES["log1p"], (self,))

    def expm1(self):
        return _t._apply(RULES["expm1"], (self,))

    def add(self, other, *, alpha=1):
        """self + alpha·other, as ``torch.add``."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        """self − alpha·other, as ``torch.sub``."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return -self

    def square(self):
        return self * self

    def reciprocal(self):
        return 1 / self

    def rsqrt(self):
        return 1 / self.sqrt()

    def flip(self, *dims):
        """The values in reverse order along ``dims`` (a slice with step −1, so the gradient is one too)."""
        dims = _sizes(dims, "flip")
        axes = {_one_dim(d, self.ndim, "flip") for d in dims}
        return self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))]

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` holds, the tensor elsewhere; the filled places get no gradient."""
        return _t.where(mask, value, self)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        return isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        return allclose(self, other, rtol, atol, equal_nan)

    # -- products ---------------------------------------------------------------------------------------
    def mm(self, other):
        return mm(self, other)

    def dot(self, other):
        return dot(self, other)

    def mv(self, other):
        return mv(self, other)

    def outer(self, other):
        return outer(self, other)

    def trace(self):
        return trace(self)

    def bmm(self, other):
        return bmm(self, other)


def _empty_is_all(axis):
    """PyTorch's amax(dim=()) reduces every axis."""
    return None if isinstance(axis, (tuple, list)) and not axis else axis


def _arg_extreme(x, pick, op: str, dim, axis, keepdim: bool):
    chosen = reduction_axis(dim, axis, op)
    if x.numel() == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor")
    data = np.asarray(x.data)
    if chosen is None:
        flat = pick(data)
        return _int64(np.reshape(flat, (1,) * x.ndim) if keepdim else flat)
    return _int64(pick(data, axis=_one_dim(chosen, x.ndim, op), keepdims=keepdim) if x.ndim else 0)


# -- module-level operations (exported as chainrule.X) -------------------------------------------------------


def argmax(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """The index of the largest value of ``x`` (int64); over the flattened tensor when dim is None."""
    return _t.as_tensor(x).argmax(dim, keepdim, axis=axis, keepdims=keepdims)


def argmin(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
    """The index of the smallest value of ``x`` (int64)."""
    return _t.as_tensor(x).argmin(dim, keepdim, axis=axis, keepdims=keepdims)


def is_tensor(obj) -> bool:
    """True for a chainrule Tensor (a Parameter included)."""
    return isinstance(obj, _t.Tensor)


def cat(tensors: Sequence, dim: int = 0, *, axis=None):
    """Join tensors along an existing axis (PyTorch's name for ``concatenate``)."""
    return _t.concatenate(tensors, dim if axis is None else axis)


def _pieces(x, sizes: list[int], axis: int):
    edges = np.cumsum([0] + sizes)
    lead = (slice(None),) * axis
    return tuple(x[lead + (slice(int(a), int(b)),)] for a, b in zip(edges[:-1], edges[1:]))


def split(x, split_size_or_sections, dim: int = 0):
    """Pieces of ``x`` along ``dim``: each of length ``split_size`` (the last may be shorter), or of the
    listed lengths, which must add up to the axis length. Each piece is a slice (its gradient is too)."""
    x = _t.as_tensor(x)
    if x.ndim == 0:
        raise ValueError("split: a 0-d tensor has no dimension to split")
    axis = _one_dim(dim, x.ndim, "split")
    length = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)) and not isinstance(split_size_or_sections, bool):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length or any(s < 0 for s in sizes):
            raise ValueError(
                f"split: section lengths {sizes} must be non-negative and add up to {length} "
                f"(the size of dimension {dim} of shape {x.shape})"
            )
    return _pieces(x, sizes, axis)


def chunk(x, chunks: int, dim: int = 0):
    """At most ``chunks`` pieces along ``dim``, each ⌈n / chunks⌉ long (the last may be shorter)."""
    x = _t.as_tensor(x)
    if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    axis = _one_dim(dim, x.ndim, "chunk")
    length = x.shape[axis] if x.ndim else 1
    return split(x, max(-(-length // int(chunks)), 1), axis)


def _index_tensor(index, x, dim: int, op: str, reach: int) -> np.ndarray:
    index = _plain(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must hold integers (int64), got dtype {index.dtype}")
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index has {index.ndim} dimensions but the input has {x.ndim}")
    if index.size and (index.min() < -reach or index.max() >= reach):
        raise IndexError(f"{op}: index {int(index.max() if index.max() >= reach else index.min())} is out of "
                         f"range for dimension {dim} of size {reach}")
    return np.where(index < 0, index + reach, index).astype(np.intp)


def gather(x, dim: int, index):
    """Values of ``x`` picked along ``dim`` by ``index`` (same rank as ``x``, no larger along the other axes):
    ``out[i][j] = x[index[i][j]][j]`` for dim 0, ``x[i][index[i][j]]`` for dim 1. The gradient is
    scattered back to the picked positions (added where one is picked twice)."""
    x = _t.as_tensor(x)
    if x.ndim == 0:
        raise ValueError("gather: the input needs at least one dimension")
    axis = _one_dim(dim, x.ndim, "gather")
    index = _index_tensor(index, x, dim, "gather", x.shape[axis])
    for d, (n, m) in enumerate(zip(index.shape, x.shape)):
        if d != axis and n > m:
            raise ValueError(f"gather: index shape {index.shape} is larger than input shape {x.shape} in dimension {d}")
    return _t._apply(RULES["gather"], (x, _t._new(index)), {"dim": axis})


def scatter_add(x, dim: int, index, src):
    """A copy of ``x`` with ``src`` added in: for dim 0, ``out[index[i][j]][j] += src[i][j]``. Only the
    part of ``src`` that ``index`` covers is used, as in PyTorch."""
    x = _t.as_tensor(x)
    src = src if isinstance(src, _t.Tensor) else _t._constant(src, x, "scatter_add")
    if x.ndim == 0:
        raise ValueError("scatter_add: the input needs at least one dimension")
    axis = _one_dim(dim, x.ndim, "scatter_add")
    index = _index_tensor(index, x, dim, "scatter_add", x.shape[axis])
    if np.ndim(src.data) != x.ndim:
        raise ValueError(f"scatter_add: src has {np.ndim(src.data)} dimensions but the input has {x.ndim}")
    for d, n in enumerate(index.shape):
        if n > np.shape(src.data)[d] or (d != axis and n > x.shape[d]):
            raise ValueError(
                f"scatter_add: index shape {index.shape} does not fit src shape {np.shape(src.data)} "
                f"and input shape {x.shape} in dimension {d}"
            )
    return _t._apply(RULES["scatter_add"], (x, _t._new(index), src), {"dim": axis})


def dot(a, b):
    """The inner product of two vectors (1-D only, as ``torch.dot``)."""
    a, b = _t.as_tensor(a), _t.as_tensor(b)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: both operands must be vectors (1-D), got shapes {a.shape} and {b.shape}")
    return _t.matmul(a, b)


def mv(a, b):
    """A matrix times a vector, as ``torch.mv``."""
    a, b = _t.as_tensor(a), _t.as_tensor(b)
    if a.ndim != 2 or b.ndim != 1:
        raise ValueError(f"mv: expected a matrix and a vector, got shapes {a.shape} and {b.shape}")
    return _t.matmul(a, b)


def outer(a, b):
    """aᵢ·bⱼ for two vectors, as ``torch.outer``."""
    a, b = _t.as_tensor(a), _t.as_tensor(b)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: both operands must be vectors (1-D), got shapes {a.shape} and {b.shape}")
    return einsum("i,j->ij", a, b)


def trace(x):
    """The sum of a matrix's diagonal, as ``torch.trace``."""
    x = _t.as_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"trace: expected a matrix (2-D), got shape {x.shape}")
    return einsum("ii->", x[:, : x.shape[0]] if x.shape[1] > x.shape[0] else x[: x.shape[1]])


def mm(a, b):
    """The product of two matrices (2-D only, as ``torch.mm``)."""
    a, b = _t.as_tensor(a), _t.as_tensor(b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: both operands must be matrices (2-D), got shapes {a.shape} and {b.shape}")
    return _t.matmul(a, b)


def bmm(a, b):
    """Batched matrix products of (B, n, k) and (B, k, m) tensors (no broadcasting, as ``torch.bmm``)."""
    a, b = _t.as_tensor(a), _t.as_tensor(b)
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: expected two 3-D tensors with the same batch size, got shapes {a.shape} and {b.shape}")
    return _t.matmul(a, b)


def isclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """Elementwise |a − b| ≤ atol + rtol·|b| (a bool tensor)."""
    return _bool(np.isclose(_plain(a), _plain(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(a, b, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when every element is close (``isclose``)."""
    return bool(np.allclose(_plain(a), _plain(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def one_hot(labels, num_classes: int = -1):
    """Class indices → rows of zeros with a 1 at the index (int64, shape ``labels.shape + (num_classes,)``);
    ``num_classes=-1`` uses the largest label + 1."""
    values = _plain(labels)
    if values.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be an integer (int64) tensor, got dtype {values.dtype}")
    if values.size and values.min() < 0:
        raise ValueError(f"one_hot: class values must not be negative, got {int(values.min())}")
    largest = int(values.max()) if values.size else -1
    if num_classes == -1:
        if not values.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = largest + 1
    if largest >= num_classes:
        raise ValueError(f"one_hot: class value {largest} is out of range for num_classes={num_classes}")
    return _int64(values[..., np.newaxis] == np.arange(num_classes))


# -- einsum ----------------------------------------------------------------------------------------------


def _explicit_subscripts(equation: str, ranks: list[int]) -> str:
    """Rewrite an einsum equation with ``...`` and an implicit output into plain letters and ``->``.

    Ellipses become fresh letters (right-aligned, as broadcasting is); an implicit output is every letter
    used once, in alphabetical order, after the ellipsis axes (numpy's and PyTorch's rule).
    """
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ranks):
        raise ValueError(f"einsum: the equation {equation!r} names {len(terms)} operands but {len(ranks)} were given")
    if any(not (c.isalpha() and c.isascii()) for c in equation.replace("...", "") if c not in ",->"):
        raise ValueError(f"einsum: subscripts must be letters (a–z, A–Z), got {equation!r}")
    spare = [c for c in string.ascii_letters if c not in equation]
    widths = []
    for term, rank in zip(terms, ranks):
        named = len(term) - 3 if "..." in term else len(term)
        if named > rank or ("..." not in term and named != rank):
            raise ValueError(f"einsum: subscripts {term!r} do not fit an operand with {rank} dimensions")
        widths.append(rank - named)
    widest = max(widths)
    ellipsis = "".join(spare[:widest])
    # Every operand's ellipsis letters are right-aligned against the widest, as broadcasting aligns axes.
    rewritten = [term.replace("...", ellipsis[widest - width :]) for term, width in zip(terms, widths)]
    if arrow:
        if "..." in output:
            output = output.replace("...", ellipsis)
    else:
        letters = "".join(rewritten)
        output = ellipsis + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ellipsis))
    return ",".join(rewritten) + "->" + output


def einsum(equation: str, *operands):
    """Einstein summation, as ``torch.einsum``: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``; ``"ii->"`` the
    trace; ``...`` stands for broadcast batch axes. Operands may also come as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    tensors = tuple(_t.as_tensor(t) for t in operands)
    if not tensors:
        raise ValueError("einsum: needs at least one operand")
    subscripts = _explicit_subscripts(equation, [t.ndim for t in tensors])
    try:
        np.einsum(subscripts, *[np.empty(t.shape, dtype=bool) for t in tensors])
    except ValueError as error:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"einsum: {equation!r} does not fit shapes {shapes} ({error})") from None
    return _t._apply(RULES["einsum"], tensors, {"subscripts": subscripts})
