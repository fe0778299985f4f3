"""The ``chainrule`` command.

Each sub-command lives in its own module with ``register(subparsers)`` and
``run(args) -> int``. User mistakes raise ``CommandError``.

``main`` is the one error boundary: whatever goes wrong, the command prints one
line, ``chainrule: error: …``, and exits with status 2 for a user error (bad
usage, bad files, a limit exceeded) or 1 for a runtime failure (a diverging
run, memory running out, a bug) — never a traceback, unless ``--debug`` (given
anywhere on the command line) asks for one.
"""

from __future__ import annotations

import argparse
import os
import sys

from .common import CommandError

__all__ = ["main", "CommandError"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and status 2, as argparse does, without the usage dump
        self.exit(2, f"chainrule: error: {message} (see chainrule {self.prog.split()[-1]} --help)\n"
                  if " " in self.prog else f"chainrule: error: {message} (see chainrule --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import explain_cmd, serve_cmd, train_cmd

    parser = _Parser(prog="chainrule", description="Backpropagation and gradient descent, number by number.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    explain_cmd.register(subparsers)
    train_cmd.register(subparsers)
    serve_cmd.register(subparsers)
    return parser


def _split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``--debug`` may stand anywhere before a ``--``; it is taken out before argparse sees the rest."""
    end = argv.index("--") if "--" in argv else len(argv)
    kept = [a for a in argv[:end] if a != "--debug"] + argv[end:]
    return kept, len(kept) != len(argv)


def _failure(error: BaseException) -> tuple[str, int]:
    """The one line and the exit status for an error no command turned into a ``CommandError``."""
    if isinstance(error, MemoryError):
        return "out of memory; try a smaller problem (fewer samples, smaller layers)", 1
    if isinstance(error, RecursionError):
        return "the input is nested too deeply to process", 1
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error} (--debug shows where)", 1
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, (ValueError, TypeError, ArithmeticError)):
        return f"{text} (--debug shows where)", 1
    return f"internal error: {type(error).__name__}: {text} (--debug shows the traceback)", 1


def main(argv=None) -> int:
    argv, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except CommandError as error:
        if debug:
            raise
        print(f"chainrule: error: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as error:  # the boundary: anything else is still one line
        if debug:
            raise
        message, status = _failure(error)
        print(f"chainrule: error: {message}", file=sys.stderr)
        return status


def _silence_stdout() -> None:
    """After the reader of a pipe went away, keep Python's final flush of stdout from failing noisily."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
