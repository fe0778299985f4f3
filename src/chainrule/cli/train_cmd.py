"""``chainrule train PROBLEM``: train a small network from a TOML file or a CSV file.

PROBLEM is one of

* a training file ``NAME.toml`` (the format is below);
* a CSV file with a header row (any other suffix; ``.tsv`` is read with tabs):
  the target is the last column unless ``--target COLUMN`` names another, and
  everything else comes from the flags or the defaults;
* the bare name of a built-in training file, such as ``moons`` or ``xor``
  (``src/chainrule/examples/NAME.toml``).

Command-line flags override the file. Training shows a progress bar (when
stderr is a terminal and tqdm is installed), then prints the final loss and
accuracy on the training set and, when there is a test split, on the test set.
``--save FILE`` writes the model with ``chainrule.save``; ``--plot FILE`` draws
the loss curve and ``--boundary FILE`` the decision boundary of a classifier
with two inputs (both need matplotlib: ``pip install "chainrule[plot]"``).
``--compare-modes`` trains the same network from the same initial weights in
batch, stochastic and mini-batch mode and compares them.

Every mistake is one line, ``chainrule: error: …``, with exit status 2; a
diverging run (NaN or infinite loss) prints why and exits with status 1,
leaving any earlier ``--save`` file untouched.

The training file
-----------------

Three tables, every key optional except the data source::

    [data]
    toy = "moons"        # moons, xor, circles, spirals, seed (the seed's 3 points), digits, iris
    # csv = "points.csv" # or a CSV file, relative to this TOML file
    # target = "label"   # CSV only: the target column's name or 0-based index (default: the last)
    # delimiter = ","    # CSV only (default "," and a tab for .tsv files)
    samples = 100        # moons, circles, spirals: number of points (default 100)
    noise = 0.1          # moons, circles, spirals: Gaussian noise (default 0.1)
    # factor = 0.5       # circles: inner radius (default 0.5)
    # classes = 3        # spirals: number of arms (default 2)
    seed = 0             # data noise and the train/test shuffle (default 0)
    test_size = 0.25     # a fraction in [0, 1) or a count of test samples; 0 = no test set (default)
    standardize = false  # rescale features to mean 0, sd 1 (statistics from the training part)

    [model]
    sizes = [2, 16, 16, 1]  # layer sizes, inputs first (default [features, 16, 16, outputs])
    activation = "relu"     # between layers: relu, tanh, sigmoid, leaky_relu, identity
    output = "identity"     # after the last layer (sigmoid for loss = "bce")
    seed = 0                # initial weights (default 0)

    [training]
    loss = "hinge"       # mse, l1, huber, bce, bce_with_logits, cross_entropy, hinge
    optimizer = "sgd"    # sgd, momentum (SGD with momentum 0.9), adam, adamw, rmsprop
    lr = 0.1             # default 0.1 for sgd and momentum, 0.01 otherwise
    momentum = 0.0       # sgd, momentum, rmsprop
    weight_decay = 0.0   # L2 penalty (decoupled for adamw; default 0, 0.01 for adamw)
    mode = "batch"       # batch, stochastic or minibatch
    batch_size = 32      # minibatch mode (capped at the number of training samples)
    epochs = 100
    seed = 0             # the shuffling order
    shuffle = true       # stochastic and minibatch modes (default true; false = the seed's in-order pass)
    early_stopping = 10  # stop when the training loss has not improved for this many epochs
    min_delta = 0.0      # ... by more than this

Without ``loss``, labels 0/1 get ``bce_with_logits``, labels 0…K−1 (K ≤ 20)
``cross_entropy``, anything else ``mse``. Class labels must suit the loss:
0/1 (or −1/+1 for ``hinge``) with one output, or 0…K−1 with K outputs for
``cross_entropy``.

Flags override the file: ``--sizes 2,16,16,1 --activation relu --output
identity --loss hinge --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay
1e-4 --mode minibatch --batch-size 32 --epochs 100 --seed 0 --shuffle
--early-stopping 10 --target COLUMN --test-size 0.2 --standardize --samples
200 --noise 0.1``. ``--seed`` sets every seed (data, model and shuffling).

The saved file (``--save``) holds ``model`` (the state_dict), ``optimizer``
(its state_dict), ``problem`` (the settings above, resolved), ``standardizer``
(mean and scale, or None), ``history`` and ``metrics``::

    state = chainrule.load("model.npz")
    settings = state["problem"]["model"]
    model = nn.MLP(settings["sizes"], settings["activation"], output_activation=settings["output"])
    model.load_state_dict(state["model"])
"""

from __future__ import annotations

