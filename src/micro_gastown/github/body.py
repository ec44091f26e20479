"""The pull request a maintainer reads over coffee: its body and its commit message.

Layout (upstream's order, SPEC §3, plus ours): the summary paragraph and where the
finding comes from; ``Summary`` (a row per pattern with its key figure); ``Changes``
(each file and why, then the diff folded away); ``Evidence`` (per pattern: Grafana
Explore links we build, the LogQL, redacted sample lines and the charts); ``Expected
Impact``; ``Validation``; ``Rollback``; a footer with the run's cost; and the metadata
block (:mod:`.metadata`) last, which the hygiene rules (and the rollback watcher, to come)
read.

Code owns every fact here; the words of :class:`~.prose.Prose` may be a model's. Both
those words and everything from the logs are untrusted: they are redacted again
(defence in depth, the report's samples already are) and written only through
:mod:`.inert`, so nothing in them becomes HTML, a link, an image, a mention, a
reference or a closing keyword, and no fence can be closed early. The only HTML is ours
(``<details>``/``<summary>``); the only links are the Grafana URLs we build. The body
fits GitHub's limit: bulky parts (the diff, output tails, a pattern's evidence) give way
first, each replaced by a note, then :func:`~.inert.fit_blocks` cuts whole blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from micro_gastown.dsl.model import DslModel
from micro_gastown.errors import GitHubError
from micro_gastown.evidence.grafana import GrafanaExplore
from micro_gastown.evidence.sanitize import neutralize_line
from micro_gastown.github.evidence_section import (
    BULK_CHARS,
    ICONS,
    MAX_EVIDENCE,
    Block,
    bulk_redactor,
    cut_note,
    evidence_blocks,
    figure_window,
    grafana_link,
    prose_line,
    redacted,
)
from micro_gastown.github.facts import (
    count_text,
    diff_stats,
    key_figure,
    pattern_window,
    report_window,
)
from micro_gastown.github.inert import GITHUB_BODY_LIMIT, code_block, code_span, fit_blocks, inline
from micro_gastown.github.metadata import write_record
from micro_gastown.github.model import FilingRecord
from micro_gastown.github.prose import Prose
from micro_gastown.report.changes import (
    CheckOutcome,
    FileChange,
    ProposedChanges,
    Validation,
    ValidationStatus,
)
from micro_gastown.report.model import Pattern, QueryRange

__all__ = [
    "BodyInputs",
    "key_figure",
    "published_record",
    "render_body",
    "render_commit_message",
    "render_title",
]

SUBJECT_LIMIT: Final = 72
TITLE_LIMIT: Final = 256
MAX_TABLE_ROWS: Final = 50
MAX_FILES: Final = 30
MAX_METRICS: Final = 10
MAX_CHECKS: Final = 20
OUTPUT_TAIL: Final = 3_000
DEFAULT_ROLLBACK: Final = (
    "Revert this PR's merge commit (`git revert -m 1 <merge>`). The metadata block below "
    "records each finding's rate before the change, to compare with the rate after it."
)
_DIFF_RANK: Final = 1
"""After the output tails (rank 0), before any finding's evidence."""
_OUTCOME: Final = {CheckOutcome.PASSED: "✅", CheckOutcome.FAILED: "❌", CheckOutcome.NOT_RUN: "⚪"}


@dataclass(frozen=True, slots=True)
class BodyInputs:
    """Everything the body and the commit message are made from."""

    changes: ProposedChanges | None
    """None: a bare diff was given; the body says what could not be derived."""
    patch: str
    files: tuple[str, ...]
    patterns: tuple[Pattern, ...]
    missing_patterns: tuple[str, ...]
    """Ids addressed but not in the report given."""
    report_window: QueryRange | None
    grafana: GrafanaExplore | None
    """None: Grafana links are not configured, so the LogQL is shown alone."""
    graph: DslModel | None
    record: FilingRecord
    prose: Prose
    branch: str
    base_branch: str
    base_commit: str
    cost_usd: float | None
    tool_version: str


def render_title(prose: Prose) -> str:
    """The PR title: plain text (GitHub does not render titles as Markdown), redacted,
    controls and bidi removed, one line, at most 256 characters."""
    title = " ".join(neutralize_line(redacted(prose.title)).split())
    return _cut(title or "sleeptime: proposed change", TITLE_LIMIT)


