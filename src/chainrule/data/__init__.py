"""Data for training: data sets and loaders, CSV and IDX (MNIST) files, splits, standardizing and toy data.

``Dataset``, ``TensorDataset``, ``DataLoader`` and ``random_split`` behave as
PyTorch's ``torch.utils.data`` ones do (see docs/data.md).

numpy only; randomness always comes from an explicit ``seed`` (an int or a
``numpy.random.Generator``). ``load_digits`` and ``load_iris`` need
scikit-learn: ``pip install "chainrule[datasets]"``.

Example:
    >>> from chainrule.data import make_moons, train_test_split, Standardizer, batches
    >>> X, y = make_moons(200, noise=0.1, seed=0)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    >>> scaler = Standardizer().fit(X_train)
    >>> X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    >>> [len(b) for b in batches(len(X_train), 64, shuffle=True, seed=0)]
    [64, 64, 22]
"""

from .batching import batches, shuffled_indices
from .datasets import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .idx import IDXError, load_mnist, read_idx, write_idx
from .loader import DataLoader, default_collate, default_convert
from .real import load_digits, load_iris
from .split import train_test_split
from .standardize import Standardizer
from .tables import CSVError, Table, load_csv
from .toy import make_circles, make_moons, make_spirals, seed_points, xor

__all__ = [
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IDXError",
    "Subset",
    "TensorDataset",
    "default_collate",
    "default_convert",
    "load_mnist",
    "random_split",
    "read_idx",
    "write_idx",
    "CSVError",
    "Standardizer",
    "Table",
    "batches",
    "load_csv",
    "load_digits",
    "load_iris",
    "make_circles",
    "make_moons",
    "make_spirals",
    "seed_points",
    "shuffled_indices",
    "train_test_split",
    "xor",
]
