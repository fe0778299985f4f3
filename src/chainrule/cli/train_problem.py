"""``chainrule train``: reading the problem — the training file's schema, finding PROBLEM, the flags."""

from __future__ import annotations

import argparse
import math
import numbers
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .common import CommandError, finite_number

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


def _apply_flags(args, config: Config) -> None:
    for dest, (section, key) in FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            config.set(section, key, value, f"--{dest.replace('_', '-')}")
    if args.seed is not None:
        for section in ("data", "model", "training"):
            config.set(section, "seed", args.seed, "--seed")