import argparse
import math
import numbers
import os
import time
import tomllib
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from . import limits
from .common import CommandError, finite_number, output_errors

__all__ = ["register", "run"]

TOYS = ("moons", "xor", "circles", "spirals", "seed", "digits", "iris")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "rmsprop")
MODE_NAMES = ("batch", "stochastic", "minibatch")
PLOT_HINT = 'pip install "chainrule[plot]"'
SAVE_FORMAT = "chainrule-train-1"

# Each key of the training file and what it must hold.
SCHEMA: dict[str, dict[str, str]] = {
    "data": {
        "toy": "name", "csv": "path", "target": "column", "delimiter": "char", "samples": "count",
        "noise": "nonnegative", "factor": "fraction", "classes": "count", "seed": "seed",
        "test_size": "test_size", "standardize": "bool",
    },
    "model": {"sizes": "sizes", "activation": "name", "output": "name", "seed": "seed"},
    "training": {
        "loss": "name", "optimizer": "name", "lr": "positive", "momentum": "fraction0", "weight_decay": "nonnegative",
        "mode": "name", "batch_size": "count", "epochs": "count", "seed": "seed", "shuffle": "bool",
        "early_stopping": "count", "min_delta": "nonnegative",
    },
}

# Keys outside the tables: free text, shown when training starts.
TOP_LEVEL = ("title", "description")

KIND_TEXT = {
    "name": "a name (a string)", "path": "a file name (a string)", "column": "a column name or index",
    "char": "a single character", "count": "a positive integer", "nonnegative": "a number ≥ 0",
    "positive": "a number > 0", "fraction": "a number strictly between 0 and 1",
    "fraction0": "a number in [0, 1)", "seed": "a non-negative integer", "bool": "true or false",
    "sizes": "a list of at least two positive integers", "test_size": "a fraction in [0, 1) or a sample count",
}


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _valid(kind: str, value) -> bool:
    if kind in ("name", "path"):
        return isinstance(value, str) and value != ""
    if kind == "column":
        return (isinstance(value, str) and value != "") or _is_int(value)
    if kind == "char":
        return isinstance(value, str) and len(value) == 1
    if kind in ("count", "seed"):
        return _is_int(value) and value >= (1 if kind == "count" else 0)
    if kind == "nonnegative":
        return _is_number(value) and value >= 0
    if kind == "positive":
        return _is_number(value) and value > 0
    if kind == "fraction":
        return _is_number(value) and 0 < value < 1
    if kind == "fraction0":
        return _is_number(value) and 0 <= value < 1
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "sizes":
        return isinstance(value, list) and len(value) >= 2 and all(_is_int(v) and v >= 1 for v in value)
    if kind == "test_size":
        return (_is_int(value) and value >= 0) or (_is_number(value) and 0 <= value < 1)
    raise AssertionError(kind)


class Config:
    """Settings by (table, key), each remembering where it came from (a file's key or a flag)."""

    def __init__(self):
        self.values: dict[tuple[str, str], object] = {}
        self.origins: dict[tuple[str, str], str] = {}
        self.title: str | None = None

    def set(self, section: str, key: str, value, origin: str) -> None:
        kind = SCHEMA[section][key]
        if not _valid(kind, value):
            raise CommandError(f"{origin} must be {KIND_TEXT[kind]}, got {_show(value)}")
        self.values[section, key] = value
        self.origins[section, key] = origin

    def get(self, section: str, key: str, default=None):
        return self.values.get((section, key), default)

    def has(self, section: str, key: str) -> bool:
        return (section, key) in self.values

    def origin(self, section: str, key: str) -> str:
        return self.origins.get((section, key), f"{section}.{key}")


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


# -- finding and reading the problem ---------------------------------------------------------------


