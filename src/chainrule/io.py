"""Saving and loading state in a safe format: ``.npz`` read with ``allow_pickle=False``.

A checkpoint is any nest of dicts and lists whose leaves are arrays, tensors,
numbers, strings, booleans or None, such as
``{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}``.
Arrays become entries of the archive; the structure and the plain values go
into one JSON manifest entry, so loading never runs code from the file.

Writes are atomic: the archive is written to a temporary file beside the
target and renamed over it only when complete, so a crash mid-write leaves
the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

_MANIFEST = "__chainrule_manifest__"
_FORMAT = "chainrule-checkpoint-1"


class CheckpointError(ValueError):
    """A file is missing, truncated, or not a chainrule checkpoint."""


def _encode(value, arrays: dict, path: str):
    """Replace arrays by references into ``arrays``; keep plain values as JSON."""
    if isinstance(value, Tensor):
        value = np.asarray(value.data)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise TypeError(f"save: {path or 'value'} holds an array of dtype {value.dtype}, which is not numeric")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, np.generic):
        return {"__scalar__": value.item(), "dtype": value.dtype.str}
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise TypeError(f"save: dictionary keys must be strings, got {k!r} at {path or 'top level'}")
        return {"__dict__": {k: _encode(v, arrays, f"{path}.{k}" if path else k) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"__list__": [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)],
                "tuple": isinstance(value, tuple)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save: cannot store a {type(value).__name__} at {path or 'top level'} (no pickling, by design)")


def _decode(node, archive):
    if isinstance(node, dict):
        if "__array__" in node:
            return archive[node["__array__"]]
        if "__scalar__" in node:
            return np.dtype(node["dtype"]).type(node["__scalar__"])
        if "__dict__" in node:
            return {k: _decode(v, archive) for k, v in node["__dict__"].items()}
        if "__list__" in node:
            items = [_decode(v, archive) for v in node["__list__"]]
            return tuple(items) if node.get("tuple") else items
        raise CheckpointError("load: the manifest holds an unknown entry")
    return node


def save(state, path) -> Path:
    """Write ``state`` to ``path`` atomically (an ``.npz`` archive, whatever the name); returns the path."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    manifest = {"format": _FORMAT, "state": _encode(state, arrays, "")}
    manifest_bytes = np.frombuffer(json.dumps(manifest, allow_nan=True).encode("utf-8"), dtype=np.uint8)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"save: directory {str(directory)!r} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **{_MANIFEST: manifest_bytes}, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load(path):
    """Read a checkpoint written by ``save``. Never unpickles anything."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"load: {str(path)!r} does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a plain .npy file loads as one array
            raise CheckpointError(f"load: {str(path)!r} is a single numpy array, not a chainrule checkpoint")
        with archive:
            if _MANIFEST not in archive.files:
                raise CheckpointError(f"load: {str(path)!r} is an .npz archive but not a chainrule checkpoint")
            manifest = json.loads(archive[_MANIFEST].tobytes().decode("utf-8"))
            if manifest.get("format") != _FORMAT:
                raise CheckpointError(f"load: {str(path)!r} has unknown format {manifest.get('format')!r}")
            arrays = {name: archive[name] for name in archive.files if name != _MANIFEST}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError) as error:
        raise CheckpointError(
            f"load: {str(path)!r} is not a readable chainrule checkpoint (truncated or foreign file: {error})"
        ) from None
    return _decode(manifest["state"], arrays)
