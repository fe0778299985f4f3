"""chainrule: backpropagation and gradient descent you can see, number by number."""

from . import autograd, cuda, data, nn, optim, random, utils  # noqa: E402, F401  (cr.autograd.grad, as torch.autograd.grad)
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .compile import compile  # noqa: A004  (chainrule.compile, as torch.compile and jax.jit)
from .devices import device
from .dtypes import ALIASES as _ALIASES
from .dtypes import (
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
)
from .explain import Explanation, explain  # noqa: E402
from .factories import (
    arange,
    bernoulli,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from .functional import (
    abs,
    add,
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
    ceil,
    chunk,
    clamp,
    clip,
    clone,
    concat,
    concatenate,
    cos,
    cumsum,
    div,
    dot,
    einsum,
    equal,
    exp,
    expm1,
    flatten,
    flip,
    floor,
    floor_divide,
    gather,
    is_tensor,
    isclose,
    leaky_relu,
    linear,
    log,
    log1p,
    log_softmax,
    logsumexp,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    mv,
    neg,
    norm,
    outer,
    permute,
    pow,
    prod,
    reciprocal,
    relu,
    remainder,
    reshape,
    round,
    rsqrt,
    scatter_add,
    sigmoid,
    sign,
    sin,
    softmax,
    softplus,
    sort,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    topk,
    trace,
    transpose,
    trunc,
    unsqueeze,
    var,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .io import CheckpointError, load, onnx, save  # noqa: E402
from .io.torch_bridge import from_torch, to_torch
from .random import Generator, default_generator, initial_seed, manual_seed, seed
from .rules import RULES
from .tensor import Tensor, as_tensor, from_numpy, tensor
from .tensor_ops import Size, return_types
from .tensor_select import (
    cdist,
    count_nonzero,
    index_select,
    median,
    nonzero,
    repeat_interleave,
    roll,
    tile,
    tril,
    triu,
    unbind,
    unique,
)
from .train import EarlyStopping, History, TrainingDiverged, evaluate, fit  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "Generator", "randperm", "normal", "bernoulli", "multinomial",
    "as_tensor", "from_numpy", "no_grad", "enable_grad", "inference_mode",
    "set_grad_enabled", "autograd",
    "is_grad_enabled", "gradcheck", "GradcheckError", "RULES",
    "abs", "broadcast_to", "clamp", "clip", "concatenate", "exp", "leaky_relu", "linear", "log",
    "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum", "permute", "pow", "relu",
    "reshape", "sigmoid", "softmax", "softplus", "sqrt", "stack", "sum", "tanh", "transpose", "where",
    "all", "allclose", "amax", "amin", "any", "argmax", "argmin", "argsort", "bmm", "cat", "chunk", "clone", "concat",
    "cos", "cumsum", "einsum", "flatten", "floor_divide", "gather", "is_tensor", "isclose", "logsumexp", "mm", "norm",
    "prod", "remainder", "scatter_add", "sin", "sort", "split", "squeeze", "std", "topk", "unsqueeze", "var", "Size",
    "return_types", "equal", "add", "div", "dot", "expm1", "flip", "log1p", "masked_fill", "mul", "mv", "neg", "outer",
    "reciprocal", "rsqrt", "square", "sub", "trace", "ceil", "floor", "round", "sign", "trunc",
    "data", "nn", "optim", "explain", "Explanation", "save", "load", "CheckpointError", "fit", "evaluate", "History",
    "EarlyStopping", "TrainingDiverged", "compile", "onnx", "to_torch", "from_torch",
    # dtypes and devices; PyTorch's aliases (float, int, bool, long, …) are attributes only, so that
    # ``from chainrule import *`` does not hide the builtins.
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "half", "double", "short",
    "dtype", "get_default_dtype", "set_default_dtype", "promote_types", "device", "cuda",
    "zeros", "ones", "full", "empty", "arange", "linspace", "eye", "rand", "randn", "randint", "zeros_like",
    "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "randint_like",
    "index_select", "nonzero", "count_nonzero", "unique", "triu", "tril", "roll", "tile", "repeat_interleave",
    "unbind", "median", "cdist",
    "random", "manual_seed", "seed", "initial_seed", "default_generator",
]

# PyTorch's other names: chainrule.float is float32, chainrule.long int64, chainrule.bool bool. They are
# attributes only (not in __all__), so that ``from chainrule import *`` leaves the builtins alone.
globals().update(_ALIASES)


def __getattr__(name: str):
    # DEFAULT_DTYPE was a constant (float64); it now follows set_default_dtype.
    if name == "DEFAULT_DTYPE":
        return get_default_dtype()
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
