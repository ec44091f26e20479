"""The one exception tree of micro-gastown.

::

    MicroGastownError            every error we expect and can explain in one line
    ├── ConfigError              bad setup: flags, TOML, thresholds (fails before any I/O)
    │   └── UsageError           a command-line flag or argument is wrong
    ├── SourceError              a log source cannot be read (missing file, bad gzip, ...)
    │   └── LokiError            Loki answered something we cannot use
    │       ├── LokiQueryError       400: Loki rejected the query (its own text kept)
    │       ├── LokiAuthError        401/403: a credential or tenant setting is wrong
    │       ├── LokiNotFoundError    404: wrong URL or path prefix
    │       └── LokiUnavailableError retries exhausted (network, 408, 429, 5xx, bad bodies)
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


class LokiError(SourceError):
    """Loki answered, or failed to answer, in a way the client cannot use."""


class LokiQueryError(LokiError):
    """Loki rejected the query with 400; retrying the same request cannot help.

    ``loki_message`` is Loki's plain-text explanation (a LogQL parse error, a limit).
    """

    def __init__(self, message: str, *, loki_message: str) -> None:
        super().__init__(message)
        self.loki_message = loki_message


class LokiAuthError(LokiError):
    """401/403: the message names the credential setting that is probably wrong."""


class LokiNotFoundError(LokiError):
    """404: the URL or path prefix does not point at Loki's API."""


class LokiUnavailableError(LokiError):
    """Loki stayed unreachable or overloaded for the whole retry budget."""


class DslError(MicroGastownError):
    """The DSL checkout given with --repo cannot be read."""

    exit_code = 4


class OutputError(MicroGastownError):
    """A result cannot be written where it was asked to go."""

    exit_code = 5
