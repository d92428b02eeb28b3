"""Renders the server fragments of templates/servers/_server.jinja.html (a row, a badge,
the power buttons) for the Django templates (servers_tags) and the live endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.template import engines
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from servers.presenters import Badge, PowerButton, Row
from servers.templatetags.server_format import row_labels

TEMPLATE = "servers/_server.jinja.html"


@cache
def _macros() -> Any:
    # Jinja2's own template (not the Django wrapper): its macros are called directly,
    # once per row, without building a context each time.
    return engines["jinja2"].env.get_template(TEMPLATE).module  # type: ignore[attr-defined]


def _safe(markup: Any) -> SafeString:
    # Jinja2 escaped every value (autoescape); its Markup becomes Django's SafeString.
    return mark_safe(str(markup))  # noqa: S308


def badge(value: Badge) -> SafeString:
    return _safe(_macros().badge(value))


def buttons(items: Sequence[PowerButton], name: str, within: str, csrf_token: str) -> SafeString:
    target, size = ("#server-card", "") if within == "card" else ("closest tr", " small")
    return _safe(_macros().buttons(items, name, target, size, _csrf(csrf_token)))


def row(value: Row, csrf_token: str, *, oob: bool = False) -> SafeString:
    return rows([value], csrf_token, oob=oob)


def rows(values: Sequence[Row], csrf_token: str, *, oob: bool = False) -> SafeString:
    labels = row_labels(get_language())
    return _safe(_macros().rows(values, reverse("servers:list"), _csrf(csrf_token), labels, oob))


def _csrf(token: Any) -> str:
    # Django's stand-in when no token was made for the request.
    value = str(token or "")
    return "" if value == "NOTPROVIDED" else value
