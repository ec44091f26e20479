"""The application layer: the typed API every face of micro-gastown calls.

The CLI, the evolve pipeline's skills and the maintainers' tools build requests and read
results from here; nothing below this package imports a face, names a flag or matches the
text of a note (notes and warnings carry codes, and each face words them itself).

::

    settings.py   AnalyzerSettings: flag > environment > polecat file > default, one place
    analyzer.py   AnalyzeRequest → analyze() → AnalyzeResult (report, review, notices)
    skills.py     the evolve pipeline's skills (analyze today), calling the functions above

``refine``, ``file_pr`` and ``rollback_check`` join this package with their issues.
"""

from __future__ import annotations

from micro_gastown.app.analyzer import (
    AnalyzeRequest,
    AnalyzeResult,
    LlmRequest,
    Notice,
    NoticeCode,
    ReviewOutcome,
    analyze,
)
from micro_gastown.app.settings import AnalyzerSettings, SettingError, resolve_analyzer_settings

__all__ = [
    "AnalyzeRequest",
    "AnalyzeResult",
    "AnalyzerSettings",
    "LlmRequest",
    "Notice",
    "NoticeCode",
    "ReviewOutcome",
    "SettingError",
    "analyze",
    "resolve_analyzer_settings",
]
