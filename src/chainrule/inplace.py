"""In-place operations: ``add_``, ``mul_``, ``zero_``, ``copy_``, ``+=``, ``x[index] = v``…

Two cases, as in PyTorch:

* **Not recorded** (recording is off, or neither the tensor nor the operand needs a gradient): the new
  values are written into the tensor's own array, so numpy views of it and ``from_numpy`` arrays see
  them (a 0-d tensor holds an immutable numpy scalar, which is replaced).
* **Recorded** (the tensor is an intermediate of a graph, or the operand needs a gradient): the
  operation is computed out of place from a copy of the tensor's old state, and the tensor takes the
  result's value and history. Its identity stays; its old value lives on in the graph, untouched.

Either way the change is counted (``t._version``). A graph node recorded before the change that reads
the changed values makes ``backward`` raise instead of giving a silently wrong gradient; one that only
passes its gradient on sends it to the old state (``autograd._checked_inputs``).
Changing a leaf that requires grad while recording raises at once, as PyTorch does: the change could
not be differentiated.
"""

from __future__ import annotations

import numpy as np

from . import tensor as _tensor
from .autograd import GradMode, mark_in_place
from .rules import RULES
from .tensor import Tensor, _apply, _new, as_tensor, where

__all__ = ["update", "setitem"]


def _requires_grad(value) -> bool:
    return isinstance(value, Tensor) and value.requires_grad


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def update(tensor: Tensor, op: str, operand, recorded, raw) -> Tensor:
    """Change ``tensor`` in place by ``op``.

    ``recorded(old)`` computes the new value out of place from ``old`` (a Tensor holding the old
    state) and records it; ``raw(values)`` computes it from the raw arrays."""
    if _tensor._trace_hook is not None:  # chainrule.compile replays a graph; a change in place is not one
        from .compile import note_untraceable

        note_untraceable(f"it changes a tensor in place ({op})")
    if GradMode.enabled and (tensor.requires_grad or _requires_grad(operand)):
        if tensor.requires_grad and tensor._ctx is None:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place operation; "
                "do it inside `with chainrule.no_grad():` (an optimizer step), or on a .clone()"
            )
        return _rebase(tensor, op, recorded)
    values = raw(tensor.data)
    if np.shape(values) != tensor.shape:
        raise ValueError(f"{op}: the result has shape {np.shape(values)}, the tensor changed has shape {tensor.shape}")
    result_dtype = np.result_type(values)
    if not np.can_cast(result_dtype, tensor.dtype, "same_kind"):
        raise TypeError(f"{op}: the result's dtype {result_dtype} cannot be stored in a tensor of dtype {tensor.dtype}")
    mark_in_place(tensor, op)
    data = tensor.data
    if isinstance(data, np.ndarray) and data.flags.writeable:
        np.copyto(data, values, casting="same_kind")
    else:  # a numpy scalar, or a read-only view: the tensor gets a new array
        array = np.array(values, dtype=tensor.dtype)
        tensor.data = array[()] if array.ndim == 0 else array
    return tensor


def _rebase(tensor: Tensor, op: str, recorded) -> Tensor:
    old = _new(tensor.data, tensor._ctx, tensor.requires_grad)
    old.name = tensor.name
    earlier = getattr(tensor, "_in_place", None)
    if earlier is not None:  # the old state remembers its own older states, for nodes older still
        old._in_place = earlier
    # Counted before the new value is computed, so that its node comes after the change.
    mark_in_place(tensor, op, previous=old)
    result = recorded(old)
    if result.shape != tensor.shape:
        raise ValueError(f"{op}: the result has shape {result.shape}, the tensor changed has shape {tensor.shape}")
    if result.dtype != tensor.dtype:
        if not np.can_cast(result.dtype, tensor.dtype, "same_kind"):
            raise TypeError(
                f"{op}: the result's dtype {result.dtype} cannot be stored in a tensor of dtype {tensor.dtype}"
            )
        result = result.astype(tensor.dtype)
    tensor.data, tensor._ctx, tensor.requires_grad = result.data, result._ctx, result.requires_grad
    return tensor


def _scaled(operand, alpha):
    return operand if alpha == 1 else operand * alpha


def add(tensor, other, alpha=1, op="add_"):
    return update(tensor, op, other, lambda old: old + _scaled(other, alpha),
                  lambda data: data + _scaled(_raw(other), alpha))


def sub(tensor, other, alpha=1, op="sub_"):
    return update(tensor, op, other, lambda old: old - _scaled(other, alpha),
                  lambda data: data - _scaled(_raw(other), alpha))


def mul(tensor, other, op="mul_"):
    return update(tensor, op, other, lambda old: old * other, lambda data: data * _raw(other))


def div(tensor, other, op="div_"):
    return update(tensor, op, other, lambda old: old / other, lambda data: data / _raw(other))


def _replaced(old: Tensor, value) -> Tensor:
    """``value`` broadcast to ``old``'s shape, recorded so that ``old`` gets a zero gradient and a
    ``value`` that requires grad gets its own."""
    keep_nothing = _new(np.zeros(old.shape, dtype=bool))
    return where(keep_nothing, old, value)


def fill(tensor, value, op="fill_"):
    if isinstance(value, Tensor) and np.size(value.data) != 1:
        raise ValueError(f"fill_: the value must be a number or a one-element tensor, got shape {value.shape}")
    scalar = value.reshape(()) if isinstance(value, Tensor) else value
    return update(tensor, op, value, lambda old: _replaced(old, scalar),
                  lambda data: np.full(np.shape(data), np.reshape(_raw(value), ()), dtype=np.result_type(data)))


def copy(tensor, source, op="copy_"):
    try:
        np.broadcast_to(np.empty(np.shape(_raw(source)), dtype=bool), tensor.shape)
    except ValueError:
        raise ValueError(f"copy_: cannot copy a tensor of shape {np.shape(_raw(source))} into one of shape "
                         f"{tensor.shape}") from None
    # copy_ converts to the tensor's dtype, whatever the source's.
    return update(tensor, op, source, lambda old: _replaced(old, as_tensor(source).astype(tensor.dtype)),
                  lambda data: np.broadcast_to(np.asarray(_raw(source)).astype(np.result_type(data)), np.shape(data)))


def clamp(tensor, low=None, high=None, op="clamp_"):
    if low is None and high is None:
        raise ValueError("clamp_: give min, max or both")
    return update(tensor, op, None, lambda old: old.clip(low, high),
                  lambda data: np.clip(data, -np.inf if low is None else low, np.inf if high is None else high))


def setitem(tensor, index, value):
    """``tensor[index] = value``; recorded as the rule ``index_put`` when a gradient may flow."""

    def recorded(old):
        return _apply(RULES["index_put"], (old, as_tensor(value) if not isinstance(value, Tensor) else value),
                      {"index": index})

    def raw(data):
        out = np.array(data, copy=True)
        out[index] = _raw(value)
        return out

    return update(tensor, "setitem", value, recorded, raw)
