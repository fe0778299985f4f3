"""Reading a numeric CSV file into a ``Table`` (features ``X``, target ``y``)."""

from __future__ import annotations

import codecs
import csv
import io
import math
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["CSVError", "Table", "load_csv"]


class CSVError(ValueError):
    """A CSV file could not be read as a numeric table.

    The message names the file and, where it applies, the 1-based line number
    and the column, e.g. ``data.csv: line 5, column 'age': 'abc' is not a number``.

    Example:
        >>> issubclass(CSVError, ValueError)
        True
    """


@dataclass(frozen=True, eq=False)
class Table:
    """A data set: a feature matrix ``X`` (samples × features) and a target vector ``y``.

    Attributes:
        X: 2-D array, one row per sample, one column per feature.
        y: 1-D array with one target value per row of ``X``.
        feature_names: the name of each column of ``X``.
        target_name: the name of the target.
        class_names: for classification data, the name of each class label
            (``class_names[k]`` names label ``k``); empty when not known.

    Example:
        >>> import numpy as np
        >>> t = Table(np.zeros((2, 3)), np.array([0.0, 1.0]), ("a", "b", "c"), "label")
        >>> t.X.shape, t.feature_names, t.target_name
        ((2, 3), ('a', 'b', 'c'), 'label')
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if np.ndim(self.X) != 2:
            raise ValueError(f"Table: X must be 2-D (samples × features), got shape {np.shape(self.X)}")
        if np.ndim(self.y) != 1:
            raise ValueError(f"Table: y must be 1-D, got shape {np.shape(self.y)}")
        if len(self.X) != len(self.y):
            raise ValueError(f"Table: X has {len(self.X)} rows but y has {len(self.y)} values")
        if len(self.feature_names) != self.X.shape[1]:
            raise ValueError(f"Table: {len(self.feature_names)} feature names for {self.X.shape[1]} columns of X")
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "class_names", tuple(self.class_names))


def _read_text(path: str | os.PathLike[str], where: str) -> str:
    """Read ``path`` as UTF-8 text (a leading BOM is dropped), raising ``CSVError``."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise CSVError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise CSVError(f"{where}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise CSVError(f"{where}: cannot read the file ({exc.strerror or exc})") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CSVError(
            f"{where}: line {line}: byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8"
        ) from None


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _rows(text: str, delimiter: str, where: str):
    """Yield ``(line_number, row)`` for each non-blank row; line numbers are 1-based."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    last_line = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CSVError(f"{where}: line {last_line + 1}: malformed CSV ({exc})") from None
        line, last_line = last_line + 1, reader.line_num
        if not _is_blank(row):
            yield line, row


_QUOTED = 24  # characters of a cell or a column name an error message shows


def _quote(text: str) -> str:
    """``text`` quoted for a message, cut short: a message about a foreign file must not reproduce it."""
    return repr(text if len(text) <= _QUOTED else text[:_QUOTED - 1] + "…")


def _column(names: list[str], index: int) -> str:
    return f"column {_quote(names[index])}" if len(names[index]) <= _QUOTED else f"column {index + 1}"


def _parse_number(cell: str, line: int, column: str, where: str) -> float:
    text = cell.strip()
    if not text:
        raise CSVError(f"{where}: line {line}, {column}: empty cell (missing value)")
    try:
        if "_" in text:  # float() accepts "1_000"; a CSV file should not
            raise ValueError
        value = float(text)
    except ValueError:
        raise CSVError(f"{where}: line {line}, {column}: {_quote(cell)} is not a number") from None
    if not math.isfinite(value):
        raise CSVError(f"{where}: line {line}, {column}: {_quote(cell)} is not a finite number")
    return value


def load_csv(
    path: str | os.PathLike[str],
    target: str | int,
    *,
    delimiter: str = ",",
    dtype: npt.DTypeLike = np.float64,
) -> Table:
    """Read a numeric CSV file with a header row into a ``Table``.

    The first non-blank row is the header (column names, surrounding spaces
    removed). ``target`` names the target column, or gives its 0-based index
    (negative indices count from the end); every other column, in file order,
    becomes a feature. Every cell must be a finite number. A UTF-8 byte-order
    mark and blank lines are ignored.

    Args:
        path: the CSV file.
        target: the target column's name, or its index.
        delimiter: the one-character field separator.
        dtype: a floating-point dtype for ``X`` and ``y``.

    Returns:
        A ``Table`` with ``X`` of shape (rows, columns - 1) and ``y`` of shape (rows,).

    Raises:
        CSVError: the file is missing, unreadable, not UTF-8, empty, has only a
            header, has duplicate column names, lacks the target column, has a
            row with the wrong number of fields, or has an empty or non-numeric
            cell. The message names the file, the 1-based line and the column.

    Example:
        >>> import pathlib, shutil, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "points.csv").write_text("x,label\\n1,0\\n2,1\\n3,1\\n")
        >>> table = load_csv(folder / "points.csv", "label")
        >>> table.X.shape, table.feature_names, table.y.tolist()
        ((3, 1), ('x',), [0.0, 1.0, 1.0])
        >>> shutil.rmtree(folder)
    """
    where = os.fspath(path)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be a single character, got {delimiter!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype}")

    rows = _rows(_read_text(path, where), delimiter, where)
    header_entry = next(rows, None)
    if header_entry is None:
        raise CSVError(f"{where}: line 1: the file is empty (expected a header row)")
    header_line, header = header_entry
    names = [name.strip() for name in header]
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            raise CSVError(f"{where}: line {header_line}: column {index + 1} of the header has no name")
        if name in seen:
            raise CSVError(
                f"{where}: line {header_line}: duplicate column name {_quote(name)} "
                f"(columns {seen[name] + 1} and {index + 1})"
            )
        seen[name] = index

    if isinstance(target, str):
        if target not in seen:
            available = ", ".join(_quote(name) for name in names[:12]) + (", …" if len(names) > 12 else "")
            raise CSVError(
                f"{where}: line {header_line}: unknown target column {_quote(target)}; available columns: {available}"
            )
        target_index = seen[target]
    elif isinstance(target, numbers.Integral) and not isinstance(target, bool):
        if not -len(names) <= target < len(names):
            raise CSVError(
                f"{where}: line {header_line}: target index {target} is out of range "
                f"for {len(names)} columns (valid: {-len(names)} to {len(names) - 1})"
            )
        target_index = int(target) % len(names)
    else:
        raise TypeError(f"target must be a column name (str) or index (int), got {type(target).__name__}")
    feature_index = [i for i in range(len(names)) if i != target_index]

    values: list[list[float]] = []
    for line, row in rows:
        if len(row) != len(names):
            raise CSVError(
                f"{where}: line {line} has {len(row)} field{'s' if len(row) != 1 else ''}, the header has {len(names)}"
            )
        values.append([_parse_number(cell, line, _column(names, i), where) for i, cell in enumerate(row)])
    if not values:
        raise CSVError(f"{where}: line {header_line}: the file has a header but no data rows")

    array = np.array(values, dtype=np.float64)
    return Table(
        X=np.ascontiguousarray(array[:, feature_index], dtype=dtype),
        y=np.ascontiguousarray(array[:, target_index], dtype=dtype),
        feature_names=tuple(names[i] for i in feature_index),
        target_name=names[target_index],
    )
