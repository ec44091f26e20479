"""What file-pr is given, read and checked before anything else happens.

``--input changes.diff`` is the patch refine wrote; the ProposedChanges JSON beside it (same
stem, ``changes.json``) supplies the rationale, validation and impact; ``--evidence`` is the
PatternReport. Each is checked on its own terms (a regular file, valid JSON of the right
shape, a patch of a sane size) and against the others: the patch must change exactly the
files the ProposedChanges lists, and no file the refine guardrails forbid (a hand-edited
patch that reaches for ``.github/workflows`` is refused here, whatever wrote it). Errors
name the file and the field.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn

import orjson
from pydantic import ValidationError

from micro_gastown.config.files import ConfigFileError, read_config_text
from micro_gastown.errors import ConfigError, UsageError
from micro_gastown.github.gitpatch import patch_files
from micro_gastown.refine.guardrails import Guardrails
from micro_gastown.refine.paths import lexical_path, printable
from micro_gastown.refine.report_file import load_report
from micro_gastown.report.changes import PATTERN_ID, ProposalStatus, ProposedChanges
from micro_gastown.report.model import Pattern, PatternReport

__all__ = ["FilingInputs", "changes_beside", "load_inputs"]

MAX_PATCH_BYTES: Final = 2 * 1024 * 1024
"""Refine's guardrails allow a few hundred lines; a patch this large is not one of ours."""
MAX_CHANGES_BYTES: Final = 8 * 1024 * 1024

_PATTERN_ID = re.compile(PATTERN_ID)


@dataclass(frozen=True)
class FilingInputs:
    patch: str
    files: tuple[str, ...]
    changes: ProposedChanges | None
    changes_path: Path | None
    report: PatternReport | None
    patterns: tuple[Pattern, ...]
    """The report's patterns addressed, most severe first."""
    missing_patterns: tuple[str, ...]
    """Ids addressed that the report does not hold."""
    fingerprints: tuple[str, ...]


def changes_beside(patch: Path) -> Path:
    """``changes.diff`` -> ``changes.json`` (refine writes them so)."""
    return patch.with_name(f"{patch.stem}.json")


def _fail(setting: str, path: Path, why: str) -> NoReturn:
    raise ConfigError(why, setting=setting, value=path)


def _read(setting: str, path: Path, limit: int, *, keep_newlines: bool = False) -> str:
    with contextlib.suppress(OSError):  # a missing or special file is said by the reader
        if path.stat().st_size > limit:
            _fail(setting, path, f"larger than {limit // (1024 * 1024)} MB")
    try:
        return read_config_text(path, keep_newlines=keep_newlines).removeprefix("\ufeff")
    except ConfigFileError as exc:
        _fail(setting, path, str(exc))


def _load_changes(path: Path) -> ProposedChanges:
    text = _read("changes", path, MAX_CHANGES_BYTES)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        _fail("changes", path, f"not valid JSON ({exc})")
    try:
        return ProposedChanges.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        _fail("changes", path, f"not a ProposedChanges: {where}: {error['msg']}")


def _check_paths(files: Sequence[str], guardrails: Guardrails | None, patch: Path) -> None:
    for raw in files:
        checked = lexical_path(raw)
        if not isinstance(checked, str):
            _fail("input", patch, checked.detail)
        if guardrails is not None:
            glob = guardrails.forbidding_glob(checked)
            if glob is not None:
                shown = printable(checked)
                _fail("input", patch, f"the patch changes {shown}, which {glob!r} forbids")


