"""Files: checkpoints (``save``/``load``) and the safe writer every output goes through."""

from .checkpoint import DEFAULT_MAX_BYTES, CheckpointError, load, save
from .writer import UnsafeTarget, check_target, write_bytes, write_file

__all__ = ["save", "load", "CheckpointError", "DEFAULT_MAX_BYTES", "write_file", "write_bytes", "check_target",
           "UnsafeTarget"]
