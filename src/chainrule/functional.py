"""Module-level forms of the tensor operations: ``chainrule.exp(x)``, ``chainrule.sum(x, axis=0)``…

Each accepts a Tensor, a number or an array, and returns a Tensor.
"""

from __future__ import annotations

from .rules import RULES
from .tensor import Tensor, _apply, as_tensor, concatenate, matmul, stack, where

__all__ = [
    "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "clip", "clamp",
    "maximum", "minimum", "where", "pow", "sum", "mean", "max", "min", "softmax", "log_softmax",
    "matmul", "linear", "reshape", "transpose", "permute", "broadcast_to", "concatenate", "stack",
]


def exp(x) -> Tensor:
    """eˣ; derivative eˣ."""
    return as_tensor(x).exp()


def log(x) -> Tensor:
    """Natural logarithm; derivative 1/x."""
    return as_tensor(x).log()


def sqrt(x) -> Tensor:
    """√x; derivative 1/(2√x)."""
    return as_tensor(x).sqrt()


def abs(x) -> Tensor:  # noqa: A001 (numpy's name)
    """|x|; derivative sign(x) (0 at 0)."""
    return as_tensor(x).abs()


def sigmoid(x) -> Tensor:
    """σ(x) = 1/(1 + e^(−x)); derivative σ(x)(1 − σ(x)). Stable for any |x|."""
    return as_tensor(x).sigmoid()


def tanh(x) -> Tensor:
    """tanh(x); derivative 1 − tanh²(x)."""
    return as_tensor(x).tanh()


def relu(x) -> Tensor:
    """max(x, 0); derivative 1 for x > 0, else 0."""
    return as_tensor(x).relu()


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, else slope·x."""
    return as_tensor(x).leaky_relu(negative_slope)


def softplus(x) -> Tensor:
    """ln(1 + eˣ), computed without overflow; derivative σ(x)."""
    return as_tensor(x).softplus()


def clip(x, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; the gradient passes only inside the interval."""
    return as_tensor(x).clip(min, max)


clamp = clip


def maximum(a, b) -> Tensor:
    """Elementwise maximum; at ties each side gets half the gradient."""
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        return b.maximum(a)
    return as_tensor(a).maximum(b)


def minimum(a, b) -> Tensor:
    """Elementwise minimum; at ties each side gets half the gradient."""
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        return b.minimum(a)
    return as_tensor(a).minimum(b)


def pow(base, exponent) -> Tensor:  # noqa: A001
    """baseᵉˣᵖᵒⁿᵉⁿᵗ, for a number or a tensor exponent."""
    if not isinstance(base, Tensor) and isinstance(exponent, Tensor):
        return base ** exponent
    return as_tensor(base) ** exponent


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return as_tensor(x).sum(axis, keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    return as_tensor(x).mean(axis, keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return as_tensor(x).max(axis, keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return as_tensor(x).min(axis, keepdims)


def softmax(x, axis: int = -1) -> Tensor:
    """e^(xᵢ − max x) / Σⱼ e^(xⱼ − max x): shifting by the max keeps every exponent ≤ 0."""
    return as_tensor(x).softmax(axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    """xᵢ − max x − ln Σⱼ e^(xⱼ − max x), stable for any logits."""
    return as_tensor(x).log_softmax(axis)


def linear(x, weight, bias=None) -> Tensor:
    """x·Wᵀ + b in one fused operation (``weight`` has shape (out, in), as in PyTorch)."""
    x, weight = as_tensor(x), as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must have shape (out_features, in_features), got {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not fit a weight of shape {weight.shape} "
            f"(expected last dimension {weight.shape[1]})"
        )
    inputs = (x, weight)
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
        inputs = (x, weight, bias)
    return _apply(RULES["linear"], inputs)


def reshape(x, *shape) -> Tensor:
    return as_tensor(x).reshape(*shape)


def transpose(x, *axes) -> Tensor:
    return as_tensor(x).transpose(*axes)


def permute(x, *dims) -> Tensor:
    return as_tensor(x).permute(*dims)


def broadcast_to(x, *shape) -> Tensor:
    return as_tensor(x).broadcast_to(*shape)
