"""Saving and loading state in a safe format: an ``.npz`` archive that never holds code.

A checkpoint is any nest of dicts and lists whose leaves are arrays, tensors,
numbers, strings, booleans or None, such as
``{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}``.
Arrays become entries of the archive; the structure and the plain values go
into one JSON manifest entry, so loading never runs code from the file.

Writes go through the safe writer (``io.writer``): atomic, so a crash mid-write
leaves the previous checkpoint intact, and only ever over a regular file.

``load`` treats the file as hostile: it reads the zip directory and each
array's header itself, and checks everything before it allocates — the
manifest's schema, its nesting depth and entry count, each array's declared
shape and dtype against the bytes stored for it, and the total size against
``max_bytes`` — so every malformed file raises ``CheckpointError``, quickly.
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from .writer import write_file

__all__ = ["save", "load", "CheckpointError", "DEFAULT_MAX_BYTES", "MAX_DEPTH", "MAX_ENTRIES"]

_MANIFEST = "__chainrule_manifest__"
_FORMAT = "chainrule-checkpoint-1"

#: ``load`` refuses files whose arrays hold more than this, unless told ``max_bytes=``.
DEFAULT_MAX_BYTES = 1 << 30
#: Dicts and lists nested deeper than this are refused (a state dict is a handful of levels deep).
MAX_DEPTH = 64
#: Manifest values and archive members, each, at most.
MAX_ENTRIES = 1_000_000
#: The JSON manifest, at most (a state dict's is a few kilobytes).
MAX_MANIFEST_BYTES = 64 << 20
_NUMERIC = "biufc"


class CheckpointError(ValueError):
    """A file is missing, truncated, malformed, too large, or not a chainrule checkpoint."""


# -- saving ----------------------------------------------------------------------------------------


def _encode(value, arrays: dict, path: str, depth: int = 0):
    """Replace arrays by references into ``arrays``; keep plain values as JSON."""
    if depth > MAX_DEPTH:
        raise TypeError(f"save: {path or 'the state'} is nested more than {MAX_DEPTH} levels deep "
                        "(does it contain itself?)")
    if isinstance(value, Tensor):
        value = np.asarray(value.data)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMERIC or value.dtype.fields is not None:
            raise TypeError(f"save: {path or 'value'} holds an array of dtype {value.dtype}, which is not numeric")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"save: {path or 'value'} is a numpy {value.dtype} scalar; only real numbers and "
                            "booleans can be stored as scalars (store it in an array)")
        return {"__scalar__": value.item(), "dtype": value.dtype.str}
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise TypeError(f"save: dictionary keys must be strings, got {k!r} at {path or 'top level'}")
        return {"__dict__": {k: _encode(v, arrays, f"{path}.{k}" if path else k, depth + 1)
                             for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"__list__": [_encode(v, arrays, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)],
                "tuple": isinstance(value, tuple)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save: cannot store a {type(value).__name__} at {path or 'top level'} (no pickling, by design)")


def save(state, path) -> Path:
    """Write ``state`` to ``path`` atomically (an ``.npz`` archive, whatever the name); returns the path."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    manifest = {"format": _FORMAT, "state": _encode(state, arrays, "")}
    manifest_bytes = np.frombuffer(json.dumps(manifest, allow_nan=True).encode("utf-8"), dtype=np.uint8)
    write_file(path, lambda file: np.savez(file, **{_MANIFEST: manifest_bytes}, **arrays))
    return path


# -- loading ---------------------------------------------------------------------------------------


class _Archive:
    """The members of an open ``.npz`` zip file, each read at most once, after its checks."""

    def __init__(self, zipped: zipfile.ZipFile, where: str):
        self.zipped, self.where = zipped, where
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.cache: dict[str, np.ndarray] = {}

    def array(self, key: str) -> np.ndarray:
        if key not in self.cache:
            self.cache[key] = _read_array(self.zipped, self.members[key], self.where)
        return self.cache[key]


def _refuse(where: str, problem: str) -> CheckpointError:
    return CheckpointError(f"load: {where} {problem}")