def load_inputs(
    patch_path: Path,
    *,
    changes_path: Path | None,
    evidence: Path | None,
    patterns: Sequence[str],
    guardrails: Guardrails | None,
    allow_unvalidated: bool,
) -> FilingInputs:
    """Read and cross-check everything file-pr is given. An empty patch is returned as it is
    (the caller says there is nothing to file)."""
    patch = _read("input", patch_path, MAX_PATCH_BYTES, keep_newlines=True)
    beside = changes_beside(patch_path)
    if changes_path is None and beside != patch_path and beside.exists():
        changes_path = beside
    changes = _load_changes(changes_path) if changes_path is not None else None
    report = _load_evidence(evidence) if evidence is not None else None
    try:
        files = patch_files(patch)
    except ValueError as exc:
        _fail("input", patch_path, f"not a patch git applies as it reads: {exc}")
    if patch.strip() and not files:
        _fail("input", patch_path, "not a unified diff: no file header (--- a/... +++ b/...)")
    _check_paths(files, guardrails, patch_path)
    if changes is not None and patch.strip():
        _check_status(changes, changes_path, allow_unvalidated)
        _check_base(changes, changes_path)
        _check_listing(files, changes, patch_path, changes_path)
    fingerprints = _fingerprints(changes, report, patterns)
    by_id = {p.id: p for p in report.patterns} if report is not None else {}
    found = [by_id[i] for i in fingerprints if i in by_id]
    found.sort(key=lambda p: (p.severity.rank, -p.occurrences, p.id))  # rank 0: critical
    missing = tuple(i for i in fingerprints if i not in by_id)
    return FilingInputs(
        patch=patch,
        files=files,
        changes=changes,
        changes_path=changes_path,
        report=report,
        patterns=tuple(found),
        missing_patterns=missing,
        fingerprints=tuple(sorted(set(fingerprints))),
    )


def _load_evidence(path: Path) -> PatternReport:
    """The report, its errors naming ``evidence`` (the reader names ``input``: refine's)."""
    try:
        return load_report(path)
    except ConfigError as exc:
        raise ConfigError(exc.reason, setting="evidence", value=path) from None


def _check_listing(
    files: Sequence[str], changes: ProposedChanges, patch: Path, changes_path: Path | None
) -> None:
    """The patch changes exactly the files the ProposedChanges lists (and explains)."""
    listed = [c.path for c in changes.changes]
    stray = [f for f in files if f not in listed]
    if stray:
        _fail(
            "input",
            patch,
            f"the patch changes {printable(stray[0])!r}, which {changes_path} does not list: "
            "the patch and its ProposedChanges do not belong together",
        )
    unchanged = [f for f in listed if f not in files]
    if unchanged:
        _fail(
            "input",
            patch,
            f"{changes_path} lists {printable(unchanged[0])!r}, which the patch does not "
            "change: the patch and its ProposedChanges do not belong together",
        )


_COMMIT_ID: Final = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _check_base(changes: ProposedChanges, path: Path | None) -> None:
    """The base commit reaches git: a commit id (refine writes HEAD's), nothing else."""
    base = changes.metadata.base_commit if changes.metadata else None
    if base is not None and not _COMMIT_ID.fullmatch(base):
        assert path is not None
        _fail("changes", path, "metadata.base_commit: expected a commit id (40 hex digits)")


def _check_status(changes: ProposedChanges, path: Path | None, allow_unvalidated: bool) -> None:
    status = changes.status
    if status is ProposalStatus.READY:
        return
    if status is None:  # upstream's shape, without our status: its validation decides
        if changes.validation.build_success and changes.validation.test_success:
            return
        assert path is not None
        _fail("changes", path, "validation says the build or the tests failed: not filed")
    if status is ProposalStatus.NOT_VALIDATED and allow_unvalidated:
        return
    assert path is not None
    reason = changes.validation.reason or (
        changes.metadata.decline_reason if changes.metadata else None
    )
    hint = (
        " (filing it anyway needs allow_unvalidated)"
        if status is ProposalStatus.NOT_VALIDATED
        else ""
    )
    _fail(
        "changes",
        path,
        f"status is {status.value}, not ready: only a validated change is filed"
        + (f" ({reason})" if reason else "")
        + hint,
    )


def _fingerprints(
    changes: ProposedChanges | None, report: PatternReport | None, given: Sequence[str]
) -> list[str]:
    if given:
        for pattern_id in given:
            if not _PATTERN_ID.match(pattern_id):
                raise UsageError(
                    "a pattern id is lowercase letters, digits and '-'",
                    setting="pattern",
                    value=printable(pattern_id),
                )
        return list(dict.fromkeys(given))
    if changes is not None:
        return list(dict.fromkeys(changes.patterns_addressed))
    if report is not None and len(report.patterns) == 1:
        return [report.patterns[0].id]
    raise UsageError(
        "a bare patch (no ProposedChanges beside it) needs the pattern ids it addresses",
        setting="pattern",
    )
