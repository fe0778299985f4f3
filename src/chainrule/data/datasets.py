"""Map-style data sets, as in PyTorch: anything with ``__getitem__(index)`` and ``__len__()``.

``TensorDataset(X, y)`` pairs arrays sample by sample; ``random_split`` cuts a
data set into random, non-overlapping ``Subset``s.

>>> import numpy as np
>>> ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
>>> x, y = ds[1]
>>> x.tolist(), int(y)
([2.0, 3.0], 1)
>>> [len(part) for part in random_split(ds, [0.6, 0.4], generator=0)]
[3, 2]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ..tensor import Tensor, _new
from ._checks import SeedLike, as_generator

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]


class Dataset:
    """Base class of map-style data sets: subclasses define ``__getitem__`` and ``__len__``.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return i, i * i
        >>> len(Squares() + Squares()), Squares()[3]
        (8, (3, 9))
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


def _array(value, position: int) -> np.ndarray:
    array = value.data if isinstance(value, Tensor) else value
    array = np.asarray(array)
    if array.ndim == 0:
        raise ValueError(f"TensorDataset: tensor {position} is a scalar; every tensor needs a first (sample) axis")
    return array


class TensorDataset(Dataset):
    """Samples ``(tensors[0][i], tensors[1][i], …)``: the i-th row of every tensor, as chainrule tensors.

    All tensors need the same first dimension. Rows are views, not copies.

    Example:
        >>> import numpy as np
        >>> x, y = TensorDataset(np.eye(3), np.array([0, 1, 2]))[1]
        >>> x.tolist(), int(y)
        ([0.0, 1.0, 0.0], 1)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        self.arrays = tuple(_array(t, i) for i, t in enumerate(tensors))
        sizes = [len(a) for a in self.arrays]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: tensors have different first dimensions {sizes}; each holds one row "
                             "per sample")

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return tuple(_new(a) for a in self.arrays)

    def __getitem__(self, index):
        return tuple(_new(a[index]) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def _batch(self, indices: np.ndarray) -> list[Tensor]:
        """The collated batch of ``indices`` in one fancy index per tensor (what stacking the rows gives)."""
        return [_new(a[indices]) for a in self.arrays]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> import numpy as np
        >>> part = Subset(TensorDataset(np.arange(5)), [4, 0])
        >>> len(part), int(part[0][0])
        (2, 4)
    """

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[self.indices[int(i)]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def _batch(self, indices: np.ndarray):
        return self.dataset._batch(np.asarray(self.indices, dtype=np.int64)[indices])


class ConcatDataset(Dataset):
    """The samples of several data sets, one after another.

    Example:
        >>> import numpy as np
        >>> both = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
        >>> len(both), int(both[3][0])
        (5, 10)
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: give at least one data set")
        self.ends = np.cumsum([len(d) for d in self.datasets])

    def __len__(self) -> int:
        return int(self.ends[-1])

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} samples")
        part = int(np.searchsorted(self.ends, index, side="right"))
        start = 0 if part == 0 else int(self.ends[part - 1])
        return self.datasets[part][index - start]


def _split_lengths(lengths: Sequence, n: int) -> list[int]:
    """Lengths as counts; fractions summing to 1 are floored and the remainder given out one each, from the first."""
    values = list(lengths)
    if not values:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        counts = [int(v) for v in values]
        if any(c < 0 for c in counts):
            raise ValueError(f"random_split: lengths must not be negative, got {counts}")
        if sum(counts) != n:
            raise ValueError(f"random_split: lengths {counts} sum to {sum(counts)}, but the data set has {n} samples")
        return counts
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 <= v <= 1 for v in values):
        raise ValueError(f"random_split: lengths must be counts or fractions between 0 and 1, got {values}")
    if not math.isclose(sum(values), 1.0, abs_tol=1e-9):
        raise ValueError(f"random_split: fractions {values} sum to {sum(values)}, not 1")
    counts = [math.floor(n * v) for v in values]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset: Dataset, lengths: Sequence, generator: SeedLike = None) -> list[Subset]:
    """Split ``dataset`` into random non-overlapping ``Subset``s of the given ``lengths``.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions
    summing to 1 (``[0.8, 0.2]``): each fraction's count is rounded down and
    the samples left over go one each to the first subsets, as in PyTorch.
    ``generator`` is an int seed or a ``numpy.random.Generator`` for a
    repeatable split.

    Example:
        >>> import numpy as np
        >>> train, test = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], generator=0)
        >>> len(train), len(test), sorted(train.indices + test.indices) == list(range(10))
        (8, 2, True)
    """
    counts = _split_lengths(lengths, len(dataset))
    order = as_generator(generator).permutation(len(dataset))
    ends = np.cumsum(counts)
    return [Subset(dataset, order[end - count:end].tolist()) for count, end in zip(counts, ends)]
