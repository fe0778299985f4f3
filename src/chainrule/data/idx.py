"""The IDX format of MNIST and its relatives (Fashion-MNIST, KMNIST, EMNIST), plain or gzipped.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), each dimension as a big-endian 32-bit count, then the values,
big-endian, in C order. ``read_idx`` checks the header against the bytes that
follow before it builds the array, so a truncated or foreign file raises
``IDXError`` instead of giving wrong numbers.

Example (with MNIST's files in ``data/mnist``)::

    images, labels = load_mnist("data/mnist", train=False)    # (10000, 28, 28) and (10000,) uint8
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..io.writer import write_file

__all__ = ["read_idx", "write_idx", "load_mnist", "IDXError"]

# type code -> big-endian dtype
_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file is not a well-formed IDX file.

    Example:
        >>> issubclass(IDXError, ValueError)
        True
    """


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IDXError(f"read_idx: {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise IDXError(f"read_idx: {str(path)!r} is a directory, not an IDX file") from None
    except OSError as error:
        raise IDXError(f"read_idx: cannot read {str(path)!r} ({error.strerror or error})") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise IDXError(f"read_idx: {str(path)!r} is a damaged gzip file ({error})") from None
    return raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not: the gzip magic bytes decide) into a numpy array in native byte order.

    Unsigned bytes (MNIST's pixels and labels) come back as ``uint8``; the
    other type codes as int8, int16, int32, float32 or float64.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
        >>> _ = write_idx(path, np.array([7, 2, 1], dtype=np.uint8))
        >>> read_idx(path).tolist()
        [7, 2, 1]
    """
    path = Path(path)
    raw = _read_bytes(path)
    where = repr(str(path))
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"read_idx: {where} is not an IDX file (it does not start with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in _TYPES:
        raise IDXError(f"read_idx: {where} has an unknown type code 0x{code:02X} (known: "
                       f"{', '.join(f'0x{c:02X}' for c in _TYPES)})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"read_idx: {where} is truncated in its header ({ndim} dimensions declared)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_TYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    stored = len(raw) - header
    if stored != expected:
        raise IDXError(f"read_idx: {where} declares shape {shape} of {dtype.newbyteorder('=')} ({expected:,} bytes) "
                       f"but holds {stored:,} bytes of data")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzipped when ``path`` ends in ``.gz``), through the safe writer.

    Example:
        >>> import pathlib, tempfile
        >>> path = write_idx(pathlib.Path(tempfile.mkdtemp()) / "x.idx", np.ones((2, 3), np.float32))
        >>> read_idx(path).shape
        (2, 3)
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise TypeError(f"write_idx: IDX holds uint8, int8, int16, int32, float32 or float64, not {array.dtype}")
    if array.ndim > 255:
        raise ValueError(f"write_idx: IDX holds at most 255 dimensions, got {array.ndim}")
    code = _CODES[native]
    content = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) \
        + np.ascontiguousarray(array, dtype=_TYPES[code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        content = gzip.compress(content, mtime=0)
    return write_file(path, lambda file: file.write(content))


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise IDXError(f"load_mnist: {str(folder)!r} has no {stem} (nor {stem}.gz)")


def load_mnist(folder: str | Path, *, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The images (N, 28, 28) uint8 and labels (N,) uint8 of MNIST-format files in ``folder``.

    Looks for ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (or
    ``t10k-…`` for ``train=False``), gzipped or not, as the MNIST,
    Fashion-MNIST and KMNIST downloads name them.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
        >>> _ = write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([3, 5], np.uint8))
        >>> images, labels = load_mnist(folder, train=False)
        >>> images.shape, labels.tolist()
        ((2, 28, 28), [3, 5])
    """
    folder = Path(folder)
    prefix = "train" if train else "t10k"
    images = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IDXError(f"load_mnist: images of shape {images.shape} do not match labels of shape {labels.shape}")
    return images, labels
