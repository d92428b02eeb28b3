"""Live updates: each list and detail page has ONE poller element, and these views answer
it. The server decides when the next request comes (the poller it sends back carries
`hx-trigger="load delay:Ns"`, presenters.next_delay) and what changes on the page.

- GET /servers/status/: the list page's poller. It reads the team's one unfiltered list
  from the shared cache (servers.cache), filters, sorts and pages it as the page did
  (servers.listing), and answers only the rows whose digest changed, out of band; when
  the set of rows on the page changed (created or deleted elsewhere, a new order) it
  answers the whole results, with a note for each server deleted elsewhere.
- GET /servers/<id>/status/: the detail card's poller (the badge for a plain GET). It
  reads the same team list, and asks VPS.org for the server in detail only when what
  the card shows changed.

V viewers on list and detail pages thus cost about one upstream list call per team per
interval: the entry is accepted up to ttl() old while a server is in transition and two
idle intervals old while none is. Upstream failures keep the page as it is, say
"updates paused" with the retry delay, and back off; an unusable token stops (286).
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, QueryDict
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_htmx.http import (
    HttpResponseClientRefresh,
    HttpResponseStopPolling,
    reswap,
    retarget,
    trigger_client_event,
)

from panel.http import TeamHttpRequest
from panel.teams import team_required
from servers import cache as server_cache
from servers import client as vpsorg
from servers import fragments, presenters
from servers import status as status_rules
from servers.api import Problem, problem
from servers.listing import ListState, results_context

# Injectable, so tests can make a read "slow" without waiting.
clock = time.monotonic

TOAST = "panel:toast"
# The most rows one poll may describe: a list page shows at most 100.
MAX_SEEN = 500
_SEEN_RE = re.compile(r"([A-Za-z0-9-]{1,128})\.([0-9a-f]{10})")
_ID_RE = re.compile(r"[A-Za-z0-9-]{1,128}")


def poll_max_age(servers: list[vpsorg.Server]) -> float:
    """How old a shared list a poll accepts: fresh while something moves, older while
    nothing does (a change made elsewhere still shows within about 3 idle intervals)."""
    if presenters.any_busy(servers):
        return server_cache.ttl()
    return max(server_cache.ttl(), 2 * presenters.idle_seconds())


def _int(query: QueryDict, name: str) -> int:
    try:
        return max(0, min(int(query.get(name, "")), 1 << 40))
    except ValueError:
        return 0


def _other_team(request: TeamHttpRequest) -> bool:
    """The page polls for a team that is no longer the user's current one (switched in
    another tab): its rows would all look deleted. The page must reload instead."""
    asked = request.GET.get("team", "")
    return bool(asked) and asked != str(request.membership.team.pk)


def _toast(response: HttpResponse, message: str, level: str = "info") -> HttpResponse:
    return trigger_client_event(response, TOAST, {"message": message, "level": level})


def _failure(
    request: TeamHttpRequest, template: str, context: dict[str, Any], found: Problem
) -> HttpResponse:
    """A poll VPS.org could not answer: the page keeps what it shows. A token that is
    missing or unusable stops the poller (286) with one banner; anything else answers
    the next poller, later, saying updates are paused."""
    html = render_to_string(template, context, request)
    if found.token:
        html += render_to_string(
            "servers/_live.html#token_banner",
            {"problem": found, "membership": request.membership},
            request,
        )
        return HttpResponseStopPolling(html)
    return HttpResponse(html)


# --- the list ---------------------------------------------------------------------------


def _seen(query: QueryDict) -> list[tuple[str, str]] | None:
    raw = query.get("seen", "")
    if not raw:
        return []
    parts = raw.split(",")
    if len(parts) > MAX_SEEN:
        return None
    seen = []
    for part in parts:
        match = _SEEN_RE.fullmatch(part)
        if match is None:
            return None
        seen.append((match[1], match[2]))
    return seen


def _ids(query: QueryDict, name: str) -> list[str] | None:
    raw = query.get(name, "")
    ids = [i for i in raw.split(",") if i] if raw else []
    if len(ids) > MAX_SEEN or not all(_ID_RE.fullmatch(i) for i in ids):
        return None
    return ids


@require_GET
@never_cache
@team_required()
def list_poll(request: TeamHttpRequest) -> HttpResponse:
    """The list page's one poller: every row it shows, refreshed from one shared read."""
    if _other_team(request):
        return HttpResponseClientRefresh()
    query = request.GET
    seen, busy_ids = _seen(query), _ids(query, "busy")
    if seen is None or busy_ids is None:
        return HttpResponseBadRequest(_("Unreadable list of servers."))
    state = ListState.from_query(query)
    since = _int(query, "since") or None
    errors = _int(query, "errors")
    team = request.membership.team
    try:
        servers, read_at = server_cache.read_list(team, max_age=poll_max_age)
    except vpsorg.VPSOrgError as exc:
        found = problem(exc, retrying=True)
        live = (
            presenters.STOPPED
            if found.token
            else presenters.list_poller(
                state.params(),
                team.pk,
                seen=seen,
                busy_ids=busy_ids,
                read_at=_int(query, "at") or None,
                since=since,
                errors=errors + 1,
                problem=found,
            )
        )
        if found.token:
            live = presenters.Poller(url="", delay=0, problem=found)
        context = {"live": live, "poller_id": "live-list"}
        return _failure(request, "servers/_live.html#poller", context, found)

    context = results_context(request, state, servers, read_at=read_at, since=since)
    rows = context["rows"]
    present = {s.id for s in servers}
    departed = server_cache.departed_names(team)
    notes = [presenters.gone_note(departed.get(i, "")) for i, _d in seen if i not in present]
    was_busy = set(busy_ids)
    settled = [
        presenters.settled_note(r.server)
        for r in rows
        if r.server.id in was_busy and r.badge.settled
    ]
    context.update(
        {
            "notes": notes,
            "poller_id": "live-list",
            "membership": request.membership,
            "can_manage": presenters.can_manage(request.membership),
        }
    )
    if errors or [r.server.id for r in rows] != [i for i, _d in seen]:
        # Other rows than the page shows (created or deleted elsewhere, a new order), or
        # the page showed an outage: the whole results, sort, filters and page kept.
        response = HttpResponse(
            render_to_string("servers/_live.html#list_results", context, request)
        )
        reswap(retarget(response, "#results"), "outerHTML")
    else:
        digests = dict(seen)
        context["changed"] = [r for r in rows if digests.get(r.server.id) != r.digest]
        response = HttpResponse(
            render_to_string("servers/_live.html#list_update", context, request)
        )
    if settled:
        _toast(response, " ".join(settled))
    return response