def render_body(inputs: BodyInputs) -> str:
    """The PR body: at most :data:`GITHUB_BODY_LIMIT` characters, the metadata block last."""
    metadata = write_record(published_record(inputs.record))
    budget = GITHUB_BODY_LIMIT - len(metadata) - 1
    if budget < GITHUB_BODY_LIMIT // 2:
        raise GitHubError(f"the metadata block is too large for a PR body ({len(metadata):,})")
    blocks = [
        *_intro(inputs),
        *_summary(inputs),
        *_changes(inputs),
        *evidence_blocks(
            inputs.patterns,
            grafana=inputs.grafana,
            graph=inputs.graph,
            fallback=report_window(inputs.report_window),
        ),
        *_impact(inputs),
        *_validation(inputs.changes),
        *_rollback(inputs.changes),
        *_footer(inputs),
    ]
    return fit_blocks(_shrunk(blocks, budget), limit=budget) + "\n" + metadata


def published_record(record: FilingRecord) -> FilingRecord:
    """``record`` as the body publishes it: its queries (LogQL built from log text) with
    any secret redacted; the same record when there is none, which is the usual case."""
    redactor = bulk_redactor()

    def clean(text: str | None) -> str | None:
        return None if text is None else redactor.redact_text(text)

    patterns = tuple(
        pattern.model_copy(
            update={
                "logql": clean(pattern.logql),
                "series_query": clean(pattern.series_query),
                "exposure_query": clean(pattern.exposure_query),
            }
        )
        for pattern in record.patterns
    )
    return (
        record if patterns == record.patterns else record.model_copy(update={"patterns": patterns})
    )


def _shrunk(blocks: Sequence[Block], budget: int) -> list[str]:
    """The blocks' texts, replaceable ones swapped for their stand-ins (lowest rank first,
    then from the end) until the whole fits ``budget`` or nothing replaceable is left."""
    texts = [block.text for block in blocks]
    size = sum(len(text) + 2 for text in texts)
    order = sorted(
        (i for i, block in enumerate(blocks) if block.stand_in is not None),
        key=lambda i: (blocks[i].rank, -i),
    )
    for i in order:
        if size <= budget:
            break
        stand_in = blocks[i].stand_in or ""
        size += len(stand_in) - len(texts[i])
        texts[i] = stand_in
    return texts


def _validated(validation: Validation) -> bool:
    if validation.status is not None:
        return validation.status is ValidationStatus.PASSED
    return validation.build_success and validation.test_success


def _intro(inputs: BodyInputs) -> list[Block]:
    window = report_window(inputs.report_window)
    where = f"in the logs from {window.text()}" if window else "in the logs (window not recorded)"
    base = code_span(inputs.base_commit[:12])
    if inputs.changes is not None and _validated(inputs.changes.validation):
        made = f"validated on {base}"
    elif inputs.changes is not None:
        made = f"made against {base} and not validated (see Validation)"
    else:
        made = f"made against {base}"
    line = f"Found by micro-gastown {where}; {made}."
    if inputs.changes is None:
        line += (
            " Filed from a bare diff: no ProposedChanges JSON was found beside it, so "
            "rationale, validation and impact are missing."
        )
    summary = prose_line(inputs.prose.summary, limit=2_000)
    return [Block(summary), Block(line)] if summary else [Block(line)]


def _summary(inputs: BodyInputs) -> list[Block]:
    blocks = [Block("## Summary")]
    if inputs.patterns:
        rows = [
            "| Pattern | Severity | Occurrences | Key figure |",
            "| --- | --- | ---: | --- |",
        ]
        for pattern in inputs.patterns[:MAX_TABLE_ROWS]:
            severity = f"{ICONS.get(pattern.severity, '')} {pattern.severity.value}".strip()
            figure = inline(key_figure(pattern))
            rows.append(
                f"| {code_span(pattern.id)} | {severity} | {pattern.occurrences:,} | {figure} |"
            )
        blocks.append(Block("\n".join(rows)))
        hidden = len(inputs.patterns) - MAX_TABLE_ROWS
        if hidden > 0:
            blocks.append(Block(f"*…and {hidden:,} more patterns (listed in the metadata).*"))
    if inputs.missing_patterns:
        shown = ", ".join(
            code_span(redacted(pid), limit=80) for pid in inputs.missing_patterns[:20]
        )
        more = len(inputs.missing_patterns) - 20
        tail = f" and {more:,} more" if more > 0 else ""
        blocks.append(Block(f"Addressed but not in the report given: {shown}{tail}."))
    if not inputs.patterns and not inputs.missing_patterns:
        blocks.append(Block("No pattern of a report is named by this change."))
    return blocks


