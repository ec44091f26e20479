"""The cost ledger: every model call of a run, per step, priced, and the run's budget.

Each formula step gets a :class:`~micro_gastown.llm.base.Meter` from
:meth:`CostLedger.meter`. Before a call the meter prices its worst case (the input estimate,
at the cache-write rate if that is higher, plus ``max_tokens`` of output) and refuses it
with :class:`~micro_gastown.errors.BudgetExceeded` when that could take the run past its
budget, so a run stops cleanly *before* the call that would overspend. After a call it
records the model, the four kinds of tokens and the cost: the dollars the backend reported
(Claude Code does) or else the usage priced from the model price table.

Money is :class:`~decimal.Decimal` dollars, never float (:mod:`micro_gastown.llm.money`). A
call's cost is taken once from the price function (the table's exact Decimal; a float is
read through its shortest repr) and rounded to the picodollar (1e-12 USD). Totals are exact
sums of the recorded calls. The run state holds the ledger as a
:class:`~micro_gastown.llm.records.LedgerRecord` (amounts as decimal strings, "0.0123"), so
:meth:`CostLedger.to_dict` / :meth:`CostLedger.from_dict` round-trip to the same numbers, the
state's figures equal the sum of its calls' usage times the price table, and a hand-edited
ledger is refused by the model's rules, naming the key.

A resumed run loads the ledger from its state and keeps adding to it: money spent before a
crash stays spent, and is not re-priced if the table changed since.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from pydantic import ValidationError

from micro_gastown.errors import BudgetExceeded, ConfigError
from micro_gastown.llm.base import CallRecord, Usage
from micro_gastown.llm.models import price_decimal
from micro_gastown.llm.money import MAX_USD, format_budget, format_usd, to_money
from micro_gastown.llm.records import (
    CostSource,
    LedgerRecord,
    LedgerStepRecord,
    PricedCallRecord,
    UsageRecord,
    first_problem,
)

__all__ = [
    "DEFAULT_BUDGET_USD",
    "CostLedger",
    "CostSource",
    "PriceFunction",
    "PricedCall",
    "StepMeter",
]

PriceFunction = Callable[[str, Usage], float | Decimal]
"""Dollars for one call of ``model`` with ``usage``. The default is the model price table,
:func:`micro_gastown.llm.models.price_decimal` (the exact Decimal form of ``price``)."""

DEFAULT_BUDGET_USD = Decimal("0.50")


@dataclass(frozen=True, slots=True)
class PricedCall:
    """One recorded model call and what it cost."""

    model: str
    usage: Usage
    cost_usd: Decimal
    source: CostSource


@dataclass(slots=True)
class _Step:
    calls: list[PricedCall] = field(default_factory=list)

    @property
    def usage(self) -> Usage:
        return sum((call.usage for call in self.calls), Usage())

    @property
    def cost_usd(self) -> Decimal:
        return sum((call.cost_usd for call in self.calls), Decimal(0))


@dataclass(frozen=True, slots=True)
class StepMeter:
    """The :class:`~micro_gastown.llm.base.Meter` of one step: checks and records into
    its ledger under ``step_id``."""

    ledger: CostLedger
    step_id: str

    def before(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        self.ledger.check_affordable(model, input_tokens, max_output_tokens)

    def after(self, record: CallRecord) -> None:
        self.ledger.record(self.step_id, record)

    def remaining_usd(self) -> Decimal:
        return self.ledger.remaining_usd


class CostLedger:
    """Tokens and dollars of every call of a run, per step, against a budget in USD.

    Thread-safe: steps running in parallel may share one ledger. The budget check is per
    call, so parallel steps can each start one call that together exceed the budget;
    the next call after that is refused.
    """

    def __init__(
        self,
        budget_usd: float | Decimal | str = DEFAULT_BUDGET_USD,
        price: PriceFunction | None = None,
    ) -> None:
        try:
            self.budget_usd = to_money(budget_usd)
        except ValueError:
            raise ConfigError(
                f"must be a non-negative amount of dollars, at most ${MAX_USD:,f}",
                setting="budget_usd",
                value=budget_usd,
            ) from None
        self._price: PriceFunction = price if price is not None else price_decimal
        self._steps: dict[str, _Step] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (for step processes), without the lock."""
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- the Meter side -------------------------------------------------------------------

    def meter(self, step_id: str) -> StepMeter:
        """The meter a backend reports the calls of step ``step_id`` to."""
        return StepMeter(self, step_id)

    def worst_case_usd(self, model: str, input_tokens: int, max_output_tokens: int) -> Decimal:
        """The most a call of ``model`` with this input and output cap can cost: the input
        priced as plain input or as a prompt-cache write (1.25x on Anthropic's table, and
        the first turn writes the system prompt and tools to the cache), whichever is more."""
        plain = Usage(input_tokens, max_output_tokens)
        cached = Usage(0, max_output_tokens, cache_creation_input_tokens=input_tokens)
        return max(to_money(self._price(model, plain)), to_money(self._price(model, cached)))

    def check_affordable(self, model: str, input_tokens: int, max_output_tokens: int) -> None:
        """Raise :class:`BudgetExceeded` when the call's worst case would take the run past
        its budget. Spending exactly the budget is allowed."""
        worst = self.worst_case_usd(model, input_tokens, max_output_tokens)
        with self._lock:
            spent = self._spent()
        if spent + worst <= self.budget_usd:
            return
        needed = (spent + worst).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
        raise BudgetExceeded(
            "stopping before the budget is exceeded: "
            f"{format_usd(spent)} of {format_budget(self.budget_usd)} spent so far, "
            f"and the next call ({model}, about {input_tokens:,} input and up to "
            f"{max_output_tokens:,} output tokens) could cost up to {format_usd(worst, 6)}; "
            f"it was not sent. Raise the budget (at least {format_budget(needed)} for this call)",
            setting="budget_usd",
        )

    def record(self, step_id: str, record: CallRecord) -> PricedCall:
        """Add one finished call to ``step_id``: its reported cost if the backend gave one,
        else its usage priced from the table."""
        if record.reported_cost_usd is not None:
            cost, source = to_money(record.reported_cost_usd), CostSource.REPORTED
        else:
            cost, source = to_money(self._price(record.model, record.usage)), CostSource.PRICE_TABLE
        priced = PricedCall(record.model, record.usage, cost, source)
        with self._lock:
            self._steps.setdefault(step_id, _Step()).calls.append(priced)
        return priced

    # -- totals ---------------------------------------------------------------------------

    def _spent(self) -> Decimal:
        return sum((step.cost_usd for step in self._steps.values()), Decimal(0))

    @property
    def spent_usd(self) -> Decimal:
        with self._lock:
            return self._spent()

    @property
    def remaining_usd(self) -> Decimal:
        return max(self.budget_usd - self.spent_usd, Decimal(0))

    @property
    def usage(self) -> Usage:
        with self._lock:
            return sum((step.usage for step in self._steps.values()), Usage())

    def step_ids(self) -> list[str]:
        """Steps with recorded calls, in the order of their first call."""
        with self._lock:
            return list(self._steps)

    def calls(self, step_id: str) -> tuple[PricedCall, ...]:
        with self._lock:
            step = self._steps.get(step_id)
            return tuple(step.calls) if step else ()

    def step_usage(self, step_id: str) -> Usage:
        return sum((call.usage for call in self.calls(step_id)), Usage())

    def step_cost_usd(self, step_id: str) -> Decimal:
        return sum((call.cost_usd for call in self.calls(step_id)), Decimal(0))

    def summary_line(self, step_id: str | None = None) -> str:
        """``12,345 in / 1,234 out / 10,000 cache-read tokens, $0.0123 of $0.50`` for the
        run, or the same without the budget for one step."""
        if step_id is not None:
            usage, cost = self.step_usage(step_id), self.step_cost_usd(step_id)
            return f"{_tokens_text(usage)}, {format_usd(cost)}"
        with self._lock:
            usage = sum((step.usage for step in self._steps.values()), Usage())
            spent = self._spent()
        return f"{_tokens_text(usage)}, {format_usd(spent)} of {format_budget(self.budget_usd)}"

    # -- run state ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The ledger for the run state: a :class:`LedgerRecord`, JSON-safe, amounts as
        decimal strings."""
        with self._lock:
            steps = {
                step_id: LedgerStepRecord(
                    usage=UsageRecord.of(step.usage),
                    cost_usd=step.cost_usd,
                    calls=[
                        PricedCallRecord(
                            model=call.model,
                            usage=UsageRecord.of(call.usage),
                            cost_usd=call.cost_usd,
                            cost_source=call.source,
                        )
                        for call in step.calls
                    ],
                )
                for step_id, step in self._steps.items()
            }
            record = LedgerRecord(
                budget_usd=self.budget_usd,
                spent_usd=self._spent(),
                usage=UsageRecord.of(sum((s.usage for s in self._steps.values()), Usage())),
                steps=steps,
            )
        return record.model_dump(mode="json")

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        budget_usd: float | Decimal | str | None = None,
        price: PriceFunction | None = None,
        source: str = "run state",
    ) -> CostLedger:
        """A ledger continuing from :meth:`to_dict` output. ``budget_usd`` replaces the
        recorded budget (a resumed run may be given a larger one). An empty mapping (a run
        state from before any call) is a fresh ledger.

        Raises ConfigError naming ``source`` (the run state file, when the caller knows it)
        and the key when the data is malformed or its totals do not add up to its calls (a
        hand-edited state).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: ledger: expected a JSON object")
        try:
            record = LedgerRecord.model_validate(dict(data))
        except ValidationError as exc:
            where, problem = first_problem(exc)
            key = f"ledger.{where}" if where else "ledger"
            raise ConfigError(f"{source}: {key}: {problem}") from None
        if budget_usd is None and record.budget_usd is not None:
            budget_usd = record.budget_usd
        ledger = cls(DEFAULT_BUDGET_USD if budget_usd is None else budget_usd, price)
        for step_id, step in record.steps.items():
            ledger._steps[step_id] = _Step(
                [
                    PricedCall(call.model, call.usage.to_usage(), call.cost_usd, call.cost_source)
                    for call in step.calls
                ]
            )
        return ledger


def _tokens_text(usage: Usage) -> str:
    parts = [f"{usage.input_tokens:,} in", f"{usage.output_tokens:,} out"]
    if usage.cache_read_input_tokens:
        parts.append(f"{usage.cache_read_input_tokens:,} cache-read")
    if usage.cache_creation_input_tokens:
        parts.append(f"{usage.cache_creation_input_tokens:,} cache-write")
    return " / ".join(parts) + " tokens"
