"""What file-pr is given is read and checked before anything is published: each refusal
names the file it is about."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from micro_gastown.app.filing_inputs import FilingInputs, load_inputs
from micro_gastown.config.polecat import Guardrails as PolecatGuardrails
from micro_gastown.errors import ConfigError, UsageError
from micro_gastown.refine.diffs import file_diff
from micro_gastown.refine.guardrails import Guardrails
from micro_gastown.report.changes import (
    FileChange,
    ProposalMetadata,
    ProposalStatus,
    ProposedChanges,
    Validation,
)
from micro_gastown.report.model import Pattern, PatternReport, PatternType, Severity, Summary

from specialfiles import FifoWriter

GUARDRAILS = Guardrails.of(PolecatGuardrails())
TEMPLATES = file_diff("dsl/Templates.hs", "a\nb\n", "a\nc\n").diff
GRAPH = file_diff("dsl/Graph.hs", "x\n", "y\n").diff


def write_changes(
    path: Path,
    diffs: dict[str, str],
    *,
    status: ProposalStatus | None = ProposalStatus.READY,
    ids: Sequence[str] = ("slow-llm-a",),
    passed: bool = True,
) -> Path:
    proposal = ProposedChanges(
        changes=[FileChange(path=p, diff=d, rationale="why") for p, d in diffs.items()],
        patterns_addressed=list(ids),
        validation=Validation(build_success=passed, test_success=passed),
        status=status,
    )
    path.write_bytes(proposal.to_json())
    return path


def filing(
    tmp_path: Path,
    patch: str,
    diffs: dict[str, str] | None = None,
    *,
    patterns: Sequence[str] = (),
    evidence: Path | None = None,
    allow_unvalidated: bool = False,
    **changes: object,
) -> FilingInputs:
    patch_path = tmp_path / "changes.diff"
    patch_path.write_bytes(patch.encode())
    if diffs is not None:
        write_changes(tmp_path / "changes.json", diffs, **changes)  # type: ignore[arg-type]
    return load_inputs(
        patch_path,
        changes_path=None,
        evidence=evidence,
        patterns=patterns,
        guardrails=GUARDRAILS,
        allow_unvalidated=allow_unvalidated,
    )


def refused(tmp_path: Path, patch: str, diffs: dict[str, str] | None = None, **kw: object) -> str:
    with pytest.raises(ConfigError) as info:
        filing(tmp_path, patch, diffs, **kw)  # type: ignore[arg-type]
    return str(info.value)


def test_a_ready_change_with_its_proposal_beside_it(tmp_path: Path) -> None:
    inputs = filing(
        tmp_path, TEMPLATES + GRAPH, {"dsl/Templates.hs": TEMPLATES, "dsl/Graph.hs": GRAPH}
    )
    assert inputs.files == ("dsl/Templates.hs", "dsl/Graph.hs")
    assert inputs.changes_path == tmp_path / "changes.json"
    assert inputs.fingerprints == ("slow-llm-a",)


def test_crlf_in_a_patch_is_kept_byte_for_byte(tmp_path: Path) -> None:
    diff = file_diff("dsl/Templates.hs", "a\r\nb\r\n", "a\r\nc\r\n").diff
    inputs = filing(tmp_path, diff, {"dsl/Templates.hs": diff})
    assert inputs.patch.encode() == (tmp_path / "changes.diff").read_bytes()
    assert "\r\n" in inputs.patch
    assert inputs.files == ("dsl/Templates.hs",)


def test_an_empty_patch_is_returned_for_the_caller_to_say_so(tmp_path: Path) -> None:
    assert filing(tmp_path, "", patterns=["a"]).patch == ""


def test_text_that_is_not_a_diff_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, "just some words\n", patterns=["a"])
    assert str(tmp_path / "changes.diff") in message
    assert "not a unified diff" in message


def test_a_fifo_as_input_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "changes.diff"
    os.mkfifo(fifo)
    writer = FifoWriter(fifo, TEMPLATES.encode())
    try:
        with pytest.raises(ConfigError) as info:
            load_inputs(
                fifo, changes_path=None, evidence=None, patterns=["a"], guardrails=None,
                allow_unvalidated=False,
            )  # fmt: skip
    finally:
        writer.close()
    assert str(fifo) in str(info.value)
    assert "FIFO" in str(info.value)


def test_a_directory_as_input_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "changes.diff"
    folder.mkdir()
    with pytest.raises(ConfigError) as info:
        load_inputs(
            folder, changes_path=None, evidence=None, patterns=["a"], guardrails=None,
            allow_unvalidated=False,
        )  # fmt: skip
    assert info.value.setting == "input"
    assert str(folder) in str(info.value)
    assert "directory" in str(info.value)


def test_a_directory_as_the_proposal_is_refused(tmp_path: Path) -> None:
    (tmp_path / "changes.json").mkdir()
    (tmp_path / "changes.diff").write_text(TEMPLATES)
    with pytest.raises(ConfigError) as info:
        load_inputs(
            tmp_path / "changes.diff", changes_path=None, evidence=None, patterns=[],
            guardrails=None, allow_unvalidated=False,
        )  # fmt: skip
    assert info.value.setting == "changes"
    assert str(tmp_path / "changes.json") in str(info.value)


def test_a_patch_changing_a_file_the_proposal_does_not_list_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, TEMPLATES + GRAPH, {"dsl/Templates.hs": TEMPLATES})
    assert "'dsl/Graph.hs'" in message
    assert str(tmp_path / "changes.json") in message
    assert message.startswith(f"input {tmp_path / 'changes.diff'}")


def test_a_proposal_listing_a_file_the_patch_does_not_change_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, TEMPLATES, {"dsl/Templates.hs": TEMPLATES, "dsl/Graph.hs": GRAPH})
    assert "'dsl/Graph.hs'" in message
    assert "does not change" in message


def test_a_forbidden_path_is_refused_whatever_wrote_the_patch(tmp_path: Path) -> None:
    diff = file_diff(".github/workflows/ci.yml", "on: push\n", "on: [push, pull_request]\n").diff
    message = refused(tmp_path, diff, {".github/workflows/ci.yml": diff})
    assert ".github/workflows/ci.yml" in message
    assert ".github/**" in message
    assert str(tmp_path / "changes.diff") in message


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("a/../outside.hs b/../outside.hs", "'..'"),
        ("a//etc/passwd b//etc/passwd", "absolute"),
    ],
)
def test_paths_outside_the_checkout_are_refused(tmp_path: Path, header: str, words: str) -> None:
    old, new = header.split(" ")
    patch = f"diff --git {header}\n--- {old}\n+++ {new}\n@@ -1 +1 @@\n-a\n+b\n"
    message = refused(tmp_path, patch, patterns=["a"])
    assert words in message
    assert str(tmp_path / "changes.diff") in message


def test_a_section_without_a_git_header_is_still_checked(tmp_path: Path) -> None:
    """A hand-added traditional diff after a git one: git applies both, so both are read."""
    sneaky = "--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n@@ -1 +1 @@\n-a\n+b\n"
    message = refused(tmp_path, TEMPLATES + sneaky, {"dsl/Templates.hs": TEMPLATES})
    assert ".github/workflows/ci.yml" in message


@pytest.mark.parametrize(
    ("patch", "words"),
    [
        (TEMPLATES.replace("@@ -1,2 +1,2 @@", "@@ -1,3 +1,3 @@"), "ends before"),
        (TEMPLATES.replace("@@ -1,2 +1,2 @@", "@@ -1 +1 @@"), "more lines"),
        ("diff --git a/x b/x\nGIT binary patch\nliteral 0\n", "binary"),
        ("@@ -1 +1 @@\n-a\n+b\n", "without a file header"),
        ("--- x\n+++ y\n@@ -1 +1 @@\n-a\n+b\n", "prefix"),
    ],
    ids=["short-hunk", "long-hunk", "binary", "headless-hunk", "no-prefix"],
)
def test_what_git_would_read_otherwise_is_refused(tmp_path: Path, patch: str, words: str) -> None:
    message = refused(tmp_path, patch, patterns=["a"])
    assert words in message
    assert str(tmp_path / "changes.diff") in message


@pytest.mark.parametrize(
    ("status", "passed", "allow", "words"),
    [
        (ProposalStatus.FAILED_VALIDATION, False, True, "failed_validation"),
        (ProposalStatus.NOT_VALIDATED, True, False, "allow_unvalidated"),
        (None, False, False, "build or the tests failed"),
    ],
)
def test_only_a_validated_change_is_filed(
    tmp_path: Path, status: ProposalStatus | None, passed: bool, allow: bool, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        filing(
            tmp_path, TEMPLATES, {"dsl/Templates.hs": TEMPLATES},
            status=status, passed=passed, allow_unvalidated=allow,
        )  # fmt: skip
    assert info.value.setting == "changes"
    assert str(tmp_path / "changes.json") in str(info.value)
    assert words in str(info.value)


def test_not_validated_is_filed_when_allowed(tmp_path: Path) -> None:
    inputs = filing(
        tmp_path, TEMPLATES, {"dsl/Templates.hs": TEMPLATES},
        status=ProposalStatus.NOT_VALIDATED, allow_unvalidated=True,
    )  # fmt: skip
    assert inputs.files == ("dsl/Templates.hs",)


def test_a_bare_patch_needs_its_pattern_ids(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        filing(tmp_path, TEMPLATES)
    assert info.value.setting == "pattern"
    assert filing(tmp_path, TEMPLATES, patterns=["b-2", "a-1", "b-2"]).fingerprints == (
        "a-1",
        "b-2",
    )
    with pytest.raises(UsageError) as bad:
        filing(tmp_path, TEMPLATES, patterns=["Not An Id"])
    assert bad.value.setting == "pattern"


def test_a_bad_proposal_names_its_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "changes.json").write_text('{"changes": [], "patterns_addressed": ["a"]}')
    message = refused(tmp_path, TEMPLATES)
    assert str(tmp_path / "changes.json") in message
    assert "validation" in message


def test_a_bad_report_is_named_as_the_evidence(tmp_path: Path) -> None:
    evidence = tmp_path / "patterns.json"
    evidence.write_text("{not json")
    with pytest.raises(ConfigError) as info:
        filing(tmp_path, TEMPLATES, patterns=["a"], evidence=evidence)
    assert info.value.setting == "evidence"
    assert str(evidence) in str(info.value)


def pattern(pattern_id: str, severity: Severity, occurrences: int) -> Pattern:
    return Pattern(
        id=pattern_id,
        type=PatternType.SLOW_LLM,
        severity=severity,
        occurrences=occurrences,
        details={},
        recommendation="r",
    )


def test_the_addressed_patterns_come_most_severe_first(tmp_path: Path) -> None:
    report = PatternReport(
        patterns=[
            pattern("w-1", Severity.WARNING, 50),
            pattern("c-1", Severity.CRITICAL, 3),
            pattern("c-2", Severity.CRITICAL, 9),
            pattern("i-1", Severity.INFO, 99),
        ],
        summary=Summary(total_patterns=4, critical=2, warning=1, info=1),
    )
    evidence = tmp_path / "patterns.json"
    evidence.write_bytes(report.to_json())
    inputs = filing(
        tmp_path, TEMPLATES, {"dsl/Templates.hs": TEMPLATES},
        ids=("w-1", "c-1", "c-2", "gone-1"), evidence=evidence,
    )  # fmt: skip
    assert [p.id for p in inputs.patterns] == ["c-2", "c-1", "w-1"]
    assert inputs.missing_patterns == ("gone-1",)
    assert inputs.fingerprints == ("c-1", "c-2", "gone-1", "w-1")


@pytest.mark.parametrize("base", ["--upload-pack=touch x", "HEAD~1", "main", "e02a56"])
def test_a_base_commit_that_is_not_a_commit_id_is_refused(tmp_path: Path, base: str) -> None:
    """It reaches git's argv: an option or a ref name there is refused at the door."""
    (tmp_path / "changes.diff").write_text(TEMPLATES)
    proposal = ProposedChanges(
        changes=[FileChange(path="dsl/Templates.hs", diff=TEMPLATES, rationale="why")],
        patterns_addressed=["slow-llm-a"],
        validation=Validation(build_success=True, test_success=True),
        status=ProposalStatus.READY,
        metadata=ProposalMetadata(base_commit=base),
    )
    (tmp_path / "changes.json").write_bytes(proposal.to_json())
    with pytest.raises(ConfigError) as info:
        load_inputs(
            tmp_path / "changes.diff", changes_path=None, evidence=None, patterns=(),
            guardrails=GUARDRAILS, allow_unvalidated=False,
        )  # fmt: skip
    assert "metadata.base_commit" in str(info.value)
    assert "changes.json" in str(info.value)
