"""Resource limits of ``chainrule train``, checked before anything large is allocated.

A problem file or a flag can ask for more than the machine has
(``--sizes 2,100000,100000,1``, ``--samples 100000000``): without these checks
numpy raises MemoryError after a long wait, or the kernel kills the process.
Each limit names the flag that raises it, for the user who means it.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass

from .common import CommandError

DEFAULT_SAMPLES = 1_000_000
DEFAULT_MEMORY_MIB = 4096
DEFAULT_UPDATES = 100_000_000

# Bytes per parameter: its value, its gradient, up to two optimizer buffers, and the copy
# the divergence guard keeps during a step (float64).
_BYTES_PER_PARAMETER = 5 * 8
# Bytes per activation of one sample: the layer's output, its pre-activation and their gradients.
_BYTES_PER_ACTIVATION = 4 * 8
# evaluate() runs the whole data set through the model in chunks of this many rows.
_EVALUATION_CHUNK = 4096


@dataclass
class Limits:
    samples: int = DEFAULT_SAMPLES
    memory_mib: int = DEFAULT_MEMORY_MIB
    updates: int = DEFAULT_UPDATES


def register(parser) -> None:
    group = parser.add_argument_group("limits (checked before training starts)")
    group.add_argument("--max-samples", type=_positive_int, default=DEFAULT_SAMPLES, metavar="N",
                       help=f"most points a toy data set may have (default {DEFAULT_SAMPLES:,})")
    group.add_argument("--max-memory", type=_positive_int, default=DEFAULT_MEMORY_MIB, metavar="MIB",
                       help=f"most memory training may need, estimated, in MiB (default {DEFAULT_MEMORY_MIB})")
    group.add_argument("--max-updates", type=_positive_int, default=DEFAULT_UPDATES, metavar="N",
                       help=f"most parameter updates a run may make (default {DEFAULT_UPDATES:,})")


def from_args(args) -> Limits:
    return Limits(args.max_samples, args.max_memory, args.max_updates)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def check_samples(samples: int, origin: str, limits: Limits) -> None:
    if samples > limits.samples:
        raise CommandError(f"{origin}: {samples:,} samples is more than the limit of {limits.samples:,} "
                           "(--max-samples raises it)")


# Reading a CSV file holds its text, the parsed rows and a float per cell: about this many bytes
# of memory per byte of file at the worst (a one-character number and a delimiter per cell).
_BYTES_PER_CSV_BYTE = 24


def check_csv_file(path, where: str, limits: Limits) -> None:
    try:
        size = os.stat(path).st_size
    except OSError:
        return  # reading it reports the problem
    needed = size * _BYTES_PER_CSV_BYTE
    if needed > limits.memory_mib * 1024 * 1024:
        raise CommandError(f"{where}: a CSV file of {_size(size)} needs up to {_size(needed)} of memory to read, "
                           f"more than the limit of {limits.memory_mib:,} MiB (--max-memory MIB raises it)")


def parameter_count(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def _size(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:,.0f} {unit}" if unit == "bytes" else f"{nbytes:,.1f} {unit}"
        nbytes /= 1024
    raise AssertionError


def check_training(sizes: list[int], samples: int, features: int, rows_per_update: int, updates_per_epoch: int,
                   epochs: int, origin: str, limits: Limits) -> None:
    """Refuse a run whose estimated memory or number of updates is above the limits."""
    parameters = parameter_count(sizes)
    rows = max(rows_per_update, min(samples, _EVALUATION_CHUNK))
    needed = (parameters * _BYTES_PER_PARAMETER + rows * sum(sizes) * _BYTES_PER_ACTIVATION
              + samples * (features + 1) * 8)
    if needed > limits.memory_mib * 1024 * 1024:
        raise CommandError(
            f"{origin}: a {'-'.join(map(str, sizes))} network ({parameters:,} parameters) on {samples:,} samples "
            f"needs about {_size(needed)} of memory, more than the limit of {limits.memory_mib:,} MiB "
            "(--max-memory MIB raises it)")
    updates = updates_per_epoch * epochs
    if updates > limits.updates:
        raise CommandError(
            f"{epochs:,} epochs of {updates_per_epoch:,} update{'s' if updates_per_epoch != 1 else ''} make "
            f"{updates:,} updates, more than the limit of {limits.updates:,} (--max-updates raises it)")


def updates_per_epoch(mode: str, samples: int, batch_size: int) -> int:
    return {"batch": 1, "stochastic": samples}.get(mode, math.ceil(samples / max(batch_size, 1)))