def _builtin_examples() -> list[str]:
    """Names of the built-in training files (the explain examples in the same folder are left out)."""
    names = []
    try:
        folder = resources.files("chainrule.examples")
        for entry in folder.iterdir():
            if entry.name.endswith(".toml"):
                data = tomllib.loads(entry.read_text(encoding="utf-8")).get("data")
                if isinstance(data, dict) and ("toy" in data or "csv" in data):
                    names.append(entry.name[:-5])
    except (ModuleNotFoundError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return sorted(names)
    return sorted(names)


@dataclass
class Source:
    name: str  # what to call the problem in messages
    kind: str  # "toml" or "csv"
    text: str | None = None  # TOML text
    label: str = ""  # the file name shown in messages
    base: Path | None = None  # the folder a TOML file's relative paths start from
    path: Path | None = None  # the CSV file


def _locate(problem: str) -> Source:
    try:
        return _find(problem)
    except OSError as error:  # a name too long for a file name, a folder that cannot be searched, …
        shown = problem if len(problem) <= 60 else problem[:59] + "…"
        raise CommandError(f"{shown}: cannot read it ({error.strerror or error})") from None


def _find(problem: str) -> Source:
    path = Path(problem)
    if path.is_dir():
        raise CommandError(f"{problem}: is a directory, not a TOML or CSV file")
    if path.exists():
        if path.suffix.lower() == ".toml":
            try:
                text = path.read_text(encoding="utf-8-sig")  # a byte-order mark, as Windows editors add, is fine
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"{problem}: cannot read the file ({getattr(error, 'strerror', None) or error})"
                                   ) from None
            return Source(path.stem, "toml", text, problem, path.parent)
        return Source(path.stem, "csv", path=path, label=problem)
    if not path.suffix and "/" not in problem and os.sep not in problem:
        examples = _builtin_examples()
        if problem in examples:
            entry = resources.files("chainrule.examples").joinpath(f"{problem}.toml")
            base = Path(str(entry)).parent if Path(str(entry)).exists() else None
            return Source(problem, "toml", entry.read_text(encoding="utf-8"), f"{problem}.toml (built-in)", base)
        try:
            other = resources.files("chainrule.examples").joinpath(f"{problem}.toml").is_file()
        except ModuleNotFoundError:
            other = False
        if other:
            raise CommandError(f"{problem}: a built-in `chainrule explain` problem, not a training file "
                               f"(built-in training files: {', '.join(examples)})")
        known = f" (built-in examples: {', '.join(examples)})" if examples else ""
        raise CommandError(f"{problem}: no such file or built-in example{known}")
    raise CommandError(f"{problem}: no such file")


def _read_toml(source: Source, config: Config) -> None:
    try:
        document = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as error:
        raise CommandError(f"{source.label}: invalid TOML: {error}") from None
    if not any(section in document for section in SCHEMA):
        raise CommandError(f"{source.label}: not a training file: it has no [data], [model] or [training] table")
    model, data = document.get("model"), document.get("data")
    if (isinstance(model, dict) and "kind" in model) or (isinstance(data, dict) and "x" in data):
        raise CommandError(f"{source.label}: this is a `chainrule explain` problem, not a training file "
                           "(a training file has [data] toy = … or csv = …)")
    for section, table in document.items():
        if section in TOP_LEVEL:
            if not isinstance(table, str):
                raise CommandError(f"{source.label}: {section} must be a string, got {_show(table)}")
            if section == "title":
                config.title = table
            continue
        if section not in SCHEMA:
            raise CommandError(f"{source.label}: unknown key {section!r} "
                               f"(expected the tables {', '.join(f'[{name}]' for name in SCHEMA)}, title, description)")
        if not isinstance(table, dict):
            raise CommandError(f"{source.label}: {section} must be a table ([{section}]), got {_show(table)}")
        for key, value in table.items():
            if key not in SCHEMA[section]:
                raise CommandError(f"{source.label}: unknown key {section}.{key} "
                                   f"(known keys of [{section}]: {', '.join(SCHEMA[section])})")
            config.set(section, key, value, f"{source.label}: {section}.{key}")


# -- command-line flags ----------------------------------------------------------------------------


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes such as 2,16,16,1, got {text!r}"
                                         ) from None
    if len(sizes) < 2 or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"expected at least two positive layer sizes such as 2,16,16,1, got {text!r}")
    return sizes


def _test_size(text: str):
    try:
        return int(text)
    except ValueError:
        return finite_number(text)


