"""`{% lock_control server %}`: the delete-protection control for one server's page.

One query: for a single server (the detail page). A list page asks
servers.protection.protected_ids(team) once instead and renders
"servers/protection.html#indicator" per row.
"""

from __future__ import annotations

from typing import Any

from django import template

from servers.protection import lock_for

register = template.Library()


@register.inclusion_tag("servers/protection.html#lock", takes_context=True)
def lock_control(context: template.Context, server: Any) -> dict[str, Any]:
    membership = context.get("membership")
    protection = lock_for(membership.team, server.id) if membership is not None else None
    return {
        "server_id": server.id,
        "server_name": server.name,
        "protection": protection,
        "can_manage": bool(membership and membership.can_manage),
        "error": "",
        # The form's {% csrf_token %} needs the request's token.
        "csrf_token": context.get("csrf_token"),
    }
