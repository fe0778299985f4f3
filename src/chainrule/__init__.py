"""chainrule: backpropagation and gradient descent you can see, number by number."""

from . import data, nn, optim  # noqa: E402  (they build on the names above)
from .autograd import enable_grad, is_grad_enabled, no_grad
from .explain import Explanation, explain  # noqa: E402
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
from .io import CheckpointError, load, onnx, save  # noqa: E402
from .io.torch_bridge import from_torch, to_torch
from .rules import RULES
from .tensor import DEFAULT_DTYPE, Tensor, as_tensor, from_numpy, tensor
from .train import EarlyStopping, History, TrainingDiverged, evaluate, fit  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "as_tensor", "from_numpy", "DEFAULT_DTYPE", "no_grad", "enable_grad",
    "is_grad_enabled", "gradcheck", "GradcheckError", "RULES",
    "abs", "broadcast_to", "clamp", "clip", "concatenate", "exp", "leaky_relu", "linear", "log",
    "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum", "permute", "pow", "relu",
    "reshape", "sigmoid", "softmax", "softplus", "sqrt", "stack", "sum", "tanh", "transpose", "where",
    "data", "nn", "optim", "explain", "Explanation", "save", "load", "CheckpointError", "fit", "evaluate", "History",
    "EarlyStopping", "TrainingDiverged", "onnx", "to_torch", "from_torch",
]