# flag destination → (table, key)
FLAGS = {
    "sizes": ("model", "sizes"), "activation": ("model", "activation"), "output": ("model", "output"),
    "loss": ("training", "loss"), "optimizer": ("training", "optimizer"), "lr": ("training", "lr"),
    "momentum": ("training", "momentum"), "weight_decay": ("training", "weight_decay"),
    "mode": ("training", "mode"), "batch_size": ("training", "batch_size"), "epochs": ("training", "epochs"),
    "shuffle": ("training", "shuffle"), "early_stopping": ("training", "early_stopping"),
    "target": ("data", "target"), "test_size": ("data", "test_size"), "standardize": ("data", "standardize"),
    "samples": ("data", "samples"), "noise": ("data", "noise"), "delimiter": ("data", "delimiter"),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network on a TOML training file, a CSV file or a built-in problem",
        description="Train a small network and report its loss and accuracy. PROBLEM is a TOML training file, "
                    "a CSV file (with --target) or a built-in name such as moons or xor. Flags override the file.",
        epilog="The TOML format is described in `python -m pydoc chainrule.cli.train_cmd`.",
    )
    parser.add_argument("problem", metavar="PROBLEM", help="a .toml training file, a CSV file, or moons / xor")
    model = parser.add_argument_group("model")
    model.add_argument("--sizes", type=_sizes, help="layer sizes, inputs first, e.g. 2,16,16,1")
    model.add_argument("--activation", help="activation between layers (relu, tanh, sigmoid, …)")
    model.add_argument("--output", help="activation after the last layer (identity, sigmoid, …)")
    training = parser.add_argument_group("training")
    training.add_argument("--loss", help="mse, l1, huber, bce, bce_with_logits, cross_entropy or hinge")
    training.add_argument("--optimizer", help="sgd, momentum, adam, adamw or rmsprop")
    training.add_argument("--lr", type=finite_number, help="learning rate")
    training.add_argument("--momentum", type=finite_number)
    training.add_argument("--weight-decay", type=finite_number)
    training.add_argument("--mode", help="batch, stochastic or minibatch")
    training.add_argument("--batch-size", type=int, help="mini-batch size (default 32)")
    training.add_argument("--epochs", type=int)
    training.add_argument("--seed", type=int, help="every seed: data noise and split, initial weights, shuffling")
    training.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=None,
                          help="shuffle the samples each epoch (stochastic and minibatch modes)")
    training.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                          help="stop when the loss has not improved for PATIENCE epochs")
    data = parser.add_argument_group("data")
    data.add_argument("--target", metavar="COLUMN", help="the CSV column to predict (default: the last)")
    data.add_argument("--delimiter", help="the CSV field separator (default ',')")
    data.add_argument("--test-size", type=_test_size, help="fraction (or count) of samples held out for testing")
    data.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                      help="rescale features to mean 0 and standard deviation 1")
    data.add_argument("--samples", type=int, help="number of points of a toy data set")
    data.add_argument("--noise", type=finite_number, help="noise of a toy data set")
    output = parser.add_argument_group("output")
    output.add_argument("--save", metavar="FILE", help="save the model, optimizer state and settings (.npz)")
    output.add_argument("--plot", metavar="FILE", help="draw the loss curve(s) to an image file (needs matplotlib)")
    output.add_argument("--boundary", metavar="FILE", help="draw the decision boundary of a 2-input classifier")
    output.add_argument("--compare-modes", action="store_true",
                        help="train in batch, stochastic and mini-batch mode from the same weights and compare")
    output.add_argument("--no-progress", action="store_true", help="no progress bar")
    output.add_argument("--checkpoint-every", type=_positive_count, metavar="N",
                        help="also write the --save file every N epochs, so that an interrupted run can resume")
    output.add_argument("--resume", metavar="FILE",
                        help="continue a run from a file written by --save, up to --epochs in total")
    limits.register(parser)
    parser.set_defaults(run=run)


def _positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _apply_flags(args, config: Config) -> None:
    for dest, (section, key) in FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            config.set(section, key, value, f"--{dest.replace('_', '-')}")
    if args.seed is not None:
        for section in ("data", "model", "training"):
            config.set(section, "seed", args.seed, "--seed")


# -- the data --------------------------------------------------------------------------------------


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


# -- the model, loss and optimizer -----------------------------------------------------------------


def _class_labels(y: np.ndarray) -> np.ndarray | None:
    """The distinct labels when ``y`` holds whole numbers, else None."""
    if y.size and np.all(y == np.round(y)):
        return np.unique(y)
    return None


def _default_loss(y: np.ndarray) -> str:
    labels = _class_labels(y)
    if labels is not None and set(labels.tolist()) <= {0.0, 1.0}:
        return "bce_with_logits"
    if labels is not None and labels.min() == 0 and labels.max() < 20 and len(labels) > 2:
        return "cross_entropy"
    return "mse"


