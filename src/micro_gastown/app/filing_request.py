"""The request, the outcome and the working state of one filing (see :mod:`.file_pr`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from micro_gastown.app.analyzer import LlmRequest
from micro_gastown.app.filer_settings import FilerSettings
from micro_gastown.app.filing_inputs import FilingInputs
from micro_gastown.config.polecat import Polecat
from micro_gastown.github.hygiene import Decision
from micro_gastown.github.model import PrDraft
from micro_gastown.report.changes import PRResult

FILE_PR_SKILL = "file-pr"


class FilingStatus(StrEnum):
    """What a filing did (stable: outputs and tests use it)."""

    OPENED = "opened"
    """A new draft PR."""
    UPDATED = "updated"
    """Our open PR for the same findings got the new branch and body."""
    UNCHANGED = "unchanged"
    """Our open PR already holds this change and body."""
    DRY_RUN = "dry-run"
    SKIPPED = "skipped"
    """The hygiene rules held it back (closed, reverted, awaiting a verdict, limits)."""
    LEFT_ALONE = "left-alone"
    """Someone else's commit on the branch, or someone else's PR: nothing touched."""
    NOTHING = "nothing"
    """The patch is empty: refine found nothing that may be filed."""


class FilePrRequest(BaseModel):
    """What to file and how. ``github`` holds the settings the face gives (None: not
    given); the environment fills in the rest (:mod:`.filer_settings`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patch: Path
    changes: Path | None = None
    """The ProposedChanges JSON; None: the one beside the patch (same stem), if any."""
    evidence: Path | None = None
    """The PatternReport the change addresses."""
    repo: Path = Path(".")
    patterns: tuple[str, ...] = ()
    """Pattern ids a bare patch addresses (a ProposedChanges names its own)."""
    dry_run: bool = False
    out: Path | None = None
    """The dry run's folder."""
    config_dirs: tuple[Path, ...] = ()
    llm: LlmRequest | None = None
    """None: the prose is written by code."""
    allow_unvalidated: bool = False
    github: dict[str, Any] = Field(default_factory=dict)
    run_cost_usd: float | None = Field(None, ge=0)
    """What the run spent before this step (evolve's ledger), for the body's cost line."""


@dataclass(frozen=True)
class FilingOutcome:
    status: FilingStatus
    reason: str
    result: PRResult | None = None
    draft: PrDraft | None = None
    written: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()
    cost: str | None = None
    decision: Decision | None = None


@dataclass
class FilingContext:
    """What one filing knows once its inputs are read and checked: passed between the
    steps of :func:`~micro_gastown.app.file_pr.file_pr`."""

    request: FilePrRequest
    settings: FilerSettings
    polecat: Polecat
    inputs: FilingInputs
    repo_top: Path
    checkout_prefix: str | None
    base_commit: str
    notes: list[str] = field(default_factory=list)
