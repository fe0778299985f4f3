"""State dicts as safetensors files, the format PyTorch, Hugging Face and most tools read.

A safetensors file holds a flat mapping of names to arrays: exactly a
``state_dict``. chainrule's layers use PyTorch's names and layouts
(``0.weight`` of shape (out, in)), so a file written here loads with
``safetensors.torch.load_file`` straight into the equivalent torch module::

    cr.save(model.state_dict(), "model.safetensors")
    torch_model.load_state_dict(safetensors.torch.load_file("model.safetensors"))

Whole training states (optimizer, history, nested dicts) stay in the ``.npz``
format of ``io.checkpoint``. Needs ``pip install "chainrule[safetensors]"``.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from .checkpoint import DEFAULT_MAX_BYTES, CheckpointError
from .writer import write_file

__all__ = ["save_safetensors", "load_safetensors"]

# safetensors dtype names numpy can hold (bfloat16 and the float8s it cannot).
_NUMPY_DTYPES = {"BOOL", "U8", "I8", "U16", "I16", "F16", "U32", "I32", "F32", "U64", "I64", "F64"}


def _library(action: str):
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"{action} a .safetensors file needs the safetensors package: "
                          'pip install "chainrule[safetensors]"') from None
    return safetensors.numpy


def _flat_arrays(state) -> dict[str, np.ndarray]:
    if hasattr(state, "state_dict") and not isinstance(state, Mapping):
        raise TypeError(f"save: pass {type(state).__name__}.state_dict() to write a .safetensors file, not the "
                        "module itself")
    if not isinstance(state, Mapping):
        raise TypeError(f"save: a .safetensors file holds a mapping of names to arrays (a state_dict), got "
                        f"{type(state).__name__}")
    arrays = {}
    for name, value in state.items():
        if not isinstance(name, str):
            raise TypeError(f"save: safetensors names are strings, got {name!r}")
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, Mapping | list | tuple) or value is None or isinstance(value, str):
            raise TypeError(f"save: {name!r} is a {type(value).__name__}; a .safetensors file holds arrays only "
                            "(save whole training states to a .npz file)")
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"save: {name!r} holds {array.dtype} values; safetensors holds booleans, integers and "
                            "floats")
        arrays[name] = np.asarray(array, order="C")  # not ascontiguousarray, which makes 0-d arrays 1-d
    return arrays


def save_safetensors(state, path, *, metadata: Mapping[str, str] | None = None) -> Path:
    """Write a state dict to ``path`` as safetensors, atomically, through the safe writer.

    ``metadata`` (strings to strings) goes into the file's header.
    """
    library = _library("writing")
    arrays = _flat_arrays(state)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("save: safetensors metadata maps strings to strings")
    content = library.save(arrays, metadata=dict(metadata) if metadata is not None else None)
    path = Path(path)
    write_file(path, lambda file: file.write(content))
    return path


def _header(raw: bytes, where: str) -> dict:
    if len(raw) < 8:
        raise CheckpointError(f"load: {where} is not a safetensors file (shorter than its 8-byte header length)")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8:
        raise CheckpointError(f"load: {where} is not a readable safetensors file (truncated, or not safetensors)")
    try:
        header = json.loads(raw[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"load: {where} is not a readable safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {where} is not a readable safetensors file (its header is not an object)")
    return header


def load_safetensors(path, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> OrderedDict[str, np.ndarray]:
    """Read a safetensors file into an ordered dict of numpy arrays, by name (nothing in it is ever run).

    Files larger than ``max_bytes`` (1 GiB by default) are refused before they are read.
    """
    library = _library("reading")
    where = repr(str(path))
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"load: {where} does not exist") from None
    except OSError as error:
        raise CheckpointError(f"load: cannot read {where} ({error.strerror or error})") from None
    if not stat.S_ISREG(status.st_mode):
        raise CheckpointError(f"load: {where} is not a regular file")
    if max_bytes is not None and status.st_size > max_bytes:
        raise CheckpointError(f"load: {where} holds {status.st_size:,} bytes, more than the limit of {max_bytes:,} "
                              "(pass max_bytes= to load a larger file you trust)")
    raw = Path(path).read_bytes()
    header = _header(raw, where)
    for name, entry in header.items():
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if name != "__metadata__" and dtype not in _NUMPY_DTYPES:
            hint = " (convert it in torch first, e.g. tensor.float())" if dtype in ("BF16", "F8_E4M3", "F8_E5M2") \
                else ""
            raise CheckpointError(f"load: {where} holds {name!r} as {dtype}, which numpy cannot hold{hint}")
    try:
        arrays = library.load(raw)
    except Exception as error:  # safetensors raises its own error type from Rust for any malformed file
        raise CheckpointError(f"load: {where} is not a readable safetensors file ({str(error)[:120]})") from None
    return OrderedDict((name, np.array(array, copy=True)) for name, array in arrays.items())