@dataclass
class Settings:
    loss: str
    sizes: list[int]
    activation: str
    output: str
    model_seed: int
    optimizer: str
    lr: float
    momentum: float | None
    weight_decay: float
    mode: str
    batch_size: int
    epochs: int
    seed: int
    shuffle: bool
    early_stopping: int | None
    min_delta: float

    def describe(self) -> str:
        optimizer = {"sgd": "SGD", "momentum": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
        details = f"lr {self.lr:g}"
        if self.momentum:
            details += f", momentum {self.momentum:g}"
        if self.weight_decay:
            details += f", weight decay {self.weight_decay:g}"
        mode = f"minibatch mode (batch size {self.batch_size})" if self.mode == "minibatch" else f"{self.mode} mode"
        return (f"MLP {'-'.join(map(str, self.sizes))} ({self.activation}"
                f"{'' if self.output == 'identity' else ', ' + self.output + ' output'}), {self.loss} loss, "
                f"{optimizer[self.optimizer]} ({details}), {mode}, {self.epochs} epochs")


TOY_DEFAULTS = {"seed": {"sizes": [1, 1], "output": "sigmoid", "loss": "mse"}}


def _settings(config: Config, data: Data) -> Settings:
    from .. import nn

    toy_defaults = TOY_DEFAULTS.get(config.get("data", "toy"), {}) if config.get("data", "csv") is None else {}
    y = data.y_train if data.y_test is None else np.concatenate([data.y_train, data.y_test])

    loss = config.get("training", "loss", toy_defaults.get("loss") or _default_loss(y))
    if loss not in nn.LOSSES:
        raise CommandError(f"{config.origin('training', 'loss')}: unknown loss {loss!r}; "
                           f"choose one of {', '.join(nn.LOSSES)}")
    activation = config.get("model", "activation", "relu")
    output = config.get("model", "output", toy_defaults.get("output", "identity"))
    for key, name in (("activation", activation), ("output", output)):
        if name.lower() not in nn.ACTIVATIONS:
            raise CommandError(f"{config.origin('model', key)}: unknown activation {name!r}; "
                               f"choose one of {', '.join(sorted(nn.ACTIVATIONS))}")
    activation, output = activation.lower(), output.lower()

    labels = _class_labels(y)
    outputs = 1
    if loss == "cross_entropy":
        if labels is None or labels.min() < 0:
            raise CommandError(f"loss cross_entropy needs class labels 0, 1, …, K−1 in the target; "
                               f"it holds {_few(np.unique(y))}")
        outputs = max(int(labels.max()) + 1, 2)
    sizes = config.get("model", "sizes", toy_defaults.get("sizes") or [data.features, 16, 16, outputs])
    sizes = list(sizes)
    origin = config.origin("model", "sizes")
    if sizes[0] != data.features:
        raise CommandError(f"{origin}: the first size is {sizes[0]} but the data has {data.features} "
                           f"feature{'s' if data.features != 1 else ''}")
    if loss == "cross_entropy":
        if sizes[-1] < outputs:
            raise CommandError(f"{origin}: the last size is {sizes[-1]} but loss cross_entropy needs one output "
                               f"per class, {outputs} here")
    elif sizes[-1] != 1:
        raise CommandError(f"{origin}: loss {loss} needs one output (the last size is {sizes[-1]}); "
                           "use loss = \"cross_entropy\" for several classes")
    if loss in ("bce", "bce_with_logits") and (labels is None or not set(labels.tolist()) <= {0.0, 1.0}):
        raise CommandError(f"loss {loss} needs labels 0 and 1; the target holds {_few(np.unique(y))}")
    if loss == "hinge" and (labels is None or not (set(labels.tolist()) <= {0.0, 1.0}
                                                   or set(labels.tolist()) <= {-1.0, 1.0})):
        raise CommandError(f"loss hinge needs labels −1/+1 (or 0/1); the target holds {_few(np.unique(y))}")
    if output == "softmax" and sizes[-1] == 1:
        raise CommandError(f"{config.origin('model', 'output')}: softmax over one output is always 1, so the "
                           "network could not learn; use sigmoid (or identity) for one output")
    if loss == "bce" and output != "sigmoid":
        raise CommandError("loss bce needs probabilities: set model.output = \"sigmoid\" (--output sigmoid), "
                           "or use loss = \"bce_with_logits\" on raw scores")

    optimizer = config.get("training", "optimizer", "sgd")
    if optimizer not in OPTIMIZERS:
        raise CommandError(f"{config.origin('training', 'optimizer')}: unknown optimizer {optimizer!r}; "
                           f"choose one of {', '.join(OPTIMIZERS)}")
    lr = float(config.get("training", "lr", 0.1 if optimizer in ("sgd", "momentum") else 0.01))
    momentum = config.get("training", "momentum")
    if momentum is not None and optimizer not in ("sgd", "momentum", "rmsprop"):
        raise CommandError(f"{config.origin('training', 'momentum')} applies to sgd, momentum and rmsprop, "
                           f"not to {optimizer}")
    if optimizer == "momentum" and momentum is None:
        momentum = 0.9
    weight_decay = float(config.get("training", "weight_decay", 0.01 if optimizer == "adamw" else 0.0))

    mode = config.get("training", "mode", "batch").replace("-", "")
    if mode not in MODE_NAMES:
        raise CommandError(f"{config.origin('training', 'mode')}: unknown mode {config.get('training', 'mode')!r}; "
                           f"choose one of {', '.join(MODE_NAMES)}")
    batch_size = min(config.get("training", "batch_size", 32), len(data.X_train))
    return Settings(
        loss=loss, sizes=sizes, activation=activation, output=output, model_seed=config.get("model", "seed", 0),
        optimizer=optimizer, lr=lr, momentum=momentum, weight_decay=weight_decay, mode=mode, batch_size=batch_size,
        epochs=config.get("training", "epochs", 100), seed=config.get("training", "seed", 0),
        shuffle=config.get("training", "shuffle", True), early_stopping=config.get("training", "early_stopping"),
        min_delta=float(config.get("training", "min_delta", 0.0)),
    )


def _few(values: np.ndarray) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:6])
    return shown + (f", … ({len(values)} distinct values)" if len(values) > 6 else "")


