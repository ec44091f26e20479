"""Run the Log Analyzer: push-down where Loki can answer, else one scan, then the report.

The pieces sit below this module and never import it: :mod:`~micro_gastown.analysis.scan`
(the pass over raw lines), :mod:`~micro_gastown.analysis.pushdown` (aggregates from Loki)
and :mod:`~micro_gastown.analysis.assemble` (findings → PatternReport).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from micro_gastown.analysis.assemble import assemble_report
from micro_gastown.analysis.scan import AnalysisRun, AnalysisSettings, ScanPass, scan
from micro_gastown.dsl import DslModel
from micro_gastown.report.model import PatternReport
from micro_gastown.sources.base import LogSource
from micro_gastown.sources.file import FileSource
from micro_gastown.timewindow import TimeWindow

__all__ = ["AnalysisRun", "AnalysisSettings", "ScanPass", "run_analysis", "scan"]


def _duplicates_note(duplicates: int) -> list[str]:
    if not duplicates:
        return []
    return [
        f"{duplicates:,} exact duplicate entries (same timestamp, labels and line) were "
        "dropped, as Loki drops them"
    ]


def run_analysis(
    source: LogSource,
    window: TimeWindow,
    settings: AnalysisSettings,
    dsl: DslModel | None = None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PatternReport:
    """Analyze ``window`` of ``source`` and return the PatternReport."""
    started = time.perf_counter()
    run = None
    if settings.pushdown == "on" or (
        settings.pushdown == "auto" and not isinstance(source, FileSource)
    ):
        # Imported here: push-down brings the HTTP client, which a file's analysis never
        # needs (start-up time counts on every run).
        from micro_gastown.analysis.pushdown import pushdown_scan

        run = pushdown_scan(source, window, settings, dsl)
    if run is None:
        run = scan(source, window, settings, dsl)
    run.notes.extend(_duplicates_note(source.stats.duplicates))
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    return assemble_report(
        run, source, window, settings, dsl, duration_ms=elapsed_ms, generated_at=clock()
    )
