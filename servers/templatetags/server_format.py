"""Formatting for the server pages: sizes, relative times. Filters, not includes, so a
100-row list stays a single template pass."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from servers.catalog import Location, location
from servers.money import money

register = template.Library()


def _number(value: float) -> str:
    # 4.0 -> "4", 1.5 -> "1.5": sizes read better without a trailing ".0".
    rounded = round(float(value), 1)
    if rounded.is_integer():
        return number_format(int(rounded))
    return number_format(rounded, decimal_pos=1)


@register.filter
def megabytes(value: float | int | None) -> str:
    """A size the API gives in MB (memory): "512 MB", "4 GB", "1.5 GB"."""
    if value is None:
        return ""
    if abs(value) >= 1024:
        return _("%(size)s GB") % {"size": _number(value / 1024)}
    return _("%(size)s MB") % {"size": _number(value)}


@register.filter
def gigabytes(value: float | int | None) -> str:
    """A size the API gives in GB (disk, bandwidth): "80 GB", "2 TB"."""
    if value is None:
        return ""
    if abs(value) >= 1024:
        return _("%(size)s TB") % {"size": _number(value / 1024)}
    return _("%(size)s GB") % {"size": _number(value)}


@register.filter
def price(value: Decimal | float | None) -> str:
    if value is None:
        return ""
    return number_format(value, decimal_pos=2)


@register.filter(name="money")
def money_filter(value: Decimal | float | None) -> str:
    """A price in PRICE_CURRENCY, the user's language's way (servers/money.py)."""
    return money(value)


@register.filter
def money_exact(value: Decimal | float | None) -> str:
    """An hourly price with every decimal VPS.org gave ($0.007, not $0.01)."""
    return money(value, exact=True)


# (seconds in the unit, unit); months and years are approximate, as "ago" texts are.
_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


@lru_cache(maxsize=1024)
def _ago_text(language: str | None, unit: str, n: int) -> str:
    # Cached per language: a 100-row list would otherwise ask gettext 100 times.
    if unit == "now":
        return _("just now")
    if unit == "year":
        return ngettext("%(n)d year ago", "%(n)d years ago", n) % {"n": n}
    if unit == "month":
        return ngettext("%(n)d month ago", "%(n)d months ago", n) % {"n": n}
    if unit == "week":
        return ngettext("%(n)d week ago", "%(n)d weeks ago", n) % {"n": n}
    if unit == "day":
        return ngettext("%(n)d day ago", "%(n)d days ago", n) % {"n": n}
    if unit == "hour":
        return ngettext("%(n)d hour ago", "%(n)d hours ago", n) % {"n": n}
    return ngettext("%(n)d minute ago", "%(n)d minutes ago", n) % {"n": n}


@register.filter
def ago(value: datetime | None) -> str:
    """ "3 days ago"; the exact time goes in the <time title> beside it."""
    if value is None:
        return ""
    return ago_text(value, timezone.now(), get_language())


def ago_text(value: datetime, now: datetime, language: str | None) -> str:
    """`ago` with the time and language given: a list asks for them once, not per row."""
    seconds = (now - value).total_seconds()
    # A clock slightly ahead upstream must not read as "in 2 minutes".
    if seconds >= 60:
        for size, unit in _UNITS:
            if seconds >= size:
                return _ago_text(language, unit, int(seconds // size))
    return _ago_text(language, "now", 0)


@register.filter
def iso(value: datetime | None) -> str:
    """For <time datetime>: ISO 8601 in UTC, seconds precision."""
    if value is None:
        return ""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


@register.filter
def exact(value: datetime | None) -> str:
    """For the hover title beside a relative time: "2025-01-10 14:30 UTC"."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@lru_cache(maxsize=1024)
def _plan_specs(
    language: str | None, vcpus: int | None, memory: int | None, storage: int | None
) -> str:
    parts = []
    if vcpus is not None:
        parts.append(ngettext("%(n)s vCPU", "%(n)s vCPUs", vcpus) % {"n": vcpus})
    if memory is not None:
        parts.append(megabytes(memory))
    if storage is not None:
        parts.append(gigabytes(storage))
    return " · ".join(parts)


def plan_specs_text(plan: Any, language: str | None) -> str:
    """ "2 vCPUs · 4 GB · 80 GB" for a list row (presenters.RowMaker)."""
    return _plan_specs(language, plan.vcpus, plan.memory, plan.storage)


# --- The list's cells ----------------------------------------------------------------------
# The list's rows (templates/servers/_server.jinja.html) take these words once per render.


@register.filter
def place(code: str) -> Location:
    """`{% with place=server.location|place %}`: the datacenter's city and country."""
    return location(code)


@lru_cache(maxsize=16)
def row_labels(language: str | None) -> dict[str, str]:
    """The narrow-screen card labels of the cells, once per language."""
    return {
        "hostname": _("Hostname"),
        "status": _("Status"),
        "ipv4": _("IPv4"),
        "location": _("Location"),
        "plan": _("Plan"),
        "os": _("OS"),
        "created": _("Created"),
        "no_ip": _("not yet assigned"),
        "actions": _("Actions"),
        "suspended": _(
            "Only VPS.org can lift this: ask the account owner to contact VPS.org support."
        ),
        "protected": _("Protected from deletion"),
        # The bulk checkbox's accessible name, "Select web-01".
        "select": _("Select %(name)s"),
    }
