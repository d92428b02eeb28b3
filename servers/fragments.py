"""Renders the server fragments of templates/servers/_server.jinja.html (a row, a badge,
the power buttons) for the Django templates (servers_tags) and the live endpoints."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import engines
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from markupsafe import Markup, escape

from servers import client as vpsorg
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
# where the template put the token. Passed as the token itself, it stays in the markup
# (results_memo), for with_csrf() to replace.
CSRF_MARK = Markup("<csrf-token>")
_CSRF_MARK_BYTES = CSRF_MARK.encode()


def with_csrf(markup: bytes, request: HttpRequest) -> bytes:
    """UTF-8 markup rendered with CSRF_MARK for its token, with the request's token instead."""
    if _CSRF_MARK_BYTES not in markup:
        return markup
    return markup.replace(_CSRF_MARK_BYTES, escape(get_token(request)).encode())


def rows(values: Sequence[Row], csrf_token: str, *, oob: bool = False) -> SafeString:
    keep_mark = csrf_token is CSRF_MARK
    language = get_language()
    servers_url = reverse("servers:list")
    csrf = _csrf(csrf_token)
    mark = CSRF_MARK if csrf else ""
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
    return _safe(joined.replace(mark, escape(csrf)) if mark and not keep_mark else joined)


def _csrf(token: Any) -> str:
    # Django's stand-in when no token was made for the request.
    value = str(token or "")
    return "" if value == "NOTPROVIDED" else value


@dataclass(frozen=True, slots=True)
class RenderedResults:
    """The list's results as rendered for one answer of VPS.org (results_memo)."""

    servers: list[vpsorg.Server]
    # Rendered with CSRF_MARK for the token and a slot for the live poller, whose URL
    # carries the time of the answer: both are put in per request.
    markup: bytes  # UTF-8
    # What else the page needs of that render: the state it showed (its page clamped to
    # the pages there are) and its rows, for the poller (presenters.rows_poller).
    state: Any
    rows: Sequence[Row]


class ResultsMemo:
    """The list's results last rendered in this worker, by who looks at what (the team,
    the viewer's role, the language, the filters and page, the protected servers).

    A page asks VPS.org afresh every time and mostly hears the same servers again (a
    reload, a return to the list, a teammate with the same role): when the answer
    equals, server for server, the one rendered at most `seconds` ago, that markup is
    used again instead of the rows' context and the template. Relative times ("2
    minutes ago") are then right to within `seconds`; a render with a server in
    transition is not kept (its poller counts the time since). Bounded: emptied when
    full, like the rows' memo (and, like it, a plain dict the request threads share);
    its entries are a page of markup each.
    """

    def __init__(self, seconds: float, size: int, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        # key -> (when it was rendered, by `clock`; the render)
        self._entries: dict[Hashable, tuple[float, RenderedResults]] = {}

    def get(self, key: Hashable, servers: list[vpsorg.Server]) -> RenderedResults | None:
        found = self._entries.get(key)
        if found is None:
            return None
        rendered_at, entry = found
        if self.clock() - rendered_at > self.seconds or entry.servers != servers:
            return None
        return entry

    def keep(self, key: Hashable, entry: RenderedResults) -> None:
        if len(self._entries) >= self.size and key not in self._entries:
            self._entries.clear()
        self._entries[key] = (self.clock(), entry)

    def clear(self) -> None:
        self._entries.clear()


results_memo = ResultsMemo(seconds=10.0, size=32, clock=time.monotonic)
