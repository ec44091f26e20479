"""The cost ledger: budget stops before the call that would overspend, per-step and run
totals, exact money in the run state, and resumed runs that keep what was spent."""

from __future__ import annotations

import json
import pickle
from decimal import Decimal

import pytest

from micro_gastown.cli.flags import worded
from micro_gastown.errors import BudgetExceeded, ConfigError
from micro_gastown.llm.base import CallRecord, Usage
from micro_gastown.llm.ledger import CostLedger, CostSource
from micro_gastown.llm.models import DEFAULT_HAIKU, price_decimal

# A fake table in dollars per million tokens: (input, output, cache read, cache write).
FAKE_RATES = {
    "small": (1.0, 5.0, 0.1, 1.25),
    "large": (3.0, 15.0, 0.3, 3.75),
}


def fake_price(model: str, usage: Usage) -> float:
    """Float arithmetic, as a typical price function does it (with its binary noise)."""
    inp, out, read, write = FAKE_RATES[model]
    return (
        usage.input_tokens * inp
        + usage.output_tokens * out
        + usage.cache_read_input_tokens * read
        + usage.cache_creation_input_tokens * write
    ) / 1e6


def call(model: str, inp: int, out: int, read: int = 0, write: int = 0) -> CallRecord:
    return CallRecord(model, Usage(inp, out, read, write))


def test_a_call_is_priced_from_usage_exactly_despite_float_noise() -> None:
    ledger = CostLedger(price=fake_price)
    # 1 input token + 6 cache reads at these rates is $0.0000016 exactly, while the float
    # arithmetic gives 1.6000000000000001e-06.
    assert fake_price("small", Usage(1, 0, 6, 0)) == 1.6000000000000001e-06
    priced = ledger.record("s", call("small", 1, 0, read=6))
    assert priced.cost_usd == Decimal("0.0000016")
    assert priced.source is CostSource.PRICE_TABLE


def test_a_reported_cost_is_taken_instead_of_the_table() -> None:
    ledger = CostLedger(price=fake_price)
    priced = ledger.record("s", CallRecord("small", Usage(1000, 100), reported_cost_usd=0.0421))
    assert priced.cost_usd == Decimal("0.0421")
    assert priced.source is CostSource.REPORTED
    assert ledger.spent_usd == Decimal("0.0421")


def test_meter_records_under_its_step_and_totals_are_per_step_and_overall() -> None:
    ledger = CostLedger(price=fake_price)
    analyze, refine = ledger.meter("analyze"), ledger.meter("refine")
    analyze.after(call("small", 1000, 200, read=5000))  # 0.001 + 0.001 + 0.0005
    refine.after(call("large", 2000, 100, write=1000))  # 0.006 + 0.0015 + 0.00375
    analyze.after(call("small", 10, 1))  # 0.00001 + 0.000005

    assert ledger.step_ids() == ["analyze", "refine"]
    assert ledger.step_usage("analyze") == Usage(1010, 201, 5000, 0)
    assert ledger.step_cost_usd("analyze") == Decimal("0.002515")
    assert ledger.step_usage("refine") == Usage(2000, 100, 0, 1000)
    assert ledger.step_cost_usd("refine") == Decimal("0.01125")
    assert ledger.usage == Usage(3010, 301, 5000, 1000)
    assert ledger.spent_usd == Decimal("0.013765")
    assert ledger.step_cost_usd("never-ran") == 0
    assert [c.model for c in ledger.calls("analyze")] == ["small", "small"]


def test_summary_line_shows_tokens_dollars_and_budget() -> None:
    ledger = CostLedger(0.5, price=fake_price)
    ledger.record("s", CallRecord("small", Usage(12_345, 1_234, 10_000), reported_cost_usd=0.0123))
    assert ledger.summary_line() == (
        "12,345 in / 1,234 out / 10,000 cache-read tokens, $0.0123 of $0.50"
    )
    ledger.record("t", CallRecord("small", Usage(5, 1, 0, 2_000), reported_cost_usd=0.00001))
    assert ledger.summary_line("t") == "5 in / 1 out / 2,000 cache-write tokens, <$0.0001"
    assert CostLedger(price=fake_price).summary_line() == "0 in / 0 out tokens, $0.0000 of $0.50"


