"""The outputs of the refine and file-pr skills: ProposedChanges and PRResult.

``schemas/ProposedChanges.json`` and ``schemas/PRResult.json`` are generated from these
models (:mod:`micro_gastown.report.schema`), and a test pins the committed files to them.
Field names, requiredness and enums of upstream's fields are upstream's; descriptions are
ours. ProposedChanges carries optional fields of our own on top (``status``, ``rejected``,
``dropped``, ``metadata``, the validation's ``status``, ``reason`` and ``checks``), so that
what refine refused and why is kept in the output, never silently trimmed away; a
consumer that knows only upstream's fields reads the rest unchanged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class ProposalStatus(StrEnum):
    """Whether a proposal may be filed: only ``ready`` is, and ``not_validated`` only when
    the user allows unvalidated changes."""

    READY = "ready"
    """Every edit applied, the static check and every must-pass command passed."""
    FAILED_VALIDATION = "failed_validation"
    """The static check, the build or the tests failed: never filed."""
    NOT_VALIDATED = "not_validated"
    """A check could not run (no cabal, a timeout): never a success."""
    REJECTED = "rejected"
    """No edit survived the guardrails and the exact-text application; ``changes`` is empty."""
    DECLINED = "declined"
    """The model proposed no change (``decline_reason`` says why); ``changes`` is empty."""


class CheckOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not_run"


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


class Check(_Model):
    """One validation check, in the order they ran: ``static`` (templates and graph edges
    checked by micro-gastown), then each must-pass command."""

    name: str = Field(min_length=1, description="`static` or the command as configured")
    outcome: CheckOutcome
    reason: str | None = Field(default=None, description="Why it failed or did not run")
    output: str | None = Field(default=None, description="Tail of its output, or its messages")
    duration_s: float | None = Field(default=None, ge=0)


class ValidationStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_VALIDATED = "not_validated"


class Validation(_Model):
    """Whether the changed checkout still builds (cabal type-checks templates) and passes
    its tests."""

    build_success: bool
    test_success: bool
    build_output: str | None = Field(default=None, description="Tail of the build log")
    test_output: str | None = Field(default=None, description="Tail of the test log")
    status: ValidationStatus | None = Field(
        default=None,
        description="passed, failed, or not_validated (a check could not run: never success)",
    )
    reason: str | None = Field(
        default=None, description="One line: what failed, or `not validated: <why>`"
    )
    checks: list[Check] = Field(default_factory=list)


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


class RejectedEdit(_Model):
    """An edit the model proposed that was refused (a guardrail) or dropped (its old text
    was not found exactly once, even after the repair round). Kept so a reviewer sees what
    was not done and why."""

    path: str = Field(description="The path as the model wrote it (inert text)")
    rule: str = Field(min_length=1, description="The guardrail rule or the failure code")
    detail: str = Field(description="Why, in one line")
    rationale: str | None = Field(default=None, description="The model's rationale")
    pattern_ids: list[str] = Field(default_factory=list)


class ProposalMetadata(_Model):
    """Where and how the proposal was made: the base it applies to and what it cost."""

    base_commit: str | None = Field(default=None, description="HEAD of the checkout, 40 hex")
    checkout: str | None = Field(
        default=None, description="The checkout's directory relative to its git repository root"
    )
    generated_at: str | None = None
    generator_version: str | None = None
    model: str | None = None
    backend: str | None = None
    cost_usd: float | None = Field(default=None, ge=0)
    repair_rounds: int | None = Field(default=None, ge=0)
    summary: str | None = Field(default=None, description="The proposal in one line")
    decline_reason: str | None = None


class ProposedChanges(_Model):
    """A small DSL change addressing one or more patterns of a PatternReport."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        # Upstream's contract holds unless our status says nothing survived: changes are
        # then non-empty, as upstream requires.
        json_schema_extra={
            "if": {
                "not": {
                    "required": ["status"],
                    "properties": {"status": {"enum": ["rejected", "declined"]}},
                }
            },
            "then": {"properties": {"changes": {"minItems": 1}}},
        },
    )

    changes: list[FileChange] = Field(
        description="The file changes; empty only when status is rejected or declined"
    )
    patterns_addressed: list[PatternId] = Field(
        min_length=1, description="Ids of the PatternReport patterns this change addresses"
    )
    validation: Validation
    expected_impact: ExpectedImpact | None = None
    rollback_instructions: str | None = Field(
        default=None, description="How to undo the change if it makes things worse"
    )
    status: ProposalStatus | None = Field(
        default=None, description="ready (may be filed), failed_validation, not_validated, ..."
    )
    rejected: list[RejectedEdit] = Field(default_factory=list)
    metadata: ProposalMetadata | None = None

    @model_validator(mode="after")
    def _changes_unless_nothing_survived(self) -> ProposedChanges:
        empty_ok = self.status in (ProposalStatus.REJECTED, ProposalStatus.DECLINED)
        if not self.changes and not empty_ok:
            raise ValueError("changes may be empty only when status is rejected or declined")
        return self

    def to_json(self) -> bytes:
        """As the schema describes it: absent optionals omitted, never null."""
        return orjson.dumps(
            self.model_dump(mode="json", exclude_none=True), option=orjson.OPT_INDENT_2
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
