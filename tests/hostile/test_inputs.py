"""Every hostile ``file:`` source of the corpus through every command that reads one:
``analyze``, the ``logs`` views, ``logs export``, ``logs templates`` and ``evolve``.

For each: the exit code is the table's (0 read, 3 refused; ``evolve`` may instead record
the failed step and exit 1), an error is one line naming the file, nothing is a traceback,
no file but the intended output changes, and a failed run leaves no output behind. These
inputs cannot block, so they run in this process (fast); FIFOs and endless devices are in
``test_special_inputs``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .corpus import REGULAR_INPUTS, Input, Readable
from .expect import (
    SINCE,
    assert_state_settled,
    check_events,
    expect_read_or_refused,
    load_report,
    run_state,
)
from .outcome import (
    assert_error,
    assert_no_traceback,
    assert_only_changed,
    assert_success,
    run_main,
    snapshot,
)
from inert import markdown_problems, terminal_problems


def _ids(case: Input) -> str:
    return case.name


@pytest.mark.parametrize("case", REGULAR_INPUTS, ids=_ids)
def test_analyze_reads_or_refuses_a_hostile_source_in_one_line(
    case: Input, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """JSON to --output and Markdown to stdout: the same verdict, a schema-valid report
    and inert Markdown when read; one line, no output file and nothing touched when not."""
    source = case.build(sandbox / "in")
    report = sandbox / "report.json"
    before = snapshot(sandbox)
    argv = ["analyze", "--source", f"file:{source}"]
    outcome = run_main([*argv, "--output", str(report)], capsysbinary)
    expect_read_or_refused(outcome, case, source)
    if outcome.returncode == 0:
        check_events(case, load_report(report.read_bytes()))
        assert_only_changed(sandbox, before, outputs=[report])
    else:
        assert not report.exists()
        assert_only_changed(sandbox, before)

    markdown = run_main([*argv, "--format", "markdown"], capsysbinary)
    assert markdown.returncode == outcome.returncode, str(markdown)
    assert_no_traceback(markdown)
    if markdown.returncode == 0:
        text = markdown.stdout.decode()
        assert text.startswith("# micro-gastown: log analysis")
        assert markdown_problems(text) == []


@pytest.mark.parametrize("case", REGULAR_INPUTS, ids=_ids)
def test_logs_views_read_or_refuse_a_hostile_source_in_one_line(
    case: Input, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    source = case.build(sandbox / "in")
    before = snapshot(sandbox)
    for view in (["errors"], ["transitions"], ["llm-calls", "--format", "json"], ["session", "s1"]):
        argv = ["logs", *view, "--source", f"file:{source}", *SINCE, "--limit", "1000"]
        outcome = run_main(argv, capsysbinary)
        expect_read_or_refused(outcome, case, source)
        if outcome.returncode == 0 and "json" in view:
            assert isinstance(json.loads(outcome.stdout), list)
    assert_only_changed(sandbox, before)


@pytest.mark.parametrize("case", REGULAR_INPUTS, ids=_ids)
def test_logs_export_writes_all_or_nothing_from_a_hostile_source(
    case: Input, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    source = case.build(sandbox / "in")
    out = sandbox / "export.jsonl"
    before = snapshot(sandbox)
    argv = ["logs", "export", "--source", f"file:{source}", *SINCE, "-o", str(out)]
    outcome = run_main(argv, capsysbinary)
    expect_read_or_refused(outcome, case, source)
    if outcome.returncode == 0:
        for line in out.read_bytes().splitlines():
            record = json.loads(line)
            assert set(record) == {"labels", "line", "timestamp"}, record
        assert_only_changed(sandbox, before, outputs=[out])
    else:
        assert not out.exists()
        assert_only_changed(sandbox, before)


@pytest.mark.parametrize("case", REGULAR_INPUTS, ids=_ids)
def test_logs_templates_reads_or_refuses_a_hostile_file_in_one_line(
    case: Input, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    source = case.build(sandbox / "in")
    before = snapshot(sandbox)
    outcome = run_main(["logs", "templates", str(source)], capsysbinary)
    expect_read_or_refused(outcome, case, source)
    if outcome.returncode == 0:
        for line in outcome.stdout.splitlines():
            assert set(json.loads(line)) == {"template_id", "template"}
    assert_only_changed(sandbox, before)


@pytest.mark.parametrize("case", REGULAR_INPUTS, ids=_ids)
def test_evolve_completes_or_refuses_a_hostile_source(
    case: Input,
    sandbox: Path,
    analyze_only: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """Read: the run completes (exit 0) with a schema-valid report. Refused: before a run
    exists (exit 3, one line), or as the analyze step's recorded failure (exit 1)."""
    source = case.build(sandbox / "in")
    runs = sandbox / "runs"
    before = snapshot(sandbox)
    argv = [
        "evolve", "--formula", "hostile", "--config-dir", str(analyze_only),
        "--source", f"file:{source}", "--runs-dir", str(runs),
    ]  # fmt: skip
    outcome = run_main(argv, capsysbinary)
    assert_no_traceback(outcome)
    state = run_state(runs)
    if outcome.returncode == 3:
        assert case.readable is not Readable.YES, str(outcome)
        assert_error(outcome, 3, naming=source.name)
        assert state is None, "a run was created for a source refused at setup"
    elif outcome.returncode == 7:  # incomplete: the analyze step failed
        assert case.readable is not Readable.YES, str(outcome)
        assert state is not None
        assert_state_settled(state)
        step = state["steps"]["analyze"]
        assert step["status"] == "failed"
        assert source.name in step["error"], step["error"]
    else:
        assert outcome.returncode == 0, f"expected 0, 7 or 3: {outcome}"
        assert case.readable is not Readable.NO, str(outcome)
        assert state is not None
        assert_state_settled(state)
        assert state["status"] == "completed"
        report = Path(state["steps"]["analyze"]["outputs"]["output"])
        check_events(case, load_report(report.read_bytes()))
    assert_only_changed(sandbox, before, trees=[runs])


