"""chainrule: backpropagation and gradient descent you can see, number by number."""

from . import data, nn, optim  # noqa: E402  (they build on the names above)
from .autograd import enable_grad, is_grad_enabled, no_grad
from .explain import Explanation, explain  # noqa: E402
from .functional import (
    abs,
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    bmm,
    broadcast_to,
    cat,
    chunk,
    clamp,
    clip,
    clone,
    concat,
    concatenate,
    cos,
    cumsum,
    einsum,
    exp,
    flatten,
    floor_divide,
    gather,
    is_tensor,
    isclose,
    leaky_relu,
    linear,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    norm,
    permute,
    pow,
    prod,
    relu,
    remainder,
    reshape,
    scatter_add,
    sigmoid,
    sin,
    softmax,
    softplus,
    sort,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    topk,
    transpose,
    unsqueeze,
    var,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .io import CheckpointError, load, save  # noqa: E402
from .rules import RULES
from .tensor import DEFAULT_DTYPE, Tensor, as_tensor, from_numpy, tensor
from .tensor_ops import Size, return_types
from .train import EarlyStopping, History, TrainingDiverged, evaluate, fit  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "as_tensor", "from_numpy", "DEFAULT_DTYPE", "no_grad", "enable_grad",
    "is_grad_enabled", "gradcheck", "GradcheckError", "RULES",
    "abs", "broadcast_to", "clamp", "clip", "concatenate", "exp", "leaky_relu", "linear", "log",
    "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum", "permute", "pow", "relu",
    "reshape", "sigmoid", "softmax", "softplus", "sqrt", "stack", "sum", "tanh", "transpose", "where",
    "all", "allclose", "amax", "amin", "any", "argmax", "argmin", "argsort", "bmm", "cat", "chunk", "clone", "concat",
    "cos", "cumsum", "einsum", "flatten", "floor_divide", "gather", "is_tensor", "isclose", "logsumexp", "mm", "norm",
    "prod", "remainder", "scatter_add", "sin", "sort", "split", "squeeze", "std", "topk", "unsqueeze", "var", "Size",
    "return_types",
    "data", "nn", "optim", "explain", "Explanation", "save", "load", "CheckpointError", "fit", "evaluate", "History",
    "EarlyStopping", "TrainingDiverged",
]
