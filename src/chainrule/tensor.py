"""The ``Tensor``: a numpy array that remembers how it was made.

Every operation looks up its rule in the table (``chainrule.rules``), runs the
rule's forward function on the raw arrays, and, when any input needs a
gradient and recording is on, stores ``(rule, inputs, attrs, sequence)`` on
the result.
``backward()`` hands that graph to ``chainrule.autograd.backward``.

dtypes follow PyTorch (``chainrule.dtypes``): Python floats become the
default dtype (float32 unless ``set_default_dtype`` changed it), Python ints
int64, bools bool; numpy arrays keep their dtype. Operations promote as PyTorch
does, and the matrix products refuse operands of different dtypes, naming both.
The explainer and gradcheck compute in float64 themselves, whatever the default.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from . import autograd as _autograd
from . import dtypes as _dtypes
from . import ops as _ops  # noqa: F401  (fills the rule table)
from .autograd import GradMode, next_sequence
from .dtypes import get_default_dtype  # noqa: F401  (also read from here by code that predates chainrule.dtypes)
from .rules import RULES
from .tensor_ops import TensorOps, keep_flag, max_or_maximum, reduction_axis

__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy"]

_EMPTY: dict = {}

_ADD, _SUB, _MUL, _DIV = RULES["add"], RULES["sub"], RULES["mul"], RULES["div"]
_NEG, _POW, _POW_SCALAR, _MATMUL = RULES["neg"], RULES["pow"], RULES["pow_scalar"], RULES["matmul"]
_GETITEM = RULES["getitem"]


def _to_array(data, dtype=None) -> np.ndarray:
    """Convert user data to an array: numbers, nested lists, arrays, tensors.

    Without ``dtype``, numbers take PyTorch's dtypes: Python floats (and lists
    holding any) the default dtype, Python ints int64, bools bool; numpy arrays,
    numpy scalars and tensors keep theirs.

    A 0-d value is kept as a numpy scalar (``np.float32``), not a 0-d array:
    numpy computes on scalars about five times faster, and mixing the two
    kinds is slower still. So ``Tensor.data`` is an ndarray, or a numpy scalar
    when the tensor has no dimensions.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = _dtypes.as_dtype(dtype, "tensor")
    try:
        array = np.array(data, dtype=dtype)  # a copy: the caller's array stays the caller's
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"tensor: cannot make a numeric array from {type(data).__name__} ({error})"
        ) from None
    if array.dtype.kind not in "fbiu":
        raise TypeError(f"tensor: expected numbers, got an array of dtype {array.dtype}")
    if dtype is None and array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
        # Python floats are numpy's float64 but PyTorch's default dtype.
        array = array.astype(_dtypes.get_default_dtype())
    return array[()] if array.ndim == 0 else array


_object_new = object.__new__
_ndarray = np.ndarray
_FLOAT_SCALARS = frozenset({np.float16, np.float32, np.float64})

#: Set by ``chainrule.compile`` while it records a step: called as ``hook(rule, inputs, attrs, out)``
#: for every operation, whatever the grad mode. None otherwise (one global read per operation).
_trace_hook = None


class _HostOp:
    """A non-differentiable step on raw arrays (a comparison, detach) as ``compile`` records it:
    shaped like a rule, so a tape replays it, with no gradient."""

    __slots__ = ("name", "forward")
    vjp = None
    selective = False
    constant_inputs = frozenset()

    def __init__(self, name, forward):
        self.name, self.forward = name, forward


def _tracing() -> bool:
    """Whether ``chainrule.compile`` is recording a step (code outside this module asks here)."""
    return _trace_hook is not None


def _trace_host(name, forward, inputs, out) -> None:
    _trace_hook(_HostOp(name, forward), inputs, _EMPTY, out)


