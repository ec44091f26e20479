"""Issue 11's acceptance: every validation outcome of refine on the bundled sample checkout.

With real GHC and cabal (four builds in all, two refine runs shared by the module): the
demo's two replayed answers become ``ready`` changes that apply with ``git apply``, pass
the static check, ``cabal build all`` and ``cabal test all``; a change that passes the
static check but not the compile fails the build with GHC's error; one that compiles but
breaks a behaviour fails the tests. Without GHC: a template variable its context record
lacks and a ``Goto`` to a missing node fail the static check with its message, and the CLI
writes no patch (exit 8); a timeout and a missing cabal are "not validated", never a pass.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghc import GhcToolchain, cabal_env, ghc_toolchain, only_programs
from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.refine import Proposal, RefineResult, refine
from micro_gastown.cli import main
from micro_gastown.errors import ExitCode
from micro_gastown.report.changes import CheckOutcome, ProposalStatus
from micro_gastown.testing.demo_refine import REPLAY
from refinesample import (
    DEAD_PATH,
    FAILED_TRANSITION,
    SCHEMA,
    SLOW,
    Sample,
    config_with_must_pass,
    demo_answers,
    edit,
    fresh_copy,
    isolated,
    make_sample,
    record_replay,
    scripted,
)

__all__ = ["ghc_toolchain"]

BUILD, TESTS = "cabal build all", "cabal test all"
CHECKS = ["git apply --check", "static", BUILD, TESTS]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("validation")
    with isolated(directory):
        yield directory


@pytest.fixture(scope="module")
def sample(workdir: Path) -> Sample:
    return make_sample(workdir / "sample")


@pytest.fixture
def isolated_test(tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    with isolated(tmp_path) as patch:
        yield patch


def by_pattern(result: RefineResult) -> dict[str, Proposal]:
    return {p.candidate.pattern.id: p for p in result.proposals}


def checks_of(proposal: Proposal) -> dict[str, tuple[CheckOutcome, str, str]]:
    return {
        c.name: (c.outcome, c.reason or "", c.output or "")
        for c in proposal.changes.validation.checks
    }


# -- (a) the demo's answers: ready, with real GHC (two builds) --


@pytest.fixture(scope="module")
def ready(ghc_toolchain: GhcToolchain, sample: Sample, workdir: Path) -> dict[str, Proposal]:
    request = sample.request(SLOW, SCHEMA, llm=LlmRequest(backend="replay", replay=REPLAY))
    result = refine(request, environ=cabal_env(workdir / "cabal-ready"))
    return by_pattern(result)


def test_the_demo_answers_build_and_pass_the_tests_with_real_ghc(
    ready: dict[str, Proposal],
) -> None:
    assert list(ready) == [SLOW, SCHEMA]
    for pattern_id, proposal in ready.items():
        validation = proposal.changes.validation
        checks = checks_of(proposal)
        assert proposal.status is ProposalStatus.READY, (pattern_id, validation)
        assert list(checks) == CHECKS
        assert {outcome for outcome, _, _ in checks.values()} == {CheckOutcome.PASSED}
        assert (validation.build_success, validation.test_success) == (True, True)
        assert "Test suite triage-test: PASS" in checks[TESTS][2]
        assert proposal.fileable()


def test_each_ready_patch_applies_to_a_fresh_copy_with_git_apply(
    ready: dict[str, Proposal], workdir: Path
) -> None:
    expected = {
        SLOW: ("templates/summarize.jinja", "template", "keep it under 60 words"),
        SCHEMA: ("src/Triage/Types.hs", "schema", "priority :: Maybe Text"),
    }
    for pattern_id, (path, change_type, new_text) in expected.items():
        proposal = ready[pattern_id]
        [change] = proposal.changes.changes
        assert (change.path, change.change_type) == (path, change_type)
        copy = fresh_copy(workdir / f"apply-{pattern_id}")
        before = (copy / path).read_text()
        done = subprocess.run(
            ["git", "apply", "-"],
            cwd=copy,
            input=proposal.patch.encode(),
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode()
        after = (copy / path).read_text()
        assert new_text not in before
        assert new_text in after


# -- (d), (e) a broken compile and a failing test, with real GHC (two builds) --

RENAMED_FIELD = edit(
    SCHEMA, "src/Triage/Types.hs", "  { category :: Category\n", "  { kind :: Category\n"
)
"""Classification.category becomes kind: the static check has nothing against it (no
template reads Classification), but routeLogic matches on ``category`` and cannot compile."""
LOWER_LIMIT = edit(
    FAILED_TRANSITION,
    "src/Triage/Handlers.hs",
    "autoApproveLimitCents = 5000",
    "autoApproveLimitCents = 3000",
)
"""Compiles, but the sample's test "a refund at the limit is issued" (5000) now fails."""


