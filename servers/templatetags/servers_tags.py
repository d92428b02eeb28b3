"""The status badge and the power buttons, rendered in Python, every value escaped.

Both appear once per row of a list that may hold 100 servers: a simple tag costs a
function call, where a template include per row would cost a template render. For 100
rows, badges and buttons together take about 2-4 ms.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from panel.models import Role
from servers import status as status_rules

register = template.Library()

_CSS_SAFE = re.compile(r"[^a-z0-9-]")

# Where a polling badge sits decides what replaces what once it settles.
WITHIN = ("card", "row")


@register.simple_tag(takes_context=True)
def status_badge(context: template.Context, server: Any, poll: bool | str = False) -> SafeString:
    """`{% status_badge server %}`, or `{% status_badge server poll="card" %}`."""
    return badge_html(server, poll=poll, team=context.get("team"))


def badge_html(server: Any, *, poll: bool | str = False, team: Any = None) -> SafeString:
    """`<span class="badge badge-STATUS" data-status="RAW">Label</span>`.

    The only element that carries data-status, with the status exactly as the API sent
    it. A server in transition (or in a status the panel does not know) is marked
    `data-transition`; the list page's single poller watches those. With `poll="card"`
    (or "row") the badge polls its own URL instead: hx-get plus a trigger that
    static/js/panel.js fires on its schedule (2 s, backing off, paused while the tab is
    hidden). A settled badge carries neither, so polling stops there.
    """
    raw = getattr(server, "status", "") or ""
    known = raw in status_rules.LABELS
    css = _CSS_SAFE.sub("", raw.lower()) if known else "unknown"
    text = status_rules.label(raw) if raw else _("Unknown")
    if status_rules.is_settled(raw):
        return format_html(
            '<span class="badge badge-{}" data-status="{}">{}</span>', css, raw, text
        )
    if not poll:
        # The name lets the poller word its note if the server is deleted meanwhile.
        return format_html(
            '<span class="badge badge-{}" data-status="{}" data-transition data-name="{}">'
            "{}</span>",
            css,
            raw,
            getattr(server, "name", "") or "",
            text,
        )
    query = {"within": poll if poll in WITHIN else "card"}
    if team is not None:
        # A tab left on another team after a switch elsewhere reloads instead of asking
        # the new team about this one's server.
        query["team"] = team.pk
    url = f"{reverse('servers:status', args=[server.id])}?{urlencode(query)}"
    return format_html(
        '<span class="badge badge-{}" id="status-{}" data-status="{}" data-transition'
        ' data-poll hx-get="{}" hx-trigger="panel:poll" hx-swap="outerHTML">'
        "{}</span>",
        css,
        server.id,
        raw,
        url,
        text,
    )


# A stand-in id (letters, digits, hyphens, like real ids) that marks where each row's own
# id goes in a URL reversed once per render.
_ID_MARK = "0-server-id-0"


def _power_texts() -> dict[str, dict[str, str]]:
    """The buttons' words in the current language; %(name)s is the server's name."""
    return {
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


def can_operate(membership: Any) -> bool:
    return membership is not None and membership.has_role(Role.OPERATOR)


def _kit(context: template.Context, within: str) -> dict[str, Any]:
    """What every row of one render shares (role, words, URLs, CSRF field), built once:
    a list of 100 rows then costs string joins, not 300 reverse() and gettext calls."""
    key = ("servers_tags.power_buttons", within)
    kit = context.render_context.get(key)
    if kit is not None:
        return kit
    csrf = str(context.get("csrf_token") or "")
    kit = {
        "allowed": can_operate(context.get("membership")),
        "texts": _power_texts(),
        "urls": {
            action: escape(reverse("servers:power", args=[_ID_MARK, action]))
            for action in ("start", "stop", "reboot")
        },
        "csrf": (
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf)}">'
            if csrf and csrf != "NOTPROVIDED"
            else ""
        ),
        "target": "#server-card" if within == "card" else "closest tr",
        "size": "" if within == "card" else " small",
        "group": _("Power actions for %(name)s"),
    }
    context.render_context[key] = kit
    return kit


@register.simple_tag(takes_context=True)
def power_buttons(context: template.Context, server: Any, within: str = "row") -> SafeString:
    """Start / Stop / Reboot forms for what the server's status and the user's role allow.

    Each is a plain form POST (works without JavaScript) that htmx enhances: it swaps
    the row (`within="row"`) or the detail card (`within="card"`) with the answer.
    Accessible names begin with the action ("Stop web-01") so every row's buttons
    stay distinct for screen readers. Stop and Reboot carry hx-confirm naming the
    server; static/js/panel.js shows it as a dialog.
    """
    kit = _kit(context, within)
    if not kit["allowed"]:
        return mark_safe("")
    actions = status_rules.allowed_actions(getattr(server, "status", ""))
    if not actions:
        return mark_safe("")
    name = server.name or str(server.id)
    values = {"name": name}
    name_html = escape(name)
    server_id = escape(str(server.id))
    forms = []
    for action in actions:
        text = kit["texts"][action]
        url = kit["urls"][action].replace(_ID_MARK, server_id)
        confirm = ""
        if "confirm" in text:
            confirm = (
                f' hx-confirm="{escape(text["confirm"] % values)}"'
                f' data-confirm-title="{escape(text["title"] % values)}"'
                f' data-confirm-detail="{escape(text["detail"])}"'
                f' data-confirm-button="{escape(text["label"])}"'
            )
        forms.append(
            f'<form method="post" action="{url}" class="power-form" hx-post="{url}"'
            f' hx-target="{kit["target"]}" hx-swap="outerHTML"{confirm}>{kit["csrf"]}'
            f'<button type="submit" class="button{kit["size"]}{text["css"]}"'
            f' data-action="{action}" data-busy-label="{escape(text["busy"])}">'
            f'{escape(text["label"])}<span class="visually-hidden"> {name_html}</span>'
            "</button></form>"
        )
    group = escape(kit["group"] % values)
    # Every dynamic part above went through escape().
    return mark_safe(  # noqa: S308
        f'<div class="power-actions" role="group" aria-label="{group}">{"".join(forms)}</div>'
    )
