"""The PyTorch bridge: ``to_torch(module)`` builds the equivalent ``torch.nn`` module with the same weights,
``from_torch(module)`` the reverse.

Both walk the model through one table of layer pairs. Each entry says only how
to build the empty counterpart with the same settings (sizes, strides, axes);
weights and buffers (BatchNorm's running statistics) are then copied by
``state_dict``, whose names and layouts chainrule shares with PyTorch.
Containers (``Sequential``, ``ModuleList``, ``ModuleDict``) are converted child
by child, keeping their children's names. Dropout's settings move, not its
random stream: each side draws its own masks. A layer of your own joins with
``register(ChainruleLayer, torch.nn.TheirLayer, to_torch=..., from_torch=...)``.

Values are copied, never shared: training one model leaves the other as it was.

>>> torch_model = to_torch(nn.MLP([2, 16, 1]))                  # doctest: +SKIP
>>> model = from_torch(torch.nn.Sequential(torch.nn.Linear(2, 1)))      # doctest: +SKIP
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import nn as L
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["to_torch", "from_torch", "register", "BridgeError"]


class BridgeError(TypeError):
    """A module has no counterpart on the other side of the bridge, or settings that do not translate."""


@dataclass(frozen=True)
class Pair:
    """One layer and its PyTorch counterpart: how to build each (empty) from the other."""

    ours: type
    theirs: str | type  # a torch class, or its name in torch.nn (looked up when torch is imported)
    to_torch: Callable  # (chainrule module, torch.nn, torch dtype or None) -> torch module
    from_torch: Callable  # (torch module, numpy dtype or None) -> chainrule module
    torch_only_keys: tuple[str, ...] = ()  # state entries torch keeps and chainrule does not


_PAIRS: list[Pair] = []


def register(ours: type, theirs, *, to_torch: Callable, from_torch: Callable,
             torch_only_keys: tuple[str, ...] = ()) -> None:
    """Add a layer pair to the bridge; ``theirs`` is a torch module class, or its name in ``torch.nn``.

    ``to_torch(module, torch_nn, dtype)`` returns the torch module with the settings of ``module``
    (``dtype``: its parameters' torch dtype, or None without parameters); ``from_torch(module, dtype)``
    the chainrule one. The weights are copied afterwards, by state_dict.
    """
    _PAIRS[:] = [p for p in _PAIRS if p.ours is not ours and p.theirs != theirs]
    _PAIRS.append(Pair(ours, theirs, to_torch, from_torch, tuple(torch_only_keys)))


def _activation(ours: type, theirs: str) -> None:
    register(ours, theirs, to_torch=lambda m, tnn, dtype: getattr(tnn, theirs)(),
             from_torch=lambda t, dtype: ours())


register(L.Linear, "Linear",
         to_torch=lambda m, tnn, dtype: tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None,
                                                   dtype=dtype),
         from_torch=lambda t, dtype: L.Linear(t.in_features, t.out_features, bias=t.bias is not None, dtype=dtype))
for _ours, _theirs in ((L.Sigmoid, "Sigmoid"), (L.Tanh, "Tanh"), (L.ReLU, "ReLU"), (L.Identity, "Identity")):
    _activation(_ours, _theirs)
register(L.LeakyReLU, "LeakyReLU",
         to_torch=lambda m, tnn, dtype: tnn.LeakyReLU(m.negative_slope),
         from_torch=lambda t, dtype: L.LeakyReLU(t.negative_slope))


register(L.Softmax, "Softmax", to_torch=lambda m, tnn, dtype: tnn.Softmax(dim=m.dim),
         from_torch=lambda t, dtype: L.Softmax(t.dim))
register(L.LogSoftmax, "LogSoftmax", to_torch=lambda m, tnn, dtype: tnn.LogSoftmax(dim=m.dim),
         from_torch=lambda t, dtype: L.LogSoftmax(t.dim))
_activation(L.SiLU, "SiLU")
register(L.GELU, "GELU", to_torch=lambda m, tnn, dtype: tnn.GELU(approximate=m.approximate),
         from_torch=lambda t, dtype: L.GELU(approximate=t.approximate))
register(L.ELU, "ELU", to_torch=lambda m, tnn, dtype: tnn.ELU(alpha=m.alpha),
         from_torch=lambda t, dtype: L.ELU(alpha=t.alpha))
register(L.Dropout, "Dropout", to_torch=lambda m, tnn, dtype: tnn.Dropout(p=m.p),
         from_torch=lambda t, dtype: L.Dropout(p=t.p))
register(L.Flatten, "Flatten", to_torch=lambda m, tnn, dtype: tnn.Flatten(m.start_dim, m.end_dim),
         from_torch=lambda t, dtype: L.Flatten(t.start_dim, t.end_dim))
register(L.Conv2d, "Conv2d",
         to_torch=lambda m, tnn, dtype: tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                                                   padding=m.padding, dilation=m.dilation, groups=m.groups,
                                                   bias=m.bias is not None, dtype=dtype),
         from_torch=lambda t, dtype: L.Conv2d(t.in_channels, t.out_channels, t.kernel_size, stride=t.stride,
                                              padding=t.padding, dilation=t.dilation, groups=t.groups,
                                              bias=t.bias is not None, padding_mode=t.padding_mode, dtype=dtype))
register(L.MaxPool2d, "MaxPool2d",
         to_torch=lambda m, tnn, dtype: tnn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation,
                                                      ceil_mode=m.ceil_mode),
         from_torch=lambda t, dtype: L.MaxPool2d(t.kernel_size, t.stride, t.padding, t.dilation,
                                                 return_indices=t.return_indices, ceil_mode=t.ceil_mode))
register(L.AvgPool2d, "AvgPool2d",
         to_torch=lambda m, tnn, dtype: tnn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode,
                                                      m.count_include_pad, m.divisor_override),
         from_torch=lambda t, dtype: L.AvgPool2d(t.kernel_size, t.stride, t.padding, t.ceil_mode,
                                                 t.count_include_pad, t.divisor_override))
register(L.BatchNorm1d, "BatchNorm1d",
         to_torch=lambda m, tnn, dtype: tnn.BatchNorm1d(m.num_features, m.eps, m.momentum, m.affine,
                                                        m.track_running_stats, dtype=dtype),
         from_torch=lambda t, dtype: L.BatchNorm1d(t.num_features, t.eps, t.momentum, t.affine,
                                                   t.track_running_stats, dtype=dtype))
register(L.LayerNorm, "LayerNorm",
         to_torch=lambda m, tnn, dtype: tnn.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine,
                                                      bias=getattr(m, "bias", None) is not None, dtype=dtype),
         from_torch=lambda t, dtype: L.LayerNorm(t.normalized_shape, t.eps, t.elementwise_affine,
                                                 bias=t.bias is not None, dtype=dtype))
register(L.Embedding, "Embedding",
         to_torch=lambda m, tnn, dtype: tnn.Embedding(m.num_embeddings, m.embedding_dim, m.padding_idx, dtype=dtype),
         from_torch=lambda t, dtype: L.Embedding(t.num_embeddings, t.embedding_dim, t.padding_idx, t.max_norm,
                                                 t.norm_type, t.scale_grad_by_freq, t.sparse, dtype=dtype))

# Containers: converted child by child, under the same names.
_CONTAINERS = ((L.Sequential, "Sequential"), (L.ModuleList, "ModuleList"), (L.ModuleDict, "ModuleDict"))


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("the PyTorch bridge needs torch: pip install torch") from None
    return torch


def _ours_pair(module: Module) -> Pair | None:
    for cls in type(module).__mro__:
        for pair in _PAIRS:
            if pair.ours is cls:
                return pair
    return None


def _theirs_pair(module, torch) -> Pair | None:
    for cls in type(module).__mro__:
        for pair in _PAIRS:
            if (pair.theirs if isinstance(pair.theirs, type) else getattr(torch.nn, pair.theirs, None)) is cls:
                return pair
    return None


_DTYPES = {np.dtype(np.float16): "float16", np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


def _own_dtype(module):
    """The dtype of a module's first parameter (its own, not its children's), or None."""
    for value in module._parameters.values() if isinstance(module, Module) else module.parameters(recurse=False):
        return value.dtype
    return None


def to_torch(module: Module):
    """The ``torch.nn`` module equivalent to ``module``, with copies of its weights (and its train/eval mode).

    Parameters keep their dtype: a float64 chainrule model becomes a float64 torch model, so both compute the
    same numbers.
    """
    torch = _torch()
    if not isinstance(module, Module):
        raise BridgeError(f"to_torch: expected a chainrule Module, got {type(module).__name__}")
    for ours, theirs in _CONTAINERS:
        if isinstance(module, ours):
            children = OrderedDict((name, to_torch(child)) for name, child in module._modules.items())
            return getattr(torch.nn, theirs)(children if theirs != "ModuleList" else children.values()) \
                .train(module.training)
    pair = _ours_pair(module)
    if pair is None:
        raise BridgeError(f"to_torch: no torch counterpart for {type(module).__name__}; build the model from "
                          "Sequential and chainrule's layers, or add one with chainrule.io.torch_bridge.register")
    own = _own_dtype(module)
    dtype = getattr(torch, _DTYPES[np.dtype(own)]) if own is not None and np.dtype(own) in _DTYPES else None
    theirs = pair.to_torch(module, torch.nn, dtype)
    state = {name: torch.from_numpy(_numpy(value)) for name, value in module.state_dict().items()}
    expected = theirs.state_dict()
    state.update({key: expected[key].clone() for key in pair.torch_only_keys if key in expected})
    theirs.load_state_dict(state, strict=True)
    return theirs.train(module.training)


def from_torch(module) -> Module:
    """The chainrule module equivalent to the ``torch.nn`` module ``module``, with copies of its weights."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise BridgeError(f"from_torch: expected a torch.nn.Module, got {type(module).__name__}")
    for ours, theirs in _CONTAINERS:
        if isinstance(module, getattr(torch.nn, theirs)):
            converted = ours()
            for name, child in module.named_children():
                converted.add_module(name, from_torch(child))  # in order, under torch's names
            return converted.train(module.training)
    pair = _theirs_pair(module, torch)
    if pair is None:
        known = sorted(getattr(p.theirs, "__name__", p.theirs) for p in _PAIRS)
        raise BridgeError(f"from_torch: no chainrule counterpart for {type(module).__module__}."
                          f"{type(module).__name__}; known: {', '.join(known)}, Sequential, ModuleList and ModuleDict")
    own = _own_dtype(module)
    ours = pair.from_torch(module, None if own is None else _numpy_dtype(own))
    state = {name: value.detach().cpu().numpy().copy() for name, value in module.state_dict().items()
             if name not in pair.torch_only_keys}
    ours.load_state_dict(state, strict=True)
    return ours.train(module.training)


def _numpy(value) -> np.ndarray:
    """A fresh copy of a state entry (a numpy array, or a chainrule tensor), so the two models share no memory."""
    return np.array(value.data if isinstance(value, Tensor) else value, copy=True)


def _numpy_dtype(torch_dtype) -> np.dtype:
    return np.dtype(str(torch_dtype).removeprefix("torch."))
