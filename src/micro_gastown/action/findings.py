"""Critical findings as warning annotations on the run's page.

An annotation's title and message are shown in GitHub's UI as plain text, and a pattern's
key (a node, an error template) and recommendation can quote the logs. So they are
redacted, stripped of control and bidi characters (:func:`neutralize_line`), cut to a
readable length, and written through :func:`~micro_gastown.action.commands.annotate`,
whose escaping keeps each one a single command that no text inside can end or extend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TextIO

from micro_gastown.action.commands import AnnotationLevel, annotate
from micro_gastown.evidence.sanitize import neutralize_line, neutralize_text
from micro_gastown.github.evidence_section import redacted
from micro_gastown.report.model import Pattern, Severity

__all__ = ["MAX_ANNOTATIONS", "annotate_critical", "finding_message", "finding_title"]

MAX_ANNOTATIONS: Final = 10
"""GitHub shows at most 10 warning annotations per step; more would only be dropped."""
_TITLE_LIMIT: Final = 120
_MESSAGE_LIMIT: Final = 2_000


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _where(pattern: Pattern) -> str:
    """Where the finding is: the node, the edge, the effect or the error template."""
    key = {name: value for name, value in pattern.key.items() if value}
    if "node" in key:
        return str(key["node"])
    if "from" in key and "to" in key:
        return f"{key['from']} -> {key['to']}"
    for name in ("effect_type", "template"):
        if name in key:
            return str(key[name])
    return next(iter(key.values()), pattern.id)


def finding_title(pattern: Pattern) -> str:
    """``failed_transition: route -> refund``: the pattern type and where it is, one line."""
    where = " ".join(neutralize_line(redacted(_where(pattern))).split())
    return _cut(f"{pattern.type.value}: {where}", _TITLE_LIMIT)


def finding_message(pattern: Pattern) -> str:
    """The recommendation, with the key figure's occurrences, as plain text."""
    text = neutralize_text(redacted(pattern.recommendation)).strip()
    head = f"{pattern.severity.value}, {pattern.occurrences:,} occurrences ({pattern.id})"
    return _cut(f"{neutralize_line(redacted(head))}\n{text}" if text else head, _MESSAGE_LIMIT)


def annotate_critical(patterns: Sequence[Pattern], *, stream: TextIO | None = None) -> int:
    """A warning annotation per critical finding (at most :data:`MAX_ANNOTATIONS`); how
    many were written."""
    critical = [p for p in patterns if p.severity is Severity.CRITICAL][:MAX_ANNOTATIONS]
    for pattern in critical:
        annotate(
            AnnotationLevel.WARNING,
            finding_message(pattern),
            title=finding_title(pattern),
            stream=stream,
        )
    return len(critical)
