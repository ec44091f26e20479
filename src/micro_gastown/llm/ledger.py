"""The cost ledger: every model call of a run, per step, priced, and the run's budget.

Each formula step gets a :class:`~micro_gastown.llm.base.Meter` from
:meth:`CostLedger.meter`. Before a call the meter prices its worst case (the input estimate,
at the cache-write rate if that is higher, plus ``max_tokens`` of output) and refuses it
with :class:`~micro_gastown.errors.BudgetExceeded` when that could take the run past its
budget, so a run stops cleanly *before* the call that would overspend. After a call it
records the model, the four kinds of tokens and the cost: the dollars the backend reported
(Claude Code does) or else the usage priced from the model price table.

Money is :class:`~decimal.Decimal` dollars, never float. A call's cost is taken once from
the price function (the table's exact Decimal; a float is read through its shortest repr)
and rounded to the picodollar (1e-12 USD). Every per-token price in the table is a whole
multiple of far larger amounts (a Haiku 5.5 cache read, $0.01 per million tokens, is 1e-8
USD a token), so the rounding keeps every real price exact and only removes the float noise
a custom price function may add. Totals are exact
sums of the recorded calls, and the run state holds amounts as decimal strings ("0.0123"),
so :meth:`CostLedger.to_dict` / :meth:`CostLedger.from_dict` round-trip to the same numbers
and the state's figures equal the sum of its calls' usage times the price table.

A resumed run loads the ledger from its state and keeps adding to it: money spent before a
crash stays spent, and is not re-priced if the table changed since.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from micro_gastown.errors import BudgetExceeded, ConfigError
from micro_gastown.llm.base import USAGE_FIELDS, CallRecord, Usage
from micro_gastown.llm.models import price_decimal

PriceFunction = Callable[[str, Usage], float | Decimal]
"""Dollars for one call of ``model`` with ``usage``. The default is the model price table,
:func:`micro_gastown.llm.models.price_decimal` (the exact Decimal form of ``price``)."""

DEFAULT_BUDGET_USD = Decimal("0.50")
PICODOLLAR = Decimal("1e-12")
_MONEY_CONTEXT = Context(prec=40)


def to_money(amount: float | Decimal | int | str) -> Decimal:
    """``amount`` dollars as an exact Decimal rounded to the picodollar.

    A float goes through its shortest repr (``0.1`` becomes ``Decimal("0.1")``, not the
    binary expansion). Raises ValueError for negative, infinite or non-numeric amounts:
    a price function or backend returning one is a bug.
    """
    if isinstance(amount, bool):
        raise ValueError(f"not an amount of dollars: {amount!r}")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount of dollars: {amount!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a non-negative amount of dollars: {amount!r}")
    return value.quantize(PICODOLLAR, rounding=ROUND_HALF_EVEN, context=_MONEY_CONTEXT)


def money_text(amount: Decimal) -> str:
    """The run state's form of an amount: plain decimal notation, no trailing zeros."""
    return format(amount.normalize(_MONEY_CONTEXT), "f")


def format_usd(amount: Decimal, places: int = 4) -> str:
    """``$0.0123``; amounts too small to show at ``places`` read ``<$0.0001``."""
    step = Decimal(1).scaleb(-places)
    if 0 < amount < step:
        return f"<${step}"
    return f"${amount.quantize(step, rounding=ROUND_HALF_EVEN, context=_MONEY_CONTEXT)}"


def format_budget(amount: Decimal) -> str:
    """``$0.50``: at least cents, more digits only when the budget has them."""
    if amount == amount.quantize(Decimal("0.01"), context=_MONEY_CONTEXT):
        return f"${amount.quantize(Decimal('0.01'), context=_MONEY_CONTEXT)}"
    return f"${money_text(amount)}"


