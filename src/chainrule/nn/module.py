"""``Module`` and ``Parameter``: models as objects that own their weights."""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import numpy as np

from ..tensor import Tensor, _new

__all__ = ["Parameter", "Module", "StateDictError", "IncompatibleKeys", "default_float_dtype"]


class Parameter(Tensor):
    """A tensor that a ``Module`` registers as one of its weights (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None, name: str | None = None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor("):]


class StateDictError(ValueError, RuntimeError):
    """``load_state_dict`` found missing, unexpected or wrongly shaped entries.

    A ``ValueError`` by this project's convention, and a ``RuntimeError`` as in PyTorch, so
    either ``except`` catches it."""


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: the keys it expected but did not get, and the keys it did not know."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def default_float_dtype() -> np.dtype:
    """The dtype new layers create their weights in: the library's default floating dtype."""
    # The module, not the ``chainrule.tensor`` function that the package exports under the same name.
    tensor_module = importlib.import_module("..tensor", __package__)
    getter = getattr(tensor_module, "get_default_dtype", None)
    return np.dtype(getter() if getter is not None else tensor_module.DEFAULT_DTYPE)


def _float_dtype(dtype, owner: str) -> np.dtype:
    """``dtype`` (``None``: the default) as a floating numpy dtype."""
    if dtype is None:
        return default_float_dtype()
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{owner}: {dtype!r} is not a dtype") from None
    if resolved.kind != "f":
        raise TypeError(f"{owner}: weights need a floating-point dtype, got {resolved}")
    return resolved


