"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 2 unless told otherwise."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def write_output(content, path: str | None, *, binary: bool = False) -> None:
    """Write to ``path`` atomically (or to stdout when no path is given)."""
    if path is None or path == "-":
        if binary:
            if sys.stdout.isatty():
                raise CommandError("refusing to write binary output to a terminal; use --output FILE")
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content)
        return
    target = Path(path)
    if not target.parent.exists():
        raise CommandError(f"cannot write {path}: directory {str(target.parent)!r} does not exist")
    temporary = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        if binary:
            temporary.write_bytes(content)
        else:
            temporary.write_text(content, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from None


def use_color(flag: str) -> bool:
    if flag == "always":
        return True
    if flag == "never":
        return False
    return sys.stdout.isatty() and os.environ.get("NO_COLOR") is None and os.environ.get("TERM") != "dumb"


def finite_number(text: str) -> float:
    """An argparse type: a finite float, or a one-line error naming what was given."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value