def _make_model(settings: Settings):
    from .. import nn

    return nn.MLP(settings.sizes, settings.activation,
                  output_activation=None if settings.output == "identity" else settings.output,
                  seed=settings.model_seed)


def _make_optimizer(settings: Settings, parameters):
    from .. import optim

    if settings.optimizer in ("sgd", "momentum"):
        return optim.SGD(parameters, lr=settings.lr, momentum=settings.momentum or 0.0,
                         weight_decay=settings.weight_decay)
    if settings.optimizer == "rmsprop":
        return optim.RMSprop(parameters, lr=settings.lr, momentum=settings.momentum or 0.0,
                             weight_decay=settings.weight_decay)
    cls = optim.Adam if settings.optimizer == "adam" else optim.AdamW
    return cls(parameters, lr=settings.lr, weight_decay=settings.weight_decay)


def _targets(settings: Settings, y: np.ndarray | None) -> np.ndarray | None:
    if y is not None and settings.loss == "cross_entropy":
        return y.astype(np.int64)
    return y


# -- training --------------------------------------------------------------------------------------


@dataclass
class Run:
    model: object
    optimizer: object
    history: object
    seconds: float
    train: dict
    test: dict | None


def _train(settings: Settings, data: Data, mode: str, initial_state=None, progress: bool = True,
           resumable: dict | None = None) -> Run:
    """Train one model. ``resumable`` (for one run) holds fit's ``checkpoint``, ``checkpoint_every``,
    ``checkpoint_extra`` and ``resume`` arguments."""
    from .. import CheckpointError, TrainingDiverged, evaluate, fit, nn
    from ..train import EarlyStopping

    model = _make_model(settings)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    optimizer = _make_optimizer(settings, model.parameters())
    loss_fn = nn.LOSSES[settings.loss]()
    y_train, y_test = _targets(settings, data.y_train), _targets(settings, data.y_test)
    callbacks = [EarlyStopping(settings.early_stopping, settings.min_delta)] if settings.early_stopping else []
    validation = (data.X_test, y_test) if data.X_test is not None else None
    start = time.perf_counter()
    try:
        # A diverging run overflows on its way to inf; fit reports that itself, so numpy's warnings are noise.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            history = fit(model, loss_fn, optimizer, data.X_train, y_train, mode=mode,
                          batch_size=settings.batch_size if mode == "minibatch" else None, epochs=settings.epochs,
                          shuffle=settings.shuffle, seed=settings.seed, callbacks=callbacks, progress=progress,
                          validation=validation, **(resumable or {}))
            seconds = time.perf_counter() - start
            train = evaluate(model, loss_fn, data.X_train, y_train)
            test = evaluate(model, loss_fn, data.X_test, y_test) if data.X_test is not None else None
    except TrainingDiverged as error:
        label = f"{mode} mode: " if initial_state is not None else ""
        raise CommandError(f"{label}{error}", status=1) from None
    except CheckpointError as error:
        raise CommandError(str(error)) from None
    except (ValueError, TypeError) as error:
        raise CommandError(f"training failed: {error}") from None
    except OSError as error:
        raise CommandError(f"--save {error.filename}: cannot write the file ({error.strerror or error})") from None
    return Run(model, optimizer, history, seconds, train, test)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) if i == 0 else str(cell).rjust(width)
                 for i, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _number(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _accuracy(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _check_outputs(args) -> None:
    if args.compare_modes and args.save:
        raise CommandError("--save saves one model; it cannot be combined with --compare-modes")
    if args.compare_modes and args.boundary:
        raise CommandError("--boundary draws one model; it cannot be combined with --compare-modes")
    if args.compare_modes and (args.resume or args.checkpoint_every):
        raise CommandError("--resume and --checkpoint-every follow one run; they cannot be combined with "
                           "--compare-modes")
    if args.checkpoint_every and not args.save:
        raise CommandError("--checkpoint-every N writes the --save file every N epochs: give --save FILE too")
    from ..io import check_target

    for flag in ("save", "plot", "boundary"):
        path = getattr(args, flag)
        if path is not None:
            with output_errors(path, f"--{flag}"):  # refused now, not after the whole training run
                check_target(path)
    if args.plot or args.boundary:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            flag = "--plot" if args.plot else "--boundary"
            raise CommandError(f"{flag} needs matplotlib, which is not installed: {PLOT_HINT}") from None


def _draw(what: str, draw, path: str) -> None:
    try:
        draw()
    except ImportError:
        raise CommandError(f"--{what} needs matplotlib, which is not installed: {PLOT_HINT}") from None
    except (OSError, ValueError) as error:
        raise CommandError(f"--{what} {path}: cannot write the picture ({getattr(error, 'strerror', None) or error})"
                           ) from None
    print(f"wrote {path}")


def _problem_dict(config: Config, source: Source, settings: Settings) -> dict:
    data = {key: value for (section, key), value in config.values.items() if section == "data"}
    if source.kind == "csv":
        data["csv"] = str(source.path)
    model = {"sizes": list(settings.sizes), "activation": settings.activation, "output": settings.output,
             "seed": settings.model_seed}
    training = {"loss": settings.loss, "optimizer": settings.optimizer, "lr": settings.lr,
                "momentum": settings.momentum, "weight_decay": settings.weight_decay, "mode": settings.mode,
                "batch_size": settings.batch_size, "epochs": settings.epochs, "seed": settings.seed,
                "shuffle": settings.shuffle, "early_stopping": settings.early_stopping,
                "min_delta": settings.min_delta}
    return {"name": source.name, "data": data, "model": model, "training": training}


def run(args) -> int:
    _check_outputs(args)
    limit = limits.from_args(args)
    source = _locate(args.problem)
    config = Config()
    if source.kind == "toml":
        _read_toml(source, config)
    _apply_flags(args, config)
    X, y, description, names = _load_data(config, source, limit)
    data = _split(config, X, y, description, names)
    settings = _settings(config, data)
    _check_resources(settings, data, config, limit, args.compare_modes)
    if args.boundary and data.features != 2:
        raise CommandError(f"--boundary draws classifiers with 2 inputs; this problem has {data.features}")
    if args.boundary and _class_labels(data.y_train) is None:
        raise CommandError("--boundary draws classifiers; this target is not made of class labels")
    problem = _problem_dict(config, source, settings)
    if args.resume:
        _check_resume(args.resume, problem)

    print(f"{config.title or source.name}: {data.description}")
    print(f"model: {settings.describe()}")
    if args.compare_modes:
        return _compare(args, settings, data)

    resumable = {}
    if args.save:
        standardizer = data.standardizer.state_dict() if data.standardizer is not None else None
        resumable = {"checkpoint": args.save, "checkpoint_every": args.checkpoint_every or max(settings.epochs, 1),
                     "checkpoint_extra": {"format": SAVE_FORMAT, "problem": problem, "standardizer": standardizer}}
    if args.resume:
        resumable["resume"] = args.resume
    before = _identity(args.save)
    try:
        result = _train(settings, data, settings.mode, progress=not args.no_progress, resumable=resumable)
    except CommandError as error:
        if error.status == 1 and args.save:  # diverged: say what became of the model file
            kept = (f"{args.save} holds the last checkpoint" if _identity(args.save) != before
                    else f"{args.save} was not written")
            raise CommandError(f"{error}; {kept}", status=1) from None
        raise
    except KeyboardInterrupt:
        if args.save and _identity(args.save) != before:
            raise CommandError(f"interrupted; the finished epochs are saved in {args.save} "
                               f"(continue with --resume {args.save})", status=130) from None
        raise
    history = result.history
    updates = len(history.step_loss)
    stopped = f" ({history.stop_reason})" if history.stop_reason else ""
    print(f"trained {history.epochs} epoch{'s' if history.epochs != 1 else ''}, {updates} "
          f"update{'s' if updates != 1 else ''}, in {result.seconds:.2f} s{stopped}")
    rows = [["train", _number(result.train["loss"]), _accuracy(result.train.get("accuracy"))]]
    if result.test is not None:
        rows.append(["test", _number(result.test["loss"]), _accuracy(result.test.get("accuracy"))])
    print(_table(["", "loss", "accuracy"], rows))

    if args.save:
        from .. import save

        metrics = {"train": result.train, **({"test": result.test} if result.test is not None else {})}
        state = {
            **resumable["checkpoint_extra"], "model": result.model.state_dict(),
            "optimizer": result.optimizer.state_dict(), "epochs_done": history.epochs,
            "history": history.to_dict(), "metrics": metrics,
        }
        with output_errors(args.save, "--save"):
            save(state, args.save)
        print(f"saved the model to {args.save}")
    if args.plot:
        _draw("plot", lambda: history.plot(args.plot, label=f"{source.name}, {settings.mode}"), args.plot)
    if args.boundary:
        from ..plots import plot_decision_boundary

        X_all = data.X_train if data.X_test is None else np.concatenate([data.X_train, data.X_test])
        y_all = data.y_train if data.y_test is None else np.concatenate([data.y_train, data.y_test])
        threshold = 0.0 if settings.loss in ("hinge", "bce_with_logits") or np.any(y_all < 0) else 0.5
        _draw("boundary", lambda: plot_decision_boundary(result.model, X_all, y_all, args.boundary,
                                                         threshold=threshold), args.boundary)
    return 0


def _identity(path) -> tuple | None:
    """What tells whether the safe writer replaced ``path`` (it always makes a new inode)."""
    try:
        status = os.stat(path) if path else None
    except OSError:
        return None
    return None if status is None else (status.st_ino, status.st_mtime_ns, status.st_size)


def _check_resources(settings: Settings, data: Data, config: Config, limit: limits.Limits, all_modes: bool) -> None:
    samples = len(data.X_train)
    modes = MODE_NAMES if all_modes else (settings.mode,)
    rows = max({"batch": samples, "stochastic": 1, "minibatch": settings.batch_size}[mode] for mode in modes)
    per_epoch = sum(limits.updates_per_epoch(mode, samples, settings.batch_size) for mode in modes)
    limits.check_training(settings.sizes, samples, data.features, rows, per_epoch, settings.epochs,
                          config.origin("model", "sizes"), limit)


def _check_resume(path: str, problem: dict) -> None:
    """The file must be a --save file of the same problem: only the number of epochs may differ."""
    from .. import CheckpointError, load

    try:
        state = load(path)
    except CheckpointError as error:
        raise CommandError(f"--resume {error}".replace("--resume load: ", "--resume ")) from None
    if not isinstance(state, dict) or state.get("format") != SAVE_FORMAT or "epochs_done" not in state:
        raise CommandError(f"--resume {path}: not a file written by chainrule train --save (this version)")
    stored = state.get("problem")
    if not isinstance(stored, dict):
        raise CommandError(f"--resume {path}: the file does not say which problem it trained")
    differences = []
    for section in ("data", "model", "training"):
        mine, theirs = dict(problem.get(section, {})), dict(stored.get(section, {}) or {})
        if section == "training":
            mine.pop("epochs", None), theirs.pop("epochs", None)
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                differences.append(f"{section}.{key} {_show(theirs.get(key))} there, {_show(mine.get(key))} here")
    if differences:
        shown = "; ".join(differences[:4]) + ("; …" if len(differences) > 4 else "")
        raise CommandError(f"--resume {path}: it trained a different problem ({shown})")


def _compare(args, settings: Settings, data: Data) -> int:
    initial = _make_model(settings).state_dict()
    runs = {}
    for mode in MODE_NAMES:
        runs[mode] = _train(settings, data, mode, initial_state=initial, progress=not args.no_progress)
    headers = ["mode", "batch size", "updates", "train loss", "train acc"]
    if data.X_test is not None:
        headers += ["test loss", "test acc"]
    headers.append("time")
    sizes = {"batch": len(data.X_train), "stochastic": 1, "minibatch": settings.batch_size}
    rows = []
    for mode, result in runs.items():
        row = [mode, str(sizes[mode]), str(len(result.history.step_loss)), _number(result.train["loss"]),
               _accuracy(result.train.get("accuracy"))]
        if result.test is not None:
            row += [_number(result.test["loss"]), _accuracy(result.test.get("accuracy"))]
        row.append(f"{result.seconds:.2f} s")
        rows.append(row)
    limit = "up to " if settings.early_stopping else ""
    print(f"same initial weights, {limit}{settings.epochs} epochs each:")
    print(_table(headers, rows))
    if args.plot:
        from ..plots import plot_history

        # The noisiest curve first, so that the smoother ones are drawn on top of it.
        labels = {"stochastic": "stochastic", "minibatch": f"minibatch ({settings.batch_size})", "batch": "batch"}
        histories = {label: runs[mode].history for mode, label in labels.items()}
        _draw("plot", lambda: plot_history(histories, args.plot), args.plot)
    return 0
