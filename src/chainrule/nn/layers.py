"""Layers: Linear, MLP, activations, Dropout, Embedding, Flatten, and the seed's single Neuron."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from .. import functional as F
from ..dtypes import as_dtype, get_default_dtype
from ..random import generator as _generator  # seed=, rng=, or chainrule.manual_seed's global generator
from ..tensor import Tensor, as_tensor
from . import _activations
from . import init as _init
from .containers import Sequential
from .module import Module, Parameter, _float_dtype

__all__ = [
    "Linear", "Sequential", "MLP", "Neuron", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "LogSoftmax",
    "GELU", "SiLU", "ELU", "Identity", "Dropout", "Embedding", "Flatten", "activation_module", "ACTIVATIONS",
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


def _implicit_dim(ndim: int, name: str) -> int:
    # PyTorch's legacy choice when no dim is given (and its warning): 0 for 0-, 1- and 3-D inputs, else 1.
    warnings.warn(f"{name}: implicit dimension choice is deprecated; give dim= explicitly", UserWarning,
                  stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """softmax over ``dim``; without one, PyTorch's legacy choice (axis 1 of a batch) with a warning."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        return F.softmax(x, _implicit_dim(x.ndim, "Softmax") if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """ln softmax over ``dim``, computed stably (the input of ``NLLLoss``)."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        return F.log_softmax(x, _implicit_dim(x.ndim, "LogSoftmax") if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GELU(Module):
    """x·Φ(x) (``approximate="tanh"``: its tanh approximation)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x) -> Tensor:
        return _activations.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_Activation):
    """x·σ(x)."""

    function = staticmethod(_activations.silu)


class ELU(Module):
    """x for x > 0, else α(eˣ − 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x) -> Tensor:
        return _activations.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Dropout(Module):
    """Zero each element with probability ``p`` in training, scaling the rest by 1/(1 − p); the
    identity in ``eval()`` mode. Masks come from ``generator`` (a numpy Generator), else from the
    library's default generator."""

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None):
        super().__init__()
        if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace, self.generator = float(p), inplace, generator

    def forward(self, x) -> Tensor:
        return _activations.dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Flatten(Module):
    """Merge dimensions ``start_dim`` … ``end_dim`` into one: (N, C, H, W) → (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x) -> Tensor:
        x = as_tensor(x)
        ndim = max(x.ndim, 1)
        start, end = self.start_dim % ndim, self.end_dim % ndim
        if not (-ndim <= self.start_dim < ndim and -ndim <= self.end_dim < ndim) or start > end:
            raise ValueError(f"Flatten: dims {self.start_dim}..{self.end_dim} do not fit an input of shape {x.shape}")
        if x.ndim == 0:
            return x.reshape(1)
        merged = int(np.prod(x.shape[start:end + 1], dtype=np.int64))
        return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Embedding(Module):
    """A lookup table: ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch
    (the ``padding_idx`` row zero, and it gets no gradient). Input: integer indices of any shape."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm=None, norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight=None, _freeze: bool = False, device=None, dtype=None, *, generator=None):
        super().__init__()
        self.num_embeddings = _positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = _positive_int(embedding_dim, "embedding_dim")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise ValueError("Embedding: max_norm, scale_grad_by_freq and sparse are not supported")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings")
            padding_idx = padding_idx % self.num_embeddings
        self.padding_idx = padding_idx
        dtype = _float_dtype(dtype, "Embedding")
        if _weight is None:
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype),
                                    requires_grad=not _freeze)
            _init.normal_(self.weight, generator=generator)
            if padding_idx is not None:
                self.weight.data[padding_idx] = 0
        else:
            values = np.asarray(_weight.data if isinstance(_weight, Tensor) else _weight)
            if values.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight must have shape {(self.num_embeddings, self.embedding_dim)}, "
                                 f"got {values.shape}")
            self.weight = Parameter(values, dtype=values.dtype if values.dtype.kind == "f" else dtype,
                                    requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None, **kwargs):
        """An Embedding holding ``embeddings`` (rows, dim); frozen (no gradient) unless ``freeze=False``."""
        values = np.asarray(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if values.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {values.shape}")
        return cls(*values.shape, padding_idx=padding_idx, _weight=values, _freeze=freeze, **kwargs)

    def forward(self, indices) -> Tensor:
        return _activations.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else f"{text}, padding_idx={self.padding_idx}"


def _last_axis_softmax() -> Softmax:
    return Softmax(dim=-1)


ACTIVATIONS = {
    "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "softmax": _last_axis_softmax,
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