@pytest.fixture(scope="module")
def broken(ghc_toolchain: GhcToolchain, sample: Sample, workdir: Path) -> dict[str, Proposal]:
    backend = scripted({SCHEMA: RENAMED_FIELD, FAILED_TRANSITION: LOWER_LIMIT})
    request = sample.request(FAILED_TRANSITION, SCHEMA)
    result = refine(request, backend=backend, environ=cabal_env(workdir / "cabal-broken"))
    return by_pattern(result)


def test_a_change_that_does_not_compile_fails_the_build_with_ghcs_error(
    broken: dict[str, Proposal],
) -> None:
    proposal = broken[SCHEMA]
    checks = checks_of(proposal)
    assert proposal.status is ProposalStatus.FAILED_VALIDATION
    assert list(checks) == CHECKS
    assert checks["static"][0] is CheckOutcome.PASSED
    build_outcome, build_reason, build_output = checks[BUILD]
    assert build_outcome is CheckOutcome.FAILED
    assert build_reason == f"`{BUILD}` exited with status 1"
    # GHC's own words, where routeLogic still matches on the old field name
    assert re.search(
        r"src/Triage/Handlers\.hs:\d+:\d+: error: Not in scope: .category.", build_output
    )
    assert checks[TESTS][:2] == (CheckOutcome.NOT_RUN, f"not run: `{BUILD}` did not pass")
    validation = proposal.changes.validation
    assert (validation.build_success, validation.test_success) == (False, False)
    assert "category" in (validation.build_output or "")
    assert not proposal.fileable(allow_unvalidated=True)


def test_a_change_that_compiles_but_breaks_a_test_fails_the_tests(
    broken: dict[str, Proposal],
) -> None:
    proposal = broken[FAILED_TRANSITION]
    checks = checks_of(proposal)
    assert proposal.status is ProposalStatus.FAILED_VALIDATION
    assert checks[BUILD][0] is CheckOutcome.PASSED
    test_outcome, test_reason, test_output = checks[TESTS]
    assert test_outcome is CheckOutcome.FAILED
    assert test_reason == f"`{TESTS}` exited with status 1"
    assert "FAIL a refund at the limit is issued" in test_output
    validation = proposal.changes.validation
    assert (validation.build_success, validation.test_success) == (True, False)
    assert not proposal.fileable(allow_unvalidated=True)


# -- (b), (c) the static check stops what the compile would, no GHC needed --

UNKNOWN_VARIABLE = edit(
    SLOW,
    "templates/summarize.jinja",
    'Address them as "{{ customer_name }}",',
    'Address them as "{{ customer_name }}" at {{ customer_email }},',
)
MISSING_NODE = edit(
    DEAD_PATH, "src/Triage/Types.hs", 'Goto "escalate" Escalation', 'Goto "escalat" Escalation'
)


