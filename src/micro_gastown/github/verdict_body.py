"""What the rollback watcher writes on GitHub: the verdict comment on a merged evolution PR,
and the body, title and commit message of the PR that reverts one.

Every figure is ours (counts, rates, p-values, dates we format); the only text read from
GitHub is a finding's id and its recorded LogQL, which anyone able to edit the PR body
could have changed: ids go through :func:`~.inert.code_span`, queries into code blocks, and
chart labels through :func:`~.charts.safe_label`. A hidden marker at the end of the comment
(``<!-- micro-gastown:verdict {json} -->``) is how a later run sees the verdict was already
given, so a crash between commenting and labelling never yields a second comment.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.github.charts import safe_label
from micro_gastown.github.evidence_section import grafana_link
from micro_gastown.github.facts import Window as FactsWindow
from micro_gastown.github.inert import code_block, code_span, fit_blocks, inline
from micro_gastown.github.metadata import write_record
from micro_gastown.github.model import LABEL_REVERTED, FilingRecord
from micro_gastown.watch.assess import Assessment, Comparison
from micro_gastown.watch.judge import Verdict, count_text, rate_text
from micro_gastown.watch.looks import Window

__all__ = [
    "VERDICT_MARKER",
    "Presentation",
    "RevertFacts",
    "read_verdict_marker",
    "revert_body",
    "revert_commit_message",
    "revert_title",
    "verdict_comment",
]

VERDICT_MARKER: Final = "micro-gastown:verdict"
_MARKER_RE = re.compile(r"^<!-- " + re.escape(VERDICT_MARKER) + r" (?P<json>\{[^\n]*\}) -->$", re.M)
_HEADLINE: Final = {
    Verdict.REGRESSED: "🔴 regressed",
    Verdict.IMPROVED: "🟢 improved",
    Verdict.NO_CHANGE: "⚪ no change",
    Verdict.INCONCLUSIVE: "⚪ inconclusive",
}
_MAX_ROWS: Final = 20


@dataclass(frozen=True, slots=True)
class RevertFacts:
    """The merged PR a revert undoes."""

    number: int
    merge_sha: str
    merged_at: str
    mainline: int | None = 1
    """1: the merge commit's first parent (``git revert -m 1``); None: a one-parent commit
    (a squash merge) reverted as it is."""


def _ratio(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return "∞" if math.isinf(value) else f"{value:.2f}×"


def _name(comparison: Comparison) -> str:
    return "overall error rate" if comparison.overall else code_span(comparison.name, limit=80)


def _window(window: Window) -> str:
    return FactsWindow(window.start_ns, window.end_ns).text()


def _lag(lag: timedelta) -> str:
    minutes = int(lag.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} min"
    return f"{minutes // 60} h"


def _table(assessment: Assessment) -> str:
    rows = [
        "| Measured | Before | After | Rate before | Rate after | Ratio | p (worse) "
        "| p (better) | Verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in assessment.comparisons[:_MAX_ROWS]:
        j = c.judgement
        rows.append(
            f"| {_name(c)} | {c.before.events:,} of {count_text(c.before.exposure)} {c.unit} "
            f"| {c.after.events:,} of {count_text(c.after.exposure)} {c.unit} "
            f"| {rate_text(j.rate_before)} | {rate_text(j.rate_after)} | {_ratio(j.ratio)} "
            f"| {j.p_value_worse:.3g} | {j.p_value_better:.3g} | {j.verdict} |"
        )
    hidden = len(assessment.comparisons) - _MAX_ROWS
    if hidden > 0:
        rows.append(f"| *{hidden} more* | | | | | | | | |")
    return "\n".join(rows)


def _test_line(assessment: Assessment, policy_alpha: float) -> str:
    tests = max(len(assessment.comparisons), 1) * assessment.look.watch_days
    return (
        f"Test: {assessment.comparisons[0].judgement.test if assessment.comparisons else 'none'}"
        f" on events per unit of exposure; alpha {policy_alpha:g} for the whole watch, "
        f"{assessment.alpha_per_test:.2g} per test ({len(assessment.comparisons)} "
        f"comparisons × {assessment.look.watch_days} daily looks = {tests} tests)."
    )


def _chart(assessment: Assessment) -> str | None:
    """Each comparison's after-window rate, indexed to its baseline rate = 100."""
    shown = [
        c
        for c in assessment.comparisons[:_MAX_ROWS]
        if not math.isnan(c.judgement.ratio) and not math.isinf(c.judgement.ratio)
    ]
    if not shown:
        return None
    labels = [
        "overall" if c.overall else safe_label(c.name)[:24] or f"finding{i}"
        for i, c in enumerate(shown, 1)
    ]
    after = [round(100 * c.judgement.ratio, 1) for c in shown]
    high = max(100.0, *after) * 1.1
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            '    title "Rate after the merge, baseline = 100"',
            "    x-axis [" + ", ".join(f'"{label}"' for label in labels) + "]",
            f'    y-axis "indexed rate" 0 --> {high:.0f}',
            "    bar [" + ", ".join("100" for _ in shown) + "]",
            "    bar [" + ", ".join(f"{value:g}" for value in after) + "]",
            "```",
        ]
    )


