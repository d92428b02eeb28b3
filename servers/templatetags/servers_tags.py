"""Tags that put a server's fragments (templates/servers/_server.jinja.html) into the
Django templates of the pages: `{% server_rows rows %}` (`oob=True`), `{% server_badge badge %}`,
`{% server_buttons buttons name within %}`. Contexts come from servers/presenters.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template
from django.utils.safestring import SafeString

from servers import fragments, presenters
from servers.presenters import Badge, PowerButton, Row

register = template.Library()


@register.simple_tag(takes_context=True)
def server_rows(context: template.Context, rows: Sequence[Row], oob: bool = False) -> SafeString:
    """Every row in one tag (no include per row); `oob=True` for the live poller."""
    return fragments.rows(rows, context.get("csrf_token", ""), oob=oob)


@register.simple_tag
def server_badge(badge: Badge) -> SafeString:
    return fragments.badge(badge)


@register.simple_tag
def status_badge(server: Any) -> SafeString:
    """`{% status_badge server %}`: the badge of a server object's status."""
    return fragments.badge(presenters.badge(getattr(server, "status", "") or ""))


@register.simple_tag(takes_context=True)
def server_buttons(
    context: template.Context, buttons: Sequence[PowerButton], name: Any, within: str = "row"
) -> SafeString:
    return fragments.buttons(buttons, str(name), within, context.get("csrf_token", ""))
