"""The files the LLM runtime persists, as pydantic models with a JSON Schema.

Two documents outlive a process: the cost ledger a run keeps in its ``run.json`` (under
``"ledger"``; :class:`LedgerRecord`) and a replay file of recorded answers
(:class:`ReplayRecordings`). Both are read back from disk, where anyone may have edited
them, so each is one model that says what is allowed, refuses everything else (unknown
keys, wrong types, negative or absurd numbers, NaN) and generates the JSON Schema checked in
under ``schemas/state/`` (:mod:`micro_gastown.llm.state_schemas`, run by ``make schemas``; a
test fails when a checked-in schema drifts from its model).

Money stays exact: amounts are :class:`~decimal.Decimal` in the models and decimal strings
(``"0.0123"``) in the files, the form :func:`~micro_gastown.llm.money.money_text` has
always written, so existing run states load unchanged. Token counts and dollars are
bounded: a count past ``MAX_COUNT`` or an amount past ``MAX_USD`` is a broken or hostile
file, and refusing it keeps the ledger's arithmetic exact.

:func:`first_problem` turns a :class:`~pydantic.ValidationError` into the one line a
:class:`~micro_gastown.errors.ConfigError` carries: where (``k.calls[0].usage``) and what.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    RootModel,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from micro_gastown.docpath import where_text
from micro_gastown.llm.base import CallRecord, Usage
from micro_gastown.llm.money import MAX_USD, money_text, to_money

MAX_COUNT: Final = 10**12
"""Tokens in one call (or repair rounds of one answer): far past any context window."""

_MONEY_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,12})?$"
_MODEL_NAME_PATTERN = r"^[^\u0000-\u001f\u007f]+$"


class CostSource(StrEnum):
    """Where a call's cost came from."""

    PRICE_TABLE = "price_table"
    REPORTED = "reported"


def _money(value: object) -> Decimal:
    """A stored amount: a decimal string from a file, or a Decimal from the ledger itself.

    Numbers in the file are refused: a JSON number has already lost exactness as a float.
    """
    if isinstance(value, Decimal):
        text = money_text(value) if value.is_finite() else str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError('expected an amount of dollars as a decimal string, like "0.0123"')
    if re.fullmatch(_MONEY_PATTERN[1:-1], text) is None:
        raise ValueError(
            'expected an amount of dollars as a decimal string, like "0.0123" '
            "(digits, at most 12 after the point)"
        )
    return to_money(text)  # ValueError over MAX_USD


Money = Annotated[
    Decimal,
    PlainValidator(_money),
    PlainSerializer(money_text, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _MONEY_PATTERN,
            "description": f"US dollars, exact, as a decimal string; at most {MAX_USD:f}",
        }
    ),
]
"""Dollars, exact: Decimal in the model, a decimal string in the file."""

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
ModelName = Annotated[
    str, Field(min_length=1, max_length=200, pattern=_MODEL_NAME_PATTERN, strict=True)
]
ReportedCost = Annotated[float, Field(ge=0, le=float(MAX_USD), allow_inf_nan=False)]


class _Persisted(BaseModel):
    """What every stored document shares: immutable, no unknown keys, no coercion (a
    ``"3"`` is not 3, ``true`` is not 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class UsageRecord(_Persisted):
    """Tokens of one call (or a sum of calls) under the API's own names; absent is 0."""

    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_read_input_tokens: Count = 0
    cache_creation_input_tokens: Count = 0

    @classmethod
    def of(cls, usage: Usage) -> UsageRecord:
        return cls.model_validate(usage.to_dict())

    def to_usage(self) -> Usage:
        return Usage(
            self.input_tokens,
            self.output_tokens,
            self.cache_read_input_tokens,
            self.cache_creation_input_tokens,
        )


# -- the ledger in run.json --------------------------------------------------------------


class PricedCallRecord(_Persisted):
    """One recorded call of a run and what it cost."""

    model: ModelName
    usage: UsageRecord
    cost_usd: Money
    cost_source: Annotated[CostSource, Field(strict=False)]  # the file holds its value


