"""A short-lived, per-team cache of VPS.org answers, shared by everyone looking at one team.

Why: a page left open polls while servers are in transition. Without sharing, V people
watching K servers cost V x K upstream calls per interval (what per-row pollers do). With
this cache every viewer of a team reads the same entry, so the team costs about one
upstream call per entry per interval, whatever V and K.

- It is Django's cache, so with CACHE_URL=redis://... every worker and instance shares it.
- Entries are fresh for `ttl()` seconds (2 by default; setting SERVERS_CACHE_SECONDS),
  judged by the injectable `clock` so tests never sleep.
- Upstream failures are cached too, for the same short time: a failing API is asked once
  per interval, not once per viewer.
- A miss is filled by one caller while the others wait briefly for its answer
  ("single flight"), so viewers arriving together do not all go upstream.
- The team's own changes call `invalidate(team)`: every entry of the team is dropped at
  once (a per-team generation number is part of every key).
- Keys also carry a fingerprint of the team's stored token: after the token is replaced
  (perhaps by one of another account), nothing read with the old one is served.
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import operator
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache

from panel.models import Team
from servers import client as vpsorg
from servers.api import NoToken, client_for

DEFAULT_TTL = 2.0
# How long an entry stays in the backend after it went stale; only so the backend
# frees it by itself. Freshness is decided by `clock`, never by the backend.
_KEEP = 60
_WAIT_STEP = 0.02

# Wall-clock time, shared between workers and hosts (monotonic clocks are not).
clock: Callable[[], float] = time.time
# The single-flight wait; tests replace it so a waiting caller needs no real time.
sleep: Callable[[float], None] = time.sleep


def _register_fast_pickling(*classes: type) -> None:
    """Every cache read unpickles, and every fill pickles, the whole list (100 servers
    with their plans and OSes). A slots dataclass pickles through a generic Python
    __getstate__/__setstate__ pair that walks its fields per object; a C attrgetter and
    the class's own __init__ take about half the time. Like the default, the state is
    the fields' values in order, so entries written either way read back the same."""
    for cls in classes:
        names = [field.name for field in dataclasses.fields(cls)]
        # attrgetter of several names answers a tuple, the arguments __init__ takes.
        assert len(names) > 1, cls
        getter = operator.attrgetter(*names)
        copyreg.pickle(cls, lambda obj, cls=cls, getter=getter: (cls, getter(obj)))


_register_fast_pickling(vpsorg.Server, vpsorg.Plan, vpsorg.OperatingSystem, vpsorg.ResourceUsage)


def ttl() -> float:
    return float(getattr(settings, "SERVERS_CACHE_SECONDS", DEFAULT_TTL))


def _token_fingerprint(team: Team) -> str:
    try:
        stored = team.api_token
    except Team.api_token.RelatedObjectDoesNotExist:
        raise NoToken from None
    stamp = stored.stored_at.timestamp() if stored.stored_at else 0
    raw = f"{stored.pk}:{stored.last4}:{stamp}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _generation_key(team: Team) -> str:
    return f"servers:t{team.pk}:gen"


def _prefix(team: Team) -> str:
    generation = cache.get(_generation_key(team), 0)
    return f"servers:t{team.pk}:g{generation}:{_token_fingerprint(team)}"


def _list_key(team: Team, status: str | None, location: str | None) -> str:
    if not status and not location:
        return f"{_prefix(team)}:list"
    # Filter values are user input: hashed, so any text makes a valid cache key.
    digest = hashlib.sha256(f"{status or ''}\0{location or ''}".encode()).hexdigest()[:16]
    return f"{_prefix(team)}:list:{digest}"


def _server_key(team: Team, server_id: str) -> str:
    digest = hashlib.sha256(str(server_id).encode()).hexdigest()[:16]
    return f"{_prefix(team)}:server:{digest}"


def _fresh(entry: Any) -> bool:
    return isinstance(entry, dict) and "at" in entry and 0 <= clock() - entry["at"] < ttl()


def _unwrap(entry: dict[str, Any]) -> Any:
    if "error" in entry:
        raise entry["error"]
    return entry["value"]


def _fill[T](key: str, fetch: Callable[[], T]) -> T:
    try:
        value = fetch()
    except NoToken:
        raise
    except vpsorg.VPSOrgError as exc:
        cache.set(key, {"at": clock(), "error": exc}, _KEEP)
        raise
    cache.set(key, {"at": clock(), "value": value}, _KEEP)
    return value


def _cached[T](key: str, fetch: Callable[[], T]) -> T:
    entry = cache.get(key)
    if _fresh(entry):
        return _unwrap(entry)
    timeout = float(settings.VPSORG_TIMEOUT)
    lock = f"{key}:lock"
    # The lock outlives any honest fetch (a list may take a few timeouts), so a
    # crashed holder only delays the others until it expires.
    if cache.add(lock, 1, timeout=max(1, round(3 * timeout))):
        try:
            return _fill(key, fetch)
        finally:
            cache.delete(lock)
    # Another caller is asking VPS.org right now: wait for its answer rather than ask
    # again, but no longer than one upstream timeout, so the request still answers
    # within about 3 x VPSORG_TIMEOUT even if we then have to ask ourselves.
    waited = 0.0
    while waited < timeout:
        sleep(_WAIT_STEP)
        waited += _WAIT_STEP
        entry = cache.get(key)
        if _fresh(entry):
            return _unwrap(entry)
        if cache.get(lock) is None:
            break
    return _fill(key, fetch)


def list_servers(
    team: Team, *, status: str | None = None, location: str | None = None
) -> list[vpsorg.Server]:
    """The team's servers (optionally filtered as the API filters them), at most ttl() old.

    Raises NoToken or the VPSOrgError VPS.org answered (possibly a cached one).
    """
    key = _list_key(team, status or None, location or None)
    return _cached(
        key, lambda: client_for(team).list_servers(status=status or None, location=location or None)
    )


def get_server(team: Team, server_id: str) -> vpsorg.Server:
    """One server in detail (usage, IPv6...), at most ttl() old; NotFound is cached too."""
    return _cached(_server_key(team, server_id), lambda: client_for(team).get_server(server_id))


def peek_server(team: Team, server_id: str) -> vpsorg.Server | None:
    """What the cache knows of a server, however old, without asking VPS.org."""
    try:
        entry = cache.get(_server_key(team, server_id))
        if isinstance(entry, dict) and isinstance(entry.get("value"), vpsorg.Server):
            return entry["value"]
        entry = cache.get(_list_key(team, None, None))
    except NoToken:
        return None
    if isinstance(entry, dict) and isinstance(entry.get("value"), list):
        for server in entry["value"]:
            if server.id == str(server_id):
                return server
    return None


def invalidate(team: Team) -> None:
    """Forget everything cached for the team (after its own create, edit, delete, power)."""
    key = _generation_key(team)
    # add() then incr(): atomic in Redis and memcached, so two workers invalidating at
    # once both move the generation on.
    cache.add(key, 0, timeout=None)
    try:
        cache.incr(key)
    except ValueError:
        # Evicted between add() and incr(): any new number still invalidates.
        cache.set(key, int(clock() * 1000), timeout=None)
