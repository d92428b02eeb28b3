"""Prices in the currency of settings.PRICE_CURRENCY, written the way the user's language
writes money (Babel's CLDR data): "$5.00" in English, "US$ 5,00" in Brazilian Portuguese."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency
from django.conf import settings
from django.utils.translation import get_language, to_locale


@lru_cache(maxsize=32)
def _locale(language: str | None) -> Locale:
    try:
        return Locale.parse(to_locale(language or settings.LANGUAGE_CODE))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def money(amount: Decimal | float | int | None, *, exact: bool = False) -> str:
    """A price in the active language, "" for None. `exact` keeps every decimal the API
    gave (an hourly price of 0.007 stays $0.007 instead of rounding to $0.01)."""
    if amount is None:
        return ""
    return format_currency(
        Decimal(str(amount)),
        settings.PRICE_CURRENCY,
        locale=_locale(get_language()),
        decimal_quantization=not exact,
    )
