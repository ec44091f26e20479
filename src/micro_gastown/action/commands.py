"""GitHub Actions' workflow-command protocol, typed, and unable to be steered by log text.

A step talks to the runner in two ways (GitHub Docs, "Workflow commands for GitHub
Actions"):

* lines on stdout of the form ``::command key=value,key=value::data``. The runner reads
  stdout line by line (a line ends at LF, CR or CRLF), strips leading blanks, and acts on a
  line that then starts with ``::``. The data is unescaped ``%25``→``%``, ``%0D``→CR,
  ``%0A``→LF; a property value also ``%3A``→``:`` and ``%2C``→``,``. Escaping exactly
  those keeps every command on one line, so text inside a command cannot start another;
* the environment files: ``GITHUB_OUTPUT`` and ``GITHUB_ENV`` take ``NAME<<DELIMITER``,
  the value's lines, then a line that is exactly ``DELIMITER``; ``GITHUB_STEP_SUMMARY``
  takes Markdown.

The Action echoes text it did not write (log lines, model prose, error messages). Such text
could hold ``::add-mask::``, ``::error::`` or a fake ``::set-output``; :func:`untrusted` and
:func:`stop_commands` wrap it in ``::stop-commands::TOKEN`` … ``::TOKEN::``, between which the
runner acts on nothing, with a random token the text does not contain, so it cannot end the
pause early. The heredoc delimiter of the files is random the same way and checked absent
from the value, so a value cannot end early and smuggle a second output in.

Why not ``actions-toolkit`` (PyPI, last release 2022): untyped (no annotations, no
``py.typed``), writes only to ``sys.stdout``, falls back to the deprecated ``::set-output``
command when ``GITHUB_OUTPUT`` is unset, raises a bare ``Exception`` when its delimiter
occurs in a value instead of choosing another, has no stop-commands helper, masks a multi-line
secret as one value (which the runner, masking line by line, never matches), and pulls in
``requests``. The protocol is a page of documentation; this module is the part we use.
"""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Final, TextIO

__all__ = [
    "AnnotationLevel",
    "QuarantinedOutput",
    "annotate",
    "append_env",
    "append_summary",
    "escape_data",
    "escape_property",
    "group",
    "mask",
    "set_output",
    "stop_commands",
    "untrusted",
]

_OUTPUT_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
"""An output name a later step can read as ``steps.<id>.outputs.<name>``."""

