"""``analyze --fail-on LEVEL`` means "this severe or worse", at every level.

The table holds, for each level, a report whose worst finding is exactly that level, one
above and one below it (and none at all): a CI job that gates on ``warning`` must fail on a
critical finding too, and must not fail on info alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from micro_gastown.cli import main
from micro_gastown.report.gate import FAIL_ON_LEVELS, fails_on
from micro_gastown.report.model import Severity

from factories import Export

CRITICAL, WARNING, INFO = Severity.CRITICAL, Severity.WARNING, Severity.INFO

TABLE = [
    # (level, the report's worst finding, exit 1?)
    ("critical", CRITICAL, True),  # exactly
    ("critical", WARNING, False),  # one below
    ("critical", INFO, False),
    ("critical", None, False),
    ("warning", CRITICAL, True),  # one above
    ("warning", WARNING, True),  # exactly
    ("warning", INFO, False),  # one below
    ("warning", None, False),
    ("info", CRITICAL, True),
    ("info", WARNING, True),  # one above
    ("info", INFO, True),  # exactly
    ("info", None, False),  # nothing found: nothing to fail on
    ("never", CRITICAL, False),
    ("never", WARNING, False),
    ("never", INFO, False),
    ("never", None, False),
]


def test_the_levels_are_the_severities_from_the_worst_down_then_never() -> None:
    assert FAIL_ON_LEVELS == ("critical", "warning", "info", "never")
    assert {level for level, _, _ in TABLE} == set(FAIL_ON_LEVELS)


@pytest.mark.parametrize(("level", "worst", "fails"), TABLE)
def test_a_level_fails_on_findings_that_severe_or_worse(
    level: str, worst: Severity | None, fails: bool
) -> None:
    milder = [s for s in Severity if worst is not None and s.rank > worst.rank]
    # the worst finding decides, wherever it stands among milder ones
    findings = [*milder, *([worst] if worst is not None else []), *milder]
    assert fails_on(findings, level) is fails
    assert fails_on(iter(findings), level) is fails  # the CLI passes a generator


def test_the_cli_exit_code_follows_the_worst_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One export whose worst finding is a warning (ten of one error: repeated_error)."""
    exp = Export()
    for i in range(10):
        exp.error(None, f"connection refused to 10.0.0.{i} port {5000 + i}")
    source = f"file:{exp.write(tmp_path / 'export.jsonl')}"
    assert main(["analyze", "--source", source]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["severity"] for p in report["patterns"]] == ["warning"]
    codes = {}
    for level in FAIL_ON_LEVELS:
        codes[level] = main(["analyze", "--source", source, "--fail-on", level])
        capsys.readouterr()
    assert codes == {"critical": 0, "warning": 1, "info": 1, "never": 0}
