"""Formatting for the server pages: sizes, relative times. Filters, not includes, so a
100-row list stays a single template pass."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

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


@register.filter
def ago(value: datetime | None) -> str:
    """ "3 days ago"; the exact time goes in the <time title> beside it."""
    if value is None:
        return ""
    now = timezone.now()
    # A clock slightly ahead upstream must not read as "in 2 minutes".
    if value >= now or (now - value).total_seconds() < 60:
        return _("just now")
    return _("%(delta)s ago") % {"delta": timesince(value, now, depth=1)}
