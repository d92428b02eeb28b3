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
- A page a person navigates to asks VPS.org at that moment (`fresh=True`) and refreshes
  the shared entry; the live polls accept an older one (`max_age`): about 2 s while a
  server is in transition, longer while none is (servers/live.py decides).
- The last good answer for the team's list and for each server is kept for a day
  (`last_known_*`), outside the generation, so an outage can show what was last seen.
- Keys also carry a fingerprint of the team's stored token: after the token is replaced
  (perhaps by one of another account), nothing read with the old one is served.
"""

from __future__ import annotations

import contextlib
import contextvars
import copyreg
import dataclasses
import hashlib
import operator
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.cache import cache

from panel import after_response
from panel.models import Team
from servers import client as vpsorg
from servers.api import NoToken, client_for

DEFAULT_TTL = 2.0
# How long an entry stays in the backend after it went stale; only so the backend
# frees it by itself. Freshness is decided by `clock`, never by the backend.
_KEEP = 120
_WAIT_STEP = 0.02
# The last good answers, for outages: long enough to span one.
KNOWN_SECONDS = 24 * 3600
KNOWN_REFRESH = 10

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


def _list_key(
    team: Team, status: str | None, location: str | None, prefix: str | None = None
) -> str:
    prefix = prefix or _prefix(team)
    if not status and not location:
        return f"{prefix}:list"
    # Filter values are user input: hashed, so any text makes a valid cache key.
    digest = hashlib.sha256(f"{status or ''}\0{location or ''}".encode()).hexdigest()[:16]
    return f"{prefix}:list:{digest}"


def _server_key(team: Team, server_id: str, prefix: str | None = None) -> str:
    digest = hashlib.sha256(str(server_id).encode()).hexdigest()[:16]
    return f"{prefix or _prefix(team)}:server:{digest}"


def _known_prefix(team: Team) -> str:
    # No generation: the team's own changes must not drop what an outage would show.
    return f"servers:t{team.pk}:known:{_token_fingerprint(team)}"


def _known_key(key: str, team: Team, prefix: str) -> str | None:
    """The last-known twin of an unfiltered list or a server entry (`prefix`: the one
    `key` was made with); None for others."""
    rest = key.removeprefix(prefix)
    if rest == ":list" or rest.startswith(":server:"):
        return f"{_known_prefix(team)}{rest}"
    return None


MaxAge = float | Callable[[Any], float] | None


def _fresh(entry: Any, max_age: MaxAge = None, since: float | None = None) -> bool:
    """Young enough: at most `max_age` seconds old (ttl() by default, or what a callable
    says of the cached value; a failure never longer than ttl()); or, given `since` (a
    fresh read waiting for another caller's fill), written at or after it, whatever
    its age would allow."""
    if not isinstance(entry, dict) or "at" not in entry:
        return False
    if since is not None:
        return entry["at"] >= since
    if max_age is None:
        limit = ttl()
    elif callable(max_age):
        limit = max_age(entry["value"]) if "value" in entry else ttl()
    else:
        limit = max_age
    if "error" in entry:
        limit = min(limit, ttl())
    return 0 <= clock() - entry["at"] < limit


def _unwrap(entry: dict[str, Any]) -> Any:
    if "error" in entry:
        raise entry["error"]
    return entry["value"]


def _get(key: str) -> Any:
    """cache.get(), but first what this request read and has yet to write (below)."""
    pending = after_response.scratch()
    if pending and key in pending:
        return pending[key]
    return cache.get(key)


def _fill(
    key: str, fetch: Callable[[], Any], known: str | None, lock: str | None
) -> dict[str, Any]:
    """Asks VPS.org, then stores the answer and releases `lock` (if this caller holds
    it). A good answer is stored after the response went out (panel.after_response):
    the person who asked does not wait for the pickling and the writes; the rest of the
    request reads it from the request's scratch, other callers wait on the lock."""
    try:
        value = fetch()
    except BaseException as exc:
        _failed(key, exc, lock)
        raise
    return _settled(key, value, known, lock)


def _failed(key: str, exc: BaseException, lock: str | None) -> None:
    if isinstance(exc, vpsorg.VPSOrgError) and not isinstance(exc, NoToken):
        cache.set(key, {"at": clock(), "error": exc}, _KEEP)
    if lock is not None:
        cache.delete(lock)


def _settled(
    key: str, value: Any, known: str | None, lock: str | None, *, departed_now: bool = True
) -> dict[str, Any]:
    entry = {"at": clock(), "value": value}
    if known is not None and known.endswith(":list") and isinstance(value, list):
        # A live poll says who left in its own answer: for it, now.
        if departed_now:
            _remember_departed(known, value)
        else:
            after_response.defer(lambda: _remember_departed(known, value))
    pending = after_response.scratch()
    if pending is not None:
        pending[key] = entry
    after_response.defer(lambda: _store(key, entry, known, lock))
    return entry


def _store(key: str, entry: dict[str, Any], known: str | None, lock: str | None) -> None:
    try:
        cache.set(key, entry, _KEEP)
        # The last-known twin is rewritten at most every KNOWN_REFRESH seconds: an outage
        # shows a state at most that much older than the last good answer (and says
        # when it was read), and a busy team's fills do not pickle the list twice.
        if known is not None and cache.add(f"{known}:fresh", 1, KNOWN_REFRESH):
            cache.set(known, entry, KNOWN_SECONDS)
    finally:
        if lock is not None:
            cache.delete(lock)


def _remember_departed(known: str, servers: list[vpsorg.Server]) -> None:
    """Names of the servers that left the list since the last good one: a page that
    still shows them says which one was deleted elsewhere. Only names are compared (a
    small entry), not the whole previous list."""
    names_key = f"{known}:names"
    before = cache.get(names_key)
    now = {s.id: s.name for s in servers}
    if before != now:
        cache.set(names_key, now, KNOWN_SECONDS)
    if isinstance(before, dict):
        gone = {i: n for i, n in before.items() if i not in now}
        if gone:
            key = f"{known}:departed"
            cache.set(key, {**(cache.get(key) or {}), **gone}, 3600)


def departed_names(team: Team) -> dict[str, str]:
    """id -> name of servers that left the team's list within the last hour."""
    try:
        return cache.get(f"{_known_prefix(team)}:list:departed") or {}
    except NoToken:
        return {}


def _take_lock(lock: str) -> bool:
    """Whether this caller is the one to ask VPS.org (the single flight's lock). The lock
    outlives any honest fetch (a list may take a few timeouts), so a crashed holder only
    delays the others until it expires."""
    return cache.add(lock, 1, timeout=max(1, round(3 * float(settings.VPSORG_TIMEOUT))))


def _cached(
    key: str,
    fetch: Callable[[], Any],
    *,
    max_age: MaxAge = None,
    fresh: bool = False,
    known: str | None = None,
) -> dict[str, Any]:
    """The entry at `key` if young enough, else fetched by one caller (single flight).

    `fresh` asks for an answer VPS.org gives after this call began: a fill already on its
    way when the call began may still be shared (it is no older than this request).
    """
    since = clock()
    entry = None if fresh else _get(key)
    if _fresh(entry, max_age):
        return entry
    timeout = float(settings.VPSORG_TIMEOUT)
    lock = f"{key}:lock"
    if _take_lock(lock):
        return _fill(key, fetch, known, lock)
    # Another caller is asking VPS.org right now: wait for its answer rather than ask
    # again, but no longer than one upstream timeout, so the request still answers
    # within about 3 x VPSORG_TIMEOUT even if we then have to ask ourselves.
    waited = 0.0
    while waited < timeout:
        sleep(_WAIT_STEP)
        waited += _WAIT_STEP
        entry = cache.get(key)
        if _fresh(entry, max_age, since if fresh else None):
            return entry
        if cache.get(lock) is None:
            break
    return _fill(key, fetch, known, None)


def list_servers(
    team: Team,
    *,
    status: str | None = None,
    location: str | None = None,
    max_age: MaxAge = None,
    fresh: bool = False,
) -> list[vpsorg.Server]:
    """The team's servers (optionally filtered as the API filters them), at most
    `max_age` (default ttl()) old, or asked for now with `fresh`.

    Raises NoToken or the VPSOrgError VPS.org answered (possibly a cached one).
    """
    return read_list(team, status=status, location=location, max_age=max_age, fresh=fresh)[0]


def read_list(
    team: Team,
    *,
    status: str | None = None,
    location: str | None = None,
    max_age: MaxAge = None,
    fresh: bool = False,
) -> tuple[list[vpsorg.Server], float]:
    """list_servers(), and when VPS.org gave that answer (epoch seconds, `clock`)."""
    prefix = _prefix(team)
    key = _list_key(team, status or None, location or None, prefix)
    entry = _cached(
        key,
        lambda: client_for(team).list_servers(status=status or None, location=location or None),
        max_age=max_age,
        fresh=fresh,
        known=_known_key(key, team, prefix),
    )
    return _unwrap(entry), float(entry["at"])


# read_list()'s answer when called, or the VPSOrgError it would raise (read_list_soon).
PendingList = Callable[[], tuple[list[vpsorg.Server], float]]


# The fetches of read_list_soon(), one thread each; made in the worker that uses them (not
# in a master that forks), shared by its request threads.
_fetchers: ThreadPoolExecutor | None = None
_fetchers_lock = threading.Lock()
FETCHERS = 32  # idle threads cost nothing; more than a worker has request threads
# The longest read_list_soon() waits for its request to leave (a slow connect).
SEND_WAIT = 0.2


def _fetcher() -> ThreadPoolExecutor:
    global _fetchers
    with _fetchers_lock:
        if _fetchers is None:
            _fetchers = ThreadPoolExecutor(FETCHERS, thread_name_prefix="vpsorg-list")
        return _fetchers


def read_list_soon(team: Team) -> PendingList:
    """read_list(team, fresh=True), asked for now and answered when called: the list
    page does what needs no servers (its queries, the page around the list) while VPS.org
    answers. Only the HTTP call and the decoding run in another thread (the request's
    context with it: the access log counts the call); the cache and the database are
    touched by the calling thread alone, while the call travels. It returns once the
    request has left (at most SEND_WAIT).

    When another caller is already asking VPS.org (it holds the lock), the call waits
    for that answer as read_list() does: under load, pages opened together share one
    upstream call rather than each sending its own.

    Raises NoToken at once; VPS.org's errors come from the call."""
    client = client_for(team)
    prefix = _prefix(team)
    key = _list_key(team, None, None, prefix)
    known = _known_key(key, team, prefix)
    lock = f"{key}:lock"
    if not _take_lock(lock):
        return lambda: read_list(team, fresh=True)
    sent = threading.Event()
    context = contextvars.copy_context()
    context.run(vpsorg.request_sent.set, sent)
    try:
        future = _fetcher().submit(context.run, client.list_servers)
    except BaseException:
        cache.delete(lock)
        raise
    # Until the request has left, the caller's work would only hold up the thread that
    # sends it (they share one interpreter lock): wait for it, or for the call to end.
    future.add_done_callback(lambda _future: sent.set())
    sent.wait(SEND_WAIT)

    def result() -> tuple[list[vpsorg.Server], float]:
        try:
            value = future.result()
        except BaseException as exc:
            _failed(key, exc, lock)
            raise
        # Who left since the last list: only the live polls say it, so after the answer.
        entry = _settled(key, value, known, lock, departed_now=False)
        return value, float(entry["at"])

    return result


def list_entry_age(team: Team) -> tuple[list[vpsorg.Server], float] | None:
    """The team's shared unfiltered list and when it was read, if cached and good."""
    try:
        entry = _get(_list_key(team, None, None))
    except NoToken:
        return None
    if isinstance(entry, dict) and isinstance(entry.get("value"), list):
        return entry["value"], entry["at"]
    return None


def get_server(
    team: Team, server_id: str, *, max_age: MaxAge = None, fresh: bool = False
) -> vpsorg.Server:
    """One server in detail (usage, IPv6...), at most ttl() old; NotFound is cached too."""
    return read_server(team, server_id, max_age=max_age, fresh=fresh)[0]


def read_server(
    team: Team, server_id: str, *, max_age: MaxAge = None, fresh: bool = False
) -> tuple[vpsorg.Server, float]:
    prefix = _prefix(team)
    key = _server_key(team, server_id, prefix)
    entry = _cached(
        key,
        lambda: client_for(team).get_server(server_id),
        max_age=max_age,
        fresh=fresh,
        known=_known_key(key, team, prefix),
    )
    return _unwrap(entry), float(entry["at"])


def last_known_list(team: Team) -> tuple[list[vpsorg.Server], float] | None:
    """The team's last good list and when it was read (epoch seconds), however old
    (up to KNOWN_SECONDS), for pages that VPS.org cannot serve right now."""
    return _last_known(team, ":list", list)


def last_known_server(team: Team, server_id: str) -> tuple[vpsorg.Server, float] | None:
    """The server as last seen in detail, or else in the team's last good list."""
    digest = hashlib.sha256(str(server_id).encode()).hexdigest()[:16]
    found = _last_known(team, f":server:{digest}", vpsorg.Server)
    if found is not None:
        return found
    listed = last_known_list(team)
    if listed is not None:
        for server in listed[0]:
            if server.id == str(server_id):
                return server, listed[1]
    return None


def _last_known[T](team: Team, rest: str, kind: type[T]) -> tuple[T, float] | None:
    try:
        entry = cache.get(f"{_known_prefix(team)}{rest}")
    except NoToken:
        return None
    if isinstance(entry, dict) and isinstance(entry.get("value"), kind):
        return entry["value"], float(entry["at"])
    return None


def peek_server(team: Team, server_id: str) -> vpsorg.Server | None:
    """What the cache knows of a server, however old, without asking VPS.org."""
    try:
        prefix = _prefix(team)
        entry = _get(_server_key(team, server_id, prefix))
        if isinstance(entry, dict) and isinstance(entry.get("value"), vpsorg.Server):
            return entry["value"]
        entry = _get(_list_key(team, None, None, prefix))
    except NoToken:
        return None
    if isinstance(entry, dict) and isinstance(entry.get("value"), list):
        for server in entry["value"]:
            if server.id == str(server_id):
                return server
    return None


def invalidate(team: Team) -> None:
    """Forget everything cached for the team (after its own create, edit, delete, power)."""
    # The team's own change shows in the next last-known list at once. Again after the
    # response: a last-known list this request read before its change is stored then.
    with contextlib.suppress(NoToken):
        fresh = f"{_known_prefix(team)}:list:fresh"
        cache.delete(fresh)
        after_response.defer(lambda: cache.delete(fresh))
    key = _generation_key(team)
    # add() then incr(): atomic in Redis and memcached, so two workers invalidating at
    # once both move the generation on.
    cache.add(key, 0, timeout=None)
    try:
        cache.incr(key)
    except ValueError:
        # Evicted between add() and incr(): any new number still invalidates.
        cache.set(key, int(clock() * 1000), timeout=None)
