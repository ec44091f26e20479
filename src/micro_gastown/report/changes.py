"""The outputs of the planned refine and file-pr skills: ProposedChanges and PRResult.

``schemas/ProposedChanges.json`` and ``schemas/PRResult.json`` are generated from these
models (:mod:`micro_gastown.report.schema`), and a test pins the committed files to them.
Field names, requiredness and enums are upstream's; descriptions are ours.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PATTERN_ID = r"^[a-z0-9-]+$"
BRANCH_NAME = r"^sleeptime/\d{4}-\d{2}-\d{2}-[a-z0-9-]+$"
COMMIT_SHA = r"^[0-9a-f]{40}$"

PatternId = Annotated[str, Field(pattern=PATTERN_ID)]


class ChangeType(StrEnum):
    TEMPLATE = "template"
    SCHEMA = "schema"
    GRAPH = "graph"
    HANDLER = "handler"
    CONFIG = "config"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class PRStatus(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    MERGED = "merged"
    CLOSED = "closed"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileChange(_Model):
    """One file of the change, as a unified diff against the checkout's base."""

    path: str = Field(min_length=1, description="Path relative to the DSL checkout's root")
    diff: str = Field(min_length=1, description="Unified diff of this file (---/+++ and hunks)")
    rationale: str = Field(
        min_length=1, description="Why this file changes, tied to the pattern's evidence"
    )
    lines_added: int | None = Field(default=None, ge=0)
    lines_removed: int | None = Field(default=None, ge=0)
    change_type: ChangeType | None = Field(
        default=None, description="Which part of the DSL the file belongs to"
    )


class Validation(_Model):
    """Whether the changed checkout still builds (cabal type-checks templates) and passes
    its tests."""

    build_success: bool
    test_success: bool
    build_output: str | None = Field(default=None, description="Tail of the build log")
    test_output: str | None = Field(default=None, description="Tail of the test log")


class ImpactMetric(_Model):
    """One measurable effect the change should have, from the pattern's own figures."""

    metric: str = Field(min_length=1, description="What is measured, e.g. p95 latency_ms")
    before: float = Field(description="The value the pattern report measured")
    after_estimate: float = Field(description="The value expected once the change ships")
    improvement_percent: float | None = Field(
        default=None, description="Relative improvement, positive when better"
    )


class ExpectedImpact(_Model):
    """What should get better, and how sure the proposer is."""

    metrics: list[ImpactMetric] = Field(default_factory=list)
    confidence: Confidence
    notes: str | None = None


class ProposedChanges(_Model):
    """A small DSL change addressing one or more patterns of a PatternReport."""

    changes: list[FileChange] = Field(min_length=1)
    patterns_addressed: list[PatternId] = Field(
        min_length=1, description="Ids of the PatternReport patterns this change addresses"
    )
    validation: Validation
    expected_impact: ExpectedImpact | None = None
    rollback_instructions: str | None = Field(
        default=None, description="How to undo the change if it makes things worse"
    )


class PRResult(_Model):
    """The pull request a file-pr run opened (or found already open)."""

    pr_url: str = Field(min_length=1, description="Web URL of the pull request")
    branch_name: str = Field(pattern=BRANCH_NAME, description="sleeptime/<date>-<slug>")
    commit_sha: str = Field(pattern=COMMIT_SHA, description="The commit the branch points at")
    files_changed: list[str] = Field(description="Paths the commit changes")
    status: PRStatus
    patterns_addressed: list[PatternId] | None = Field(default=None, description="Pattern ids")
    pr_number: int | None = Field(default=None, ge=1)
    labels: list[str] | None = None
    created_at: str | None = Field(default=None, description="RFC 3339 time the PR was opened")