class Module:
    """Base class of layers and models.

    Assigning a ``Parameter`` or a ``Module`` to an attribute registers it, so
    ``parameters()`` and ``state_dict()`` find it; ``register_buffer`` registers
    state that is saved but not trained (BatchNorm's running statistics)::

        class Affine(Module):
            def __init__(self):
                super().__init__()
                self.w = Parameter([0.5])
                self.b = Parameter(0.0)

            def forward(self, x):
                return x * self.w + self.b
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        buffers = self.__dict__.get("_buffers")
        if buffers is not None and name in buffers and not isinstance(value, Parameter):
            # As in PyTorch: assigning to a buffer's name replaces the buffer's value.
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: buffer {name!r} must be a Tensor or None, "
                                f"got {type(value).__name__}")
            buffers[name] = value
            object.__setattr__(self, name, value)
            return
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if buffers is not None:
            buffers.pop(name, None)
            self._non_persistent.discard(name)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent.discard(name)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- registration -----------------------------------------------------------
    def _check_new_name(self, name, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: a {kind} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{type(self).__name__}: invalid {kind} name {name!r} (non-empty, without '.')")
        registered = name in self._parameters or name in self._buffers or name in self._modules
        if hasattr(self, name) and not registered:
            raise KeyError(f"{type(self).__name__}: attribute {name!r} already exists")

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register ``tensor`` (or ``None``) as state: in ``state_dict()`` (unless not ``persistent``),
        converted by ``.to(dtype)``, but not in ``parameters()``, so no optimizer changes it."""
        self._check_new_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        if isinstance(tensor, Parameter):
            raise TypeError(f"register_buffer: {name!r} is a Parameter; use register_parameter")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param) -> None:
        """Register ``param`` (a ``Parameter`` or ``None``) under ``name``."""
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module) -> None:
        """Register ``module`` (or ``None``) as a child under ``name``."""
        self._check_new_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        if module is None:
            self._modules.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path such as ``"encoder.0"`` (``""`` is this module)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (in {target!r})")
            module = child
        return module

    # -- traversal ------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module and every module inside it, each once, parents first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules, each once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every sub-module, then on this one (``model.apply(init_weights)``)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, member in getattr(module, table).items():
                if member is None or (remove_duplicate and id(member) in seen):
                    continue
                seen.add(id(member))
                yield (f"{module_name}.{name}" if module_name else name), member, module, name

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``("layers.0.weight", Parameter)`` pairs, each parameter once."""
        for full_name, parameter, _, _ in self._named_members("_parameters", prefix, recurse, remove_duplicate):
            yield full_name, parameter

    def parameters(self, recurse: bool = True) -> list[Parameter]:
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """``("bn.running_mean", tensor)`` pairs for every buffer that is not ``None``."""
        for full_name, buffer, _, _ in self._named_members("_buffers", prefix, recurse, remove_duplicate):
            yield full_name, buffer

    def buffers(self, recurse: bool = True) -> list[Tensor]:
        return [b for _, b in self.named_buffers(recurse=recurse)]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = _new(np.zeros_like(p.grad.data))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    # -- dtype ------------------------------------------------------------------
    def to(self, *args, **kwargs) -> Module:
        """Convert floating parameters and buffers to a dtype, in place: ``model.to(np.float32)``,
        ``model.to(dtype="float64")``. A device is accepted only as ``"cpu"`` (chainrule runs on numpy)."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to: unexpected argument(s) {', '.join(sorted(kwargs))}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "meta"):
                device = arg
            else:
                dtype = arg
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"to: chainrule computes on the CPU with numpy; device {device!r} is not available")
        if dtype is None:
            return self
        return self._convert(_float_dtype(dtype, "to"))

    def float(self) -> Module:
        """Floating parameters and buffers to float32."""
        return self._convert(np.dtype(np.float32))

    def double(self) -> Module:
        """Floating parameters and buffers to float64."""
        return self._convert(np.dtype(np.float64))

    def _convert(self, dtype: np.dtype) -> Module:
        # Parameters keep their identity (an optimizer made before still holds them), as in PyTorch.
        for module in self.modules():
            for table in (module._parameters, module._buffers):
                for tensor in table.values():
                    if tensor is None or tensor.dtype.kind != "f" or tensor.dtype == dtype:
                        continue
                    tensor.data = np.asarray(tensor.data, dtype=dtype)[()]
                    if tensor.grad is not None:
                        tensor.grad = _new(np.asarray(tensor.grad.data, dtype=dtype)[()])
        return self

    # -- state ----------------------------------------------------------------
    def _state_items(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every entry of the state dict: each module's parameters, then its buffers, then its children's.

        PyTorch's order and its naming of shared weights: a tensor reachable by two paths (tied
        weights) is listed under both names."""
        for table in (self._parameters, self._buffers):
            for name, tensor in table.items():
                if tensor is not None and name not in self._non_persistent:
                    yield prefix + name, tensor
        for name, module in self._modules.items():
            if module is not None:
                yield from module._state_items(f"{prefix}{name}.")

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as tensors.

        The values are copies (a snapshot): training on changes neither them nor the model through
        them. (PyTorch's share memory with the model; code that copies them first behaves alike.)
        """
        return OrderedDict((name, _new(np.array(t.data, copy=True)[()])) for name, t in self._state_items())

    def load_state_dict(self, state: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters and buffers (in place, keeping each one's dtype).

        Returns the missing and unexpected keys. With ``strict`` (the default) any of them is an
        error, and so, always, is a wrong shape: ``StateDictError`` names every problem, and
        nothing is changed unless everything fits.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got {type(state).__name__}")
        own = dict(self._state_items())
        problems = []
        arrays = {}
        unexpected = [name for name in state if name not in own]
        missing = [name for name in own if name not in state]
        for name, value in state.items():
            if name not in own:
                continue
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != own[name].shape:
                problems.append(f"{name!r} has shape {array.shape} but the model expects {own[name].shape}")
            elif array.dtype.kind not in "fiub":
                problems.append(f"{name!r} holds {array.dtype} values, not numbers")
            else:
                arrays[name] = array
        if strict:
            problems = [f"unexpected key {name!r}" for name in unexpected] + problems
            problems += [f"missing key {name!r}" for name in missing]
        if problems:
            raise StateDictError(f"load_state_dict ({type(self).__name__}): " + "; ".join(problems))
        for name, array in arrays.items():
            tensor = own[name]
            if isinstance(tensor.data, np.ndarray) and tensor.data.flags.writeable:
                tensor.data[...] = array
            else:
                tensor.data = np.asarray(array, dtype=tensor.dtype)[()]
        return IncompatibleKeys(missing, unexpected)

    # -- display --------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            for name, module in self._modules.items():
                child = repr(module).replace("\n", "\n  ")
                lines.append(f"  ({name}): {child}")
            lines.append(")")
            return "\n".join(lines)
        return lines[0] + ")"