def _check_total(
    usage: UsageRecord | None,
    cost: Decimal | None,
    cost_field: str,
    calls: Sequence[PricedCallRecord],
) -> None:
    """Stored totals are optional, but when present they must equal the calls' sum (a
    hand-edited state would otherwise resume with money that was never spent)."""
    if usage is not None:
        summed = sum((call.usage.to_usage() for call in calls), Usage())
        if usage.to_usage() != summed:
            raise PydanticCustomError(_TOTAL_MISMATCH, _TOTAL_MESSAGE, {"field": "usage"})
    if cost is not None and cost != sum((call.cost_usd for call in calls), Decimal(0)):
        raise PydanticCustomError(_TOTAL_MISMATCH, _TOTAL_MESSAGE, {"field": cost_field})


_TOTAL_MISMATCH = "total_mismatch"
_TOTAL_MESSAGE = "does not equal the sum of the recorded calls"


class LedgerStepRecord(_Persisted):
    """A formula step's calls, in order, and their totals."""

    usage: UsageRecord | None = None
    cost_usd: Money | None = None
    calls: list[PricedCallRecord]

    @model_validator(mode="after")
    def _totals_add_up(self) -> LedgerStepRecord:
        _check_total(self.usage, self.cost_usd, "cost_usd", self.calls)
        return self


class LedgerRecord(_Persisted):
    """The cost ledger of a run, as its ``run.json`` stores it under ``"ledger"``.

    ``steps.<id>.calls`` is the record; every total beside it is their exact sum. An empty
    object is a ledger before any call.
    """

    budget_usd: Money | None = None
    spent_usd: Money | None = None
    usage: UsageRecord | None = None
    steps: dict[str, LedgerStepRecord] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _totals_add_up(self) -> LedgerRecord:
        calls = [call for step in self.steps.values() for call in step.calls]
        _check_total(self.usage, self.spent_usd, "spent_usd", calls)
        return self


# -- replay files --------------------------------------------------------------------------


class RecordedCall(_Persisted):
    """One model call behind a recorded answer; the ledger prices it on replay."""

    model: ModelName
    usage: UsageRecord = Field(default_factory=UsageRecord)
    reported_cost_usd: ReportedCost | None = None

    @classmethod
    def of(cls, call: CallRecord) -> RecordedCall:
        return cls(
            model=call.model,
            usage=UsageRecord.of(call.usage),
            reported_cost_usd=call.reported_cost_usd,
        )

    def to_call_record(self) -> CallRecord:
        return CallRecord(self.model, self.usage.to_usage(), self.reported_cost_usd)


class RecordedAnswer(_Persisted):
    """What the model answered one request: the output, the calls it took, the repair
    rounds, and optionally a ``note`` for people reading the file."""

    output: Any
    calls: list[RecordedCall]
    repairs: Count = 0
    note: str | None = None


class ReplayRecordings(RootModel[dict[str, RecordedAnswer]]):
    """A replay file: request keys (:func:`micro_gastown.llm.replay.request_key`) to the
    recorded answers."""

    model_config = ConfigDict(frozen=True, strict=True)


# -- errors ----------------------------------------------------------------------------------

_MESSAGES: Final = {
    "missing": "required, but missing",
    "extra_forbidden": "not a known field",
    "dict_type": "expected a JSON object",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "list_type": "expected a JSON array",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "float_type": "expected a number",
}


def first_problem(error: ValidationError, at: Sequence[str | int] = ()) -> tuple[str, str]:
    """Where the first problem of ``error`` is (below ``at``, the place of the validated
    value in its document), and what it is, for a one-line message (with how many more
    there are). Never shows the input: it may be huge or nested."""
    problems = error.errors(include_url=False, include_input=False, include_context=True)
    first = problems[0]
    location = [*at, *first["loc"]]
    context = first.get("ctx") or {}
    if first["type"] == _TOTAL_MISMATCH:
        location.append(str(context["field"]))
        message = _TOTAL_MESSAGE
    elif first["type"] == "value_error" and "error" in context:
        message = str(context["error"])
    else:
        message = _MESSAGES.get(first["type"], first["msg"])
    if len(problems) > 1:
        more = len(problems) - 1
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return where_text(location), message
