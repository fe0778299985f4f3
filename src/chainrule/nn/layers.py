"""Layers: Linear, Sequential, MLP, activations, and the seed's single Neuron."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import functional as F
from ..dtypes import as_dtype, get_default_dtype
from ..random import generator as _generator  # seed=, rng=, or chainrule.manual_seed's global generator
from ..tensor import Tensor, as_tensor
from .module import Module, Parameter

__all__ = [
    "Linear", "Sequential", "MLP", "Neuron", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "Identity",
    "activation_module", "ACTIVATIONS",
]


def _dtype(dtype) -> np.dtype:
    """The parameters' dtype: the one given, or the default dtype at the time the layer is made."""
    return get_default_dtype() if dtype is None else as_dtype(dtype, "dtype")


def _positive_int(value, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """y = x·Wᵀ + b, with ``weight`` of shape (out, in) and ``bias`` of shape (out,).

    Initialised as PyTorch does: every entry uniform in ±1/√in_features, in
    ``dtype`` (the default dtype, float32, unless given).

    >>> layer = Linear(3, 2, seed=0)
    >>> layer(chainrule.tensor(np.ones((5, 3)))).shape
    (5, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, seed=None, rng=None,
                 dtype=None):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        generator = _generator(seed, rng)
        dtype = _dtype(dtype)
        bound = 1 / math.sqrt(self.in_features)
        self.weight = Parameter(generator.uniform(-bound, bound, (self.out_features, self.in_features)), dtype=dtype)
        self.bias = Parameter(generator.uniform(-bound, bound, self.out_features), dtype=dtype) if bias else None

    def forward(self, x) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    """Modules applied one after another; ``model[0]`` is the first."""

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {index} is a {type(module).__name__}, not a Module")
            setattr(self, str(index), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class _Activation(Module):
    function = None

    def forward(self, x) -> Tensor:
        return type(self).function(as_tensor(x))


class Sigmoid(_Activation):
    """σ(x) = 1/(1 + e^(−x))."""

    function = staticmethod(F.sigmoid)


class Tanh(_Activation):
    """tanh(x)."""

    function = staticmethod(F.tanh)


class ReLU(_Activation):
    """max(x, 0)."""

    function = staticmethod(F.relu)


class Identity(_Activation):
    """x, unchanged (a linear output)."""

    function = staticmethod(lambda x: x)


class LeakyReLU(Module):
    """x for x > 0, else negative_slope·x."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """softmax over ``dim`` (the last axis by default)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x) -> Tensor:
        return F.softmax(x, self.dim)


ACTIVATIONS = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "softmax": Softmax,
    "identity": Identity, "linear": Identity, "none": Identity,
}


def activation_module(activation) -> Module:
    """A module from a name (``"relu"``), a Module class, or a Module instance."""
    if isinstance(activation, Module):
        return activation
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation()
    if activation is None:
        return Identity()
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]()
    raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(sorted(ACTIVATIONS))}")


class MLP(Sequential):
    """Linear layers of the given sizes with an activation between them.

    ``MLP([2, 16, 16, 1], activation="relu")`` is micrograd's two-moons network:
    Linear(2→16), ReLU, Linear(16→16), ReLU, Linear(16→1). The last layer has
    no activation unless ``output_activation`` names one.
    """

    def __init__(self, sizes: Sequence[int], activation="relu", *, output_activation=None, seed=None, rng=None,
                 dtype=None):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output size, got {sizes}")
        generator = _generator(seed, rng)
        layers: list[Module] = []
        for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, rng=generator, dtype=dtype))
            if index < len(sizes) - 2:
                layers.append(activation_module(activation))
        if output_activation is not None:
            layers.append(activation_module(output_activation))
        super().__init__(*layers)
        self.sizes = tuple(sizes)


class Neuron(Module):
    """The seed's unit: ŷ = activation(w·x + b), with ``w`` of shape (n_inputs,).

    ``Neuron(1, bias=False, weights=[0.5])`` is the seed's example 1;
    ``Neuron(2, weights=[0.5, -0.5], bias=0.0)`` its example 2. Inputs have
    shape (n_inputs,) for one sample or (batch, n_inputs).
    """

    def __init__(self, n_inputs: int, activation="sigmoid", *, weights=None, bias=True, seed=None, rng=None,
                 dtype=None):
        super().__init__()
        self.n_inputs = _positive_int(n_inputs, "n_inputs")
        if weights is None:
            bound = 1 / math.sqrt(self.n_inputs)
            weights = _generator(seed, rng).uniform(-bound, bound, self.n_inputs)
        dtype = _dtype(dtype)
        weights = np.asarray(weights, dtype=dtype).reshape(-1)
        if weights.shape != (self.n_inputs,):
            raise ValueError(f"Neuron: expected {self.n_inputs} weights, got {weights.size}")
        self.w = Parameter(weights, name="w")
        if bias is False or bias is None:
            self.b = None
        else:
            self.b = Parameter(0.0 if bias is True else float(bias), dtype=dtype, name="b")
        self.activation = activation_module(activation)

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.n_inputs:
            raise ValueError(f"Neuron: expected inputs with last dimension {self.n_inputs}, got shape {x.shape}")
        z = x @ self.w
        if self.b is not None:
            z = z + self.b
        return self.activation(z)

    def extra_repr(self) -> str:
        return f"n_inputs={self.n_inputs}, activation={type(self.activation).__name__}, bias={self.b is not None}"
