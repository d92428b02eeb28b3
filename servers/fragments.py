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
from markupsafe import Markup, escape

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


# Rendered rows, by what they show (Row.shown()) and how (language, oob, with a CSRF
# field or not): a list page or a live poll mostly shows rows already rendered for the
# same team a moment ago, and a row's markup is the page's largest cost (about 70 us
# each in Jinja2). The CSRF token differs per request: the markup holds a marker, and
# the joined rows get the request's token. Bounded: emptied when full, per worker.
_ROWS_MEMO: dict[tuple[Any, ...], str] = {}
ROWS_MEMO_SIZE = 5000
# Put in unescaped (Markup): escaped values never hold a "<", so the marker is only ever
# where the template put the token.
_CSRF_MARK = Markup("<csrf-token>")


def rows(values: Sequence[Row], csrf_token: str, *, oob: bool = False) -> SafeString:
    language = get_language()
    servers_url = reverse("servers:list")
    csrf = _csrf(csrf_token)
    mark = _CSRF_MARK if csrf else ""
    memo = _ROWS_MEMO
    parts = []
    for value in values:
        key = (language, servers_url, oob, bool(csrf), value.shown())
        markup = memo.get(key)
        if markup is None:
            labels = row_labels(language)
            markup = str(_macros().rows([value], servers_url, mark, labels, oob))
            if len(memo) >= ROWS_MEMO_SIZE:
                memo.clear()
            memo[key] = markup
        parts.append(markup)
    joined = "".join(parts)
    return _safe(joined.replace(mark, escape(csrf)) if mark else joined)


def _csrf(token: Any) -> str:
    # Django's stand-in when no token was made for the request.
    value = str(token or "")
    return "" if value == "NOTPROVIDED" else value