def _changes(inputs: BodyInputs) -> list[Block]:
    by_path: dict[str, FileChange] = {}
    if inputs.changes is not None:
        by_path = {change.path: change for change in inputs.changes.changes}
    stats = diff_stats(inputs.patch)
    paths = list(dict.fromkeys([*inputs.files, *by_path]))
    items = []
    for path in paths[:MAX_FILES]:
        change = by_path.get(path)
        stat = stats.get(path)
        added = change.lines_added if change and change.lines_added is not None else None
        removed = change.lines_removed if change and change.lines_removed is not None else None
        added = added if added is not None else (stat.added if stat else 0)
        removed = removed if removed is not None else (stat.removed if stat else 0)
        kind = f"{change.change_type.value}, " if change and change.change_type else ""
        why = inputs.prose.changes.get(path) or (change.rationale if change else "")
        reason = prose_line(why, limit=300) if why.strip() else "*no rationale given*"
        items.append(
            f"- {code_span(redacted(path), limit=200)} ({kind}+{added:,} −{removed:,}): {reason}"
        )
    if len(paths) > MAX_FILES:
        items.append(f"- *…and {len(paths) - MAX_FILES:,} more files (see Files changed).*")
    blocks = [Block("## Changes")]
    blocks.append(Block("\n".join(items) if items else "*The diff names no file.*"))
    if inputs.changes is not None and inputs.changes.rejected:
        count = len(inputs.changes.rejected)
        blocks.append(Block(f"*{count:,} proposed edits were refused and are not in this diff.*"))
    blocks.append(Block(_patch_details(inputs.patch), cut_note("The diff"), rank=_DIFF_RANK))
    return blocks


def _details(summary: str, inner: str) -> str:
    """A collapsed section: the tags are ours, ``summary`` is our own words, ``inner`` is
    already inert Markdown."""
    return f"<details>\n<summary>{summary}</summary>\n\n{inner}\n</details>"


def _patch_details(patch: str) -> str:
    lines = patch.splitlines()
    shown, size = [], 0
    for line in lines:
        if size + len(line) + 1 > BULK_CHARS:
            break
        shown.append(line)
        size += len(line) + 1
    text = bulk_redactor().redact_text("\n".join(shown))
    inner = code_block(text, info="diff")
    if len(shown) < len(lines):
        inner += (
            f"\n*The diff is cut here: {len(shown):,} of {len(lines):,} lines shown; "
            "the Files changed tab has all of it.*\n"
        )
    return _details(f"The diff ({len(lines):,} lines)", inner)


def _number(value: float) -> str:
    return count_text(value) if abs(value) >= 100 else f"{value:.3g}"


def _impact(inputs: BodyInputs) -> list[Block]:
    blocks = [Block("## Expected Impact")]
    words = prose_line(inputs.prose.impact, limit=2_000)
    if words:
        blocks.append(Block(words))
    impact = inputs.changes.expected_impact if inputs.changes is not None else None
    if impact is None:
        blocks.append(Block("*Not estimated.*"))
        return blocks
    if impact.metrics:
        rows = ["| Metric | Before | Estimate | Improvement |", "| --- | ---: | ---: | ---: |"]
        for metric in impact.metrics[:MAX_METRICS]:
            gain = metric.improvement_percent
            rows.append(
                f"| {prose_line(metric.metric, limit=120)} | {_number(metric.before)} | "
                f"{_number(metric.after_estimate)} | "
                f"{'n/a' if gain is None else f'{gain:.1f}%'} |"
            )
        blocks.append(Block("\n".join(rows)))
    line = f"Confidence: **{impact.confidence.value}**."
    if impact.notes and impact.notes.strip():
        line += " " + prose_line(impact.notes, limit=1_000)
    blocks.append(Block(line))
    return blocks


def _outcome(ok: bool) -> str:
    return "✅ passed" if ok else "❌ failed"


def _validation(changes: ProposedChanges | None) -> list[Block]:
    blocks = [Block("## Validation")]
    if changes is None:
        blocks.append(Block("*Not validated: a bare diff carries no build or test result.*"))
        return blocks
    v = changes.validation
    status = v.status.value if v.status else ("passed" if _validated(v) else "failed")
    line = f"Build: {_outcome(v.build_success)} · Tests: {_outcome(v.test_success)} · "
    line += f"Status: **{status}**."
    if v.reason and v.reason.strip():
        line += " " + prose_line(v.reason, limit=500)
    blocks.append(Block(line))
    checks = []
    for check in v.checks[:MAX_CHECKS]:
        item = f"- {_OUTCOME.get(check.outcome, '')} {code_span(redacted(check.name), limit=120)}"
        item += f": {check.outcome.value.replace('_', ' ')}"
        if check.duration_s is not None:
            item += f" ({check.duration_s:.1f} s)"
        if check.reason and check.reason.strip():
            item += " — " + prose_line(check.reason, limit=300)
        checks.append(item)
    if checks:
        blocks.append(Block("\n".join(checks)))
    for what, output in (("Build", v.build_output), ("Test", v.test_output)):
        if output and output.strip():
            tail = bulk_redactor().redact_text(output[-OUTPUT_TAIL:])
            summary = f"{what} output (last {min(len(output), OUTPUT_TAIL):,} characters)"
            blocks.append(
                Block(_details(summary, code_block(tail)), cut_note(f"The {what.lower()} output"))
            )
    return blocks