@pytest.fixture(scope="module")
def unfit(sample: Sample, workdir: Path) -> tuple[int, Path, str]:
    """The CLI on replayed answers that the static check refuses: its exit code, its
    output directory and what it said on stderr."""
    replay = record_replay(
        sample, {SLOW: UNKNOWN_VARIABLE, DEAD_PATH: MISSING_NODE}, workdir / "unfit.json"
    )
    out = workdir / "unfit"
    out.mkdir()
    (out / "changes.diff").write_text("a stale patch of an earlier run\n")
    argv = [
        "refine", "--input", str(sample.report_path), "--repo", str(sample.checkout),
        "--pattern", SLOW, DEAD_PATH, "--max-prs", "2", "--output", str(out / "changes.diff"),
        "--backend", "replay", "--replay", str(replay), "--allow-unvalidated",
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        # no cabal: it must not matter, the static check fails first
        patch.setenv("PATH", only_programs(workdir / "unfit-bin", "git"))
        return _run_cli(argv)


def _run_cli(argv: list[str]) -> tuple[int, Path, str]:
    """``micro-gastown refine`` in this process: its exit code, the --output directory and
    its stderr (a module fixture cannot use capsys)."""
    with pytest.MonkeyPatch.context() as patch:
        stderr = io.StringIO()
        patch.setattr(sys, "stderr", stderr)
        patch.setattr(sys, "stdout", io.StringIO())
        code = main(argv)
    return code, Path(argv[argv.index("--output") + 1]).parent, stderr.getvalue()


def _document(path: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads(path.read_text())
    return document


def test_a_variable_the_context_record_lacks_fails_the_static_check_and_files_nothing(
    unfit: tuple[int, Path, str],
) -> None:
    code, out, _ = unfit
    assert code == ExitCode.NO_CHANGE
    assert (out / "changes.diff").read_bytes() == b""  # the stale patch is gone too
    changes = _document(out / "changes.json")
    assert changes["status"] == "failed_validation"
    validation = changes["validation"]
    assert isinstance(validation, dict)
    [static] = [c for c in validation["checks"] if c["name"] == "static"]
    assert static["outcome"] == "failed"
    assert "templates/summarize.jinja" in static["reason"]
    assert "`customer_email` is not a field of SummarizeContext" in static["reason"]
    assert [c["name"] for c in validation["checks"]] == ["git apply --check", "static"]
    assert validation["build_success"] is False


def test_a_goto_to_a_missing_node_fails_the_static_check_and_files_nothing(
    unfit: tuple[int, Path, str],
) -> None:
    code, out, err = unfit
    assert code == ExitCode.NO_CHANGE
    assert (out / "changes-2.diff").read_bytes() == b""
    changes = _document(out / "changes-2.json")
    assert changes["status"] == "failed_validation"
    assert changes["patterns_addressed"] == [DEAD_PATH]
    validation = changes["validation"]
    assert isinstance(validation, dict)
    reason = validation["reason"]
    assert isinstance(reason, str)
    assert 'Goto "escalat" of node route names no node of graph TriageGraph' in reason
    assert f"{DEAD_PATH}: failed_validation" in err
    assert "(no patch to file)" in err


# -- (f), (g) validation that cannot run is never a pass, no GHC needed --


def test_a_must_pass_command_that_times_out_is_not_validated(
    sample: Sample, tmp_path: Path, isolated_test: pytest.MonkeyPatch
) -> None:
    config = config_with_must_pass(tmp_path / "config", ["sleep 30"])
    request = sample.request(SLOW, config_dirs=(config,), build_timeout_s=1)
    result = refine(request, backend=scripted(demo_answers()), environ=cabal_env(tmp_path))
    [proposal] = result.proposals
    checks = checks_of(proposal)
    assert proposal.status is ProposalStatus.NOT_VALIDATED
    assert list(checks) == ["git apply --check", "static", "sleep 30"]
    assert checks["sleep 30"][:2] == (
        CheckOutcome.NOT_RUN,
        "not validated: `sleep 30` timed out after 1 s",
    )
    assert proposal.changes.validation.reason == "not validated: `sleep 30` timed out after 1 s"
    assert not proposal.fileable()


def test_without_cabal_the_change_is_not_validated_never_a_pass(
    sample: Sample, tmp_path: Path, isolated_test: pytest.MonkeyPatch
) -> None:
    environ = {**cabal_env(tmp_path), "PATH": only_programs(tmp_path / "bin", "git")}
    result = refine(sample.request(SLOW), backend=scripted(demo_answers()), environ=environ)
    [proposal] = result.proposals
    checks = checks_of(proposal)
    validation = proposal.changes.validation
    assert proposal.status is ProposalStatus.NOT_VALIDATED
    assert checks[BUILD][:2] == (
        CheckOutcome.NOT_RUN,
        "not validated: `cabal` is not installed (not on PATH)",
    )
    assert checks[TESTS][0] is CheckOutcome.NOT_RUN
    assert validation.reason == "not validated: `cabal` is not installed (not on PATH)"
    assert (validation.build_success, validation.test_success) == (False, False)
    assert str(validation.status) == "not_validated"


@pytest.mark.parametrize("allow", [False, True], ids=["refused", "allow-unvalidated"])
def test_without_cabal_the_cli_writes_a_patch_only_when_unvalidated_is_allowed(
    sample: Sample, tmp_path: Path, isolated_test: pytest.MonkeyPatch, allow: bool
) -> None:
    isolated_test.setenv("PATH", only_programs(tmp_path / "bin", "git"))
    out = tmp_path / "out"
    out.mkdir()
    argv = [
        "refine", "--input", str(sample.report_path), "--repo", str(sample.checkout),
        "--output", str(out / "changes.diff"), "--backend", "replay", "--replay", str(REPLAY),
        *(["--allow-unvalidated"] if allow else []),
    ]  # fmt: skip
    code, _, err = _run_cli(argv)
    patch = (out / "changes.diff").read_text()
    assert _document(out / "changes.json")["status"] == "not_validated"
    assert "not validated: `cabal` is not installed (not on PATH)" in err
    if allow:
        assert code == ExitCode.OK
        assert patch.startswith("diff --git a/templates/summarize.jinja")
    else:
        assert code == ExitCode.NO_CHANGE
        assert patch == ""
