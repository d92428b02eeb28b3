from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from panel.teams import current_membership


def team(request: HttpRequest) -> dict[str, Any]:
    """The current team and role on every page (the header shows them)."""
    membership = current_membership(request)
    return {"membership": membership, "team": membership.team if membership else None}
