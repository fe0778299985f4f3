"""Small synthetic data sets for classification demos.

Each returns ``(X, y)``: ``X`` of shape (n_samples, features) and ``y`` of
shape (n_samples,), both float64, with integer-valued class labels in ``y``.
The rows come grouped by class (class 0 first): shuffle them with
``train_test_split`` or ``batches(..., shuffle=True)``. ``noise`` is the
standard deviation of Gaussian noise added to each coordinate; with
``noise=0`` the output does not depend on ``seed``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import SeedLike, as_generator, check_int, check_noise

__all__ = ["make_circles", "make_moons", "make_spirals", "seed_points", "xor"]


def seed_points() -> tuple[np.ndarray, np.ndarray]:
    """The three worked-example points (x, y) = (1, 0), (2, 1), (3, 1).

    Returns:
        ``X`` of shape (3, 1) and ``y`` of shape (3,).

    Example:
        >>> X, y = seed_points()
        >>> X.tolist(), y.tolist()
        ([[1.0], [2.0], [3.0]], [0.0, 1.0, 1.0])
    """
    return np.array([[1.0], [2.0], [3.0]]), np.array([0.0, 1.0, 1.0])


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points: label 1 where exactly one input is 1.

    Returns:
        ``X`` of shape (4, 2) and ``y`` of shape (4,).

    Example:
        >>> X, y = xor()
        >>> X.tolist(), y.tolist()
        ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
    return np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0.0, 1.0, 1.0, 0.0])


def _add_noise(X: np.ndarray, noise: float, seed: SeedLike) -> np.ndarray:
    if noise > 0:
        X = X + as_generator(seed).normal(scale=noise, size=X.shape)
    return X


def make_moons(n_samples: int = 100, *, noise: float = 0.0, seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (the geometry of scikit-learn's ``make_moons``).

    Class 0 (``n_samples // 2`` points) lies on the upper half of the unit
    circle, ``(cos t, sin t)``; class 1 (the rest) on the lower half circle
    ``(1 - cos t, 0.5 - sin t)``, with ``t`` evenly spaced over [0, π] (ends included).

    Example:
        >>> X, y = make_moons(6)
        >>> X.shape, y.tolist()
        ((6, 2), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
        >>> X[:3].round(6).tolist()
        [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    noise = check_noise(noise)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0.0, np.pi, n_outer)
    t_inner = np.linspace(0.0, np.pi, n_inner)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = np.column_stack([1.0 - np.cos(t_inner), 1.0 - np.sin(t_inner) - 0.5])
    X = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    return _add_noise(X, noise, seed), y


def make_circles(
    n_samples: int = 100, *, noise: float = 0.0, factor: float = 0.8, seed: SeedLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """A circle inside a larger circle (the geometry of scikit-learn's ``make_circles``).

    Class 0 (``n_samples // 2`` points) is evenly spaced on the unit circle,
    class 1 (the rest) on the circle of radius ``factor`` (0 < factor < 1).

    Example:
        >>> import numpy as np
        >>> X, y = make_circles(8, factor=0.5)
        >>> np.hypot(X[:, 0], X[:, 1]).round(6).tolist()
        [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    noise = check_noise(noise)
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
        raise TypeError(f"factor must be a number, got {type(factor).__name__}")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be strictly between 0 and 1, got {factor}")
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0.0, 2.0 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2.0 * np.pi, n_inner, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = float(factor) * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    X = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    return _add_noise(X, noise, seed), y


# How many turns each spiral arm makes, and the radius where it starts (so
# that the arms do not all begin at the same point).
_SPIRAL_TURNS = 1.5
_SPIRAL_START = 0.1


def make_spirals(
    n_samples: int = 100, *, classes: int = 2, noise: float = 0.0, seed: SeedLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class, labels ``0 .. classes - 1``.

    Arm ``k`` starts at radius 0.1 and angle ``2πk / classes`` and winds 1.5
    turns outward to radius 1, so the arms are rotated copies of each other.
    The points are split between the classes as evenly as possible (the first
    ``n_samples % classes`` classes get one more); ``n_samples`` must be at
    least ``classes`` so that every class has a point.

    Example:
        >>> import numpy as np
        >>> X, y = make_spirals(90, classes=3, noise=0.05, seed=0)
        >>> X.shape, np.bincount(y.astype(int)).tolist()
        ((90, 2), [30, 30, 30])
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    classes = check_int(classes, "classes", 2)
    noise = check_noise(noise)
    if n_samples < classes:
        raise ValueError(f"n_samples ({n_samples}) must be at least classes ({classes}) so every class has a point")
    counts = np.full(classes, n_samples // classes)
    counts[: n_samples % classes] += 1
    arms, labels = [], []
    for k, count in enumerate(counts):
        t = np.linspace(0.0, 1.0, count)
        radius = _SPIRAL_START + (1.0 - _SPIRAL_START) * t
        angle = 2.0 * np.pi * (k / classes + _SPIRAL_TURNS * t)
        arms.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
        labels.append(np.full(count, float(k)))
    X = np.concatenate(arms)
    y = np.concatenate(labels)
    return _add_noise(X, noise, seed), y