def test_budget_refuses_the_call_that_could_exceed_it_and_records_nothing() -> None:
    ledger = CostLedger(0.01, price=fake_price)
    meter = ledger.meter("refine")
    meter.after(CallRecord("small", Usage(100, 10), reported_cost_usd=0.009))
    state_before = ledger.to_dict()

    # Worst case of the next call: 1,000 input tokens priced as cache writes ($1.25/M) +
    # 200 output ($5/M) = $0.00225 > $0.001 left.
    with pytest.raises(BudgetExceeded) as caught:
        meter.before("small", 1_000, 200)

    message = str(caught.value)
    assert "$0.0090 of $0.01 spent" in message
    assert "could cost up to $0.002250" in message
    assert "small" in message
    assert "not sent" in message
    assert caught.value.setting == "budget_usd"
    assert worded(caught.value).startswith("--budget-usd: stopping before the budget")
    assert "at least $0.02" in message
    assert ledger.to_dict() == state_before


def test_budget_allows_spending_exactly_the_budget() -> None:
    ledger = CostLedger(0.00225, price=fake_price)
    ledger.meter("s").before("small", 1_000, 200)  # worst case exactly $0.00225
    ledger.record("s", CallRecord("small", Usage(0, 200, cache_creation_input_tokens=1_000)))
    assert ledger.remaining_usd == 0
    with pytest.raises(BudgetExceeded):
        ledger.meter("s").before("small", 1, 0)


def test_the_worst_case_prices_the_input_as_a_cache_write() -> None:
    """The first turn writes the system prompt and tools to the prompt cache, at 1.25x the
    input price: a worst case at the plain input price could let a call pass the budget."""
    ledger = CostLedger(1, price=fake_price)
    assert ledger.worst_case_usd("small", 1_000_000, 0) == Decimal("1.25")
    actual = ledger.record("s", CallRecord("small", Usage(0, 0, 0, 1_000_000)))
    assert actual.cost_usd <= ledger.worst_case_usd("small", 1_000_000, 0)


def test_a_zero_budget_refuses_every_call() -> None:
    with pytest.raises(BudgetExceeded):
        CostLedger(0, price=fake_price).meter("s").before("small", 1, 1)


@pytest.mark.parametrize("budget", [-1, "lots", float("nan"), float("inf")])
def test_a_bad_budget_is_a_config_error_naming_the_flag(budget: float | str) -> None:
    with pytest.raises(ConfigError) as caught:
        CostLedger(budget, price=fake_price)
    assert worded(caught.value).startswith(f"--budget-usd {budget!r}: must be a non-negative")


def spend_a_mix(ledger: CostLedger) -> None:
    ledger.record("analyze", call("small", 12_345, 1_234, read=10_000, write=777))
    ledger.record("analyze", call("large", 3, 1, read=1, write=1))
    ledger.record("refine", call("large", 99_999, 4_096, read=50_001, write=12_345))
    ledger.record("refine", CallRecord("small", Usage(10, 10), reported_cost_usd=0.1234567))


def test_run_state_round_trips_exactly_through_json() -> None:
    ledger = CostLedger(0.75, price=fake_price)
    spend_a_mix(ledger)

    state = json.loads(json.dumps(ledger.to_dict()))
    restored = CostLedger.from_dict(state, price=fake_price)

    assert restored.to_dict() == ledger.to_dict()
    assert restored.spent_usd == ledger.spent_usd
    assert restored.budget_usd == Decimal("0.75")
    for step in ("analyze", "refine"):
        assert restored.calls(step) == ledger.calls(step)


def test_state_costs_equal_usage_times_the_fake_table_by_hand() -> None:
    ledger = CostLedger(price=fake_price)
    spend_a_mix(ledger)
    state = ledger.to_dict()

    # Hand-computed: dollars per million tokens x tokens, summed per call.
    c1 = Decimal("12345") * 1 + 1234 * 5 + Decimal("10000") * Decimal("0.1") + 777 * Decimal("1.25")
    c2 = Decimal(3) * 3 + 1 * 15 + Decimal("0.3") + Decimal("3.75")
    c3 = (
        Decimal(99_999) * 3
        + 4_096 * 15
        + Decimal(50_001) * Decimal("0.3")
        + 12_345 * Decimal("3.75")
    )
    c1, c2, c3 = c1 / 1_000_000, c2 / 1_000_000, c3 / 1_000_000
    reported = Decimal("0.1234567")
    assert [Decimal(c["cost_usd"]) for c in state["steps"]["analyze"]["calls"]] == [c1, c2]
    assert [Decimal(c["cost_usd"]) for c in state["steps"]["refine"]["calls"]] == [c3, reported]
    assert Decimal(state["steps"]["analyze"]["cost_usd"]) == c1 + c2
    assert Decimal(state["steps"]["refine"]["cost_usd"]) == c3 + reported
    assert Decimal(state["spent_usd"]) == c1 + c2 + c3 + reported
    assert state["usage"] == {
        "input_tokens": 12_345 + 3 + 99_999 + 10,
        "output_tokens": 1_234 + 1 + 4_096 + 10,
        "cache_read_input_tokens": 10_000 + 1 + 50_001,
        "cache_creation_input_tokens": 777 + 1 + 12_345,
    }


