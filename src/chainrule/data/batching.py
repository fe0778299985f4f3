"""Index orders for minibatch training."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._checks import SeedLike, as_generator, check_int

__all__ = ["batches", "shuffled_indices"]


def shuffled_indices(n: int, seed: SeedLike) -> np.ndarray:
    """Return a random permutation of ``0, 1, ..., n - 1``.

    ``seed`` is an int (the same permutation every time), a
    ``numpy.random.Generator`` (a new permutation each call, repeatable from
    the generator's seed) or ``None`` (unrepeatable).

    Example:
        >>> sorted(shuffled_indices(5, seed=0).tolist())
        [0, 1, 2, 3, 4]
        >>> bool((shuffled_indices(5, seed=0) == shuffled_indices(5, seed=0)).all())
        True
    """
    n = check_int(n, "n", 0)
    return as_generator(seed).permutation(n)


def batches(n: int, batch_size: int, *, shuffle: bool = False, seed: SeedLike = None) -> Iterator[np.ndarray]:
    """Yield index arrays that split ``range(n)`` into consecutive chunks of ``batch_size``.

    Every index appears in exactly one chunk; the last chunk is smaller when
    ``batch_size`` does not divide ``n``. With ``shuffle=True`` the indices are
    permuted first (see ``shuffled_indices`` for ``seed``). For a new order in
    every epoch pass one ``numpy.random.Generator`` to every call: an int seed
    gives the same order each time. ``seed`` is ignored when ``shuffle`` is false.
    Arguments are checked when ``batches`` is called, not at the first batch.

    Example:
        >>> [b.tolist() for b in batches(5, 2)]
        [[0, 1], [2, 3], [4]]
        >>> import numpy as np
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> [X[b].shape for b in batches(len(X), 2, shuffle=True, seed=0)]
        [(2, 2), (2, 2), (1, 2)]
    """
    n = check_int(n, "n", 0)
    batch_size = check_int(batch_size, "batch_size", 1)
    order = as_generator(seed).permutation(n) if shuffle else np.arange(n)
    return (order[start : start + batch_size] for start in range(0, n, batch_size))
