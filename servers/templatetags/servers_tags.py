"""The list's rows, the status badge and the power buttons, rendered in Python.

A list may hold 100 servers. A template pass per row (a partial with a dozen tags and
variables) costs about half a millisecond, so a row is one f-string here instead, every
value escaped, and what all rows of a render share (words, URLs, the CSRF field, the
role) is built once per render: `RowKit`. `row_html()` is the one source of a row's
markup: the list page renders all its rows with `{% server_rows servers %}`, and the
`servers/list.html#row` partial (the htmx power actions and the list poller, through
servers/power.py render_row) with `{% server_row server %}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from html import escape as _html_escape
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from panel.models import Role
from servers import status as status_rules
from servers.templatetags.server_format import ago_text, exact, iso, plan_specs_text, row_labels

register = template.Library()

_CSS_SAFE = re.compile(r"[^a-z0-9-]")

# Where a polling badge sits decides what replaces what once it settles.
WITHIN = ("card", "row")

# A stand-in id (letters, digits, hyphens, like real ids) that marks where each row's own
# id goes in a URL reversed once per render.
_ID_MARK = "0-server-id-0"


def _esc(value: Any) -> str:
    """Django's escape() without its lazy-string and SafeString wrapping (what it does
    underneath: html.escape of str()), for the hot loop of a 100-row list."""
    return _html_escape(str(value))


# --- The status badge -------------------------------------------------------------------


@lru_cache(maxsize=16)
def _badge_looks(language: str | None) -> dict[str, tuple[str, str]]:
    """(CSS suffix, escaped label) of each known status, and of a missing one, per
    language."""
    looks = {
        status: (_CSS_SAFE.sub("", status.lower()), _esc(status_rules.label(status)))
        for status in status_rules.LABELS
    }
    looks[""] = ("unknown", _esc(_("Unknown")))
    return looks


@lru_cache(maxsize=16)
def _settled_badges(language: str | None) -> dict[str, str]:
    """A settled badge depends on its status alone: made once per language."""
    looks = _badge_looks(language)
    return {
        status: (
            f'<span class="badge badge-{looks[status][0]}" data-status="{_esc(status)}">'
            f"{looks[status][1]}</span>"
        )
        for status in status_rules.SETTLED
    }


@register.simple_tag(takes_context=True)
def status_badge(context: template.Context, server: Any, poll: bool | str = False) -> SafeString:
    """`{% status_badge server %}`, or `{% status_badge server poll="card" %}`."""
    return badge_html(server, poll=poll, team=context.get("team"))


def badge_html(
    server: Any, *, poll: bool | str = False, team: Any = None, language: str | None = None
) -> SafeString:
    """`<span class="badge badge-STATUS" data-status="RAW">Label</span>`.

    The only element that carries data-status, with the status exactly as the API sent
    it. A server in transition (or in a status the panel does not know) is marked
    `data-transition`; the list page's single poller watches those. With `poll="card"`
    (or "row") the badge polls its own URL instead: hx-get plus a trigger that
    static/js/panel.js fires on its schedule (2 s, backing off, paused while the tab is
    hidden). A settled badge carries neither, so polling stops there.
    """
    raw = getattr(server, "status", "") or ""
    language = language or get_language()
    if status_rules.is_settled(raw):
        return mark_safe(_settled_badges(language)[raw])  # noqa: S308 - escaped there
    # Unknown: shown as it came.
    css, text = _badge_looks(language).get(raw) or ("unknown", _esc(raw))
    raw_html = _esc(raw)
    if not poll:
        # The name lets the poller word its note if the server is deleted meanwhile.
        name = _esc(getattr(server, "name", "") or "")
        html = (
            f'<span class="badge badge-{css}" data-status="{raw_html}" data-transition'
            f' data-name="{name}">{text}</span>'
        )
    else:
        query = {"within": poll if poll in WITHIN else "card"}
        if team is not None:
            # A tab left on another team after a switch elsewhere reloads instead of
            # asking the new team about this one's server.
            query["team"] = team.pk
        url = _esc(f"{reverse('servers:status', args=[server.id])}?{urlencode(query)}")
        html = (
            f'<span class="badge badge-{css}" id="status-{_esc(server.id)}"'
            f' data-status="{raw_html}" data-transition data-poll hx-get="{url}"'
            f' hx-trigger="panel:poll" hx-swap="outerHTML">{text}</span>'
        )
    # Every dynamic part above went through _esc().
    return mark_safe(html)  # noqa: S308


# --- The power buttons ------------------------------------------------------------------


def _power_texts() -> dict[str, dict[str, str]]:
    """The buttons' words in the current language, escaped; %(name)s is the server's
    (escaped) name."""
    texts = {
        "start": {"label": _("Start"), "busy": _("Starting…"), "css": ""},
        "stop": {
            "label": _("Stop"),
            "busy": _("Stopping…"),
            "css": " danger",
            "confirm": _(
                "Stop %(name)s? It shuts down and stays off until someone starts it again."
            ),
            "title": _("Stop %(name)s?"),
            "detail": _("It shuts down and stays off until someone starts it again."),
        },
        "reboot": {
            "label": _("Reboot"),
            "busy": _("Rebooting…"),
            "css": "",
            "confirm": _("Reboot %(name)s? It will be unreachable for a moment while it restarts."),
            "title": _("Reboot %(name)s?"),
            "detail": _("It will be unreachable for a moment while it restarts."),
        },
    }
    # Escaping the template and then the name gives what escaping the whole would:
    # %(name)s itself holds nothing to escape.
    return {
        action: {key: value if key == "css" else _esc(value) for key, value in words.items()}
        for action, words in texts.items()
    }


def can_operate(membership: Any) -> bool:
    return membership is not None and membership.has_role(Role.OPERATOR)


@dataclass(frozen=True, slots=True)
class PowerKit:
    """What the buttons of every server of one render share."""

    allowed: bool
    texts: dict[str, dict[str, str]]
    urls: dict[str, str]
    csrf: str
    target: str
    size: str
    group: str
    # The buttons of each set of actions, with marks where a row's id and name go.
    shapes: dict[tuple[str, ...], str] = field(default_factory=dict)


# Where a row's escaped name goes in a shape. escape() leaves a NUL as it is, so a
# value holding one takes the long way instead (no real name or id does).
_NAME_MARK = "\x00name\x00"


def power_kit(membership: Any, csrf_token: Any, within: str) -> PowerKit:
    csrf = str(csrf_token or "")
    allowed = can_operate(membership)
    return PowerKit(
        allowed=allowed,
        texts=_power_texts() if allowed else {},
        urls=(
            {
                action: _esc(reverse("servers:power", args=[_ID_MARK, action]))
                for action in ("start", "stop", "reboot")
            }
            if allowed
            else {}
        ),
        csrf=(
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{_esc(csrf)}">'
            if csrf and csrf != "NOTPROVIDED"
            else ""
        ),
        target="#server-card" if within == "card" else "closest tr",
        size="" if within == "card" else " small",
        group=_esc(_("Power actions for %(name)s")),
    )


def buttons_html(server: Any, kit: PowerKit) -> str:
    """Start / Stop / Reboot forms for what the server's status and the user's role
    allow; see power_buttons. Escaped HTML, as a plain str."""
    if not kit.allowed:
        return ""
    actions = status_rules.allowed_actions(getattr(server, "status", ""))
    if not actions:
        return ""
    server_id = _esc(server.id)
    name_html = _esc(server.name or server.id)
    if "\x00" in server_id or "\x00" in name_html:
        return _buttons(actions, kit, server_id, name_html)
    shape = kit.shapes.get(actions)
    if shape is None:
        shape = kit.shapes[actions] = _buttons(actions, kit, _ID_MARK, _NAME_MARK)
    # The id first: a name is text, never searched for the id's mark afterwards.
    return shape.replace(_ID_MARK, server_id).replace(_NAME_MARK, name_html)


def _buttons(actions: tuple[str, ...], kit: PowerKit, server_id: str, name_html: str) -> str:
    values = {"name": name_html}
    forms = []
    for action in actions:
        text = kit.texts[action]
        url = kit.urls[action].replace(_ID_MARK, server_id)
        confirm = ""
        if "confirm" in text:
            confirm = (
                f' hx-confirm="{text["confirm"] % values}"'
                f' data-confirm-title="{text["title"] % values}"'
                f' data-confirm-detail="{text["detail"]}"'
                f' data-confirm-button="{text["label"]}"'
            )
        forms.append(
            f'<form method="post" action="{url}" class="power-form" hx-post="{url}"'
            f' hx-target="{kit.target}" hx-swap="outerHTML"{confirm}>{kit.csrf}'
            f'<button type="submit" class="button{kit.size}{text["css"]}"'
            f' data-action="{action}" data-busy-label="{text["busy"]}">'
            f'{text["label"]}<span class="visually-hidden"> {name_html}</span>'
            "</button></form>"
        )
    return (
        f'<div class="power-actions" role="group" aria-label="{kit.group % values}">'
        f"{''.join(forms)}</div>"
    )


@register.simple_tag(takes_context=True)
def power_buttons(context: template.Context, server: Any, within: str = "row") -> SafeString:
    """Start / Stop / Reboot forms for what the server's status and the user's role allow.

    Each is a plain form POST (works without JavaScript) that htmx enhances: it swaps
    the row (`within="row"`) or the detail card (`within="card"`) with the answer.
    Accessible names begin with the action ("Stop web-01") so every row's buttons
    stay distinct for screen readers. Stop and Reboot carry hx-confirm naming the
    server; static/js/panel.js shows it as a dialog.
    """
    kit = power_kit(context.get("membership"), context.get("csrf_token"), within)
    # Every dynamic part went through _esc().
    return mark_safe(buttons_html(server, kit))  # noqa: S308


# --- The list's rows --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowKit:
    """What every row of one render shares, built once per render (or per request)."""

    language: str | None
    labels: dict[str, str]
    servers_url: str
    power: PowerKit
    now: datetime


def row_kit(context: template.Context) -> RowKit:
    """The kit for the rows of this render. A request that renders several single rows
    (the list poller) builds it once: it is kept on the request."""
    language = get_language()
    membership = context.get("membership")
    csrf_token = str(context.get("csrf_token") or "")
    request = context.get("request")
    key = (language, id(membership), getattr(membership, "role", None), csrf_token)
    kits = getattr(request, "_server_row_kits", None) if request is not None else None
    if kits is not None and key in kits:
        return kits[key]
    kit = RowKit(
        language=language,
        labels={key: _esc(text) for key, text in row_labels(language).items()},
        servers_url=_esc(reverse("servers:list")),
        power=power_kit(membership, csrf_token, "row"),
        now=timezone.now(),
    )
    if request is not None:
        if kits is None:
            kits = {}
            request._server_row_kits = kits
        kits[key] = kit
    return kit


def _created_html(value: datetime | None, kit: RowKit) -> str:
    if value is None:
        return "—"
    utc = value.astimezone(UTC)
    if utc.year >= 1000:
        # What iso() and exact() answer, from one isoformat() (strftime is the slow part).
        machine = utc.isoformat(timespec="seconds")
        human = f"{machine[:10]} {machine[11:16]} UTC"
    else:
        machine, human = iso(value), exact(value)
    # Digits, dashes, colons, "T", "+" and "UTC": nothing to escape.
    return (
        f'<time datetime="{machine}" title="{human}">'
        f"{_esc(ago_text(value, kit.now, kit.language))}</time>"
    )


def row_html(server: Any, kit: RowKit, *, oob: bool = False) -> str:
    """One `<tr>` of the list: name, hostname, status badge, IPv4, location, plan, OS,
    created (relative, exact on hover) and the power buttons. Escaped HTML, as a str."""
    labels = kit.labels
    server_id = _esc(server.id)
    if server.ip_address:
        ip = f'<span class="mono">{_esc(server.ip_address)}</span>'
    else:
        ip = f'<span class="muted">{labels["no_ip"]}</span>'
    plan = server.plan
    if plan is not None:
        plan_html = (
            f"{_esc(plan.name or '—')}"
            f'<span class="plan-specs">{_esc(plan_specs_text(plan, kit.language))}</span>'
        )
    else:
        plan_html = "—"
    os_name = (server.os.name if server.os is not None else "") or "—"
    oob_attr = ' hx-swap-oob="true"' if oob else ""
    return (
        f'<tr id="server-{server_id}" data-server-id="{server_id}"{oob_attr}>\n'
        f'  <th scope="row" class="cell-name"><a href="{kit.servers_url}{server_id}/">'
        f"{_esc(server.name or server.id)}</a></th>"
        f'<td data-label="{labels["hostname"]}">{_esc(server.hostname or "—")}</td>\n'
        f'  <td data-label="{labels["status"]}" class="cell-status">'
        f"{badge_html(server, language=kit.language)}</td>\n"
        f'  <td data-label="{labels["ipv4"]}" class="cell-nowrap">{ip}</td>'
        f'<td data-label="{labels["location"]}" class="cell-nowrap">'
        f"{_esc(server.location or '—')}</td>"
        f'<td data-label="{labels["plan"]}">{plan_html}</td>'
        f'<td data-label="{labels["os"]}">{_esc(os_name)}</td>'
        f'<td data-label="{labels["created"]}" class="cell-nowrap">'
        f"{_created_html(server.created_at, kit)}</td>\n"
        f'  <td class="actions">{buttons_html(server, kit.power)}</td>\n'
        "</tr>"
    )


@register.simple_tag(takes_context=True)
def server_row(context: template.Context, server: Any) -> SafeString:
    """`{% server_row server %}`: one row; `oob` in the context marks it for an
    out-of-band swap."""
    # Every dynamic part went through _esc().
    return mark_safe(row_html(server, row_kit(context), oob=bool(context.get("oob"))))  # noqa: S308


@register.simple_tag(takes_context=True)
def server_rows(context: template.Context, servers: Any) -> SafeString:
    """`{% server_rows servers %}`: every row of the list in one tag."""
    kit = row_kit(context)
    html = "".join(f"\n{row_html(server, kit)}\n" for server in servers)
    # Every dynamic part went through _esc().
    return mark_safe(html)  # noqa: S308
