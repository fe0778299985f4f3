"""``chainrule train``: the data — a toy data set or a CSV file, the train/test split, standardizing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import limits
from .common import CommandError
from .train_problem import Config, Source, _is_int

TOYS = ("moons", "xor", "circles", "spirals", "seed", "digits", "iris")


@dataclass


class Data:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    description: str
    standardizer: object = None
    feature_names: tuple = ()

    @property
    def features(self) -> int:
        return self.X_train.shape[1]


def _load_data(config: Config, source: Source, limit: limits.Limits | None = None
               ) -> tuple[np.ndarray, np.ndarray, str, tuple]:
    from .. import data

    toy, csv = config.get("data", "toy"), config.get("data", "csv")
    if source.kind == "csv":
        if toy is not None:
            raise CommandError(f"{config.origin('data', 'toy')}: a CSV file was given as PROBLEM; drop the toy data")
        csv_path = source.path
        where = source.label
    elif toy is not None and csv is not None:
        raise CommandError(f"{source.label}: give either data.toy or data.csv, not both")
    elif toy is None and csv is None:
        raise CommandError(f"{source.label}: no data: set data.toy (e.g. toy = \"moons\") or data.csv = \"file.csv\"")
    elif csv is not None:
        csv_path = Path(csv)
        if not csv_path.is_absolute() and source.base is not None:
            csv_path = source.base / csv_path
        where = str(csv_path)
    else:
        csv_path = None

    csv_only = ("target", "delimiter")
    toy_only = {"samples": ("moons", "circles", "spirals"), "noise": ("moons", "circles", "spirals"),
                "factor": ("circles",), "classes": ("spirals",)}
    if csv_path is not None:
        for key in toy_only:
            if config.has("data", key):
                raise CommandError(f"{config.origin('data', key)} applies to toy data, not to a CSV file")
        delimiter = config.get("data", "delimiter", "\t" if csv_path.suffix.lower() == ".tsv" else ",")
        target = config.get("data", "target", -1)
        if isinstance(target, str) and target.lstrip("-").isdigit():
            target = _csv_target(csv_path, target, delimiter)
        limits.check_csv_file(csv_path, where, limit or limits.Limits())
        try:
            table = data.load_csv(csv_path, target, delimiter=delimiter)
        except data.CSVError as error:
            prefix = f"{config.origin('data', 'csv')}: " if source.kind == "toml" else ""
            raise CommandError(f"{prefix}{error}") from None
        if len(table.X) < 2:
            raise CommandError(f"{where}: needs at least 2 data rows to train on, got {len(table.X)}")
        if table.X.shape[1] == 0:
            raise CommandError(f"{where}: has only the target column {table.target_name!r}; a network needs at "
                               "least one input column besides it")
        return table.X, table.y, f"{where}, {len(table.X)} rows, target {table.target_name!r}", table.feature_names

    for key in csv_only:
        if config.has("data", key):
            raise CommandError(f"{config.origin('data', key)} applies to CSV data, not to toy = {toy!r}")
    if toy not in TOYS:
        raise CommandError(f"{config.origin('data', 'toy')}: unknown data set {toy!r}; choose one of {', '.join(TOYS)}")
    for key, toys in toy_only.items():
        if config.has("data", key) and toy not in toys:
            raise CommandError(f"{config.origin('data', key)} does not apply to toy = {toy!r} "
                               f"(only to {', '.join(toys)})")
    seed = config.get("data", "seed", 0)
    samples = config.get("data", "samples", 100)
    limits.check_samples(samples, config.origin("data", "samples"), limit or limits.Limits())
    noise = config.get("data", "noise", 0.1)
    try:
        if toy == "moons":
            X, y = data.make_moons(samples, noise=noise, seed=seed)
        elif toy == "circles":
            X, y = data.make_circles(samples, noise=noise, factor=config.get("data", "factor", 0.5), seed=seed)
        elif toy == "spirals":
            X, y = data.make_spirals(samples, classes=config.get("data", "classes", 2), noise=noise, seed=seed)
        elif toy == "xor":
            X, y = data.xor()
        elif toy == "seed":
            X, y = data.seed_points()
        else:
            table = data.load_digits() if toy == "digits" else data.load_iris()
            X, y = table.X, table.y
    except ImportError:
        raise CommandError(f"toy = {toy!r} needs scikit-learn: pip install \"chainrule[datasets]\"") from None
    except ValueError as error:
        raise CommandError(f"{source.label}: data: {error}") from None
    return X, y, f"{toy}, {len(X)} samples", tuple(f"x{i + 1}" for i in range(X.shape[1]))


def _csv_target(path: Path, target: str, delimiter: str):
    """``--target 2`` names column "2" if the header has one, else the column with index 2."""
    try:
        with open(path, encoding="utf-8-sig") as file:
            header = next((line for line in file if line.strip()), "")
    except (OSError, UnicodeDecodeError):
        return target  # load_csv reports the problem
    names = [name.strip() for name in header.rstrip("\r\n").split(delimiter)]
    return target if target in names else int(target)


def _split(config: Config, X, y, description, names) -> Data:
    from .. import data

    test_size = config.get("data", "test_size", 0)
    X_test = y_test = None
    if test_size:
        if _is_int(test_size) and test_size >= len(X):
            raise CommandError(f"{config.origin('data', 'test_size')}: {test_size} test samples leave none of the "
                               f"{len(X)} for training")
        try:
            X, X_test, y, y_test = data.train_test_split(X, y, test_size=test_size, seed=config.get("data", "seed", 0))
        except ValueError as error:
            raise CommandError(f"{config.origin('data', 'test_size')}: {error}") from None
        description += f", {len(X)} for training and {len(X_test)} for testing"
    standardizer = None
    if config.get("data", "standardize", False):
        standardizer = data.Standardizer().fit(X)
        X = standardizer.transform(X)
        if X_test is not None:
            X_test = standardizer.transform(X_test)
        description += ", standardized"
    return Data(X, y, X_test, y_test, description, standardizer, names)
