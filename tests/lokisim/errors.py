"""Errors the simulator turns into Loki-shaped HTTP answers.

Loki answers client mistakes with a plain-text body and a 4xx status, never JSON, so a
client under test must cope with that; every error here carries its status and the exact
text Loki would send.

    LokiError            any answer that is not a success (status + plain-text body)
    ├── BadRequest       400: bad parameters, limits exceeded
    │   ├── ParseError   400: LogQL that does not parse or fails validation
    │   └── PipelineError 400: a metric query whose series still carry ``__error__``
    └── Unauthorized     401: missing or wrong credentials / tenant
"""

from __future__ import annotations


class LokiError(Exception):
    """An answer with ``status`` and the plain-text ``message`` Loki would send."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(LokiError):
    """A request Loki rejects with 400 before doing any work."""

    status = 400


class ParseError(BadRequest):
    """LogQL that Loki's parser rejects, formatted like ``logqlmodel.ParseError``."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        # Loki prints "parse error : msg" when it has no position (validation errors).
        if line:
            text = f"parse error at line {line}, col {col}: {message}"
        else:
            text = f"parse error : {message}"
        super().__init__(text)


class PipelineError(BadRequest):
    """A metric query whose samples carry ``__error__``: Loki refuses to aggregate them."""

    def __init__(self, error: str, series: str) -> None:
        super().__init__(
            f"pipeline error: '{error}' for series: '{series}'.\n"
            f'Use a label filter to intentionally skip this error. (e.g | __error__!="{error}").\n'
            'To skip all potential errors you can match empty errors.(e.g __error__="")\n'
            "The label filter can also be specified after unwrap. "
            '(e.g | unwrap latency | __error__="" )\n'
        )


class Unauthorized(LokiError):
    """Missing credentials or tenant; Loki's gateway answers 401 with a short text."""

    status = 401
