"""The one exception tree of micro-gastown.

::

    MicroGastownError            every error we expect and can explain in one line
    ├── ConfigError              bad setup: flags, TOML, thresholds (fails before any I/O)
    │   └── UsageError           a command-line flag or argument is wrong
    ├── SourceError              a log source cannot be read (missing file, bad gzip, ...)
    ├── DslError                 the DSL checkout cannot be read (no Graph.hs, bad --repo)
    └── OutputError              a result cannot be written

The CLI turns any of these into one clear line and a non-zero exit code; any other
exception is a bug and keeps its traceback. Third-party exceptions are translated into
these once, at the boundary where they are raised.
"""

from __future__ import annotations


class MicroGastownError(Exception):
    """Base class: an error the user can act on, explained in one line."""

    exit_code = 1


class ConfigError(MicroGastownError):
    """Bad configuration: names the file, table/field or flag that is wrong."""

    exit_code = 2


class UsageError(ConfigError):
    """A command-line flag or argument is wrong."""


class SourceError(MicroGastownError):
    """A log source cannot be opened or read."""

    exit_code = 3


class DslError(MicroGastownError):
    """The DSL checkout given with --repo cannot be read."""

    exit_code = 4


class OutputError(MicroGastownError):
    """A result cannot be written where it was asked to go."""

    exit_code = 5
