"""Catalog data the server pages need beside the servers: plans, locations, OSes.

Plans rarely change, so each team's list is kept in Django's cache for a few minutes;
the create form and the list's location filter then cost no upstream call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.cache import cache
from django.db.models.signals import post_delete
from django.dispatch import receiver

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


# The OS ids known to be in the catalog, so that a list whose servers run only those
# costs no query: the same few ids come back on every page. Dropped when an entry is
# deleted (below), so a deleted OS seen again is learned again.
KNOWN_OS_KEY = "servers:os-catalog:known"
KNOWN_OS_TTL = 300


def learn_operating_systems(servers: Iterable[vpsorg.Server]) -> None:
    """Add the OSes the API reports on servers to the catalog (at most one query)."""
    seen = [(str(s.os.id), s.os.name) for s in servers if s.os is not None and s.os.name]
    ids = {api_id for api_id, _name in seen if api_id}
    known = cache.get(KNOWN_OS_KEY)
    if not ids or (isinstance(known, frozenset) and ids <= known):
        return
    try:
        OperatingSystem.learn(seen)
    except Exception:
        # Learning is a bonus; a page must not fail because the catalog could not grow.
        logger.exception("Could not add operating systems to the catalog")
        return
    previous = known if isinstance(known, frozenset) else frozenset()
    cache.set(KNOWN_OS_KEY, previous | ids, KNOWN_OS_TTL)


@receiver(post_delete, sender=OperatingSystem)
def _forget_known_operating_systems(**kwargs: object) -> None:
    cache.delete(KNOWN_OS_KEY)


def offered_operating_systems() -> list[OperatingSystem]:
    return list(OperatingSystem.objects.filter(offered=True))
