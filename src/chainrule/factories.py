"""Tensors made from a shape, as PyTorch makes them: ``zeros``, ``ones``, ``arange``, ``randn``, …

Each takes ``dtype`` and ``requires_grad`` (and ``device``, which may only be
the CPU, so portable code runs). Sizes are varargs or one tuple:
``zeros(2, 3)`` and ``zeros((2, 3))`` are the same. dtypes are PyTorch's:
float factories give the default dtype (float32), ``arange(5)`` and
``randint`` give int64, ``full`` takes its fill value's kind.

Random factories draw from ``chainrule.manual_seed``'s global generator unless
given ``generator=`` (a ``numpy.random.Generator``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import dtypes as _dtypes
from .devices import as_device
from .random import generator as _generator
from .tensor import Tensor, _new, _shape_arg

__all__ = [
    "zeros", "ones", "full", "empty", "arange", "linspace", "eye", "rand", "randn", "randint",
    "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "randint_like",
    "randperm", "normal", "bernoulli", "multinomial",
]


def _make(array: np.ndarray, op: str, dtype, requires_grad: bool, device) -> Tensor:
    as_device(device, op)
    if dtype is not None:
        array = array.astype(_dtypes.as_dtype(dtype, op), copy=False)
    t = _new(array[()] if array.ndim == 0 else array)
    if requires_grad:
        t.requires_grad_(True)  # refuses integer dtypes, as PyTorch does
    return t


def _size(size: tuple, keyword, op: str) -> tuple[int, ...]:
    if keyword is not None:
        if size:
            raise TypeError(f"{op}: give the size once, as arguments or as size=")
        size = (keyword,)
    shape = _shape_arg(size, op)
    if any(s < 0 for s in shape):
        raise ValueError(f"{op}: sizes must not be negative, got {shape}")
    return shape


def _dtype_or_default(dtype, op: str) -> np.dtype:
    return _dtypes.get_default_dtype() if dtype is None else _dtypes.as_dtype(dtype, op)


def _float_dtype(dtype, op: str) -> np.dtype:
    dtype = _dtype_or_default(dtype, op)
    if dtype.kind != "f":
        raise TypeError(f"{op}: draws floating-point numbers; dtype {dtype} is not one")
    return dtype


def zeros(*sizes, size=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of zeros, in the default dtype unless ``dtype`` says otherwise."""
    shape = _size(sizes, size, "zeros")
    return _make(np.zeros(shape, dtype=_dtype_or_default(dtype, "zeros")), "zeros", None, requires_grad, device)