def _rollback(changes: ProposedChanges | None) -> list[Block]:
    text = changes.rollback_instructions if changes is not None else None
    words = prose_line(text, limit=2_000) if text and text.strip() else DEFAULT_ROLLBACK
    return [Block("## Rollback"), Block(words)]


def _footer(inputs: BodyInputs) -> list[Block]:
    cost = "not recorded" if inputs.cost_usd is None else f"${inputs.cost_usd:.4f} of model calls"
    words = prose_line(inputs.prose.written_by, limit=120) or "unknown"
    version = prose_line(inputs.tool_version, limit=60) or "unknown"
    line = f"Cost: {cost} · words by {words} · micro-gastown {version}"
    return [Block("---"), Block(f"*{line}*")]


# The commit message: plain text, but GitHub still links mentions and references in it,
# and a closing keyword before a reference closes the issue once the commit reaches the
# default branch. Untrusted text has those characters swapped for look-alikes.
_COMMIT_MENTION = re.compile(r"(?<![\w.+-])@(?=[A-Za-z0-9])")
_COMMIT_REFERENCE = re.compile(r"#(?=[0-9])")
_COMMIT_GH = re.compile(r"(?i)\b(GH)-(?=[0-9])")


def _plain(text: str, limit: int | None = None) -> str:
    """Untrusted text as one line of a commit message: redacted, controls and bidi gone,
    mentions and references broken with visible look-alikes (＠, ＃, ‐)."""
    line = " ".join(neutralize_line(redacted(text)).split())
    line = _COMMIT_MENTION.sub("＠", line)
    line = _COMMIT_REFERENCE.sub("＃", line)
    line = _COMMIT_GH.sub(lambda m: m.group(1) + "‐", line)
    return _cut(line, limit) if limit is not None else line


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def _subject(prose: Prose) -> str:
    subject = _plain(prose.title)
    prefix = "sleeptime:"
    if not subject.lower().startswith(prefix):
        subject = f"{prefix} {subject or 'proposed change'}"
    return _cut(subject, SUBJECT_LIMIT)


def render_commit_message(inputs: BodyInputs, footer: str) -> str:
    """``sleeptime: <summary>`` (at most 72 characters), a blank line, then the patterns
    addressed, the evidence (Grafana links, or the LogQL), the files changed and
    ``footer`` (the pr-filer's commit footer: configuration, so kept as written but for
    control and bidi characters), as plain text."""
    lines = [_subject(inputs.prose), ""]
    lines.append("Patterns addressed:")
    for pattern in inputs.patterns[:MAX_TABLE_ROWS]:
        lines.append(
            f"- {pattern.id} ({pattern.type.value}, {pattern.severity.value}, "
            f"{pattern.occurrences:,} occurrences)"
        )
    lines += [f"- {_plain(pid, 80)} (not in the report given)" for pid in inputs.missing_patterns]
    evidence = _commit_evidence(inputs)
    if evidence:
        lines += ["", "Evidence:", *evidence]
    lines += [
        "",
        "Files changed:",
        *(f"- {_plain(path, 200)}" for path in inputs.files[:MAX_FILES]),
    ]
    if len(inputs.files) > MAX_FILES:
        lines.append(f"- …and {len(inputs.files) - MAX_FILES:,} more")
    footer_lines = [neutralize_line(line).rstrip() for line in footer.strip().splitlines()]
    if any(footer_lines):
        lines += ["", *footer_lines]
    return "\n".join(lines).rstrip() + "\n"


def _commit_evidence(inputs: BodyInputs) -> list[str]:
    """Per finding, its Grafana link, or its LogQL when there is no link to give."""
    fallback = report_window(inputs.report_window)
    lines = []
    for pattern in inputs.patterns[:MAX_EVIDENCE]:
        expr, window = pattern.grafana_query, pattern_window(pattern, fallback)
        if not expr:
            continue
        span = figure_window(expr, window, fallback)
        url = grafana_link(inputs.grafana, expr, span) if inputs.grafana and span else None
        if url is not None:  # "-" percent-encoded is the same URL, and no GH-12 reference
            url = re.sub(r"(?i)(GH)-(?=[0-9])", r"\1%2D", url)
        lines.append(f"- {pattern.id}: {url or 'LogQL ' + _plain(expr, 600)}")
    return lines
