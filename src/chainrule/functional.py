"""Module-level forms of the tensor operations: ``chainrule.exp(x)``, ``chainrule.sum(x, axis=0)``…

Each accepts a Tensor, a number or an array, and returns a Tensor.
"""

from __future__ import annotations

import numpy as np

from .rules import RULES
from .tensor import Tensor, _apply, as_tensor, concatenate, matmul, stack, where
from .tensor_ops import (
    allclose,
    argmax,
    argmin,
    bmm,
    cat,
    chunk,
    dot,
    einsum,
    gather,
    is_tensor,
    isclose,
    max_or_maximum,
    mm,
    mv,
    outer,
    scatter_add,
    split,
    trace,
)

__all__ = [
    "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "clip", "clamp",
    "maximum", "minimum", "where", "pow", "sum", "mean", "max", "min", "softmax", "log_softmax",
    "matmul", "linear", "reshape", "transpose", "permute", "broadcast_to", "concatenate", "stack",
    "sin", "cos", "remainder", "floor_divide", "squeeze", "unsqueeze", "flatten", "split", "chunk", "cat", "concat",
    "clone", "gather", "scatter_add", "einsum", "mm", "bmm", "std", "var", "prod", "cumsum", "logsumexp", "norm",
    "all", "any", "allclose", "isclose", "is_tensor", "argmax", "argmin", "amax", "amin", "sort", "argsort", "topk",
    "add", "sub", "mul", "div", "neg", "square", "reciprocal", "rsqrt", "log1p", "expm1", "flip", "masked_fill",
    "dot", "mv", "outer", "trace", "sign", "floor", "ceil", "trunc", "round", "equal",
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


def sum(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:  # noqa: A001
    """Σ x over ``dim`` (all elements by default); ``axis``/``keepdims`` are numpy's spellings."""
    return as_tensor(x).sum(dim, keepdim, axis=axis, keepdims=keepdims)


def mean(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The average over ``dim`` (all elements by default)."""
    return as_tensor(x).mean(dim, keepdim, axis=axis, keepdims=keepdims)


def max(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    """As ``torch.max``: ``max(x)`` the largest value; ``max(x, 1)`` the named pair ``(values, indices)``
    over axis 1; ``max(a, b)`` of two tensors the elementwise maximum; ``max(x, axis=1)`` numpy's maxima."""
    return max_or_maximum(x, dim, keepdim, axis, keepdims, "max")


def min(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):  # noqa: A001
    """As ``torch.min`` (see ``max``)."""
    return max_or_maximum(x, dim, keepdim, axis, keepdims, "min")


def softmax(x, dim: int = -1, *, axis=None) -> Tensor:
    """e^(xᵢ − max x) / Σⱼ e^(xⱼ − max x): shifting by the max keeps every exponent ≤ 0."""
    return as_tensor(x).softmax(dim, axis=axis)


def log_softmax(x, dim: int = -1, *, axis=None) -> Tensor:
    """xᵢ − max x − ln Σⱼ e^(xⱼ − max x), stable for any logits."""
    return as_tensor(x).log_softmax(dim, axis=axis)


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


concat = cat


def sin(x) -> Tensor:
    """sin x; derivative cos x."""
    return as_tensor(x).sin()


def cos(x) -> Tensor:
    """cos x; derivative −sin x."""
    return as_tensor(x).cos()


def remainder(a, b) -> Tensor:
    """a mod b with the sign of b (Python's and PyTorch's ``%``): a − b·⌊a/b⌋."""
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        return a % b
    return as_tensor(a) % b


def floor_divide(a, b) -> Tensor:
    """⌊a / b⌋ (Python's and PyTorch's ``//``); carries no gradient."""
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        return a // b
    return as_tensor(a) // b


def squeeze(x, dim=None) -> Tensor:
    return as_tensor(x).squeeze(dim)


def unsqueeze(x, dim: int) -> Tensor:
    return as_tensor(x).unsqueeze(dim)


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return as_tensor(x).flatten(start_dim, end_dim)


def clone(x) -> Tensor:
    return as_tensor(x).clone()


def std(x, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None, keepdims=None) -> Tensor:
    """Standard deviation, unbiased (÷ n − 1) by default as in PyTorch."""
    return as_tensor(x).std(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)


def var(x, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None, keepdims=None) -> Tensor:
    """Variance Σ(x − x̄)²/(n − correction), unbiased (correction 1) by default as in PyTorch."""
    return as_tensor(x).var(dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)


def prod(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    return as_tensor(x).prod(dim, keepdim, axis=axis, keepdims=keepdims)


def cumsum(x, dim=None, *, axis=None) -> Tensor:
    return as_tensor(x).cumsum(dim, axis=axis)


def logsumexp(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """ln Σ eˣ over ``dim``, computed without overflow."""
    return as_tensor(x).logsumexp(dim, keepdim, axis=axis, keepdims=keepdims)


def norm(x, p="fro", dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    """The vector p-norm over ``dim`` (p = 2 by default)."""
    return as_tensor(x).norm(p, dim, keepdim, axis=axis, keepdims=keepdims)


def all(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:  # noqa: A001
    return as_tensor(x).all(dim, keepdim, axis=axis, keepdims=keepdims)


def any(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:  # noqa: A001
    return as_tensor(x).any(dim, keepdim, axis=axis, keepdims=keepdims)


def amax(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    return as_tensor(x).amax(dim, keepdim, axis=axis, keepdims=keepdims)


def amin(x, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
    return as_tensor(x).amin(dim, keepdim, axis=axis, keepdims=keepdims)


def sort(x, dim: int = -1, descending: bool = False, stable: bool = False):
    """The named pair ``(values, indices)`` of ``x`` sorted along ``dim``."""
    return as_tensor(x).sort(dim, descending, stable)


def argsort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return as_tensor(x).argsort(dim, descending, stable)


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The named pair ``(values, indices)`` of the k largest (or smallest) values along ``dim``."""
    return as_tensor(x).topk(k, dim, largest, sorted)


def _operands(a, b):
    """Two operands with at least the first a Tensor when either is (a Python number stays a number)."""
    return (a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else (as_tensor(a), b)


def add(a, b, *, alpha=1) -> Tensor:
    """a + alpha·b, as ``torch.add``."""
    a, b = _operands(a, b)
    return a + (b if alpha == 1 else b * alpha)


def sub(a, b, *, alpha=1) -> Tensor:
    """a − alpha·b, as ``torch.sub``."""
    a, b = _operands(a, b)
    return a - (b if alpha == 1 else b * alpha)


def mul(a, b) -> Tensor:
    a, b = _operands(a, b)
    return a * b


def div(a, b) -> Tensor:
    a, b = _operands(a, b)
    return a / b


def neg(x) -> Tensor:
    return -as_tensor(x)


def square(x) -> Tensor:
    """x²; derivative 2x."""
    return as_tensor(x).square()


def reciprocal(x) -> Tensor:
    """1/x; derivative −1/x²."""
    return as_tensor(x).reciprocal()


def rsqrt(x) -> Tensor:
    """1/√x."""
    return as_tensor(x).rsqrt()


def log1p(x) -> Tensor:
    """ln(1 + x), exact for tiny x; derivative 1/(1 + x)."""
    return as_tensor(x).log1p()


def expm1(x) -> Tensor:
    """eˣ − 1, exact for tiny x; derivative eˣ."""
    return as_tensor(x).expm1()


def flip(x, dims) -> Tensor:
    """``x`` reversed along each axis in ``dims``."""
    return as_tensor(x).flip(dims)


def masked_fill(x, mask, value) -> Tensor:
    """``value`` where ``mask`` holds, ``x`` elsewhere."""
    return as_tensor(x).masked_fill(mask, value)


def sign(x) -> Tensor:
    """−1, 0 or 1; derivative 0."""
    return as_tensor(x).sign()


def floor(x) -> Tensor:
    return as_tensor(x).floor()


def ceil(x) -> Tensor:
    return as_tensor(x).ceil()


def trunc(x) -> Tensor:
    return as_tensor(x).trunc()


def round(x) -> Tensor:  # noqa: A001
    """Round half to even (PyTorch's and numpy's rule); derivative 0."""
    return as_tensor(x).round()


def equal(a, b) -> bool:
    """True when ``a`` and ``b`` have the same shape and the same elements (``torch.equal``)."""
    a, b = as_tensor(a), as_tensor(b)
    return a.shape == b.shape and bool(np.array_equal(a.data, b.data))
