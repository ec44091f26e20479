"""The ``micro-gastown`` command line.

Each command lives in its own module under this package and exposes ``register(sub)``,
which adds its sub-parser and sets ``func`` to a callable taking the parsed namespace and
returning an exit code. Known errors (``MicroGastownError``) become one line on stderr and
their exit code; anything else is a bug and keeps its traceback.

Standard output is guarded here, once, for every command: a write that fails (a full device,
an I/O error) or a closed descriptor is an OutputError like any other output, and a reader
that went away (``| head``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, TextIO

from micro_gastown import __version__
from micro_gastown.cli import flags, say
from micro_gastown.errors import MicroGastownError, OutputError, UsageError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of exiting, so errors stay one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


COMMANDS: Final = {
    "analyze": "analyze",
    "evolve": "evolve",
    "file-pr": "file_pr",
    "graph": "graph",
    "logs": "logs",
    "refine": "refine",
    "rollback-check": "rollback_check",
    "validate": "validate",
}
"""Each command's name and the module of this package that registers it."""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``argv`` naming a command, only that command's module
    is imported (the others get empty parsers): importing every command's dependencies
    (GitHub, scipy, the refine pipeline) would cost each run a second of start-up."""
    chosen = next((token for token in argv or () if not token.startswith("-")), None)
    parser = _Parser(
        prog="micro-gastown",
        description="Sleeptime evolution for ExoMonad agent graphs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in COMMANDS.items():
        if chosen in COMMANDS and name != chosen:
            sub.add_parser(name)  # never parsed: argv names another command
        else:
            importlib.import_module(f"{__name__}.{module}").register(sub)
    _record_prog(parser)
    return parser


def _record_prog(parser: argparse.ArgumentParser) -> None:
    """Each (sub-)command's parser leaves its ``prog`` in the namespace, so errors and
    warnings name the command that ran (``micro-gastown logs export: ...``)."""
    parser.set_defaults(prog=parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _record_prog(child)


def main(argv: Sequence[str] | None = None) -> int:
    guard = _StdoutGuard.install()
    try:
        return _run(argv)
    finally:
        guard.uninstall()


def _named_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """The ``prog`` of the deepest command ``argv`` names (for errors before parsing ends)."""
    for token in argv:
        if token.startswith("-"):
            continue
        children = next(
            (a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
            None,
        )
        if not children or token not in children:
            break
        parser = children[token]
    return parser.prog


def _options(parser: argparse.ArgumentParser, prog: str | None) -> set[str] | None:
    """The option strings of the command named ``prog`` (None: not found)."""
    if parser.prog == prog:
        return {o for action in parser._actions for o in action.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found = _options(child, prog)
                if found is not None:
                    return found
    return None


def _run(argv: Sequence[str] | None) -> int:
    parser: argparse.ArgumentParser | None = None
    try:
        argv = sys.argv[1:] if argv is None else argv
        parser = build_parser(argv)
        say.speaking_as(_named_command(parser, argv))
        try:
            args = parser.parse_args(argv)
        except SystemExit:  # --help and --version print, then exit: their output counts too
            _flush_stdout()
            raise
        say.speaking_as(args.prog)
        code: int = args.func(args)
        _flush_stdout()
    except MicroGastownError as exc:
        options = _options(parser, say.speaker()) if parser is not None else None
        say.error(flags.worded(exc, options))
        return exc.exit_code
    except KeyboardInterrupt:
        say.line("interrupted")
        return 130
    except BrokenPipeError:
        # Output piped into `head` and friends: not an error worth a traceback.
        return 0
    return code


def _flush_stdout() -> None:
    """Buffered output fails on a full device only when flushed: flush while errors count."""
    if sys.stdout is not None:
        sys.stdout.flush()


class _GuardedWrites(io.RawIOBase):
    """Descriptor 1 (or nothing, when it was closed) with our errors instead of OSError.

    After the first failure, which is reported once, later writes are dropped: the buffered
    rest would otherwise fail again at interpreter exit ("Exception ignored ...").
    """

    def __init__(self, fd: int | None) -> None:
        super().__init__()
        self.fd = fd
        self.failed = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self.fd is None:
            raise OSError("standard output is closed")
        return self.fd

    def isatty(self) -> bool:
        return self.fd is not None and os.isatty(self.fd)

    def write(self, data: ReadableBuffer, /) -> int:
        if self.failed:
            return memoryview(data).nbytes
        if self.fd is None:
            self.failed = True
            raise OutputError("standard output is closed")
        try:
            return os.write(self.fd, data)
        except BrokenPipeError:
            self.failed = True
            raise
        except OSError as exc:
            self.failed = True
            raise OutputError(f"standard output: cannot write ({exc.strerror})") from None


class _StdoutGuard:
    """Puts a ``_GuardedWrites`` stream in place of the interpreter's own ``sys.stdout`` for
    one command. A stdout someone else installed (a test's capture) is left alone."""

    def __init__(
        self,
        original: TextIO | None,
        guarded: io.TextIOWrapper | None = None,
        raw: _GuardedWrites | None = None,
    ) -> None:
        self.original = original
        self.guarded = guarded
        self.raw = raw

    @classmethod
    def install(cls) -> _StdoutGuard:
        original = sys.stdout
        own = sys.__stdout__
        if original is None:  # started with descriptor 1 closed
            raw = _GuardedWrites(None)
            guarded = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8")
        elif own is not None and original is own:
            try:
                own.flush()
                fd = own.fileno()
            except (OSError, ValueError):
                return cls(original)
            # Under python -u the original has no buffer: line buffering comes closest while
            # keeping the BufferedWriter, which finishes partial writes.
            unbuffered = not isinstance(own.buffer, io.BufferedIOBase)
            raw = _GuardedWrites(fd)
            guarded = io.TextIOWrapper(
                io.BufferedWriter(raw),
                encoding=own.encoding,
                errors=own.errors,
                line_buffering=own.line_buffering or unbuffered,
                write_through=own.write_through,
            )
        else:
            return cls(original)
        sys.stdout = guarded
        return cls(original, guarded, raw)

    def uninstall(self) -> None:
        raw = self.raw
        if self.guarded is None or raw is None:
            return
        # Flushed already unless the command is ending on an exception, which is what gets
        # reported; a failure here would only hide it.
        with contextlib.suppress(OSError, MicroGastownError):
            self.guarded.flush()
        if raw.failed and raw.fd is not None:
            # The Python docs' SIGPIPE advice: point descriptor 1 at devnull, so nothing left
            # in a buffer fails again (and is reported as "Exception ignored") at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, raw.fd)
            os.close(devnull)
        raw.failed = True  # the stream is discarded: drop anything it still holds
        sys.stdout = self.original