_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""An environment variable name a shell can expand."""

_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")
"""Where the runner ends a stdout line (it reads with .NET's ``ReadLine``)."""


class AnnotationLevel(StrEnum):
    """The three annotation commands; each shows on the run's summary and the diff."""

    NOTICE = "notice"
    WARNING = "warning"
    ERROR = "error"


def escape_data(text: str) -> str:
    """A command's data as the runner unescapes it: ``%`` first, so ``%0A`` in the text
    stays the five characters it was instead of becoming a line break."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: data escaping, plus ``:`` and ``,``, which would otherwise end the
    value (``,`` separates properties, ``::`` ends them)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _emit(stream: TextIO | None, line: str) -> None:
    """One command line, flushed so it reaches the runner before any child's output."""
    out = sys.stdout if stream is None else stream
    out.write(line + "\n")
    out.flush()


def _fresh_token(avoid: str) -> str:
    """A random word that occurs nowhere in ``avoid``: 128 bits make a clash all but
    impossible, and the check makes it impossible."""
    while True:
        token = f"mg{secrets.token_hex(16)}"
        if token not in avoid:
            return token


def mask(value: str, *, stream: TextIO | None = None) -> None:
    """Have the runner replace ``value`` with ``***`` in the log from now on.

    The runner masks each log line on its own, so a multi-line secret (a PEM key) is
    registered line by line; blank lines are skipped (masking them would hide nothing and
    the runner rejects them).
    """
    for line in _LINE_BREAK.split(value):
        if line.strip():
            _emit(stream, f"::add-mask::{escape_data(line)}")


@contextmanager
def group(title: str, *, stream: TextIO | None = None) -> Iterator[None]:
    """Fold what the block prints under ``title`` in the log; the group is closed even
    when the block raises. The runner does not nest groups: do not nest these."""
    _emit(stream, f"::group::{escape_data(title)}")
    try:
        yield
    finally:
        _emit(stream, "::endgroup::")


def annotate(
    level: AnnotationLevel,
    message: str,
    *,
    title: str | None = None,
    file: str | None = None,
    line: int | None = None,
    stream: TextIO | None = None,
) -> None:
    """A notice, warning or error annotation, optionally on a file's line.

    A multi-line ``message`` stays one command (its line breaks are escaped) and shows
    with its lines in the annotation.
    """
    if line is not None and file is None:
        raise ValueError("an annotation's line needs its file")
    properties = []
    if file is not None:
        properties.append(f"file={escape_property(file)}")
    if line is not None:
        properties.append(f"line={int(line)}")
    if title is not None:
        properties.append(f"title={escape_property(title)}")
    head = f"{level.value} {','.join(properties)}" if properties else level.value
    _emit(stream, f"::{head}::{escape_data(message)}")


def _append_file(path: Path, text: str) -> None:
    """Append to an environment file, starting on a fresh line if another writer left the
    last one open (a header glued to it would be misread). No newline translation: the
    runner splits on LF, and CR in a value must stay the character it was."""
    with path.open("a+b") as probe:
        size = probe.seek(0, 2)
        if size:
            probe.seek(size - 1)
            open_line = probe.read(1) != b"\n"
        else:
            open_line = False
    with path.open("a", encoding="utf-8", newline="") as out:
        out.write(("\n" if open_line else "") + text)


def _heredoc(name: str, value: str) -> str:
    delimiter = _fresh_token(name + "\n" + value)
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def set_output(name: str, value: str, *, path: Path) -> None:
    """Set the step output ``name`` to exactly ``value`` (any text, any lines) in the
    ``GITHUB_OUTPUT`` file at ``path``."""
    if not _OUTPUT_NAME.fullmatch(name):
        raise ValueError(f"not an output name: {name!r}")
    _append_file(path, _heredoc(name, value))


def append_env(name: str, value: str, *, path: Path) -> None:
    """Set the environment variable ``name`` to exactly ``value`` for the job's later steps,
    in the ``GITHUB_ENV`` file at ``path``."""
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(f"not an environment variable name: {name!r}")
    _append_file(path, _heredoc(name, value))


def append_summary(markdown: str, *, path: Path) -> None:
    """Add Markdown to the job summary (the ``GITHUB_STEP_SUMMARY`` file at ``path``),
    ended by a line break so the next addition starts a block of its own. Untrusted text in
    it must already be inert (``micro_gastown.github.inert``): GitHub renders this file."""
    _append_file(path, markdown if markdown.endswith("\n") else markdown + "\n")


class QuarantinedOutput:
    """Where text goes while the runner acts on no command (see :func:`stop_commands`)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._line_open = False

    def write(self, text: str) -> None:
        """Print ``text`` as is: nothing in it is acted on."""
        if text:
            self._stream.write(text)
            self._line_open = not text.endswith(("\n", "\r"))

    def _close_line(self) -> None:
        if self._line_open:
            self._stream.write("\n")
            self._line_open = False


@contextmanager
def stop_commands(*, stream: TextIO | None = None, avoid: str = "") -> Iterator[QuarantinedOutput]:
    """Print what the block writes with every workflow command in it ignored.

    ``::stop-commands::TOKEN`` pauses command processing until a ``::TOKEN::`` line; the
    token is random (and absent from ``avoid``, for text known in advance), so the text
    cannot resume processing itself. Resumed even when the block raises, on a line of its
    own. Write through the yielded object: output a child process writes straight to the
    same stdout is covered too, but its last line must end in a line break.
    """
    out = sys.stdout if stream is None else stream
    token = _fresh_token(avoid)
    _emit(out, f"::stop-commands::{token}")
    quarantine = QuarantinedOutput(out)
    try:
        yield quarantine
    finally:
        quarantine._close_line()
        _emit(out, f"::{token}::")


def untrusted(text: str, *, stream: TextIO | None = None) -> None:
    """Echo text that came from outside (a log, a model, an error) so that it shows in
    the log exactly and can issue no workflow command."""
    with stop_commands(stream=stream, avoid=text) as out:
        out.write(text)