def _new(data, ctx=None, requires_grad=False) -> Tensor:
    """Wrap an array without copying or validating it (the engine's fast path)."""
    t = _object_new(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t.name = None
    t._ctx = ctx
    t._flags = 0
    return t


def _constant(value, like: Tensor, op: str) -> Tensor:
    """A non-differentiable operand: a Python number stays a Python number so that
    numpy treats it as weakly typed and float32 stays float32.

    Subclasses of Tensor (``nn.Parameter``) arrive here too, because the hot
    path tests the exact class; they are returned as they are."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (numbers.Real, np.ndarray, np.generic)) and not isinstance(value, (str, bytes)):
        return _new(value)
    if isinstance(value, (list, tuple)):
        return _new(np.asarray(value, dtype=like.data.dtype if like.data.dtype.kind == "f" else None))
    raise TypeError(f"{op}: unsupported operand type {type(value).__name__} (expected a Tensor, number or array)")


def _cast(t: Tensor, dtype: np.dtype) -> Tensor:
    """``t`` in ``dtype``; recorded (so the gradient is cast back) when ``t`` needs a gradient."""
    data = t.data
    if not isinstance(data, (np.ndarray, np.generic)):  # a Python number from _constant
        return _new(dtype.type(data))
    if data.dtype == dtype:
        return t
    if t.requires_grad and GradMode.enabled:
        return _apply(RULES["astype"], (t,), {"dtype": dtype})
    return _new(data.astype(dtype))


def _promote(rule, *tensors: Tensor) -> tuple[Tensor, ...]:
    """The operands cast to PyTorch's result dtype (``chainrule.dtypes.result_type``); true
    division of integers gives the default float."""
    target = _dtypes.result_type(*[t.data for t in tensors])
    if rule is _DIV and target.kind != "f":
        target = _dtypes.get_default_dtype()
    return tuple(_cast(t, target) for t in tensors)


def _needs_promotion(rule, a, b) -> bool:
    """False when numpy's result dtype for raw operands ``a``, ``b`` is already PyTorch's: equal
    dtypes, or a Python number that numpy treats as weak (anything but a float meeting integers)."""
    a_dtype, b_dtype = getattr(a, "dtype", None), getattr(b, "dtype", None)
    if a_dtype is None:
        a, b, a_dtype, b_dtype = b, a, b_dtype, a_dtype
    if rule is _DIV and a_dtype.kind != "f":
        return True
    if b_dtype is None:
        return b.__class__ is float and a_dtype.kind != "f"
    return b_dtype is not a_dtype


def _checked_dtypes(rule, inputs: tuple) -> tuple:
    """Apply the rule's dtype policy (``chainrule.dtypes``): integers to float, refused, or one dtype required."""
    name = rule.name
    if name in _dtypes.FLOAT_RESULT:
        default = _dtypes.get_default_dtype()
        return tuple(t if t.dtype.kind == "f" else _cast(t, default) for t in inputs)
    if name in _dtypes.FLOAT_INPUT:
        dtype = inputs[0].dtype
        if dtype.kind != "f":
            raise RuntimeError(
                f"{name}: needs a floating-point tensor, got {dtype} (convert it first, e.g. with .float())"
            )
        return inputs
    floats = [(rule.input_name(i), t.dtype) for i, t in enumerate(inputs) if i not in rule.constant_inputs]
    for input_name, dtype in floats[1:]:
        if dtype != floats[0][1]:
            raise RuntimeError(
                f"{name}: expected operands of the same dtype, but {floats[0][0]} is {floats[0][1]} and "
                f"{input_name} is {dtype}; convert one first (e.g. x.float() or x.to(weight.dtype))"
            )
    return inputs


def _apply(rule, inputs: tuple, attrs: dict = _EMPTY) -> Tensor:
    """Run ``rule`` forward on ``inputs`` and record it in the graph when needed."""
    if rule.name in _dtypes.CHECKED:
        inputs = _checked_dtypes(rule, inputs)
    try:
        out = rule.forward(*[t.data for t in inputs], **attrs)
    except ValueError as error:
        shapes = " and ".join(str(np.shape(t.data)) for t in inputs)
        raise ValueError(f"{rule.name}: cannot apply to shapes {shapes} ({error})") from None
    if GradMode.enabled:
        for t in inputs:
            if t.requires_grad:
                result = _new(out, (rule, inputs, attrs, next_sequence()), True)
                if _trace_hook is not None:
                    _trace_hook(rule, inputs, attrs, result)
                return result
    result = _new(out)
    if _trace_hook is not None:
        _trace_hook(rule, inputs, attrs, result)
    return result


def _binary(rule, a: Tensor, b) -> Tensor:
    # _apply, unrolled for two operands: the arithmetic operators are the
    # hottest path of a scalar network.
    if b.__class__ is not Tensor:
        b = _constant(b, a, rule.name)
    ad, bd = a.data, b.data
    # _needs_promotion's quick answers, inlined: operands of one numpy scalar class (0-d tensors) share a
    # dtype, and a Python float meeting a float tensor keeps its dtype (numpy's weak scalars).
    cls = ad.__class__
    if cls is bd.__class__ and (cls is not _ndarray or ad.dtype is bd.dtype):
        check = rule is _DIV and cls not in _FLOAT_SCALARS and (cls is not _ndarray or ad.dtype.kind != "f")
    elif bd.__class__ is float:
        check = cls not in _FLOAT_SCALARS and (cls is not _ndarray or ad.dtype.kind != "f")
    else:
        check = True
    if check and _needs_promotion(rule, ad, bd):
        a, b = _promote(rule, a, b)
        ad, bd = a.data, b.data
    try:
        out = rule.forward(ad, bd)
    except ValueError:
        raise ValueError(f"{rule.name}: shapes {a.shape} and {b.shape} do not broadcast") from None
    t = _object_new(Tensor)  # _new, inlined
    t.data, t.grad, t.name, t._flags = out, None, None, 0
    if GradMode.enabled and (a.requires_grad or b.requires_grad):
        t.requires_grad, t._ctx = True, (rule, (a, b), _EMPTY, next_sequence())
    else:
        t.requires_grad, t._ctx = False, None
    if _trace_hook is not None:
        _trace_hook(rule, (a, b), _EMPTY, t)
    return t


def _reflected(rule, a: Tensor, b) -> Tensor:
    b = _constant(b, a, rule.name)
    ad = a.data
    if not (b.data.__class__ in (float, int) and (ad.__class__ in _FLOAT_SCALARS or ad.__class__ is _ndarray
                                                  and ad.dtype.kind == "f")):  # a number and a float: as they are
        if _needs_promotion(rule, ad, b.data):
            b, a = _promote(rule, b, a)
    return _apply(rule, (b, a))


def _normalize_axis(axis, ndim: int, op: str):
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    normalized = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {type(a).__name__}")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimension(s)")
        normalized.append(int(a) % max(ndim, 1))
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op}: repeated axis in {axis}")
    if ndim == 0:
        return None  # axis 0 (or −1) of a 0-d tensor is the whole tensor, as in PyTorch
    return tuple(normalized) if isinstance(axis, (list, tuple)) else normalized[0]


