"""The last part of ``make demo``: the draft PR a maintainer would get, as a dry run.

The first proposal refine may file is handed to :func:`micro_gastown.app.file_pr.file_pr`
with ``dry_run``, its prose replayed from the pr-filer polecat's recorded answer
(``examples/llm/pr-filer.replay.json``, see :mod:`.demo_prose`): the branch name, the
patch, the rendered body (with its charts and the metadata block), the commit message and
the API calls a real run would make are written to a folder, and the body is printed. No
token is read and nothing is pushed: the demo runs with an environment that holds none,
whatever the caller's shell has.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.file_pr import FilePrRequest, FilingStatus, file_pr
from micro_gastown.app.refine import Proposal
from micro_gastown.atomicfile import write_atomic
from micro_gastown.testing.demo_prose import demo_prose_replay_path

__all__ = ["DEMO_PR_DIR", "file_demo_pr"]

DEMO_PR_DIR = Path("demo-pr")
"""Where ``make demo`` leaves the dry run's files (relative to where it runs)."""

_DEMO_ENVIRONMENT = {
    "GRAFANA_URL": "https://grafana.example.com",
    "GRAFANA_LOKI_DATASOURCE_UID": "loki",
}
"""Grafana links need a host and a datasource: the demo shows them with placeholders."""


def file_demo_pr(
    proposal: Proposal,
    *,
    report: Path,
    checkout: Path,
    work: Path,
    out: Path,
    stream: TextIO,
) -> int:
    """Dry-run file-pr on ``proposal``; print where the files went and the body."""
    patch = work / "changes.diff"
    write_atomic(patch, proposal.patch.encode())
    write_atomic(work / "changes.json", proposal.changes.to_json() + b"\n")
    outcome = file_pr(
        FilePrRequest(
            patch=patch,
            evidence=report,
            repo=checkout,
            dry_run=True,
            out=out,
            allow_unvalidated=True,
            llm=LlmRequest(backend="replay", replay=demo_prose_replay_path()),
        ),
        environ=_DEMO_ENVIRONMENT,
    )
    if outcome.status is not FilingStatus.DRY_RUN or outcome.draft is None:
        print(f"file-pr: {outcome.status.value}: {outcome.reason}", file=stream)
        return 1
    draft = outcome.draft
    print(f"\n## File-pr (dry run): {draft.branch}\n", file=stream)
    print(f"wrote {', '.join(p.name for p in outcome.written)} to {out}/", file=stream)
    for note in outcome.notes:
        print(f"note: {note}", file=stream)
    print(f"\n# {draft.title}\n", file=stream)
    print(draft.body, file=stream)
    return 0
