"""Which Claude models micro-gastown may call, what the names mean, and what a call costs.

Policy: Haiku only. Log analysis needs speed, not depth, and Haiku costs a
fraction of Sonnet or Opus, so :func:`resolve_model` refuses every other model unless the
user passes ``--allow-non-haiku``. Names resolve as:

==============================  ==============================  ===============================
name                            resolves to                     why
==============================  ==============================  ===============================
``haiku``, ``claude-haiku``     ``claude-haiku-4-5-20251001``   our aliases for "the Haiku"
``claude-haiku-4-20250514``     ``claude-haiku-4-5-20251001``   the upstream polecats' id; no
                                                                such model was ever published
``claude-haiku-4-5``            ``claude-haiku-4-5-20251001``   Anthropic's alias of that
                                                                snapshot, pinned so the ledger
                                                                and cassettes name one id
``claude-haiku-5-5``            itself                          newer Haiku, opt-in by id
==============================  ==============================  ===============================

The aliases point at the dated Haiku 4.5 snapshot rather than at Haiku 5.5 (released
2026-10-07, cheaper per token) on purpose: Haiku 5.5 thinks adaptively by default, and
thinking cannot be combined with the forced output tool our structured output relies on;
it rejects ``temperature``; its tokenizer counts ~30% more tokens for the same text; and it
bills a whole request at 5x when its prompt passes 100,000 tokens. The backend handles all
of that when a polecat names ``claude-haiku-5-5`` explicitly (see ``ModelInfo``), but the
default stays on the model whose behaviour the cassettes pin.

Prices are USD per million tokens from Anthropic's pricing page and model pages, checked
2026-11 (https://platform.claude.com/docs/en/about-claude/pricing,
https://platform.claude.com/docs/en/models/haiku-5-5/overview). "Cache write" is the
5-minute cache (the only one the backend uses); "cache read" is a cache hit.
:func:`price` is exact: Decimal arithmetic on the table, no rounding at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from micro_gastown.errors import ModelPolicyError
from micro_gastown.llm.base import Usage

DEFAULT_HAIKU = "claude-haiku-4-5-20251001"

_MILLION = Decimal(1_000_000)


class ModelFamily(StrEnum):
    HAIKU = "haiku"
    SONNET = "sonnet"
    OPUS = "opus"


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per million tokens, by kind of token."""

    input: Decimal
    output: Decimal
    cache_write: Decimal
    """Writing the 5-minute prompt cache (1.25x input)."""
    cache_read: Decimal
    """A cache hit (0.1x input, or less on newer models)."""

    def cost(self, usage: Usage) -> Decimal:
        """Exact USD for ``usage`` at these prices."""
        micro = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        )
        return micro / _MILLION


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the policy, the ledger and the backend need to know about one model id."""

    id: str
    family: ModelFamily
    prices: Prices
    long_prompt_prices: Prices | None = None
    """Rates for a whole request whose prompt (input + cache reads + cache writes) is over
    ``long_prompt_threshold`` tokens, for models priced in two bands."""
    long_prompt_threshold: int = 0
    accepts_temperature: bool = True
    """Newer models reject sampling parameters (400); the backend then omits them."""
    adaptive_thinking: bool = False
    """Thinks by default; the backend turns thinking off so it can force the output tool."""

    def prices_for(self, usage: Usage) -> Prices:
        if self.long_prompt_prices is None:
            return self.prices
        prompt = usage.input_tokens + usage.cache_read_input_tokens
        prompt += usage.cache_creation_input_tokens
        return self.long_prompt_prices if prompt > self.long_prompt_threshold else self.prices


def _usd(input: str, output: str, cache_write: str, cache_read: str) -> Prices:
    return Prices(Decimal(input), Decimal(output), Decimal(cache_write), Decimal(cache_read))


_SONNET_4 = _usd("3", "15", "3.75", "0.30")
_OPUS_4_5 = _usd("5", "25", "6.25", "0.50")

_MODELS = (
    ModelInfo(DEFAULT_HAIKU, ModelFamily.HAIKU, _usd("1", "5", "1.25", "0.10")),
    ModelInfo(
        "claude-haiku-5-5",
        ModelFamily.HAIKU,
        _usd("0.10", "0.50", "0.125", "0.01"),
        long_prompt_prices=_usd("0.50", "2.50", "0.625", "0.05"),
        long_prompt_threshold=100_000,
        accepts_temperature=False,
        adaptive_thinking=True,
    ),
    # Known so that --allow-non-haiku can price them; the policy refuses them otherwise.
    ModelInfo("claude-sonnet-4-5-20250929", ModelFamily.SONNET, _SONNET_4),
    ModelInfo("claude-sonnet-4-6", ModelFamily.SONNET, _SONNET_4),
    ModelInfo("claude-opus-4-5-20251101", ModelFamily.OPUS, _OPUS_4_5),
    ModelInfo("claude-opus-4-6", ModelFamily.OPUS, _OPUS_4_5),
    ModelInfo("claude-opus-4-7", ModelFamily.OPUS, _OPUS_4_5, accepts_temperature=False),
    ModelInfo("claude-opus-4-8", ModelFamily.OPUS, _OPUS_4_5, accepts_temperature=False),
)

MODELS: Mapping[str, ModelInfo] = MappingProxyType({info.id: info for info in _MODELS})
"""Every model id micro-gastown knows, by canonical id."""

ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "haiku": DEFAULT_HAIKU,
        "claude-haiku": DEFAULT_HAIKU,
        "claude-haiku-4-20250514": DEFAULT_HAIKU,  # upstream's id; never published
        "claude-haiku-4-5": DEFAULT_HAIKU,
        "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
        "claude-opus-4-5": "claude-opus-4-5-20251101",
    }
)
"""Other names for known ids (matched case-insensitively)."""

PRICES: Mapping[str, Prices] = MappingProxyType({info.id: info.prices for info in _MODELS})
"""USD per million tokens by canonical id (Haiku 5.5's short-prompt band; see MODELS)."""


def _canonical(name: str) -> str | None:
    key = name.strip().lower()
    if key in MODELS:
        return key
    return ALIASES.get(key)


_NON_HAIKU_WORDS = ("sonnet", "opus", "fable", "mythos")


def _looks_non_haiku(name: str) -> bool:
    """An id we do not list but that is plainly another family (``claude-sonnet-5``)."""
    key = name.lower()
    return "haiku" not in key and any(word in key for word in _NON_HAIKU_WORDS)


def resolve_model(name: str, allow_non_haiku: bool = False) -> str:
    """The canonical id ``name`` stands for, if the Haiku-only policy lets us call it.

    Raises :class:`~micro_gastown.errors.ModelPolicyError` for a non-Haiku model without
    ``allow_non_haiku`` (naming that setting), and for any name this table cannot price.
    """
    canonical = _canonical(name)
    family = MODELS[canonical].family if canonical else None
    if not allow_non_haiku and (
        family not in (None, ModelFamily.HAIKU) or (family is None and _looks_non_haiku(name))
    ):
        raise ModelPolicyError(
            f"model {name!r} is not a Haiku model; micro-gastown runs Haiku only "
            f"(use 'haiku' = {DEFAULT_HAIKU}), or allow non-Haiku models",
            setting="allow_non_haiku",
        )
    if canonical is None:
        raise ModelPolicyError(
            f"unknown model {name!r}: micro-gastown has no price for it; use one of "
            f"{', '.join(_known_names(allow_non_haiku))}"
        )
    return canonical


def _known_names(include_non_haiku: bool) -> list[str]:
    names = [*ALIASES, *MODELS]
    if include_non_haiku:
        return names
    return [name for name in names if MODELS[ALIASES.get(name, name)].family is ModelFamily.HAIKU]


def model_info(name: str) -> ModelInfo:
    """The table entry for an id or alias, without applying the policy (pricing a call
    that was already made needs no permission)."""
    canonical = _canonical(name)
    if canonical is None:
        raise ModelPolicyError(f"unknown model {name!r}: no price is known for it")
    return MODELS[canonical]


def price_decimal(model: str, usage: Usage) -> Decimal:
    """Exact USD cost of one call of ``model`` with ``usage``."""
    info = model_info(model)
    return info.prices_for(usage).cost(usage)


def price(model: str, usage: Usage) -> float:
    """USD cost of one call of ``model`` with ``usage``, as a float.

    Computed exactly in Decimal and converted once. Not rounded to micro-dollars: single
    tokens cost less than that (a Haiku 4.5 cache write is $0.00000125), and a ledger that
    sums calls must get back exactly usage times the table. Every figure here has at most
    nine decimal places, so for any cost below $1,000,000 the float's shortest repr is the
    exact Decimal (``Decimal(repr(price(...))) == price_decimal(...)``).
    """
    return float(price_decimal(model, usage))