def _shape_arg(shape, op: str) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"{op}: shape must be ints, got {shape}")
    return tuple(int(s) for s in shape)


def _index_arg(index):
    """Turn tensors and lists inside an index into arrays."""
    if isinstance(index, tuple):
        return tuple(_index_arg(i) for i in index)
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, list):
        index = np.asarray(index)
    if isinstance(index, np.ndarray) and index.dtype.kind == "f":
        if not np.all(index == np.round(index)):
            raise IndexError("getitem: index arrays must hold integers or booleans")
        index = index.astype(np.intp)
    return index


class Tensor(TensorOps):
    """A numpy array with a gradient.

    >>> w = chainrule.tensor(0.5, requires_grad=True)
    >>> loss = (chainrule.sigmoid(w * 1.0) - 0) ** 2
    >>> loss.backward()
    >>> round(w.grad.item(), 4)
    0.2926

    Gradients *accumulate* on leaves across ``backward`` calls, as in PyTorch;
    reset them with ``t.grad = None`` (or ``optimizer.zero_grad()``).
    """

    # _flags: autograd.RETAIN and autograd.FREED bits; _in_place: the latest in-place change, set by
    # the first one (see chainrule.inplace).
    __slots__ = ("data", "grad", "requires_grad", "name", "_ctx", "_flags", "_in_place", "__weakref__")

    # -- numpy and torch protocols (chainrule.array_protocol) -------------------
    # numpy hands ``np.exp(t)``, ``ndarray * t`` and ``np.sum(t)`` to these, so they give Tensors,
    # recorded in the graph when the table has the operation.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _array_protocol.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
            return NotImplemented
        return _array_protocol.array_function(func, args, kwargs)

    def __dlpack__(self, **kwargs):
        """``torch.tensor(t)`` and ``torch.as_tensor(t)`` read the values through DLPack (0-d too)."""
        array = np.asarray(self.data)
        if not array.flags.writeable:  # numpy exports only writeable arrays (a broadcast view is not)
            array = array.copy()
        return array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return np.asarray(self.data).__dlpack_device__()

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self.name = name
        self._ctx = None
        self._flags = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- attributes ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.data)

    @property
    def dtype(self) -> np.dtype:
        return np.asarray(self.data).dtype

    @property
    def ndim(self) -> int:
        return np.ndim(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad: only tensors of floating point dtype can require gradients, got {self.dtype} "
                "(write 1.0 rather than 1, or pass dtype=chainrule.float32)"
            )
        if not self.is_leaf:
            raise RuntimeError("requires_grad_: only leaf tensors can change requires_grad; use .detach() first")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this intermediate tensor too after ``backward``."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        self._flags |= _autograd.RETAIN
        return self

    # -- conversion ---------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The value as a numpy array (shared, not copied)."""
        return np.asarray(self.data)

    def __array__(self, dtype=None, copy=None):
        array = np.asarray(self.data, dtype=dtype)
        return array.copy() if copy else array

    def item(self) -> float:
        if np.size(self.data) != 1:
            raise ValueError(f"item: only a one-element tensor can become a number, not shape {self.shape}")
        return np.asarray(self.data).item()

    def tolist(self):
        return np.asarray(self.data).tolist()

    def detach(self) -> Tensor:
        """The same values, cut from the graph."""
        out = _new(self.data)
        if _trace_hook is not None:
            _trace_host("detach", lambda a: a, (self,), out)
        return out

    def astype(self, dtype) -> Tensor:
        """The values in ``dtype`` (``self`` when it already has it). A cast to a floating dtype passes
        gradients back; one to an integer or bool dtype gives a tensor without a graph, as in PyTorch."""
        dtype = _dtypes.as_dtype(dtype, "astype")
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":
            return _new(np.asarray(self.data).astype(dtype)[()])
        return _apply(RULES["astype"], (self,), {"dtype": dtype})

    def to(self, *args, dtype=None, device=None, copy: bool = False, non_blocking: bool = False) -> Tensor:
        """``t.to(chainrule.float64)``, ``t.to("cpu")``, ``t.to(other)`` (other's dtype), or both:
        ``t.to("cpu", chainrule.float32)``. The only device is the CPU."""
        from .devices import as_device, is_device

        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif is_device(arg):
                device = arg
            else:
                dtype = arg
        if device is not None:
            as_device(device, "to")
        result = self if dtype is None else self.astype(dtype)
        return _apply(RULES["astype"], (result,), {"dtype": result.dtype}) if copy and result is self else result

    def float(self) -> Tensor:
        return self.astype(_dtypes.float32)

    def double(self) -> Tensor:
        return self.astype(_dtypes.float64)

    def half(self) -> Tensor:
        return self.astype(_dtypes.float16)

    def long(self) -> Tensor:
        return self.astype(_dtypes.int64)

    def int(self) -> Tensor:
        return self.astype(_dtypes.int32)

    def bool(self) -> Tensor:
        return self.astype(_dtypes.bool_)

    def type(self, dtype=None):
        """``t.type(chainrule.float64)`` converts; ``t.type()`` names the type, as PyTorch does."""
        if dtype is None:
            return _dtypes.type_name(self.dtype)
        return self.astype(dtype)

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    @property
    def device(self):
        from .devices import CPU

        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def cpu(self) -> Tensor:
        return self

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if np.size(self.data) != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len: a 0-d tensor has no length")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(np.asarray(self.data), separator=", ", prefix="tensor(")
        extras = []
        if self.dtype not in (_dtypes.get_default_dtype(), _dtypes.int64, _dtypes.bool_):  # as PyTorch shows it
            extras.append(f"dtype={self.dtype}")
        if self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    # -- autograd (chainrule.autograd) -------------------------------------------
    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, *,
                 keep: dict | None = None) -> None:
        """Compute ∂self/∂leaf for every leaf that requires grad; add it to ``leaf.grad``.

        ``gradient`` is ∂L/∂self; it may be omitted for a one-element tensor
        (a loss), where it is 1. As in PyTorch, the graph's saved values serve one
        backward: pass ``retain_graph=True`` to walk the same graph again, and
        ``create_graph=True`` to record the backward pass, so that ``.grad`` can be
        differentiated in turn (``retain_graph`` then defaults to True).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad; create the parameters with requires_grad=True "
                "(and compute it outside no_grad())"
            )
        data = self.data
        if gradient is None and data.ndim == 0:  # a scalar loss: ∂L/∂L = 1, the cheap path
            seed = data.dtype.type(1)
        else:
            seed = self._seed(gradient, "backward", keep_graph=create_graph)
        retain = create_graph or keep is not None if retain_graph is None else retain_graph
        _autograd._run((self,), (seed,), keep, None, retain, create_graph)

    def _seed(self, gradient, op: str, keep_graph: bool = False):
        """∂L/∂self to start a backward pass from: 1 for a one-element tensor, else ``gradient``."""
        if gradient is None:
            data = self.data  # an ndarray or a numpy scalar: both have .size and .ndim, cheaper than np.size
            if data.size != 1:
                raise RuntimeError(
                    f"{op}: the output has shape {self.shape}, so its gradient is ambiguous; "
                    "reduce it to a scalar first (e.g. .sum()) or pass gradient= with that shape"
                )
            # ∂L/∂L = 1, in L's own dtype (a numpy scalar for a 0-d loss: the cheap path).
            return data.dtype.type(1) if data.ndim == 0 else np.ones_like(data)
        if keep_graph and isinstance(gradient, Tensor):
            seed = gradient if gradient.dtype == self.dtype else gradient.astype(self.dtype)
        else:
            # A copy: the seed may end up as a leaf's .grad, which x.grad.zero_() would write into.
            seed = np.array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
            seed = seed[()] if seed.ndim == 0 else seed
        if np.shape(seed) != self.shape:
            raise ValueError(f"{op}: gradient has shape {np.shape(seed)} but the output has shape {self.shape}")
        return seed

    @property
    def grad_fn(self):
        """The node that made this tensor, named after its rule (``MulBackward``); ``None`` for a leaf."""
        return _autograd.grad_fn_of(self)

    @property
    def _retain(self) -> bool:
        """Whether ``retain_grad()`` was called (read by chainrule.compile)."""
        return bool(self._flags & _autograd.RETAIN)

    @property
    def _version(self) -> int:
        """How many times this tensor was changed in place."""
        change = getattr(self, "_in_place", None)
        return 0 if change is None else change[0]

    @staticmethod
    def _wrap(array) -> Tensor:
        return _new(array)

    @staticmethod
    def _apply_rule(rule, inputs, attrs) -> Tensor:
        """How ``ops._calls.call`` runs a rule on Tensors (a VJP under create_graph)."""
        return _apply(rule, tuple(x if isinstance(x, Tensor) else _new(x) for x in inputs), attrs)

    def _accumulate(self, grad) -> None:
        # A float32 weight used with float64 data receives a float64 gradient;
        # .grad always has the tensor's own dtype, as in PyTorch.
        if grad.dtype is not self.data.dtype and grad.dtype != self.data.dtype:
            grad = grad.astype(self.data.dtype)
        if self.grad is None:
            # Broadcast views are read-only and may alias other gradients; a
            # user may want to edit .grad, so such a view is copied once here.
            if isinstance(grad, np.ndarray) and (grad.base is not None or not grad.flags.writeable):
                grad = grad.copy()
            self.grad = _new(grad)
        else:
            self.grad = _new(self.grad.data + grad)

    def zero_grad(self) -> None:
        self.grad = None

    # -- arithmetic -----------------------------------------------------------
    def __add__(self, other):
        return _binary(_ADD, self, other)

    def __radd__(self, other):
        return _reflected(_ADD, self, other)

    def __sub__(self, other):
        return _binary(_SUB, self, other)

    def __rsub__(self, other):
        return _reflected(_SUB, self, other)

    def __mul__(self, other):
        return _binary(_MUL, self, other)

    def __rmul__(self, other):
        return _reflected(_MUL, self, other)

    def __truediv__(self, other):
        return _binary(_DIV, self, other)

    def __rtruediv__(self, other):
        return _reflected(_DIV, self, other)

    def __neg__(self):
        return _apply(_NEG, (self,))

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if isinstance(exponent, numbers.Real) and not isinstance(exponent, bool):
            base = self
            if self.data.dtype.kind != "f" and not isinstance(exponent, numbers.Integral):
                base = _cast(self, _dtypes.get_default_dtype())  # int ** 0.5 is the default float, as in PyTorch
            return _apply(_POW_SCALAR, (base,), {"p": exponent})
        return _binary(_POW, self, exponent)

    def __rpow__(self, base):
        return _reflected(_POW, self, base)

    def __matmul__(self, other):
        other = other if isinstance(other, Tensor) else _new(np.asarray(other))
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(_new(np.asarray(other)), self)

    # -- in place (chainrule.inplace) ------------------------------------------------
    def add_(self, other, alpha=1):
        return _inplace.add(self, other, alpha)

    def sub_(self, other, alpha=1):
        return _inplace.sub(self, other, alpha)

    def mul_(self, other):
        return _inplace.mul(self, other)

    def div_(self, other):
        return _inplace.div(self, other)

    def zero_(self):
        return _inplace.fill(self, 0, "zero_")

    def fill_(self, value):
        return _inplace.fill(self, value)

    def copy_(self, source):
        return _inplace.copy(self, source)

    def clamp_(self, min=None, max=None):  # noqa: A002 (PyTorch's names)
        return _inplace.clamp(self, min, max)

    clip_ = clamp_

    def __iadd__(self, other):
        return _inplace.add(self, other, op="+=")

    def __isub__(self, other):
        return _inplace.sub(self, other, op="-=")

    def __imul__(self, other):
        return _inplace.mul(self, other, op="*=")

    def __itruediv__(self, other):
        return _inplace.div(self, other, op="/=")

    def __setitem__(self, index, value):
        index = _index_arg(index)
        try:
            np.empty(self.shape, dtype=bool)[index]
        except IndexError as error:
            raise IndexError(f"setitem: index {index!r} does not fit shape {self.shape} ({error})") from None
        _inplace.setitem(self, index, value)

    # Comparisons give boolean tensors (no gradient), as in PyTorch.
    def _compare(self, other, op):
        value = other.data if isinstance(other, Tensor) else other
        out = _new(np.asarray(op(self.data, value)))
        if _trace_hook is not None:
            operand = _constant(other, self, op.__name__)
            _trace_host(op.__name__, lambda a, b: np.asarray(op(a, b)), (self, operand), out)
        return out

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    __hash__ = object.__hash__

    def __getitem__(self, index):
        index = _index_arg(index)
        try:
            np.empty(self.shape, dtype=bool)[index]
        except IndexError as error:
            raise IndexError(f"getitem: index {index!r} does not fit shape {self.shape} ({error})") from None
        return _apply(_GETITEM, (self,), {"index": index})

    # -- elementwise methods ------------------------------------------------------
    def exp(self):
        return _apply(RULES["exp"], (self,))

    def log(self):
        return _apply(RULES["log"], (self,))

    def sqrt(self):
        return _apply(RULES["sqrt"], (self,))

    def abs(self):
        return _apply(RULES["abs"], (self,))

    def __abs__(self):
        return self.abs()

    def sigmoid(self):
        return _apply(RULES["sigmoid"], (self,))

    def tanh(self):
        return _apply(RULES["tanh"], (self,))

    def relu(self):
        return _apply(RULES["relu"], (self,))

    def leaky_relu(self, negative_slope: float = 0.01):
        return _apply(RULES["leaky_relu"], (self,), {"slope": negative_slope})

    def softplus(self):
        return _apply(RULES["softplus"], (self,))

    def clip(self, min=None, max=None):  # noqa: A002 (numpy's and PyTorch's names)
        if min is None and max is None:
            raise ValueError("clip: give min, max or both")
        if min is not None and max is not None and min > max:
            raise ValueError(f"clip: min ({min}) is greater than max ({max})")
        low = -np.inf if min is None else min
        high = np.inf if max is None else max
        return _apply(RULES["clip"], (self,), {"low": low, "high": high})

    clamp = clip

    def pow(self, exponent):
        return self ** exponent

    def maximum(self, other):
        return _binary(RULES["maximum"], self, other)

    def minimum(self, other):
        return _binary(RULES["minimum"], self, other)

    # -- reductions -----------------------------------------------------------------
    def _reduce(self, name, axis, keepdims):
        axis = _normalize_axis(axis, self.ndim, name)
        if name in ("max", "min") and self.numel() == 0:
            raise ValueError(f"{name}: cannot reduce an empty tensor")
        return _apply(RULES[name], (self,), {"axis": axis, "keepdims": bool(keepdims)})

    # PyTorch's dim/keepdim and numpy's axis/keepdims are both accepted (tensor_ops.reduction_axis).
    def sum(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        return self._reduce("sum", reduction_axis(dim, axis, "sum"), keep_flag(keepdim, keepdims))

    def mean(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        return self._reduce("mean", reduction_axis(dim, axis, "mean"), keep_flag(keepdim, keepdims))

    def max(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The largest value; ``x.max(dim)`` is PyTorch's ``(values, indices)``; ``x.max(axis=…)`` is
        numpy's maxima; ``x.max(other_tensor)`` the elementwise maximum."""
        return max_or_maximum(self, dim, keepdim, axis, keepdims, "max")

    def min(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The smallest value, in the same forms as ``max``."""
        return max_or_maximum(self, dim, keepdim, axis, keepdims, "min")

    def softmax(self, dim: int = -1, *, axis=None):
        axis = _normalize_axis(dim if axis is None else axis, self.ndim, "softmax")
        return _apply(RULES["softmax"], (self,), {"axis": axis})

    def log_softmax(self, dim: int = -1, *, axis=None):
        axis = _normalize_axis(dim if axis is None else axis, self.ndim, "log_softmax")
        return _apply(RULES["log_softmax"], (self,), {"axis": axis})

    # -- shape ------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_arg(shape, "reshape")
        try:
            np.empty(self.shape, dtype=bool).reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {self.shape} ({self.numel()} elements) into {shape}"
            ) from None
        return _apply(RULES["reshape"], (self,), {"shape": shape})

    view = reshape

    def transpose(self, *axes):
        """``t.transpose()`` reverses the axes; ``t.transpose(0, 1)`` swaps two axes
        (PyTorch's meaning); ``t.transpose((2, 0, 1))`` permutes them (numpy's)."""
        if not axes:
            return _apply(RULES["transpose"], (self,), {"axes": None})
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            first, second = (_normalize_axis(a, self.ndim, "transpose") for a in axes)
            order = list(range(self.ndim))
            order[first], order[second] = order[second], order[first]
            return self.permute(order)
        return self.permute(*axes)

    def permute(self, *dims):
        """Reorder the axes: ``out.shape[i] == self.shape[dims[i]]``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        dims = tuple(_normalize_axis(a, self.ndim, "permute") for a in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} axes of shape {self.shape}")
        return _apply(RULES["transpose"], (self,), {"axes": dims})

    def broadcast_to(self, *shape):
        shape = _shape_arg(shape, "broadcast_to")
        try:
            np.broadcast_shapes(self.shape, shape)
            np.broadcast_to(np.empty(self.shape, dtype=bool), shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {self.shape} to {shape}") from None
        return _apply(RULES["broadcast_to"], (self,), {"shape": shape})

    def matmul(self, other):
        return self @ other


# ---------------------------------------------------------------------------
# Module-level constructors and the operations that need a Tensor class.


def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """Make a tensor from numbers, nested lists or an array (the data is copied).

    ``dtype`` is ``chainrule.float64``, ``np.float64``, ``"float64"``, …;
    without it the dtype is PyTorch's: Python floats give the default dtype
    (float32), Python ints int64, bools bool, and arrays keep theirs.
    ``requires_grad=True`` needs a floating-point dtype.
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(data, dtype=None) -> Tensor:
    """``data`` itself if it is already a Tensor, otherwise a new one."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    return Tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares memory with ``array`` (no copy), like ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
    return _new(array)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with numpy's rules: 1-D operands, batches broadcast."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align ({inner_a} != {inner_b})")
    if a.ndim > 2 or b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
        except ValueError:
            raise ValueError(f"matmul: batch shapes of {a.shape} and {b.shape} do not broadcast") from None
    return _apply(_MATMUL, (a, b))


def _sequence_arg(tensors: Sequence, op: str) -> tuple[Tensor, ...]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return _promote(None, *[as_tensor(t) for t in tensors])  # torch.cat promotes: float32 with float64 is float64


def concatenate(tensors: Sequence, axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = _sequence_arg(tensors, "concatenate")
    axis = axis if dim is None else dim  # PyTorch's spelling
    first = tensors[0]
    axis = _normalize_axis(axis, first.ndim, "concatenate")
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(
            s != f for i, (s, f) in enumerate(zip(t.shape, first.shape)) if i != axis
        ):
            raise ValueError(f"concatenate: shapes {first.shape} and {t.shape} differ outside axis {axis}")
    return _apply(RULES["concatenate"], tensors, {"axis": axis})


def stack(tensors: Sequence, axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    tensors = _sequence_arg(tensors, "stack")
    axis = axis if dim is None else dim  # PyTorch's spelling
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: all tensors need the same shape, got {tensors[0].shape} and {t.shape}")
    axis = _normalize_axis(axis, tensors[0].ndim + 1, "stack")
    return _apply(RULES["stack"], tensors, {"axis": axis})


def where(condition, a=None, b=None) -> Tensor:
    """Elements of ``a`` where ``condition`` holds, else of ``b``; the condition gets no gradient.
    With the condition alone it is ``nonzero(condition, as_tuple=True)``, as in PyTorch."""
    if a is None and b is None:
        from .tensor_select import nonzero

        return nonzero(condition, as_tuple=True)
    if a is None or b is None:
        raise TypeError("where: give both the values where the condition holds and those where it does not")
    # A boolean tensor goes in as it is, so that chainrule.compile can follow it to where it came from.
    mask = condition if isinstance(condition, Tensor) and np.asarray(condition.data).dtype == bool else None
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else tensor(a)
    a = a if isinstance(a, Tensor) else _constant(a, like, "where")
    b = b if isinstance(b, Tensor) else _constant(b, like, "where")
    if _needs_promotion(None, a.data, b.data):
        a, b = _promote(None, a, b)
    try:
        np.broadcast_shapes(condition.shape, np.shape(a.data), np.shape(b.data))
    except ValueError:
        raise ValueError(
            f"where: shapes {condition.shape}, {np.shape(a.data)} and {np.shape(b.data)} do not broadcast"
        ) from None
    return _apply(RULES["where"], (mask if mask is not None else _new(condition), a, b))


# Last, because it builds on the names above.
from . import array_protocol as _array_protocol  # noqa: E402
from . import inplace as _inplace  # noqa: E402
