"""The status badge and the power buttons, rendered in Python with format_html.

Both appear once per row of a list that may hold 100 servers: a simple tag costs a
function call, where a template include per row would cost a template render.
"""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from panel.models import Role
from servers import status as status_rules

register = template.Library()

_CSS_SAFE = re.compile(r"[^a-z0-9-]")

# Where a polling badge sits decides what replaces what once it settles.
WITHIN = ("card", "row")


@register.simple_tag
def status_badge(server: Any, poll: bool | str = False) -> SafeString:
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
    within = poll if poll in WITHIN else "card"
    url = reverse("servers:status", args=[server.id])
    return format_html(
        '<span class="badge badge-{}" id="status-{}" data-status="{}" data-transition'
        ' data-poll hx-get="{}?within={}" hx-trigger="panel:poll" hx-swap="outerHTML">'
        "{}</span>",
        css,
        server.id,
        raw,
        url,
        within,
        text,
    )


def _power_specs(name: str) -> dict[str, dict[str, str]]:
    # Built per call: gettext must run in the request's language.
    return {
        "start": {
            "label": _("Start"),
            "busy": _("Starting…"),
            "css": "",
            "confirm": "",
        },
        "stop": {
            "label": _("Stop"),
            "busy": _("Stopping…"),
            "css": " danger",
            "confirm": _(
                "Stop %(name)s? It shuts down and stays off until someone starts it again."
            )
            % {"name": name},
            "title": _("Stop %(name)s?") % {"name": name},
            "detail": _("It shuts down and stays off until someone starts it again."),
        },
        "reboot": {
            "label": _("Reboot"),
            "busy": _("Rebooting…"),
            "css": "",
            "confirm": _("Reboot %(name)s? It will be unreachable for a moment while it restarts.")
            % {"name": name},
            "title": _("Reboot %(name)s?") % {"name": name},
            "detail": _("It will be unreachable for a moment while it restarts."),
        },
    }


def can_operate(membership: Any) -> bool:
    return membership is not None and membership.has_role(Role.OPERATOR)


@register.simple_tag(takes_context=True)
def power_buttons(context: template.Context, server: Any, within: str = "row") -> SafeString:
    """Start / Stop / Reboot forms for what the server's status and the user's role allow.

    Each is a plain form POST (works without JavaScript) that htmx enhances: it swaps
    the row (`within="row"`) or the detail card (`within="card"`) with the answer.
    Accessible names begin with the action ("Stop web-01") so every row's buttons
    stay distinct for screen readers.
    """
    if not can_operate(context.get("membership")):
        return mark_safe("")
    actions = status_rules.allowed_actions(getattr(server, "status", ""))
    if not actions:
        return mark_safe("")
    name = server.name or str(server.id)
    specs = _power_specs(name)
    target = "#server-card" if within == "card" else "closest tr"
    size = " small" if within != "card" else ""
    csrf = str(context.get("csrf_token") or "")
    csrf_input = (
        format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', csrf)
        if csrf and csrf != "NOTPROVIDED"
        else ""
    )
    forms = []
    for action in actions:
        spec = specs[action]
        url = reverse("servers:power", args=[server.id, action])
        confirm = (
            format_html(
                ' hx-confirm="{}" data-confirm-title="{}" data-confirm-detail="{}"'
                ' data-confirm-button="{}"',
                spec["confirm"],
                spec["title"],
                spec["detail"],
                spec["label"],
            )
            if spec["confirm"]
            else ""
        )
        forms.append(
            (
                url,
                url,
                target,
                confirm,
                csrf_input,
                size,
                spec["css"],
                action,
                spec["busy"],
                spec["label"],
                name,
            )
        )
    buttons = format_html_join(
        "",
        '<form method="post" action="{}" class="power-form" hx-post="{}" hx-target="{}"'
        ' hx-swap="outerHTML"{}>{}<button type="submit" class="button{}{}" data-action="{}"'
        ' data-busy-label="{}">{}<span class="visually-hidden"> {}</span></button></form>',
        forms,
    )
    return format_html(
        '<div class="power-actions" role="group" aria-label="{}">{}</div>',
        _("Power actions for %(name)s") % {"name": name},
        buttons,
    )
