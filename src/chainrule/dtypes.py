"""dtypes as PyTorch has them: the dtype objects, the default dtype, and type promotion.

The dtype objects are numpy's own (``chainrule.float32 == np.float32``), so a
tensor's ``.dtype`` compares equal to both spellings and arrays need no
translation.

The default dtype is float32, as in PyTorch: ``tensor(0.5)`` and
``tensor([1.0, 2.0])`` are float32, ``tensor([1, 2])`` is int64,
``tensor(True)`` is bool, and a numpy array keeps its dtype. The explainer and
``gradcheck`` do not depend on it: they compute in float64 themselves.

Promotion follows PyTorch, not numpy. The result of an operation has the
*category* (bool < integer < floating) of its highest operand, and within that
category the dtype of the strongest group of operands that reaches it:
dimensioned tensors beat 0-d tensors, which beat Python numbers. So
float32 ⊕ float64 gives float64, but a float32 matrix times a float64 0-d
tensor stays float32, and an int64 tensor times 2.5 gives the default float.
numpy would give float64 in the last two cases.
"""

from __future__ import annotations

import builtins

import numpy as np

__all__ = [
    "dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_",
    "get_default_dtype", "set_default_dtype", "as_dtype", "is_floating_point", "promote_types", "result_type",
]

dtype = np.dtype  # ``isinstance(chainrule.float32, chainrule.dtype)``, as with torch.dtype
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

# PyTorch's other names for the same dtypes (``torch.float`` is float32, ``torch.long`` int64).
ALIASES = {
    "half": float16, "float": float32, "double": float64, "short": int16, "int": int32, "long": int64,
    "bool": bool_,
}

_default = float32


def as_dtype(spec, op: str = "dtype") -> np.dtype:
    """A dtype from anything that names one: ``chainrule.float64``, ``np.float64``, ``"float64"``,
    ``"double"``, ``float`` (float64, as in PyTorch), ``int`` (int64) or ``bool``."""
    if isinstance(spec, np.dtype):
        return spec
    if isinstance(spec, str) and spec.removeprefix("torch.") in ALIASES:
        return ALIASES[spec.removeprefix("torch.")]
    try:
        dtype = np.dtype(spec.removeprefix("torch.") if isinstance(spec, str) else spec)
    except TypeError:
        raise TypeError(f"{op}: {spec!r} is not a dtype (try chainrule.float32 or 'float64')") from None
    if dtype.kind not in "biuf":
        raise TypeError(f"{op}: dtype {dtype} is not supported; use a floating, integer or bool dtype")
    return dtype


def get_default_dtype() -> np.dtype:
    """The dtype of tensors made from Python floats, and of new layers' parameters (float32 unless changed)."""
    return _default


def set_default_dtype(dtype) -> None:
    """Make ``dtype`` (a floating-point dtype) the default, as ``torch.set_default_dtype`` does.

    >>> chainrule.set_default_dtype(chainrule.float64)   # doctest: +SKIP
    """
    global _default
    dtype = as_dtype(dtype, "set_default_dtype")
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types can be the default, got {dtype}")
    _default = dtype


def is_floating_point(dtype) -> builtins.bool:
    return np.dtype(dtype).kind == "f"


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def promote_types(a, b) -> np.dtype:
    """The smallest dtype both convert to, PyTorch's way (``torch.promote_types``): within a category
    as numpy does; across categories the higher one's dtype (int64 with float32 is float32, not
    numpy's float64)."""
    a, b = as_dtype(a), as_dtype(b)
    if _CATEGORY[a.kind] == _CATEGORY[b.kind]:
        return np.promote_types(a, b)
    return a if _CATEGORY[a.kind] > _CATEGORY[b.kind] else b


def _scalar_dtype(value) -> np.dtype:
    """The dtype a Python number stands for when it meets tensors: bool, int64 or the default float."""
    if isinstance(value, builtins.bool):
        return bool_
    if isinstance(value, builtins.int):
        return int64
    return _default


def _combine(stronger: np.dtype | None, weaker: np.dtype | None) -> np.dtype | None:
    """A stronger group of operands keeps its dtype unless the weaker group brings a higher category."""
    if stronger is None:
        return weaker
    if weaker is None or stronger.kind == "f":
        return stronger
    if stronger.kind == "b" or weaker.kind == "f":
        return promote_types(stronger, weaker)
    return stronger


def result_type(*operands) -> np.dtype:
    """PyTorch's result dtype for an elementwise operation on ``operands``.

    Each operand is an array (dimensioned or 0-d), a numpy scalar (counted as a
    0-d tensor: ``Tensor.data`` holds one for a 0-d tensor) or a Python number.
    """
    groups: list[np.dtype | None] = [None, None, None]  # dimensioned, 0-d, Python numbers
    for value in operands:
        if isinstance(value, np.ndarray):
            group, dtype = (0 if value.ndim else 1), value.dtype
        elif isinstance(value, np.generic):
            group, dtype = 1, value.dtype
        else:
            group, dtype = 2, _scalar_dtype(value)
        groups[group] = dtype if groups[group] is None else promote_types(groups[group], dtype)
    return _combine(groups[0], _combine(groups[1], groups[2]))


# How operations treat integer and mixed-dtype inputs, by rule name (PyTorch's
# behaviour); rules not named here take their inputs as they are.
#: Integer and bool inputs are computed in the default float (exp of an int tensor is float32).
FLOAT_RESULT = frozenset({
    "exp", "log", "sqrt", "sigmoid", "tanh", "softplus", "sin", "cos", "tan", "log1p", "expm1", "logsumexp",
    "rsqrt", "erf",
})
#: Integer inputs are refused, as PyTorch refuses ``mean`` of an int64 tensor.
FLOAT_INPUT = frozenset({"mean", "var", "std", "norm", "softmax", "log_softmax"})
#: All floating-point operands must have one dtype: a matrix product does not upcast silently.
SAME_DTYPE = frozenset({"matmul", "linear", "mm", "bmm", "dot", "einsum"})
CHECKED = FLOAT_RESULT | FLOAT_INPUT | SAME_DTYPE


_TYPE_NAMES = {"float16": "HalfTensor", "float32": "FloatTensor", "float64": "DoubleTensor", "int8": "CharTensor",
               "int16": "ShortTensor", "int32": "IntTensor", "int64": "LongTensor", "uint8": "ByteTensor",
               "bool": "BoolTensor"}


def type_name(dtype) -> str:
    """What ``Tensor.type()`` answers, in PyTorch's words: ``chainrule.FloatTensor`` for float32."""
    return "chainrule." + _TYPE_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)
