"""The dry run: what a filing would publish, written to a folder; nothing published.

:func:`~micro_gastown.github.publish.publish` runs against a recording GitHub (reads go to
GitHub when a token allows, writes are only written down), so the calls listed are the
ones a real run would make."""

from __future__ import annotations

import os
from pathlib import Path

from micro_gastown.app.filing_request import FilingContext, FilingOutcome, FilingStatus
from micro_gastown.atomicfile import write_atomic
from micro_gastown.errors import (
    ConfigError,
    OutputError,
)
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.hygiene import Decision, Verdict
from micro_gastown.github.model import (
    CommitIdentity,
    PrDraft,
    RepoRef,
)
from micro_gastown.github.publish import publish
from micro_gastown.github.recording import RecordingApi


def dry_run(
    context: FilingContext,
    client: GitHubApi | None,
    draft: PrDraft,
    decision: Decision,
    identity: CommitIdentity,
    cost: str | None,
) -> FilingOutcome:
    out = context.request.out
    assert out is not None
    recorder = RecordingApi(
        client, RepoRef.parse(context.settings.github_repository or "owner/repo")
    )
    if decision.verdict in (Verdict.NEW, Verdict.UPDATE):
        way = context.settings.commit_via
        publish(
            recorder,
            draft,
            identity=identity,
            make_branch=recorder.branch_maker(way.value, draft, context.inputs.files),
            same_change=lambda sha: False,
        )
    written = write_dry_run(out, draft, context.inputs.patch, recorder.calls_json(), decision)
    return FilingOutcome(
        FilingStatus.DRY_RUN,
        decision.reason,
        draft=draft,
        written=written,
        notes=tuple(context.notes),
        cost=cost,
        decision=decision,
    )


def check_out(out: Path | None) -> None:
    """The dry run's folder can be made (said before any model call)."""
    if out is None:
        raise ConfigError("a dry run writes its files to a folder: give one", setting="out")
    if out.exists() and not out.is_dir():
        raise OutputError("exists and is not a folder", setting="out", value=out)
    parent = next((p for p in (out, *out.parents) if p.exists()), None)
    if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError("cannot make or write this folder", setting="out", value=out)


def write_dry_run(
    out: Path, draft: PrDraft, patch: str, calls: bytes, decision: Decision
) -> tuple[Path, ...]:
    """The dry run's files: what would be published, nothing else."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot make it: {exc.strerror or exc}", setting="out", value=out
        ) from None
    files = {
        "branch.txt": f"{draft.branch}\n".encode(),
        "changes.diff": patch.encode(),
        "body.md": draft.body.encode(),
        "title.txt": f"{draft.title}\n".encode(),
        "commit-message.txt": draft.commit_message.encode(),
        "api-calls.json": calls,
        "decision.txt": f"{decision.verdict.value}: {decision.reason}\n".encode(),
    }
    written = []
    for name, data in files.items():
        path = out / name
        write_atomic(path, data)
        written.append(path)
    return tuple(written)
