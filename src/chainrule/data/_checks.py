"""Small argument checks and the seed helper shared by the data modules."""

from __future__ import annotations

import numbers

import numpy as np

#: What a ``seed`` argument accepts: ``None`` (fresh OS entropy), an ``int``,
#: or a ``numpy.random.Generator`` (used as is, so its state advances).
SeedLike = int | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``seed`` (a Generator is returned unchanged)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be None, an int or a numpy.random.Generator, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return np.random.default_rng(int(seed))


def check_int(value: object, name: str, minimum: int) -> int:
    """Return ``value`` as an ``int``, or raise if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_noise(noise: object) -> float:
    """Return ``noise`` as a float, or raise if it is not a finite number ``>= 0``."""
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise must be a number, got {type(noise).__name__}")
    noise = float(noise)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    return noise
