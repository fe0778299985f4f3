"""The playground's toy data sets: two classes of points in the plane, from ``chainrule.data``."""

from __future__ import annotations

import numpy as np

from ..data import make_circles, make_moons, make_spirals, train_test_split, xor

__all__ = ["DATASETS", "make_dataset"]


def _xor_cloud(n: int, noise: float, seed: int):
    """The four XOR points, each the centre of a cloud of samples."""
    corners, labels = xor()
    rng = np.random.default_rng(seed)
    index = np.arange(n) % 4
    X = corners[index] * 2 - 1 + rng.normal(scale=max(noise, 0.05), size=(n, 2))
    return X, labels[index]


def _blobs(n: int, noise: float, seed: int):
    """Two round clusters, one per class (centres at (−1, −1) and (1, 1))."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) >= n // 2).astype(float)
    centres = np.where(y[:, None] == 1, 1.0, -1.0)
    return centres + rng.normal(scale=0.5 + noise, size=(n, 2)), y


DATASETS = {
    "moons": lambda n, noise, seed: make_moons(n, noise=noise, seed=seed),
    "circles": lambda n, noise, seed: make_circles(n, noise=noise, factor=0.5, seed=seed),
    "xor": _xor_cloud,
    "spirals": lambda n, noise, seed: make_spirals(n, noise=noise, seed=seed),
    "blobs": _blobs,
}


def make_dataset(name: str, samples: int, noise: float, seed: int):
    """Training and validation sets (three quarters and one quarter of the samples)."""
    X, y = DATASETS[name](samples, noise, seed)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, seed=seed)
    return X_train, y_train, X_val, y_val
