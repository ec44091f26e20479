"""The ``micro-gastown`` command line.

Each command lives in its own module under this package and exposes ``register(sub)``,
which adds its sub-parser and sets ``func`` to a callable taking the parsed namespace and
returning an exit code. Known errors (``MicroGastownError``) become one line on stderr and
their exit code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from micro_gastown import __version__
from micro_gastown.errors import MicroGastownError, UsageError


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of exiting, so errors stay one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from micro_gastown.cli import analyze, evolve, graph, logs, validate

    parser = _Parser(
        prog="micro-gastown",
        description="Sleeptime evolution for ExoMonad agent graphs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in (analyze, evolve, graph, logs, validate):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.func(args)
    except MicroGastownError as exc:
        print(f"micro-gastown: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("micro-gastown: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and friends: not an error worth a traceback.
        return 0
    return code
