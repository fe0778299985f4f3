"""``Module`` and ``Parameter``: models as objects that own their weights."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping

import numpy as np

from ..tensor import Tensor

__all__ = ["Parameter", "Module", "StateDictError"]


class Parameter(Tensor):
    """A tensor that a ``Module`` registers as one of its weights (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None, name: str | None = None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor("):]


class StateDictError(ValueError):
    """``load_state_dict`` found missing, unexpected or wrongly shaped entries."""


class Module:
    """Base class of layers and models.

    Assigning a ``Parameter`` or a ``Module`` to an attribute registers it, so
    ``parameters()`` and ``state_dict()`` find it::

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
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- traversal ------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``("layers.0.weight", Parameter)`` pairs, each parameter once."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, parameter in module._parameters.items():
                if id(parameter) in seen:
                    continue
                seen.add(id(parameter))
                yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        for _, module in self.named_modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    # -- state ----------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter, by dotted name."""
        return OrderedDict((name, np.array(p.data, copy=True)) for name, p in self.named_parameters())

    def load_state_dict(self, state: Mapping, strict: bool = True) -> None:
        """Copy values into the parameters (in place, keeping each parameter's dtype).

        Raises ``StateDictError`` naming every missing, unexpected or wrongly
        shaped key; nothing is changed unless everything fits.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got {type(state).__name__}")
        own = dict(self.named_parameters())
        problems = []
        arrays = {}
        for name, value in state.items():
            if name not in own:
                if strict:
                    problems.append(f"unexpected key {name!r}")
                continue
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != own[name].shape:
                problems.append(f"{name!r} has shape {array.shape} but the model expects {own[name].shape}")
            elif array.dtype.kind not in "fiu":
                problems.append(f"{name!r} holds {array.dtype} values, not numbers")
            else:
                arrays[name] = array
        if strict:
            problems += [f"missing key {name!r}" for name in own if name not in state]
        if problems:
            raise StateDictError(f"load_state_dict ({type(self).__name__}): " + "; ".join(problems))
        for name, array in arrays.items():
            parameter = own[name]
            if isinstance(parameter.data, np.ndarray):
                parameter.data[...] = array
            else:
                parameter.data = np.asarray(array, dtype=parameter.dtype)[()]

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