def _evidence(assessment: Assessment, grafana: GrafanaExplore | None) -> list[str]:
    blocks = ["### Evidence"]
    look = assessment.look
    for c in assessment.comparisons[:_MAX_ROWS]:
        if c.events_query is None:
            continue
        lines = [f"**{_name(c)}**: {c.judgement.verdict}. Events:"]
        lines.append(code_block(c.events_query, "logql"))
        if c.exposure_query:
            lines += [f"Exposure ({c.unit}):", code_block(c.exposure_query, "logql")]
        if grafana is not None:
            links = []
            for label, window in (("before", look.before), ("after", look.after)):
                span = FactsWindow(window.start_ns, window.end_ns)
                url = grafana_link(grafana, c.events_query, span)
                if url is not None:
                    links.append(f"[{label} in Grafana]({url})")
            if links:
                lines.append(" · ".join(links))
        blocks.append("\n".join(lines))
    if grafana is None:
        blocks.append(
            "*Grafana links are not configured: run each LogQL above as "
            "`sum(count_over_time(<query> [<window>]))` over the windows shown.*"
        )
    for item in assessment.unmeasured:
        blocks.append(f"Not measured: {code_span(item.name, limit=80)}: {item.why}.")
    return blocks


def _windows(assessment: Assessment, lag: timedelta) -> str:
    look = assessment.look
    return (
        f"Look {look.day} of {look.watch_days}: baseline {_window(look.before)} (before the "
        f"merge) against {_window(look.after)} (after it, less a deploy lag of {_lag(lag)})."
    )


def _marker(number: int, assessment: Assessment, verdict: Verdict, revert: int | None) -> str:
    data = {
        "pr": number,
        "verdict": str(verdict),
        "look": assessment.look.day,
        "watch_days": assessment.look.watch_days,
        "revert_pr": revert,
    }
    return f"<!-- {VERDICT_MARKER} {json.dumps(data, sort_keys=True, separators=(',', ':'))} -->"


def read_verdict_marker(body: str | None) -> dict[str, object] | None:
    """The verdict data of a comment we wrote, None for any other comment."""
    if not body:
        return None
    for match in _MARKER_RE.finditer(body):
        try:
            data = json.loads(match.group("json"))
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("verdict"), str):
            return data
    return None


@dataclass(frozen=True, slots=True)
class Presentation:
    """What the figures are told with: the watch's alpha (before it is split), the deploy
    lag the windows leave out, and Grafana for the links (None: no links)."""

    alpha: float
    deploy_lag: timedelta
    grafana: GrafanaExplore | None = None


def _figures(assessment: Assessment, shown: Presentation) -> list[str]:
    """The windows, the table, the test, the chart and the evidence: what both the comment
    and the revert PR show."""
    blocks = [
        _windows(assessment, shown.deploy_lag),
        _table(assessment) if assessment.comparisons else "*Nothing could be measured.*",
        _test_line(assessment, shown.alpha),
    ]
    chart = _chart(assessment)
    if chart:
        blocks.append(chart)
    return blocks + _evidence(assessment, shown.grafana)


def verdict_comment(
    number: int,
    assessment: Assessment,
    shown: Presentation,
    *,
    revert_pr: int | None = None,
    revert_note: str | None = None,
) -> str:
    """The one verdict comment a merged evolution PR gets.

    With ``revert_pr`` the verdict is regressed whatever this look says: the revert was
    opened at a look that found the regression (this comment may come a run later, after a
    crash, when the figures have moved)."""
    verdict = Verdict.REGRESSED if revert_pr is not None else assessment.verdict
    if verdict is Verdict.REGRESSED:
        if revert_pr is not None:
            action = (
                f"Reverted in #{revert_pr}: merge it to undo this change, or close it to keep "
                "the change (no other revert will be opened)."
            )
        else:
            action = (
                inline(revert_note, limit=500)
                if revert_note
                else "No revert could be opened: revert this change by hand."
            )
        action += (
            f" Its findings are held back (label `{LABEL_REVERTED}`) until a human removes "
            "the label."
        )
    elif verdict is Verdict.INCONCLUSIVE:
        action = (
            "Too little data to judge over the whole watch: the change stays, and the watcher "
            "says nothing more."
        )
    else:
        action = "The change stays; the watch of this PR is over."
    if verdict is not assessment.verdict:
        action += (
            f" A look found the regression and opened the revert; the figures below are of a "
            f"later look ({assessment.verdict})."
        )
    blocks = [f"## Rollback watcher: {_HEADLINE[verdict]}", action, *_figures(assessment, shown)]
    return (
        fit_blocks(blocks, limit=60_000)
        + "\n\n"
        + _marker(number, assessment, verdict, revert_pr)
        + "\n"
    )


def revert_title(number: int) -> str:
    return f"Revert #{number}: its findings or error rate got worse after the merge"


def revert_body(
    facts: RevertFacts, assessment: Assessment, shown: Presentation, *, record: FilingRecord
) -> str:
    how = (
        f"`git revert -m 1 {facts.merge_sha}`"
        if facts.mainline == 1
        else f"`git revert {facts.merge_sha}` (a one-parent merge: squashed or rebased)"
    )
    blocks = [
        f"## Revert #{facts.number}",
        f"The rollback watcher found #{facts.number} (merged {facts.merged_at}) made things "
        f"worse, so this PR undoes it: {how}.",
        "Merge this PR to undo the change. Close it to keep the change: the watcher respects "
        "that and opens no other revert.",
        *_figures(assessment, shown),
    ]
    return fit_blocks(blocks, limit=60_000) + write_record(record)


def revert_commit_message(facts: RevertFacts, assessment: Assessment) -> str:
    """Git's own revert wording, plus the figures that decided (ours: numbers only)."""
    lines = [revert_title(facts.number), ""]
    lines.append(f"This reverts commit {facts.merge_sha}.")
    lines.append("")
    for c in assessment.deciding[:5]:
        j = c.judgement
        what = "the overall error rate" if c.overall else "a finding it addressed"
        lines.append(
            f"- {what}: rate ratio {_ratio(j.ratio)}, one-sided p {j.p_value_worse:.3g} "
            f"({c.before.events:,} events before, {c.after.events:,} after)"
        )
    return "\n".join(lines).rstrip() + "\n"
