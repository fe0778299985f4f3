"""The PyTorch bridge: ``to_torch(module)`` builds the equivalent ``torch.nn`` module with the same weights,
``from_torch(module)`` the reverse.

Both walk the model through one table of layer pairs. Each entry says only how
to build the empty counterpart with the same settings (sizes, slopes, axes);
weights and buffers are then copied by ``state_dict``, whose names and layouts
chainrule shares with PyTorch. Containers (``Sequential``) are converted child
by child, keeping their children's names. A layer of your own joins with
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

from ..nn import layers as L
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


def _softmax_from_torch(t, dtype):
    if t.dim is None:
        raise BridgeError("from_torch: torch.nn.Softmax(dim=None) picks its axis from the input's rank; give it "
                          "dim= explicitly to convert it")
    return L.Softmax(t.dim)


register(L.Softmax, "Softmax", to_torch=lambda m, tnn, dtype: tnn.Softmax(dim=m.dim), from_torch=_softmax_from_torch)


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
    if isinstance(module, L.Sequential):
        converted = torch.nn.Sequential(OrderedDict((name, to_torch(child)) for name, child in module._modules.items()))
        return converted.train(module.training)
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
    if isinstance(module, torch.nn.Sequential):
        converted = L.Sequential()
        for name, child in module.named_children():
            setattr(converted, name, from_torch(child))  # registered in order, under torch's names
        return converted.train(module.training)
    pair = _theirs_pair(module, torch)
    if pair is None:
        known = sorted(getattr(p.theirs, "__name__", p.theirs) for p in _PAIRS)
        raise BridgeError(f"from_torch: no chainrule counterpart for {type(module).__module__}."
                          f"{type(module).__name__}; known: {', '.join(known)} and Sequential")
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
