"""chainrule: backpropagation and gradient descent you can see, number by number."""

from .autograd import enable_grad, is_grad_enabled, no_grad
from .functional import (
    abs,
    broadcast_to,
    clamp,
    clip,
    concatenate,
    exp,
    leaky_relu,
    linear,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    softmax,
    softplus,
    sqrt,
    stack,
    sum,
    tanh,
    transpose,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .rules import RULES
from .tensor import DEFAULT_DTYPE, Tensor, as_tensor, from_numpy, tensor

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "as_tensor", "from_numpy", "DEFAULT_DTYPE", "no_grad", "enable_grad",
    "is_grad_enabled", "gradcheck", "GradcheckError", "RULES",
    "abs", "broadcast_to", "clamp", "clip", "concatenate", "exp", "leaky_relu", "linear", "log",
    "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum", "permute", "pow", "relu",
    "reshape", "sigmoid", "softmax", "softplus", "sqrt", "stack", "sum", "tanh", "transpose", "where",
]
