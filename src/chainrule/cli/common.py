"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys

from ..io import write_bytes


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status 2 unless told otherwise."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


def write_output(content, path: str | None, *, binary: bool = False, what: str | None = None) -> None:
    """Write to ``path`` through the safe writer (or to stdout when no path, or ``-``, is given)."""
    if path is None or path == "-":
        if binary:
            if sys.stdout.isatty():
                raise CommandError("refusing to write binary output to a terminal; use --output FILE")
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content)
        return
    data = content if binary else content.encode("utf-8")
    with output_errors(path, what):
        write_bytes(path, data)


@contextlib.contextmanager
def output_errors(path, what: str | None = None):
    """Turn a failure to write ``path`` into one line: ``cannot write PATH: why``."""
    if str(path).strip() == "":
        raise CommandError(f"{what + ': ' if what else ''}the file name is empty")
    try:
        yield
    except OSError as error:
        why = error.strerror or str(error)
        raise CommandError(f"{what} {path}: cannot write the file ({why})" if what
                           else f"cannot write {path}: {why}") from None


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
