"""The Haiku-only policy, the alias table and the price table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from micro_gastown.cli.flags import worded
from micro_gastown.errors import LlmError, ModelPolicyError
from micro_gastown.llm.base import Usage
from micro_gastown.llm.models import (
    DEFAULT_HAIKU,
    PRICES,
    model_info,
    price,
    price_decimal,
    resolve_model,
)


@pytest.mark.parametrize(
    "name",
    ["haiku", "claude-haiku", "claude-haiku-4-20250514", "claude-haiku-4-5", " Haiku "],
)
def test_haiku_aliases_resolve_to_the_dated_haiku_4_5(name: str) -> None:
    assert resolve_model(name) == DEFAULT_HAIKU == "claude-haiku-4-5-20251001"


@pytest.mark.parametrize("name", [DEFAULT_HAIKU, "claude-haiku-5-5"])
def test_haiku_ids_resolve_to_themselves(name: str) -> None:
    assert resolve_model(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "claude-sonnet-4-6",
        "claude-opus-4-8",
        "claude-sonnet-4-5",  # an alias of a known id
        "claude-sonnet-5",  # not in the table, but plainly not Haiku
        "sonnet",
        "claude-fable-5-1",
    ],
)
def test_non_haiku_models_are_refused_naming_the_flag(name: str) -> None:
    with pytest.raises(ModelPolicyError) as caught:
        resolve_model(name)
    assert worded(caught.value).startswith("--allow-non-haiku: ")
    assert isinstance(caught.value, LlmError)
    assert "not a Haiku model" in str(caught.value)


def test_allowed_non_haiku_models_resolve_to_their_dated_ids() -> None:
    assert resolve_model("claude-sonnet-4-5", allow_non_haiku=True) == "claude-sonnet-4-5-20250929"
    assert resolve_model("claude-opus-4-8", allow_non_haiku=True) == "claude-opus-4-8"


@pytest.mark.parametrize("allow", [False, True])
@pytest.mark.parametrize("name", ["gpt-4o", "claude-haiku-3", "claude-3-5-haiku-20241022", ""])
def test_unknown_models_are_refused_because_they_cannot_be_priced(name: str, allow: bool) -> None:
    with pytest.raises(ModelPolicyError, match="no price") as caught:
        resolve_model(name, allow_non_haiku=allow)
    assert "haiku" in str(caught.value)  # names what would work


def test_an_allowed_but_unpriced_model_is_still_refused() -> None:
    with pytest.raises(ModelPolicyError, match="unknown model 'claude-sonnet-5'"):
        resolve_model("claude-sonnet-5", allow_non_haiku=True)


def test_price_table_rates_for_the_default_haiku() -> None:
    rates = PRICES[DEFAULT_HAIKU]
    assert (rates.input, rates.output, rates.cache_write, rates.cache_read) == (
        Decimal("1"),
        Decimal("5"),
        Decimal("1.25"),
        Decimal("0.10"),
    )


def test_price_of_a_haiku_4_5_call_by_hand() -> None:
    usage = Usage(
        input_tokens=1234,
        output_tokens=567,
        cache_read_input_tokens=8901,
        cache_creation_input_tokens=2345,
    )
    # 1234 * $1 + 567 * $5 + 2345 * $1.25 + 8901 * $0.10 = $7,890.35 per million calls
    assert price_decimal("haiku", usage) == Decimal("0.00789035")
    assert price("haiku", usage) == 0.00789035


def test_haiku_5_5_up_to_100k_prompt_tokens_is_the_short_band() -> None:
    usage = Usage(50_000, 2_000, cache_read_input_tokens=40_000, cache_creation_input_tokens=10_000)
    # prompt = 50,000 + 40,000 + 10,000 = 100,000: not over the threshold
    # 50,000 * $0.10 + 2,000 * $0.50 + 10,000 * $0.125 + 40,000 * $0.01 = $7,650 / 1e6
    assert price_decimal("claude-haiku-5-5", usage) == Decimal("0.00765")


def test_haiku_5_5_over_100k_prompt_tokens_bills_every_token_at_the_long_band() -> None:
    usage = Usage(50_001, 2_000, cache_read_input_tokens=40_000, cache_creation_input_tokens=10_000)
    # 50,001 * $0.50 + 2,000 * $2.50 + 10,000 * $0.625 + 40,000 * $0.05 = $38,250.5 / 1e6
    assert price_decimal("claude-haiku-5-5", usage) == Decimal("0.0382505")


def test_price_is_exact_below_a_micro_dollar() -> None:
    one_cache_write = Usage(cache_creation_input_tokens=1)
    assert price(DEFAULT_HAIKU, one_cache_write) == 1.25e-06
    one_cache_read = Usage(cache_read_input_tokens=1)
    assert price("claude-haiku-5-5", one_cache_read) == 1e-08


@pytest.mark.parametrize("model", ["haiku", "claude-haiku-5-5", "claude-opus-4-8"])
def test_the_float_price_reads_back_as_the_exact_decimal(model: str) -> None:
    usage = Usage(123_457, 98_765, 4_321_987, 7_777)
    assert Decimal(repr(price(model, usage))) == price_decimal(model, usage)


def test_pricing_needs_no_permission_but_a_known_model() -> None:
    assert model_info("claude-sonnet-4-6").prices.output == Decimal("15")
    assert price("claude-sonnet-4-6", Usage(output_tokens=1_000_000)) == 15.0
    with pytest.raises(ModelPolicyError, match="unknown model"):
        price("gpt-4o", Usage(1, 1))
