"""``analyze --fail-on LEVEL``: whether a report fails the job that ran it (exit 1).

A level means "this severe or worse": ``--fail-on warning`` fails on a warning and on a
critical finding, never on info alone. It lives here, apart from the CLI, so the whole table
(each level against a worst finding of that level, one above and one below) is pinned by
tests without running an analysis for each cell.
"""

from __future__ import annotations

from collections.abc import Iterable

from micro_gastown.report.model import Severity

NEVER = "never"
FAIL_ON_LEVELS: tuple[str, ...] = (
    *(level.value for level in sorted(Severity, key=lambda s: s.rank)),
    NEVER,
)
"""The values ``--fail-on`` takes: the severities from the worst down, then ``never``."""


def fails_on(severities: Iterable[Severity], level: str) -> bool:
    """Whether any of ``severities`` (the report's findings') is ``level`` or worse.

    ``level`` is one of :data:`FAIL_ON_LEVELS`; ``never`` never fails."""
    if level == NEVER:
        return False
    limit = Severity(level).rank  # a lower rank is more severe
    return any(severity.rank <= limit for severity in severities)