def ones(*sizes, size=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape = _size(sizes, size, "ones")
    return _make(np.ones(shape, dtype=_dtype_or_default(dtype, "ones")), "ones", None, requires_grad, device)


def empty(*sizes, size=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Like ``zeros``: PyTorch leaves the memory uninitialised, chainrule fills it with zeros so runs repeat."""
    return zeros(*sizes, size=size, dtype=dtype, requires_grad=requires_grad, device=device)


def _fill_dtype(value) -> np.dtype:
    if isinstance(value, Tensor):
        return value.dtype
    if isinstance(value, (np.generic, np.ndarray)):
        return np.asarray(value).dtype
    return _dtypes.result_type(value)  # bool, int64 or the default float


def full(size, fill_value, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value (``full((2,), 1)`` is int64)."""
    shape = _size(tuple(size) if isinstance(size, (tuple, list)) else (size,), None, "full")
    dtype = _fill_dtype(fill_value) if dtype is None else _dtypes.as_dtype(dtype, "full")
    value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    return _make(np.full(shape, value, dtype=dtype), "full", None, requires_grad, device)


def arange(start, end=None, step=1, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """``start, start + step, …`` up to but not including ``end`` (``arange(5)`` is 0…4).

    int64 when every argument is an integer, else the default float, as in PyTorch.
    """
    if end is None:
        start, end = 0, start
    bounds = [b.item() if isinstance(b, Tensor) else b for b in (start, end, step)]
    if not all(isinstance(b, numbers.Real) for b in bounds):
        raise TypeError(f"arange: start, end and step must be numbers, got {start!r}, {end!r}, {step!r}")
    start, end, step = bounds
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: the range from {start} to {end} never ends with step {step}")
    integral = all(isinstance(b, (numbers.Integral, np.integer)) for b in bounds)
    if dtype is None:
        dtype = _dtypes.int64 if integral else _dtypes.get_default_dtype()
    count = math.ceil((end - start) / step)  # PyTorch's length
    values = start + step * np.arange(count, dtype=np.int64 if integral else np.float64)
    return _make(values, "arange", dtype, requires_grad, device)


def linspace(start, end, steps: int, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """``steps`` evenly spaced numbers from ``start`` to ``end``, both included (default dtype)."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    dtype = _dtype_or_default(dtype, "linspace")
    return _make(np.linspace(float(start), float(end), int(steps)), "linspace", dtype, requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """The n×m identity (n×n without ``m``)."""
    dtype = _dtype_or_default(dtype, "eye")
    return _make(np.eye(n, m, dtype=dtype), "eye", None, requires_grad, device)


def rand(*sizes, size=None, generator=None, dtype=None, requires_grad: bool = False,
          device=None) -> Tensor:
    """Uniform numbers in [0, 1)."""
    shape = _size(sizes, size, "rand")
    dtype = _float_dtype(dtype, "rand")
    return _make(_generator(rng=generator).random(shape), "rand", dtype, requires_grad, device)


def randn(*sizes, size=None, generator=None, dtype=None, requires_grad: bool = False,
          device=None) -> Tensor:
    """Standard normal numbers (mean 0, standard deviation 1)."""
    shape = _size(sizes, size, "randn")
    dtype = _float_dtype(dtype, "randn")
    return _make(_generator(rng=generator).standard_normal(shape), "randn", dtype, requires_grad, device)


def randint(*args, size=None, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``, int64 by default."""
    if size is None and args and isinstance(args[-1], (tuple, list)):
        *args, size = args
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size), with size a tuple")
    low, high = (0, args[0]) if len(args) == 1 else args
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    shape = _size(tuple(size), None, "randint")
    values = _generator(rng=generator).integers(low, high, shape, dtype=np.int64)
    return _make(values, "randint", _dtypes.int64 if dtype is None else dtype, requires_grad, device)


def randperm(n: int, *, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A random permutation of 0 … n − 1, int64 by default."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative integer, got {n!r}")
    values = _generator(rng=generator).permutation(int(n)).astype(np.int64)
    return _make(values, "randperm", _dtypes.int64 if dtype is None else dtype, requires_grad, device)


def _values(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, requires_grad: bool = False,
           device=None) -> Tensor:
    """Normal draws with the given mean and standard deviation (tensors broadcast, or numbers with ``size``)."""
    m, s = _values(mean), _values(std)
    if np.any(s < 0):
        raise ValueError("normal: std must be ≥ 0")
    shape = tuple(size) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    like = next((x.dtype for x in (mean, std) if isinstance(x, Tensor) and np.issubdtype(x.dtype, np.floating)),
                None)
    dtype = _float_dtype(dtype if dtype is not None else like, "normal")
    draws = m + s * _generator(rng=generator).standard_normal(shape)
    return _make(np.asarray(draws), "normal", dtype, requires_grad, device)


def bernoulli(p, *, generator=None) -> Tensor:
    """1 with probability p (elementwise), else 0, in p's dtype."""
    probabilities = _values(p)
    if np.any((probabilities < 0) | (probabilities > 1)):
        raise ValueError("bernoulli: every probability must be in [0, 1]")
    draws = _generator(rng=generator).random(np.shape(probabilities)) < probabilities
    return _make(draws.astype(probabilities.dtype), "bernoulli", None, False, None)


def multinomial(weights, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Indices drawn with probability proportional to ``weights`` (one row, or one draw set per row)."""
    w = np.asarray(_values(weights), dtype=np.float64)
    if w.ndim not in (1, 2) or np.any(w < 0) or np.any(w.sum(axis=-1) <= 0):
        raise ValueError("multinomial: weights must be a non-negative 1-D or 2-D tensor with a positive sum")
    if not replacement and num_samples > w.shape[-1]:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from "
                         f"{w.shape[-1]} categories")
    rng = _generator(rng=generator)
    rows = w.reshape(-1, w.shape[-1])
    drawn = np.stack([rng.choice(row.size, num_samples, replace=replacement, p=row / row.sum()) for row in rows])
    return _make(drawn.reshape(w.shape[:-1] + (num_samples,)).astype(np.int64), "multinomial", None, False, None)


# -- *_like: the shape (and, unless told otherwise, the dtype) of another tensor ---------------------------


def _like(t, dtype):
    t = t if isinstance(t, Tensor) else Tensor(t)
    return t.shape, t.dtype if dtype is None else _dtypes.as_dtype(dtype)


def zeros_like(t, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape, dtype = _like(t, dtype)
    return zeros(shape, dtype=dtype, requires_grad=requires_grad, device=device)


def ones_like(t, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape, dtype = _like(t, dtype)
    return ones(shape, dtype=dtype, requires_grad=requires_grad, device=device)


def empty_like(t, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad, device=device)


def full_like(t, fill_value, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape, dtype = _like(t, dtype)
    return full(shape, fill_value, dtype=dtype, requires_grad=requires_grad, device=device)


def rand_like(t, *, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape, dtype = _like(t, dtype)
    return rand(shape, generator=generator, dtype=_float_dtype(dtype, "rand_like"), requires_grad=requires_grad,
                device=device)


def randn_like(t, *, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape, dtype = _like(t, dtype)
    return randn(shape, generator=generator, dtype=_float_dtype(dtype, "randn_like"), requires_grad=requires_grad,
                 device=device)


def randint_like(t, *args, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    shape, dtype = _like(t, dtype)
    return randint(*args, size=shape, generator=generator, dtype=dtype, requires_grad=requires_grad, device=device)
