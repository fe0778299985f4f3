"""The one global random generator: ``chainrule.manual_seed(0)`` makes every later draw repeatable.

Factories (``rand``, ``randn``, ``randint``, …), layer initialisation and
dropout draw from ``default_generator`` unless they are given their own
(``generator=``, or ``rng=``/``seed=`` on the layers), which always wins. It is
a ``numpy.random.Generator``, reseeded in place, so a reference to it stays
valid. The numbers differ from PyTorch's for the same seed (different
generators); the distributions are the same.
"""

from __future__ import annotations

import numpy as np

__all__ = ["default_generator", "manual_seed", "seed", "initial_seed", "generator", "Generator"]

default_generator = np.random.default_rng()
_initial_seed: int | None = None


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator, as ``torch.manual_seed`` does; returns it."""
    global _initial_seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: the seed must be an integer, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"manual_seed: the seed must not be negative, got {seed}")
    default_generator.bit_generator.state = type(default_generator.bit_generator)(int(seed)).state
    _initial_seed = int(seed)
    return default_generator


def seed() -> int:
    """Seed the global generator from fresh entropy; returns the seed used."""
    fresh = int(np.random.SeedSequence().entropy % 2**63)
    manual_seed(fresh)
    return fresh


def initial_seed() -> int | None:
    """The seed last given to ``manual_seed`` (None before any)."""
    return _initial_seed


def generator(seed=None, rng=None) -> np.random.Generator:
    """Where a caller draws from: ``rng`` itself, a new generator for ``seed``, or else the global one."""
    if rng is not None and seed is not None:
        raise ValueError("give seed or rng, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is not None:
        return np.random.default_rng(seed)
    return default_generator


class Generator(np.random.Generator):
    """``torch.Generator()``: a generator of its own, seeded with ``manual_seed`` (which returns it, so
    ``Generator().manual_seed(0)`` chains as in PyTorch). It is a ``numpy.random.Generator``, so it goes
    wherever chainrule takes one (``generator=`` of the factories, ``DataLoader``, ``random_split``)."""

    def __init__(self, device=None):
        super().__init__(np.random.PCG64())
        self._initial_seed: int | None = None

    def manual_seed(self, seed: int) -> Generator:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"Generator.manual_seed: the seed must be a non-negative integer, got {seed!r}")
        self.bit_generator.state = np.random.PCG64(int(seed)).state
        self._initial_seed = int(seed)
        return self

    def initial_seed(self) -> int | None:
        return self._initial_seed
