"""Splitting a data set into a training part and a test part."""

from __future__ import annotations

import math
import numbers

import numpy as np
import numpy.typing as npt

from ._checks import SeedLike, as_generator

__all__ = ["train_test_split"]


def _test_count(test_size: object, n: int) -> int:
    if isinstance(test_size, bool):
        raise TypeError("test_size must be a fraction in (0, 1) or a positive int count, got a bool")
    if isinstance(test_size, numbers.Integral):
        if not 1 <= test_size < n:
            raise ValueError(f"test_size as a count must be between 1 and n - 1 = {n - 1}, got {test_size}")
        return int(test_size)
    if isinstance(test_size, numbers.Real):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must be strictly between 0 and 1, got {test_size}")
        count = math.ceil(float(test_size) * n)
        if count >= n:
            raise ValueError(f"test_size={test_size} of {n} samples leaves no training samples")
        return count
    raise TypeError(f"test_size must be a fraction in (0, 1) or a positive int count, got {type(test_size).__name__}")


def train_test_split(
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    test_size: float | int = 0.25,
    *,
    seed: SeedLike = None,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``X`` and ``y`` row-wise into a training set and a test set.

    Args:
        X: samples along the first axis (any number of further axes).
        y: one target per sample.
        test_size: a fraction in (0, 1) (the test set gets ``ceil(test_size * n)``
            samples) or an int count from 1 to n - 1.
        seed: an int, a ``numpy.random.Generator`` or ``None`` (unrepeatable);
            used only when ``shuffle`` is true.
        shuffle: shuffle the rows before splitting. When false the first rows
            go to the training set and the last ``test_size`` rows to the test set.

    Returns:
        ``(X_train, X_test, y_train, y_test)``, new arrays (not views).

    Raises:
        ValueError: ``X`` and ``y`` differ in length, there are fewer than 2
            samples, or ``test_size`` is out of range.

    Example:
        >>> import numpy as np
        >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
        >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, seed=0)
        >>> X_train.shape, X_test.shape, y_train.shape, y_test.shape
        ((7, 2), (3, 2), (7,), (3,))
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError("X and y must be arrays with samples along the first axis, not scalars")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length: X has {len(X)} samples, y has {len(y)}")
    n = len(X)
    if n < 2:
        raise ValueError(f"need at least 2 samples to split, got {n}")
    n_test = _test_count(test_size, n)
    order = as_generator(seed).permutation(n) if shuffle else np.arange(n)
    train, test = order[: n - n_test], order[n - n_test :]
    return X[train], X[test], y[train], y[test]
