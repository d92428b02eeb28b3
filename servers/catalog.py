"""Catalog data the server pages need beside the servers: plans, locations, OSes.

Plans rarely change, so each team's list is kept in Django's cache for a few minutes;
the create form and the list's location filter then cost no upstream call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.cache import cache

from panel.models import Team
from servers import client as vpsorg
from servers.models import OperatingSystem

logger = logging.getLogger(__name__)

PLANS_TTL = 300


def _plans_key(team: Team) -> str:
    # The token's storage time is part of the key: a new token may open another
    # account with other plans, and must not see the old token's.
    try:
        stamp = int(team.api_token.stored_at.timestamp())
    except Team.api_token.RelatedObjectDoesNotExist:
        stamp = 0
    return f"servers:plans:{team.pk}:{stamp}"


def cached_plans(team: Team) -> list[vpsorg.Plan] | None:
    return cache.get(_plans_key(team))


def plans_for(team: Team, client: vpsorg.VPSOrgClient) -> list[vpsorg.Plan]:
    """The team's plans, from the cache or one GET /plans/. Raises VPSOrgError."""
    key = _plans_key(team)
    plans = cache.get(key)
    if plans is None:
        plans = client.list_plans()
        cache.set(key, plans, PLANS_TTL)
    return plans


def orderable(plans: Iterable[vpsorg.Plan], location: str | None = None) -> list[vpsorg.Plan]:
    """Plans a new server can have (in `location`, when given), smallest first."""
    result = [
        plan
        for plan in plans
        if plan.available is not False and (not location or location in plan.locations)
    ]
    return sorted(result, key=lambda p: (p.price_monthly or 0, p.vcpus or 0, p.memory or 0, p.name))


def plan_locations(plans: Iterable[vpsorg.Plan]) -> list[str]:
    return sorted({loc for plan in plans if plan.available is not False for loc in plan.locations})


def locations(
    servers: Iterable[vpsorg.Server], plans: Iterable[vpsorg.Plan], *also: str
) -> list[str]:
    """Every location the user may want to filter by: where plans are offered, where
    servers run (a retired datacenter still has servers), and the current filter."""
    found = {server.location for server in servers if server.location}
    found.update(loc for plan in plans for loc in plan.locations)
    found.update(loc for loc in also if loc)
    return sorted(found)


def learn_operating_systems(servers: Iterable[vpsorg.Server]) -> None:
    """Add the OSes the API reports on servers to the catalog (one query)."""
    seen = [(str(s.os.id), s.os.name) for s in servers if s.os is not None and s.os.name]
    try:
        OperatingSystem.learn(seen)
    except Exception:
        # Learning is a bonus; a page must not fail because the catalog could not grow.
        logger.exception("Could not add operating systems to the catalog")


def offered_operating_systems() -> list[OperatingSystem]:
    return list(OperatingSystem.objects.filter(offered=True))