def test_state_costs_equal_usage_times_the_real_price_table() -> None:
    ledger = CostLedger()  # the default: the model price table
    usages = {
        DEFAULT_HAIKU: [Usage(12_345, 1_234, 10_000, 777), Usage(1, 1, 1, 1)],
        "claude-sonnet-4-6": [Usage(99_999, 4_096, 50_001, 12_345)],
        "claude-haiku-5-5": [Usage(150_000, 2_000, 1, 3)],  # over its long-prompt band
    }
    for model, model_usages in usages.items():
        for usage in model_usages:
            ledger.record("step", CallRecord(model, usage))
    state = json.loads(json.dumps(ledger.to_dict()))

    expected = sum(
        (price_decimal(model, usage) for model, us in usages.items() for usage in us),
        Decimal(0),
    )
    assert Decimal(state["spent_usd"]) == expected
    # Haiku 4.5 at $1 / $5 / $0.10 read / $1.25 write per million tokens, by hand:
    # 12,345 + 6,170 + 1,000 + 971.25 = 20,486.25 millionths of a dollar.
    first = state["steps"]["step"]["calls"][0]
    assert first["cost_usd"] == "0.02048625"


def test_resumed_ledger_keeps_spent_money_and_does_not_reprice_it() -> None:
    ledger = CostLedger(0.01, price=fake_price)
    ledger.record("analyze", CallRecord("small", Usage(100, 10), reported_cost_usd=0.009))
    state = json.loads(json.dumps(ledger.to_dict()))

    def doubled(model: str, usage: Usage) -> float:
        return 2 * fake_price(model, usage)

    resumed = CostLedger.from_dict(state, price=doubled)
    assert resumed.spent_usd == Decimal("0.009")
    with pytest.raises(BudgetExceeded, match=r"\$0\.0090 of \$0\.01"):
        resumed.meter("refine").before("small", 1_000, 0)  # $0.002 at doubled prices

    raised = CostLedger.from_dict(state, budget_usd=1, price=doubled)
    raised.meter("refine").before("small", 1_000, 0)
    raised.record("refine", call("small", 1_000, 0))
    assert raised.spent_usd == Decimal("0.011")
    assert raised.budget_usd == 1
    assert raised.step_ids() == ["analyze", "refine"]


def test_from_dict_names_the_key_of_malformed_state() -> None:
    ledger = CostLedger(price=fake_price)
    ledger.record("analyze", call("small", 10, 1))
    state = json.loads(json.dumps(ledger.to_dict()))
    state["steps"]["analyze"]["calls"][0]["usage"]["output_tokens"] = -1
    with pytest.raises(
        ConfigError, match=r"ledger\.steps\.analyze\.calls\[0\]\.usage\.output_tokens"
    ):
        CostLedger.from_dict(state, price=fake_price)


def test_from_dict_refuses_totals_that_do_not_add_up() -> None:
    ledger = CostLedger(price=fake_price)
    ledger.record("analyze", call("small", 10, 1))
    state = json.loads(json.dumps(ledger.to_dict()))
    state["spent_usd"] = "0.0001"
    with pytest.raises(ConfigError, match="spent_usd: does not equal the sum"):
        CostLedger.from_dict(state, price=fake_price)


def test_an_empty_state_is_a_fresh_ledger() -> None:
    ledger = CostLedger.from_dict({}, price=fake_price)
    assert ledger.spent_usd == 0
    assert ledger.budget_usd == Decimal("0.50")
    assert CostLedger.from_dict({}, budget_usd="2", price=fake_price).budget_usd == 2


def test_the_ledger_survives_pickling_for_step_processes() -> None:
    ledger = CostLedger(0.25)
    ledger.record("analyze", CallRecord(DEFAULT_HAIKU, Usage(10, 1)))
    copy = pickle.loads(pickle.dumps(ledger))
    assert copy.to_dict() == ledger.to_dict()
    copy.record("analyze", CallRecord(DEFAULT_HAIKU, Usage(10, 1)))  # its lock works
    assert copy.spent_usd == 2 * ledger.spent_usd
