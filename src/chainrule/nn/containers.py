"""Containers of modules: ``Sequential``, ``ModuleList`` and ``ModuleDict``.

Modules held in a container are registered children of it (their parameters are
in ``parameters()`` and ``state_dict()``, named ``"0.weight"`` or
``"encoder.weight"``), which a plain Python list or dict would hide.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _module(value, owner: str, where) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{owner}: item {where!r} is a {type(value).__name__}, not a Module")
    return value


class _Indexed(Module):
    """Children named "0", "1", …: the shared part of Sequential and ModuleList."""

    def _index(self, index) -> int:
        size = len(self._modules)
        index = operator.index(index)
        if not -size <= index < size:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {size} modules")
        return index % size

    def _renumber(self, modules: Iterable[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for index, module in enumerate(modules):
            setattr(self, str(index), module)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(self._index(index))]

    def __setitem__(self, index, module) -> None:
        setattr(self, str(self._index(index)), _module(module, type(self).__name__, index))

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else self._index(index)]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def append(self, module: Module):
        """Add ``module`` at the end."""
        setattr(self, str(len(self._modules)), _module(module, type(self).__name__, len(self._modules)))
        return self

    def extend(self, modules: Iterable[Module]):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, _module(module, type(self).__name__, index))
        self._renumber(modules)


class Sequential(_Indexed):
    """Modules applied one after another; ``model[0]`` is the first.

    ``Sequential(a, b)`` names the children "0" and "1"; ``Sequential(OrderedDict(conv=a, act=b))``
    names them "conv" and "act".
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _module(module, "Sequential", name))
            return
        for index, module in enumerate(modules):
            setattr(self, str(index), _module(module, "Sequential", index))

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        names = list(self._modules)
        return self._modules[names[self._index(index)]]

    def __setitem__(self, index, module) -> None:
        names = list(self._modules)
        setattr(self, names[self._index(index)], _module(module, "Sequential", index))


class ModuleList(_Indexed):
    """A list of modules, registered as children (``nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])``).

    It has no ``forward``: the owner decides how the modules are used.
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])


class ModuleDict(Module):
    """A dict of modules by name, registered as children, in insertion order."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _module(module, "ModuleDict", key))

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        delattr(self, key)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            del self[key]

    def update(self, modules) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for pair in pairs:
            key, module = pair
            self[key] = module
