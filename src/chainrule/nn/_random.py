"""Where layers and initialisers get random numbers from when no generator is passed."""

from __future__ import annotations

import numpy as np


def random_source(generator=None) -> np.random.Generator:
    """``generator`` itself, or the library's default generator (``chainrule.manual_seed`` seeds it),
    or, before the library has one, a freshly seeded numpy generator."""
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"expected a numpy.random.Generator, got {type(generator).__name__}")
        return generator
    import chainrule

    default = getattr(chainrule, "default_generator", None)
    if callable(default):
        default = default()
    if isinstance(default, np.random.Generator):
        return default
    return np.random.default_rng()
