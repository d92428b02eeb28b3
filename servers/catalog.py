"""Catalog data the server pages need beside the servers: plans, locations, OSes.

Plans rarely change, so each team's list is kept in Django's cache for a few minutes;
the create form and the list's location filter then cost no upstream call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

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


# --- Locations -------------------------------------------------------------------------
# The API names a datacenter by a code only. Where each is, for people: extend this table
# when VPS.org opens a datacenter; a code not in it is shown as it comes.


@dataclass(frozen=True, slots=True)
class Location:
    code: str
    city: str | Promise = ""
    country: str | Promise = ""

    @property
    def title(self) -> str:
        """ "Frankfurt" for a known code, the code itself otherwise."""
        return str(self.city) or self.code

    @property
    def label(self) -> str:
        """ "Frankfurt, Germany" (or the bare code), for summaries and plain lists."""
        if self.city and self.country:
            return _("%(city)s, %(country)s") % {"city": self.city, "country": self.country}
        return self.title

    @property
    def choice(self) -> str:
        """ "Frankfurt (eu-central)" for a filter's option (or the bare code)."""
        return f"{self.city} ({self.code})" if self.city else self.code


LOCATIONS: dict[str, Location] = {
    loc.code: loc
    for loc in (
        Location("us-west", _("Los Angeles"), _("United States")),
        Location("us-east", _("New York"), _("United States")),
        Location("us-central", _("Dallas"), _("United States")),
        Location("eu-central", _("Frankfurt"), _("Germany")),
        Location("eu-west", _("Amsterdam"), _("Netherlands")),
        Location("eu-north", _("Helsinki"), _("Finland")),
        Location("uk-south", _("London"), _("United Kingdom")),
        Location("sa-east", _("São Paulo"), _("Brazil")),
        Location("ap-southeast", _("Singapore"), _("Singapore")),
        Location("ap-northeast", _("Tokyo"), _("Japan")),
    )
}


def location(code: str) -> Location:
    return LOCATIONS.get(code) or Location(code)


# --- Operating system families -------------------------------------------------------------
# The create form groups the OS choice by family, as the consoles do. Matched on the
# catalog name's start; anything else lands in "Other" (still offered).
OS_FAMILIES: tuple[tuple[str | Promise, re.Pattern[str]], ...] = (
    ("Ubuntu", re.compile(r"ubuntu", re.I)),
    ("Debian", re.compile(r"debian", re.I)),
    ("Rocky Linux / AlmaLinux", re.compile(r"rocky|alma|rhel|red hat|centos", re.I)),
    ("Fedora", re.compile(r"fedora", re.I)),
    ("FreeBSD", re.compile(r"freebsd", re.I)),
    ("Windows", re.compile(r"windows", re.I)),
)


def os_groups(
    operating_systems: Iterable[OperatingSystem],
) -> list[tuple[str, list[OperatingSystem]]]:
    """The OSes by family, families in a fixed order, newest version first inside one."""
    groups: dict[str, list[OperatingSystem]] = {}
    for os in operating_systems:
        family = next(
            (str(name) for name, pattern in OS_FAMILIES if pattern.match(os.name)),
            str(_("Other")),
        )
        groups.setdefault(family, []).append(os)
    order = [str(name) for name, _pattern in OS_FAMILIES] + [str(_("Other"))]
    return [
        (family, sorted(groups[family], key=lambda o: o.name.casefold(), reverse=True))
        for family in order
        if family in groups
    ]
