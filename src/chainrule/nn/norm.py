"""Normalisation layers: ``BatchNorm1d`` and ``LayerNorm``.

Both compute y = (x − μ) / √(σ² + ε) · γ + β, with the biased variance σ², from
existing primitives (mean, subtraction, square root), so their gradients are
the engine's chain rule through those steps; they differ in what they average
over. BatchNorm averages each feature over the batch (and the length axis of a
(N, C, L) input) and keeps running estimates for evaluation; LayerNorm averages
each sample over its last dimensions.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor, _new, as_tensor
from .module import Module, Parameter, _float_dtype

__all__ = ["batch_norm", "layer_norm", "BatchNorm1d", "LayerNorm"]


def _normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """(x − μ)/√(σ² + ε) over ``axes``, with μ and σ² (biased) kept for the running statistics."""
    mean = x.mean(axes, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axes, keepdims=True)
    return centred / (variance + eps).sqrt(), mean, variance


def _channel_shape(x: Tensor) -> tuple[int, ...]:
    """Where a per-channel vector (C,) broadcasts against x: (C,) for (N, C), (C, 1) for (N, C, L)."""
    return (x.shape[1],) + (1,) * (x.ndim - 2)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) with the batch's statistics (``training``) or the running ones.

    In training, the running statistics are updated in place: r ← (1 − momentum)·r + momentum·batch,
    with the *unbiased* batch variance for ``running_var`` (PyTorch's rule).
    """
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C) or (N, C, L), got {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = _channel_shape(x)
    if training:
        count = x.numel() // x.shape[1]
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        normalized, mean, variance = _normalize(x, axes, eps)
        if running_mean is not None or running_var is not None:
            with no_grad():
                batch_mean = np.reshape(mean.data, -1)
                unbiased = np.reshape(variance.data, -1) * (count / (count - 1))
                for running, batch in ((running_mean, batch_mean), (running_var, unbiased)):
                    if running is not None:
                        updated = (1 - momentum) * running.data + momentum * batch
                        running.data[...] = updated
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation needs running_mean and running_var (or training=True)")
        mean = _new(np.reshape(running_mean.data, shape))
        variance = _new(np.reshape(running_var.data, shape))
        normalized = (x - mean) / (variance + eps).sqrt()
    if weight is not None:
        normalized = normalized * as_tensor(weight).reshape(shape)
    if bias is not None:
        normalized = normalized + as_tensor(bias).reshape(shape)
    return normalized


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample over its last ``len(normalized_shape)`` dimensions, then scale and shift."""
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in normalized_shape {shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    normalized, _, _ = _normalize(x, axes, eps)
    if weight is not None:
        normalized = normalized * weight
    if bias is not None:
        normalized = normalized + bias
    return normalized


class BatchNorm1d(Module):
    """Batch normalisation of (N, C) or (N, C, L) inputs, as ``torch.nn.BatchNorm1d``.

    Parameters ``weight`` (γ, ones) and ``bias`` (β, zeros) when ``affine``; buffers
    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` when
    ``track_running_stats``. ``train()`` mode normalises with the batch's statistics and updates
    the running ones; ``eval()`` mode uses the running ones. ``momentum=None`` makes the running
    statistics a plain average over all batches so far.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None):
        super().__init__()
        if not isinstance(num_features, numbers.Integral) or isinstance(num_features, bool) or num_features < 1:
            raise ValueError(f"BatchNorm1d: num_features must be a positive int, got {num_features!r}")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"BatchNorm1d: device {device!r} is not available (chainrule runs on the CPU)")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = _float_dtype(dtype, "BatchNorm1d")
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", _new(np.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", _new(np.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", _new(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data = np.array(0, dtype=np.int64)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected a 2-D or 3-D input, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected {self.num_features} features on axis 1, got shape {x.shape}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data = np.asarray(self.num_batches_tracked.data + 1, dtype=np.int64)
            if self.momentum is None:  # a cumulative average
                momentum = 1.0 / float(self.num_batches_tracked.data)
        # Without running statistics, evaluation normalises with the batch's own, as in PyTorch.
        use_batch = self.training or not self.track_running_stats
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_batch, momentum,
                          self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Layer normalisation over the last dimensions, as ``torch.nn.LayerNorm``: ``weight`` (ones)
    and ``bias`` (zeros) of shape ``normalized_shape`` when ``elementwise_affine``."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
        if not shape or not all(isinstance(s, numbers.Integral) and s >= 1 for s in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive ints, got {normalized_shape!r}")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"LayerNorm: device {device!r} is not available (chainrule runs on the CPU)")
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        dtype = _float_dtype(dtype, "LayerNorm")
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
