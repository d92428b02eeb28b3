"""servers/money.py: prices in PRICE_CURRENCY, in the active language; the setting itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.utils import translation

from servers.money import money
from tests.test_settings import ROOT


@pytest.mark.parametrize(
    ("language", "currency", "amount", "exact", "text"),
    [
        ("en", "USD", Decimal("5.00"), False, "$5.00"),
        ("pt-br", "USD", Decimal("5.00"), False, "US$\xa05,00"),
        ("en", "USD", Decimal("1234.5"), False, "$1,234.50"),
        ("pt-br", "USD", Decimal("1234.5"), False, "US$\xa01.234,50"),
        ("en", "EUR", 20, False, "€20.00"),
        ("pt-br", "EUR", 20, False, "€\xa020,00"),
        ("en", "USD", Decimal("0.007"), True, "$0.007"),
        ("en", "USD", Decimal("0.007"), False, "$0.01"),
        ("pt-br", "USD", 0.014, True, "US$\xa00,014"),
    ],
)
def test_prices_follow_the_language_and_the_currency(
    settings, language, currency, amount, exact, text
) -> None:
    settings.PRICE_CURRENCY = currency
    with translation.override(language):
        assert money(amount, exact=exact) == text


def test_no_price_is_empty() -> None:
    assert money(None) == ""


def currency_setting(**env: str) -> subprocess.CompletedProcess[str]:
    """settings.PRICE_CURRENCY in a fresh process (settings are read once per process)."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "PRICE_CURRENCY"}}
    probe = (
        "import django, json; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.PRICE_CURRENCY))"
    )
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "panel.settings", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("raw", "expected"), [(None, "USD"), ("eur", "EUR"), (" BRL ", "BRL")])
def test_the_currency_defaults_to_usd_and_is_read_as_a_code(raw, expected) -> None:
    result = currency_setting(**({} if raw is None else {"PRICE_CURRENCY": raw}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


@pytest.mark.parametrize("raw", ["US", "DOLLAR", "U$D", "12A"])
def test_a_bad_currency_fails_loudly(raw: str) -> None:
    result = currency_setting(PRICE_CURRENCY=raw)
    assert result.returncode != 0
    assert "PRICE_CURRENCY must be a three-letter ISO 4217 code" in result.stderr
