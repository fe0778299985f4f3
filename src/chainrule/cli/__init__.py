"""The ``chainrule`` command.

Each sub-command lives in its own module with ``register(subparsers)`` and
``run(args) -> int``. User mistakes raise ``CommandError``: the command prints
one line, ``chainrule: error: …``, and exits with status 2 (bad usage, bad
files) — never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .common import CommandError

__all__ = ["main", "CommandError"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and status 2, as argparse does, without the usage dump
        self.exit(2, f"chainrule: error: {message} (see chainrule {self.prog.split()[-1]} --help)\n"
                  if " " in self.prog else f"chainrule: error: {message} (see chainrule --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import explain_cmd, train_cmd

    parser = _Parser(prog="chainrule", description="Backpropagation and gradient descent, number by number.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    explain_cmd.register(subparsers)
    train_cmd.register(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except CommandError as error:
        print(f"chainrule: error: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
