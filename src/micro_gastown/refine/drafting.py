"""Drafting: ask the model for structured edits, hold them to the guardrails, place them.

One request carries the finding and the files code chose; the model answers with edits
(path, exact old text, new text, rationale, pattern ids) in the shape of
:data:`~micro_gastown.refine.prompt.EDITS_SCHEMA`, never diff hunks. Code then:

* checks every edit against the guardrails (:func:`~micro_gastown.refine.guardrails.check_edit`).
  One broken rule rejects the whole proposal, every edit listed with its rule: a model that
  reached for ``.github/`` or a secret this round is not trusted with the rest of it;
* places the surviving edits on the file texts (exact old text, exactly once). Edits that
  cannot be placed go back to the model once, with the reason; what still cannot be placed
  is dropped and recorded, and the rest stands.

Nothing here writes a file or runs a command: the result is new texts in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from micro_gastown.llm.base import LlmBackend, LlmRequest, Meter
from micro_gastown.refine.edits import apply_edits
from micro_gastown.refine.guardrails import Guardrails, check_edit
from micro_gastown.refine.model import Edit, EditFailure, Rejection, RuleCode
from micro_gastown.refine.prompt import EDITS_SCHEMA, DraftAnswer, parse_answer, render_repair

OUTPUT_NAME = "proposed_edits"
"""The forced output tool's name, for backends that use one."""

WITHDRAWN = "withdrawn"
"""The rule recorded for an edit that broke no rule itself, refused with its proposal."""


@dataclass(frozen=True, slots=True)
class Refused:
    """An edit that is not part of the change: the rule (a :class:`RuleCode` value, a
    :class:`EditFailureCode` value, or ``withdrawn``) and why."""

    edit: Edit
    rule: str
    detail: str


@dataclass(frozen=True, slots=True)
class DraftPolicy:
    """What the draft may touch and cite."""

    root: Path
    """The checkout directory the edits' paths are relative to (inside the worktree)."""
    guardrails: Guardrails
    allowed_paths: frozenset[str]
    report_pattern_ids: frozenset[str]
    refined_pattern_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    model: str
    max_tokens: int
    temperature: float
    system: str


@dataclass
class Draft:
    """The outcome of drafting: new texts of the files it changes, what was applied, and
    what was refused or dropped."""

    answer: DraftAnswer
    originals: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    applied: list[Edit] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    rejected_by_guardrails: bool = False
    repair_rounds: int = 0

    @property
    def changed_paths(self) -> list[str]:
        return sorted(p for p, text in self.texts.items() if text != self.originals.get(p))


ReadText = Callable[[str], str]


def draft_change(
    prompt: str,
    settings: ModelSettings,
    policy: DraftPolicy,
    backend: LlmBackend,
    meter: Meter,
    read_text: ReadText,
) -> Draft:
    """Ask for edits, check and place them, with one repair round for misplaced old text.

    ``read_text`` reads a checked, normalised path of the checkout (the worktree's copy).
    Raises :class:`~micro_gastown.errors.LlmError` (a budget stop included) from the model.
    """
    answer = _ask(prompt, settings, backend, meter)
    draft = Draft(answer)
    if not answer.edits:
        return draft
    placed = _check(answer.edits, policy, draft)
    if draft.rejected_by_guardrails:
        return draft
    failures = _place(placed, draft, read_text)
    if not failures:
        return draft
    repair = render_repair(failures, [])
    follow_up = (
        f"{prompt}\n\nYour previous answer:\n"
        f"{orjson.dumps(answer.raw, option=orjson.OPT_SORT_KEYS).decode()}\n\n{repair}"
    )
    second = _ask(follow_up, settings, backend, meter)
    draft.repair_rounds = 1
    if not second.edits:  # the model gave up on them: they are dropped as they failed
        for failure in failures:
            draft.refused.append(Refused(failure.edit, failure.code.value, failure.detail))
        return draft
    # The repair note asks for the complete list again, the placed edits unchanged: the
    # second answer replaces the first, so it is placed on the original texts (placed on
    # top of the first round, a placed edit would apply twice or fail as not found).
    draft.answer = second  # its summary, confidence and estimate describe the final edits
    draft.applied.clear()
    draft.texts = dict(draft.originals)
    retried = _check(second.edits, policy, draft)
    if draft.rejected_by_guardrails:
        return draft
    for failure in _place(retried, draft, read_text):
        draft.refused.append(Refused(failure.edit, failure.code.value, failure.detail))
    return draft


def draft_request(prompt: str, settings: ModelSettings) -> LlmRequest:
    """The request for ``prompt`` (replay files are keyed on it: build it only here)."""
    return LlmRequest(
        system=settings.system,
        prompt=prompt,
        model=settings.model,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        output_schema=EDITS_SCHEMA,
        output_name=OUTPUT_NAME,
    )


def _ask(prompt: str, settings: ModelSettings, backend: LlmBackend, meter: Meter) -> DraftAnswer:
    return parse_answer(backend.complete(draft_request(prompt, settings), meter).output)


def _check(edits: Sequence[Edit], policy: DraftPolicy, draft: Draft) -> list[tuple[str, Edit]]:
    """Normalised (path, edit) pairs; on any broken rule, the whole draft is rejected."""
    checked: list[tuple[str, Edit]] = []
    broken: dict[int, list[Rejection]] = {}
    for index, edit in enumerate(edits):
        path, rejections = check_edit(
            edit,
            root=policy.root,
            allowed_paths=policy.allowed_paths,
            report_pattern_ids=policy.report_pattern_ids,
            refined_pattern_ids=policy.refined_pattern_ids,
            guardrails=policy.guardrails,
        )
        if rejections or path is None:
            broken[index] = rejections
        else:
            checked.append((path, edit))
    if not broken:
        return checked
    draft.rejected_by_guardrails = True
    for edit in draft.applied:
        draft.refused.append(Refused(edit, WITHDRAWN, "its proposal broke a guardrail"))
    draft.applied.clear()
    draft.texts = dict(draft.originals)
    for index, edit in enumerate(edits):
        if index in broken:
            for rejection in broken[index] or [_unplaced_path()]:
                draft.refused.append(Refused(edit, rejection.rule.value, rejection.detail))
        else:
            draft.refused.append(Refused(edit, WITHDRAWN, "another edit broke a guardrail"))
    return []


def _unplaced_path() -> Rejection:
    return Rejection(RuleCode.INVALID_PATH, None, "the path could not be read")


def _place(
    pairs: Sequence[tuple[str, Edit]], draft: Draft, read_text: ReadText
) -> list[EditFailure]:
    for path, _ in pairs:
        if path not in draft.originals:
            draft.originals[path] = read_text(path)
            draft.texts[path] = draft.originals[path]
    result = apply_edits(draft.texts, pairs)
    draft.texts = dict(result.texts)
    draft.applied.extend(result.applied)
    return list(result.failures)