@pytest.mark.parametrize("view", ["errors", "transitions", "llm-calls", "session"])
def test_text_views_print_log_text_without_terminal_control_characters(
    view: str, sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """A message, node or model carrying ANSI escapes, bidi overrides, zero-width
    characters or newlines is printed as one inert line per event: nothing in it can
    recolour, retitle or clear the terminal, or fake another event's line."""
    (case,) = (c for c in REGULAR_INPUTS if c.name == "hostile-text")
    source = case.build(sandbox / "in")
    args = ["t1"] if view == "session" else []
    argv = ["logs", view, *args, "--source", f"file:{source}", *SINCE, "--limit", "1000"]
    outcome = run_main(argv, capsysbinary)
    assert_success(outcome)
    text = outcome.stdout.decode()
    assert text, "the view printed no event"
    assert terminal_problems(text) == []
    for line in text.splitlines():
        assert re.match(r"\d{4}-\d\d-\d\dT", line), f"a line that is not an event: {line!r}"


def test_a_hostile_report_renders_inert_markdown(
    sandbox: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """Messages, nodes, models and effect types full of HTML, @mentions, links, fences,
    bidi, zero-width and ANSI characters reach every section of the report (they repeat
    into findings of every detector), and none of it renders as anything but text."""
    (case,) = (c for c in REGULAR_INPUTS if c.name == "hostile-text")
    source = case.build(sandbox / "in")
    argv = ["analyze", "--source", f"file:{source}", "--format", "markdown"]
    outcome = run_main(argv, capsysbinary)
    assert_success(outcome)
    text = outcome.stdout.decode()
    kinds = {"slow_llm", "token_bloat", "repeated_error", "effect_failure", "failed_transition"}
    assert all(f"| {kind} |" in text for kind in kinds), text[:3000]
    assert "octocat" in text  # the evidence is shown, as text
    assert "onerror" in text
    assert markdown_problems(text) == []
