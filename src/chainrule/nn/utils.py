"""Gradient clipping, as ``torch.nn.utils``: call between ``backward()`` and ``optimizer.step()``.

The gradients are scaled in place on each parameter's ``.grad`` tensor (a new
array is bound to it, since a gradient array may be shared with another).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..tensor import Tensor, _new

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _with_grads(parameters, name: str) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(f"{name}: expected a tensor or an iterable of tensors, got {type(parameters).__name__}") \
            from None
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: expected tensors, got a {type(p).__name__}")
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``; return that
    norm, taken before clipping, as a 0-d tensor.

    The norm is ‖(‖g₁‖, ‖g₂‖, …)‖ of the per-parameter norms (``norm_type`` p, ``inf`` for the
    largest |g|). Every gradient is multiplied by min(1, max_norm / (norm + 1e-6)), PyTorch's rule.
    """
    name = "clip_grad_norm_"
    if not isinstance(max_norm, numbers.Real) or isinstance(max_norm, bool):
        raise TypeError(f"{name}: max_norm must be a number, got {type(max_norm).__name__}")
    norm_type = float(norm_type)
    with_grads = _with_grads(parameters, name)
    if not with_grads:
        return _new(np.float32(0.0))
    grads = [np.asarray(p.grad.data) for p in with_grads]
    dtype = np.result_type(*grads)
    if math.isinf(norm_type):
        norms = [np.max(np.abs(g)) if g.size else dtype.type(0) for g in grads]
        total = np.max(norms)
    else:
        norms = [np.sum(np.abs(g) ** norm_type) ** (1.0 / norm_type) for g in grads]
        total = np.sum(np.asarray(norms, dtype=dtype) ** norm_type) ** (1.0 / norm_type)
    total = np.asarray(total, dtype=dtype)[()]
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"{name}: the total norm of order {norm_type} of the gradients is non-finite "
                           "(set error_if_nonfinite=False to clip anyway)")
    coefficient = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    for p in with_grads:
        p.grad.data = np.asarray(p.grad.data * np.asarray(coefficient, dtype=p.grad.dtype))[()]
    return _new(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to [−clip_value, clip_value]."""
    if not isinstance(clip_value, numbers.Real) or isinstance(clip_value, bool):
        raise TypeError(f"clip_grad_value_: clip_value must be a number, got {type(clip_value).__name__}")
    bound = float(clip_value)
    for p in _with_grads(parameters, "clip_grad_value_"):
        p.grad.data = np.asarray(np.clip(p.grad.data, -bound, bound), dtype=p.grad.dtype)[()]


def parameters_to_vector(parameters) -> Tensor:
    """All parameters' values, flattened and joined into one 1-D tensor (a copy, no gradient)."""
    arrays = [np.ravel(np.asarray(p.data)) for p in parameters]
    return _new(np.concatenate(arrays) if arrays else np.zeros(0))


def vector_to_parameters(vector, parameters) -> None:
    """Write a 1-D ``vector`` back into the parameters, in order (the inverse of ``parameters_to_vector``)."""
    values = np.ravel(np.asarray(vector.data if isinstance(vector, Tensor) else vector))
    parameters = list(parameters)
    needed = sum(p.numel() for p in parameters)
    if values.size != needed:
        raise ValueError(f"vector_to_parameters: the vector has {values.size} entries but the parameters "
                         f"need {needed}")
    start = 0
    for p in parameters:
        chunk = values[start:start + p.numel()].reshape(p.shape)
        if isinstance(p.data, np.ndarray) and p.data.flags.writeable:
            p.data[...] = chunk
        else:
            p.data = np.asarray(chunk, dtype=p.dtype)[()]
        start += p.numel()