def _read_array(zipped: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    """One ``.npy`` member: its header is checked against the bytes stored before anything is allocated."""
    name = info.filename
    with zipped.open(info) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unknown .npy version {version}")
        except (ValueError, SyntaxError, TypeError, OverflowError, EOFError) as error:
            raise _refuse(where, f"has an unreadable array header in {name!r} ({error})") from None
        if dtype.hasobject:
            raise _refuse(where, f"holds pickled Python objects in {name!r}, which chainrule never loads")
        if dtype.kind not in _NUMERIC or dtype.fields is not None or dtype.subdtype is not None:
            raise _refuse(where, f"holds an array of dtype {dtype} in {name!r}; checkpoints hold numbers only")
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise _refuse(where, f"declares an invalid shape {shape!r} in {name!r}")
        nbytes = math.prod(shape) * dtype.itemsize
        stored = info.file_size - stream.tell()
        if nbytes != stored:
            raise _refuse(where, f"declares shape {shape} of {dtype} ({nbytes} bytes) in {name!r} but stores "
                                 f"{stored} bytes")
        buffer = bytearray(nbytes)
        view, got = memoryview(buffer), 0
        while got < nbytes:
            count = stream.readinto(view[got:])
            if not count:
                raise _refuse(where, f"is truncated in {name!r}")
            got += count
    if nbytes == 0:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _open_members(zipped: zipfile.ZipFile, where: str, max_bytes: int | None) -> _Archive:
    infos = zipped.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _refuse(where, f"has {len(infos)} members, more than the limit of {MAX_ENTRIES}")
    archive = _Archive(zipped, where)
    total = 0
    for info in infos:
        if not info.filename.endswith(".npy") or info.is_dir():
            raise _refuse(where, f"has a member {info.filename[:80]!r} that is not an array; not a chainrule "
                                 "checkpoint")
        key = info.filename[:-4]
        if key in archive.members:
            raise _refuse(where, f"holds the member {info.filename[:80]!r} twice")
        archive.members[key] = info
        total += info.file_size
    if max_bytes is not None and total > max_bytes:
        raise _refuse(where, f"holds {total:,} bytes of arrays, more than the limit of {max_bytes:,} "
                             "(pass max_bytes= to load a larger file you trust)")
    if _MANIFEST not in archive.members:
        raise _refuse(where, "is an .npz archive but not a chainrule checkpoint (it has no manifest)")
    if archive.members[_MANIFEST].file_size > MAX_MANIFEST_BYTES:
        raise _refuse(where, f"has a manifest of {archive.members[_MANIFEST].file_size:,} bytes, more than the "
                             f"limit of {MAX_MANIFEST_BYTES:,}")
    return archive


def _manifest(archive: _Archive) -> dict:
    where = archive.where
    raw = archive.array(_MANIFEST)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _refuse(where, "has a manifest that is not a byte string")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise _refuse(where, "has a manifest that is not UTF-8 text") from None
    except RecursionError:
        raise _refuse(where, f"has a manifest nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as error:
        raise _refuse(where, f"has a manifest that is not valid JSON ({str(error)[:80]})") from None
    if not isinstance(manifest, dict) or set(manifest) != {"format", "state"}:
        raise _refuse(where, "has a manifest without exactly the entries 'format' and 'state'")
    if manifest["format"] != _FORMAT:
        raise _refuse(where, f"has unknown format {str(manifest['format'])[:40]!r} (expected {_FORMAT!r})")
    return manifest


class _Decoder:
    """Turns the manifest back into values, checking each node's schema, the depth and the entry count."""

    def __init__(self, archive: _Archive):
        self.archive, self.where, self.entries = archive, archive.where, 0

    def bad(self, at: str, problem: str) -> CheckpointError:
        return _refuse(self.where, f"has a malformed manifest at {at or 'the top'}: {problem}")

    def decode(self, node, at: str = "", depth: int = 0):
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise _refuse(self.where, f"has more than {MAX_ENTRIES} manifest entries")
        if depth > MAX_DEPTH:
            raise _refuse(self.where, f"has a manifest nested more than {MAX_DEPTH} levels deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise self.bad(at, f"a bare {type(node).__name__} where a tagged value belongs")
        keys = set(node)
        if keys == {"__array__"}:
            key = node["__array__"]
            if not isinstance(key, str) or key == _MANIFEST or key not in self.archive.members:
                raise self.bad(at, f"an array reference {str(key)[:40]!r} to no array of the archive")
            return self.archive.array(key)
        if keys == {"__scalar__", "dtype"}:
            return self.scalar(node["__scalar__"], node["dtype"], at)
        if keys == {"__dict__"}:
            items = node["__dict__"]
            if not isinstance(items, dict):
                raise self.bad(at, "a __dict__ that is not an object")
            return {k: self.decode(v, f"{at}.{k}" if at else k, depth + 1) for k, v in items.items()}
        if keys == {"__list__", "tuple"}:
            items, is_tuple = node["__list__"], node["tuple"]
            if not isinstance(items, list) or not isinstance(is_tuple, bool):
                raise self.bad(at, "a __list__ that is not a list with a true/false 'tuple' flag")
            values = [self.decode(v, f"{at}[{i}]", depth + 1) for i, v in enumerate(items)]
            return tuple(values) if is_tuple else values
        raise self.bad(at, f"an unknown entry with keys {sorted(keys)[:5]}")

    def scalar(self, value, dtype_text, at: str):
        if not isinstance(dtype_text, str) or isinstance(value, str) or not isinstance(value, (bool, int, float)):
            raise self.bad(at, "a scalar that is not a number with a dtype string")
        try:
            dtype = np.dtype(dtype_text)
        except (TypeError, ValueError, SyntaxError):
            raise self.bad(at, f"an unknown dtype {dtype_text[:40]!r}") from None
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
            raise self.bad(at, f"a scalar of dtype {dtype} (only real numbers and booleans are stored)")
        try:
            with np.errstate(all="ignore"):
                return dtype.type(value)
        except (OverflowError, ValueError, TypeError):
            raise self.bad(at, f"the value {str(value)[:40]} does not fit dtype {dtype}") from None


def load(path, *, max_bytes: int | None = DEFAULT_MAX_BYTES):
    """Read a checkpoint written by ``save``. Never unpickles anything.

    Every problem with the file raises ``CheckpointError``. Files whose arrays
    hold more than ``max_bytes`` bytes (1 GiB by default) are refused before
    anything is read; pass a larger number, or None, to load one you trust.
    """
    where = repr(str(path))
    path = Path(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"load: {where} does not exist") from None
    except OSError as error:
        raise CheckpointError(f"load: cannot read {where} ({error.strerror or error})") from None
    if stat.S_ISDIR(status.st_mode):
        raise CheckpointError(f"load: {where} is a directory, not a checkpoint file")
    if not stat.S_ISREG(status.st_mode):
        raise CheckpointError(f"load: {where} is not a regular file")
    try:
        with open(path, "rb") as file:
            if file.read(6) == np.lib.format.MAGIC_PREFIX:
                raise CheckpointError(f"load: {where} is a single numpy array (.npy), not a chainrule checkpoint")
            file.seek(0)
            try:
                zipped = zipfile.ZipFile(file)
            except zipfile.BadZipFile:
                raise CheckpointError(f"load: {where} is not a readable chainrule checkpoint (not an .npz "
                                      "archive: truncated or foreign file)") from None
            with zipped:
                archive = _open_members(zipped, where, max_bytes)
                manifest = _manifest(archive)
                return _Decoder(archive).decode(manifest["state"])
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(f"load: {where} has a manifest nested too deeply") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, NotImplementedError,
            RuntimeError, UnicodeDecodeError, OverflowError, MemoryError) as error:
        raise CheckpointError(
            f"load: {where} is not a readable chainrule checkpoint (truncated or damaged: {str(error)[:120]})"
        ) from None
