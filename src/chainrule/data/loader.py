"""``DataLoader``: batches of a data set, in order or shuffled, collated as PyTorch collates them.

Each pass (``for batch in loader``) visits every sample exactly once (the last
batch is smaller unless ``drop_last=True``). With ``shuffle=True`` every pass
draws a new order from the loader's generator, so a loader made with the same
``generator`` seed gives the same sequence of epochs in every run.

>>> import numpy as np
>>> loader = DataLoader(TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5)), batch_size=2)
>>> [tuple(x.shape) for x, y in loader]
[(2, 2), (2, 2), (1, 2)]

Loading happens in the calling process: ``num_workers``, ``pin_memory`` and
``persistent_workers`` are accepted so PyTorch code runs unchanged, and change
nothing about the batches.
"""

from __future__ import annotations

import collections.abc
import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from ..tensor import Tensor, _new
from ._checks import SeedLike, as_generator
from .datasets import Subset, TensorDataset

__all__ = ["DataLoader", "default_collate", "default_convert"]


def _stack(arrays: list, what: str) -> Tensor:
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: cannot stack {what} of different shapes {sorted(shapes)} into one batch "
                         "(pass collate_fn= to batch them another way)")
    return _new(np.stack(arrays))


def default_collate(batch: Sequence) -> object:
    """Stack a list of samples into one batch, as ``torch.utils.data.default_collate`` does.

    Tensors and numpy arrays are stacked along a new first axis; Python floats
    become a float64 tensor, ints an int64 tensor, booleans a bool tensor;
    strings stay a list; dicts are collated key by key, named tuples field by
    field, and tuples and lists position by position (into a list, as PyTorch
    does).

    Example:
        >>> x, label = default_collate([(1.5, 0), (2.5, 1)])
        >>> x.tolist(), str(x.dtype), label.tolist()
        ([1.5, 2.5], 'float64', [0, 1])
    """
    if not batch:
        raise ValueError("default_collate: the batch is empty")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([t.data for t in batch], "tensors")
    if isinstance(elem, np.ndarray) and elem.dtype.kind in "biufc":
        return _stack(batch, "arrays")
    if isinstance(elem, np.generic) and elem.dtype.kind in "biufc":
        return _new(np.array(batch))
    if isinstance(elem, bool):
        return _new(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return _new(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return _new(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch  # as PyTorch: the container it came in (a tuple inside a tuple or list sample)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise ValueError("default_collate: the samples of a batch hold different numbers of items")
        return [default_collate(items) for items in zip(*batch)]
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}; batches hold tensors, "
                    "numpy arrays, numbers, strings, dicts, tuples or lists (or pass collate_fn=)")


def default_convert(sample: object) -> object:
    """What ``batch_size=None`` yields: numpy arrays turned into tensors, containers converted item by item.

    Example:
        >>> import numpy as np
        >>> type(default_convert({"x": np.zeros(2)})["x"]).__name__
        'Tensor'
    """
    if isinstance(sample, np.ndarray) and sample.dtype.kind in "biufc":
        return _new(sample)
    if isinstance(sample, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(value) for value in sample))
    if isinstance(sample, (list, tuple)):
        return [default_convert(value) for value in sample]
    return sample


def _batchable(dataset) -> bool:
    """Whether ``dataset._batch(indices)`` gives the collated batch directly (tensor rows, no Python loop)."""
    return isinstance(dataset, TensorDataset) or (isinstance(dataset, Subset) and _batchable(dataset.dataset))


def _count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"DataLoader: {name} must be an integer of at least {minimum}, got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` samples.

    ``shuffle=True`` draws a new order every pass from ``generator`` (an int
    seed or a ``numpy.random.Generator``); ``drop_last=True`` leaves out a
    final batch smaller than ``batch_size``; ``collate_fn`` turns a list of
    samples into a batch (``default_collate`` by default); ``sampler`` (an
    iterable of indices) or ``batch_sampler`` (an iterable of index lists)
    choose the samples instead. ``batch_size=None`` yields samples one by one,
    uncollated.

    Example:
        >>> import numpy as np
        >>> loader = DataLoader(TensorDataset(np.arange(5)), batch_size=2, shuffle=True, generator=0)
        >>> len(loader), sorted(int(i) for (batch,) in loader for i in batch.numpy())
        (3, [0, 1, 2, 3, 4])
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0, worker_init_fn=None,
                 multiprocessing_context=None, generator: SeedLike = None, *, prefetch_factor=None,
                 persistent_workers: bool = False):
        if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
            raise TypeError(f"DataLoader: the data set must have __getitem__ and __len__ (a map-style data set), "
                            f"got {type(dataset).__name__}")
        _count(num_workers, "num_workers", 0)
        if worker_init_fn is not None:
            raise ValueError("DataLoader: worker_init_fn cannot apply: chainrule loads every batch in the calling "
                             "process (there are no workers to initialise)")
        if batch_size is not None:
            batch_size = _count(batch_size, "batch_size", 1)
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler chooses the batches, so it excludes batch_size, shuffle, "
                             "sampler and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: give sampler or shuffle=True, not both (the sampler sets the order)")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: drop_last needs a batch_size")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else batch_size
        self.shuffle = bool(shuffle)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.generator = as_generator(generator)

    def _order(self) -> Iterable[int]:
        if self.sampler is not None:
            return self.sampler
        if self.shuffle:
            return self.generator.permutation(len(self.dataset))
        return np.arange(len(self.dataset))

    def _index_batches(self) -> Iterator:
        if self.batch_sampler is not None:
            yield from self.batch_sampler
            return
        order = np.fromiter((int(i) for i in self._order()), dtype=np.int64) if self.sampler is not None \
            else self._order()
        size = self.batch_size
        for start in range(0, len(order), size):
            indices = order[start:start + size]
            if self.drop_last and len(indices) < size:
                return
            yield indices

    def __iter__(self) -> Iterator:
        if self.batch_size is None and self.batch_sampler is None:
            convert = self.collate_fn or default_convert
            for index in self._order():
                yield convert(self.dataset[int(index)])
            return
        fast = self.collate_fn is None and _batchable(self.dataset)
        for indices in self._index_batches():
            if fast:  # one fancy index per tensor gives exactly what stacking the rows would
                yield self.dataset._batch(np.asarray(indices, dtype=np.int64))
                continue
            samples = [self.dataset[int(i)] for i in indices]
            yield (self.collate_fn or default_collate)(samples)

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)} samples, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})")
