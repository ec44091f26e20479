"""Dollars as exact decimals: how the ledger rounds, stores and prints amounts.

Money is :class:`~decimal.Decimal` dollars, never float. An amount is rounded to the
picodollar (1e-12 USD): every per-token price in the table is a whole multiple of far
larger amounts (a Haiku 5.5 cache read, $0.01 per million tokens, is 1e-8 USD a token), so
the rounding keeps every real price exact and only removes the float noise a custom price
function may add. Stored amounts are plain decimal strings (``"0.0123"``), so they read back
as the same numbers.

Amounts are also bounded (``MAX_USD``): a file or a flag claiming more dollars than anyone
spends on model calls is a mistake or a hostile input, and refusing it here keeps the
arithmetic inside the 40 digits the ledger computes with.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

PICODOLLAR = Decimal("1e-12")
MAX_USD = Decimal("1e12")
"""A trillion dollars: far above any budget, and exact at picodollar precision."""
MONEY_CONTEXT = Context(prec=40)


def to_money(amount: float | Decimal | int | str) -> Decimal:
    """``amount`` dollars as an exact Decimal rounded to the picodollar.

    A float goes through its shortest repr (``0.1`` becomes ``Decimal("0.1")``, not the
    binary expansion). Raises ValueError for negative, infinite, non-numeric or absurdly
    large (over ``MAX_USD``) amounts: a price function or backend returning one is a bug,
    and a file or flag holding one is refused by its reader.
    """
    if isinstance(amount, bool):
        raise ValueError(f"not an amount of dollars: {amount!r}")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount of dollars: {amount!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a non-negative amount of dollars: {amount!r}")
    if value > MAX_USD:
        raise ValueError(f"more than ${MAX_USD:,f} is not a plausible amount: {amount!r}")
    return value.quantize(PICODOLLAR, rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT)


def money_text(amount: Decimal) -> str:
    """The stored form of an amount: plain decimal notation, no trailing zeros."""
    return format(amount.normalize(MONEY_CONTEXT), "f")


def format_usd(amount: Decimal, places: int = 4) -> str:
    """``$0.0123``; amounts too small to show at ``places`` read ``<$0.0001``."""
    step = Decimal(1).scaleb(-places)
    if 0 < amount < step:
        return f"<${step}"
    return f"${amount.quantize(step, rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT)}"


def format_budget(amount: Decimal) -> str:
    """``$0.50``: at least cents, more digits only when the budget has them."""
    if amount == amount.quantize(Decimal("0.01"), context=MONEY_CONTEXT):
        return f"${amount.quantize(Decimal('0.01'), context=MONEY_CONTEXT)}"
    return f"${money_text(amount)}"