class CostSource(StrEnum):
    """Where a call's cost came from."""

    PRICE_TABLE = "price_table"
    REPORTED = "reported"


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
                f"--budget-usd must be a non-negative amount of dollars, got {budget_usd!r}"
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
            f"it was not sent. Raise the budget with --budget-usd "
            f"(at least {format_budget(needed)} for this call)"
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
        """The ledger for the run state: JSON-safe, amounts as decimal strings.

        ``steps.<id>.calls`` is the record; every total beside it is their exact sum.
        """
        with self._lock:
            steps = {
                step_id: {
                    "usage": step.usage.to_dict(),
                    "cost_usd": money_text(step.cost_usd),
                    "calls": [
                        {
                            "model": call.model,
                            "usage": call.usage.to_dict(),
                            "cost_usd": money_text(call.cost_usd),
                            "cost_source": call.source.value,
                        }
                        for call in step.calls
                    ],
                }
                for step_id, step in self._steps.items()
            }
            return {
                "budget_usd": money_text(self.budget_usd),
                "spent_usd": money_text(self._spent()),
                "usage": sum((s.usage for s in self._steps.values()), Usage()).to_dict(),
                "steps": steps,
            }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        budget_usd: float | Decimal | str | None = None,
        price: PriceFunction | None = None,
    ) -> CostLedger:
        """A ledger continuing from :meth:`to_dict` output. ``budget_usd`` replaces the
        recorded budget (a resumed run may be given a larger one). An empty mapping (a run
        state from before any call) is a fresh ledger.

        Raises ConfigError naming the key when the data is malformed or its totals do not
        add up to its calls (a hand-edited state).
        """
        reader = _StateReader("ledger")
        root = reader.mapping(data, "")
        if budget_usd is None and "budget_usd" in root:
            budget_usd = reader.money(root["budget_usd"], "budget_usd")
        ledger = cls(DEFAULT_BUDGET_USD if budget_usd is None else budget_usd, price)
        for step_id, raw_step in reader.mapping(root.get("steps", {}), "steps").items():
            where = f"steps.{step_id}"
            step_data = reader.mapping(raw_step, where)
            raw_calls = step_data.get("calls")
            if not isinstance(raw_calls, list):
                raise reader.error(f"{where}.calls", "expected a list of calls")
            step = _Step(
                [reader.call(raw, f"{where}.calls[{i}]") for i, raw in enumerate(raw_calls)]
            )
            reader.check_total(step_data, where, step.usage, step.cost_usd, "cost_usd")
            ledger._steps[str(step_id)] = step
        reader.check_total(root, "", ledger.usage, ledger.spent_usd, "spent_usd")
        return ledger


def _tokens_text(usage: Usage) -> str:
    parts = [f"{usage.input_tokens:,} in", f"{usage.output_tokens:,} out"]
    if usage.cache_read_input_tokens:
        parts.append(f"{usage.cache_read_input_tokens:,} cache-read")
    if usage.cache_creation_input_tokens:
        parts.append(f"{usage.cache_creation_input_tokens:,} cache-write")
    return " / ".join(parts) + " tokens"


class _StateReader:
    """Checks the shapes of a stored ledger, naming the key of the first problem."""

    def __init__(self, root: str) -> None:
        self.root = root

    def error(self, where: str, problem: str) -> ConfigError:
        key = f"{self.root}.{where}" if where else self.root
        return ConfigError(f"run state: {key}: {problem}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(where, "expected an object")
        return value

    def money(self, value: Any, where: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(where, "expected an amount of dollars as a decimal string")
        try:
            return to_money(value)
        except ValueError:
            raise self.error(where, f"not a non-negative amount of dollars: {value!r}") from None

    def usage(self, value: Any, where: str) -> Usage:
        raw = self.mapping(value, where)
        counts: dict[str, int] = {}
        for name in USAGE_FIELDS:
            count = raw.get(name, 0)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise self.error(f"{where}.{name}", "expected a non-negative integer")
            counts[name] = count
        return Usage(**counts)

    def call(self, value: Any, where: str) -> PricedCall:
        raw = self.mapping(value, where)
        model = raw.get("model")
        if not isinstance(model, str) or not model:
            raise self.error(f"{where}.model", "expected a model name")
        try:
            source = CostSource(str(raw.get("cost_source")))
        except ValueError:
            raise self.error(
                f"{where}.cost_source", "expected 'price_table' or 'reported'"
            ) from None
        return PricedCall(
            model,
            self.usage(raw.get("usage"), f"{where}.usage"),
            self.money(raw.get("cost_usd"), f"{where}.cost_usd"),
            source,
        )

    def check_total(
        self, raw: Mapping[str, Any], where: str, usage: Usage, cost: Decimal, cost_key: str
    ) -> None:
        """Stored totals are optional, but when present they must equal the calls' sum."""
        prefix = f"{where}." if where else ""
        if "usage" in raw and self.usage(raw["usage"], f"{prefix}usage") != usage:
            raise self.error(f"{prefix}usage", "does not equal the sum of the recorded calls")
        if cost_key in raw and self.money(raw[cost_key], f"{prefix}{cost_key}") != cost:
            raise self.error(f"{prefix}{cost_key}", "does not equal the sum of the recorded calls")
