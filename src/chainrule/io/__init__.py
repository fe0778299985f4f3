"""Files: checkpoints (``save``/``load``), ONNX export, the PyTorch bridge, and the safe writer all writes use.

``save`` and ``load`` choose the format by the file's extension: ``.safetensors``
for a state dict that PyTorch and other tools read, anything else for chainrule's
``.npz`` checkpoint, which holds whole training states (nested dicts, the
optimizer, the history).
"""

from pathlib import Path

from . import checkpoint, onnx
from .checkpoint import DEFAULT_MAX_BYTES, CheckpointError
from .writer import UnsafeTarget, check_target, write_bytes, write_file

__all__ = ["save", "load", "onnx", "CheckpointError", "DEFAULT_MAX_BYTES", "write_file", "write_bytes", "check_target",
           "UnsafeTarget"]


def _is_safetensors(path) -> bool:
    return Path(path).suffix.lower() == ".safetensors"


def save(state, path, **options) -> Path:
    """Write ``state`` to ``path`` atomically: safetensors for a ``.safetensors`` name, else a ``.npz`` checkpoint.

    >>> save(model.state_dict(), "model.safetensors")      # doctest: +SKIP
    >>> save({"model": model.state_dict(), "epoch": 3}, "run.npz")      # doctest: +SKIP
    """
    if _is_safetensors(path):
        from .safetensors import save_safetensors

        return save_safetensors(state, path, **options)
    return checkpoint.save(state, path, **options)


def load(path, *, max_bytes: int | None = DEFAULT_MAX_BYTES):
    """Read what ``save`` wrote (the format chosen by the extension, as for ``save``); never runs code from the file."""
    if _is_safetensors(path):
        from .safetensors import load_safetensors

        return load_safetensors(path, max_bytes=max_bytes)
    return checkpoint.load(path, max_bytes=max_bytes)