# --- the detail card ----------------------------------------------------------------------


@require_GET
@never_cache
@team_required()
def server_status(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    """The detail card's poller; a plain GET answers the badge alone."""
    response = _server_status(request, server_id)
    # The same URL answers a fragment for htmx and a badge otherwise.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _listed(team: Any, server_id: str) -> tuple[vpsorg.Server | None, float]:
    """The server as the team's shared list has it (None if the list lacks it or is
    unreadable), and when the list was read."""
    try:
        servers, read_at = server_cache.read_list(team, max_age=poll_max_age)
    except vpsorg.UnexpectedResponse:
        return None, 0.0
    return next((s for s in servers if s.id == server_id), None), read_at


def _server_status(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    if request.htmx and _other_team(request):
        return HttpResponseClientRefresh()
    team = request.membership.team
    query = request.GET
    shown = query.get("d", "")
    since = _int(query, "since") or None
    errors = _int(query, "errors")
    started = clock()
    try:
        listed, read_at = _listed(team, server_id)
        server = listed
        changed = listed is not None and presenters.row_digest(listed) != shown
        if listed is None or (request.htmx and (changed or query.get("reload"))):
            # What the card shows changed (or the list lacks the server): the card needs
            # the server in detail (usage, IPv6), while it fits the time budget.
            if clock() - started < float(settings.VPSORG_TIMEOUT):
                server, read_at = server_cache.read_server(team, server_id)
            elif listed is None:
                raise vpsorg.Unavailable(status=None)
    except vpsorg.NotFound:
        return _gone(request, server_id)
    except vpsorg.VPSOrgError as exc:
        found = problem(exc, retrying=True)
        if not request.htmx:
            context = {"problem": found}
            return HttpResponse(render_to_string("servers/_live.html#problem", context, request))
        live = (
            presenters.Poller(url="", delay=0, problem=found)
            if found.token
            else presenters.card_poller(
                vpsorg.Server(id=server_id),
                team.pk,
                read_at=_int(query, "at") or None,
                since=since,
                errors=errors + 1,
                problem=found,
                reload=bool(query.get("reload")),
                note=bool(query.get("note")),
                # What the card shows stays as it is: its digest, and in transition
                # if it was.
                shown=(shown, since is not None),
            )
        )
        context = {"live": live, "poller_id": "live-card"}
        return _failure(request, "servers/_live.html#poller", context, found)

    assert server is not None
    if not request.htmx:
        return HttpResponse(fragments.badge(presenters.badge(server.status)))
    if query.get("reload"):
        # The page could show nothing of the server: now it can.
        return HttpResponseClientRefresh()
    settled_now = bool(since) and status_rules.is_settled(server.status)
    note = bool(query.get("note"))
    context = {
        **presenters.card_context(request, server, read_at=read_at, since=since, note=note),
        "poller_id": "live-card",
        # Only when the page shows such a message (htmx logs an error for a missing one).
        "replaced": _replaced_messages(server) if settled_now and note else [],
    }
    if presenters.row_digest(server) == shown and not errors:
        return HttpResponse(render_to_string("servers/_live.html#card_update", context, request))
    response = HttpResponse(render_to_string("servers/_live.html#card_results", context, request))
    reswap(retarget(response, "#server-card"), "outerHTML")
    if settled_now:
        _toast(response, presenters.settled_note(server))
    return response


def _replaced_messages(server: vpsorg.Server) -> list[dict[str, str]]:
    """Messages about a transition that just ended, replaced where they stand: "web-01 is
    being created..." becomes "web-01 is ready." (presenters.transition_message_id)."""
    return [
        {
            "id": presenters.transition_message_id(server.id),
            "text": presenters.ready_note(server),
        }
    ]


def _gone(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    if not request.htmx:
        found = problem(vpsorg.NotFound())
        html = render_to_string("servers/_live.html#problem", {"problem": found}, request)
        return HttpResponse(html, status=404)
    html = render_to_string("servers/_live.html#gone_card", {"server_id": server_id}, request)
    response = HttpResponseStopPolling(html)
    return reswap(retarget(response, "#server-card"), "outerHTML")
