"""Power actions (start, stop, reboot) and the live status of servers in transition.

- POST /servers/<id>/start|stop|reboot/: a plain form POST that redirects back with a
  message; with htmx it answers the server's row (list) or card (detail), badge inside,
  and a toast through HX-Trigger.
- GET /servers/<id>/status/: the badge. In transition it polls (hx-get + a trigger that
  static/js/panel.js fires on its schedule); once settled it answers 286 and, for htmx,
  the whole card or row, so buttons, addresses and usage follow the status.
- GET /servers/status/: the list page's single poller. It watches every row in
  transition with one (cached) list call, and swaps the rows out of band.

Reads go through servers.cache, so every viewer of a team shares one upstream call per
interval; the team's own actions invalidate it.
"""

from __future__ import annotations

import dataclasses
import re
import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import (
    HttpResponseClientRefresh,
    HttpResponseStopPolling,
    reswap,
    retarget,
    trigger_client_event,
)

from panel import audit
from panel.http import TeamHttpRequest
from panel.models import Role, Team
from panel.teams import team_required
from servers import cache as server_cache
from servers import client as vpsorg
from servers import status as status_rules
from servers.api import NoToken, client_for, error_message, maybe_applied
from servers.templatetags.servers_tags import WITHIN, badge_html
from servers.views import card_context, not_found, row_context

AUDIT_ACTIONS = {
    "start": audit.Action.SERVER_START,
    "stop": audit.Action.SERVER_STOP,
    "reboot": audit.Action.SERVER_REBOOT,
}
# The most rows one poll may watch: a list page shows at most a few hundred.
MAX_WATCHED = 500
_ID_RE = re.compile(r"[A-Za-z0-9-]{1,128}")

# Injectable, so tests can make an action "slow" without waiting.
clock = time.monotonic

TOAST = "panel:toast"
POLL_ERROR = "panel:poll-error"
POLL_STOP = "panel:poll-stop"


def _done_text(action: str, name: str) -> str:
    texts = {
        "start": _("Starting %(name)s…"),
        "stop": _("Stopping %(name)s…"),
        "reboot": _("Rebooting %(name)s…"),
    }
    return texts[action] % {"name": name}


def _failed_text(action: str, name: str, reason: str) -> str:
    texts = {
        "start": _("Could not start %(name)s. %(reason)s"),
        "stop": _("Could not stop %(name)s. %(reason)s"),
        "reboot": _("Could not reboot %(name)s. %(reason)s"),
    }
    return texts[action] % {"name": name, "reason": reason}


def _unconfirmed_text(action: str, name: str) -> str:
    """No clear answer to the action: it may have been done, so "try again" would be wrong
    (a second reboot of a server already rebooting)."""
    texts = {
        "start": _(
            "VPS.org did not confirm the start of %(name)s; it may be starting anyway. "
            "Check its status before trying again."
        ),
        "stop": _(
            "VPS.org did not confirm the stop of %(name)s; it may be stopping anyway. "
            "Check its status before trying again."
        ),
        "reboot": _(
            "VPS.org did not confirm the reboot of %(name)s; it may be rebooting anyway. "
            "Check its status before trying again."
        ),
    }
    return texts[action] % {"name": name}


def _settled_text(server: vpsorg.Server) -> str:
    return _("%(name)s is now %(status)s.") % {
        "name": server.name or server.id,
        "status": status_rules.label(server.status).lower(),
    }


def _call(client: vpsorg.VPSOrgClient, server_id: str, action: str) -> vpsorg.ActionResult:
    if action == "start":
        return client.start_server(server_id)
    if action == "stop":
        return client.stop_server(server_id)
    return client.reboot_server(server_id)


def _toast(response: HttpResponse, message: str, level: str) -> HttpResponse:
    return trigger_client_event(response, TOAST, {"message": message, "level": level})


# --- fragments --------------------------------------------------------------------------


def render_row(request: TeamHttpRequest, server: vpsorg.Server, *, oob: bool = False) -> str:
    """One row of the list (`servers/list.html#row`), optionally marked for an
    out-of-band swap (wrapped in <template>, the only way a <tr> survives htmx's parser
    next to other elements)."""
    html = render_to_string(
        "servers/list.html#row", {**row_context(request, server), "oob": oob}, request=request
    ).strip()
    return f"<template>{html}</template>" if oob else html


def render_card(request: TeamHttpRequest, server: vpsorg.Server) -> str:
    return render_to_string(
        "servers/detail.html#card", card_context(request, server), request
    ).strip()


def _gone_card(server_id: str) -> SafeString:
    return format_html(
        '<section id="server-card" class="server-card server-gone" data-server-id="{}">'
        '<p class="notice" role="alert">{} <a href="{}">{}</a></p></section>',
        server_id,
        _("This server no longer exists at VPS.org: it was deleted elsewhere."),
        reverse("servers:list"),
        _("Back to the servers"),
    )


def _gone_row_oob(server_id: str, name: str) -> SafeString:
    """Remove the row and leave a note in the page's messages."""
    note = (
        _("%(name)s no longer exists at VPS.org: it was deleted elsewhere.") % {"name": name}
        if name
        else _("A server no longer exists at VPS.org: it was deleted elsewhere.")
    )
    return format_html(
        '<template><tr id="server-{}" hx-swap-oob="delete"></tr></template>'
        '<div hx-swap-oob="beforeend:#messages">'
        '<p class="message message-warning" role="status">{}</p></div>',
        server_id,
        note,
    )


def _token_banner_oob(request: TeamHttpRequest, error: vpsorg.VPSOrgError) -> SafeString:
    """The banner fills one fixed element by id, so repeated answers show it once."""
    link: SafeString = mark_safe("")
    if request.membership.has_role(Role.ADMIN):
        link = format_html(' <a href="{}">{}</a>', reverse("team:token"), _("Replace it"))
    return format_html(
        '<div id="token-banner" class="token-banner" hx-swap-oob="true">'
        '<p class="notice error" role="alert">{} {}{}</p></div>',
        error_message(error),
        _("Live status updates have stopped."),
        link,
    )


def _poll_failure(
    request: TeamHttpRequest, error: vpsorg.VPSOrgError, body: str = ""
) -> HttpResponse:
    """A poll that could not read VPS.org: keep what is shown and tell the script why.

    An unusable token stops polling (its banner appears once); anything else backs off.
    Plain requests (no htmx) get the message as text, never a 5xx.
    """
    if not request.htmx:
        return HttpResponse(
            format_html('<p class="notice error" role="alert">{}</p>', error_message(error))
        )
    if isinstance(error, NoToken | vpsorg.Unauthorized | vpsorg.Forbidden):
        response = HttpResponse(body + _token_banner_oob(request, error))
        trigger_client_event(response, POLL_STOP, {"reason": "token"})
    else:
        response = HttpResponse(body)
        retry_after = getattr(error, "retry_after", None)
        trigger_client_event(
            response,
            POLL_ERROR,
            {"message": error_message(error), "retryAfter": retry_after},
        )
    # Out-of-band parts still land; the element that polled stays as it is.
    return reswap(response, "none")


def _back(request: TeamHttpRequest, server_id: str) -> str:
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("servers:detail", args=[server_id])


def _other_team(request: TeamHttpRequest) -> bool:
    """The page polls for a team that is no longer the user's current one (switched in
    another tab): its rows would all look deleted. The page must reload instead."""
    asked = request.GET.get("team", "")
    return bool(asked) and asked != str(request.membership.team.pk)


# --- views ------------------------------------------------------------------------------


@require_POST
@team_required(Role.OPERATOR)
def power(request: TeamHttpRequest, server_id: str, action: str) -> HttpResponse:
    """Start, stop or reboot one server, then show where it stands."""
    started = clock()
    team = request.membership.team
    known = server_cache.peek_server(team, server_id)
    result: vpsorg.ActionResult | None = None
    error: vpsorg.VPSOrgError | None = None
    try:
        result = _call(client_for(team), server_id, action)
    except vpsorg.VPSOrgError as exc:
        error = exc
    # Whatever happened, what anyone of the team sees next comes fresh from VPS.org.
    server_cache.invalidate(team)

    fresh: vpsorg.Server | None = None
    gone = isinstance(error, vpsorg.NotFound)
    # htmx swaps in the server's fresh state: a second upstream call, made only while
    # it fits the time budget (about 3 x VPSORG_TIMEOUT a request), and never after an
    # API that did not answer the first.
    in_budget = clock() - started < float(settings.VPSORG_TIMEOUT)
    if request.htmx and in_budget and not isinstance(error, vpsorg.Unavailable | NoToken):
        try:
            fresh = server_cache.get_server(team, server_id)
        except vpsorg.NotFound:
            gone = True
        except vpsorg.VPSOrgError:
            fresh = None
        else:
            # The server itself outweighs the action's 404: it is there, keep showing it.
            gone = False

    name = next(
        (s.name for s in (result.server if result else None, fresh, known) if s and s.name), ""
    )
    audit.record(
        team,
        request.user,
        AUDIT_ACTIONS[action],
        target_id=server_id,
        target_name=name,
        error=error,
    )
    shown_name = name or server_id
    if error is None:
        level, text = "success", _done_text(action, shown_name)
    else:
        level, text = "error", _failed_text(action, shown_name, error_message(error))
        if maybe_applied(error):
            text = _unconfirmed_text(action, shown_name)

    if not request.htmx:
        if gone:
            # Deleted, or another team's server: the same 404 either way.
            return not_found(request, server_id)
        messages.add_message(request, messages.SUCCESS if error is None else messages.ERROR, text)
        return redirect(_back(request, server_id))

    within = "card" if request.htmx.target == "server-card" else "row"
    if gone:
        # An empty answer swapped over the row removes it; a card says what happened.
        response = HttpResponse(_gone_card(server_id) if within == "card" else "")
        return _toast(response, text, level)
    server = fresh or (known if result is not None else None)
    if server is None:
        # Nothing better to show than what the page shows: keep it, the toast explains.
        return _toast(HttpResponse(status=204), text, level)
    if (
        result is not None
        and result.server.status
        and not status_rules.is_settled(result.server.status)
        and status_rules.is_settled(server.status)
    ):
        # The action was accepted: its transitional status is newer than a read that
        # may lag behind it, and it is what starts the polling.
        server = dataclasses.replace(server, status=result.server.status)
    html = render_card(request, server) if within == "card" else render_row(request, server)
    return _toast(HttpResponse(html), text, level)


@require_GET
@never_cache
@team_required()
def server_status(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    """The badge; once settled, 286 and (for htmx) the card or row it belongs to."""
    response = _server_status(request, server_id)
    # The same URL answers a fragment for htmx and a badge otherwise.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _server_status(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    within = request.GET.get("within", "")
    within = within if within in WITHIN else ""
    if request.htmx and _other_team(request):
        return HttpResponseClientRefresh()
    team = request.membership.team
    try:
        server = _polled_server(team, server_id, settled_needs_detail=within == "card")
    except vpsorg.NotFound:
        if request.htmx and within == "card":
            return reswap(
                retarget(HttpResponse(_gone_card(server_id)), "#server-card"), "outerHTML"
            )
        if request.htmx and within == "row":
            return reswap(HttpResponse(_gone_row_oob(server_id, "")), "none")
        return HttpResponse(error_message(vpsorg.NotFound()), status=404)
    except vpsorg.VPSOrgError as exc:
        return _poll_failure(request, exc)

    if not status_rules.is_settled(server.status):
        return HttpResponse(badge_html(server, poll=within or "card", team=team))
    if not request.htmx:
        return HttpResponse(badge_html(server))
    if within == "card":
        response: HttpResponse = HttpResponseStopPolling(render_card(request, server))
        retarget(response, "#server-card")
    elif within == "row":
        response = HttpResponseStopPolling(render_row(request, server))
        retarget(response, f"#server-{server.id}")
    else:
        return HttpResponseStopPolling(badge_html(server))
    reswap(response, "outerHTML")
    return _toast(response, _settled_text(server), "info")


def _polled_server(team: Team, server_id: str, *, settled_needs_detail: bool) -> vpsorg.Server:
    """The server as one poll of its badge needs it, at the least upstream cost.

    Badges read the team's one cached list, the one the list page's poller reads too:
    V viewers watching K servers, on list or detail pages, then cost one upstream call
    per interval, not K. Only a card that settles needs the server in detail (usage,
    IPv6), and asks for it once. A server the list lacks (deleted, or a list that lags
    behind a create) and a list VPS.org cannot deliver readably are asked for directly,
    while that still fits the time budget (about 3 x VPSORG_TIMEOUT a request).
    """
    started = clock()
    try:
        listed = next((s for s in server_cache.list_servers(team) if s.id == server_id), None)
    except vpsorg.UnexpectedResponse:
        listed = None
    if listed is not None and not (settled_needs_detail and status_rules.is_settled(listed.status)):
        return listed
    if clock() - started > float(settings.VPSORG_TIMEOUT):
        if listed is None:
            raise vpsorg.Unavailable(status=None)
        return listed
    return server_cache.get_server(team, server_id)


def _watched(request: TeamHttpRequest) -> list[tuple[str, str]] | None:
    ids = request.GET.getlist("id")
    names = request.GET.getlist("name")
    if len(ids) > MAX_WATCHED or (names and len(names) != len(ids)):
        return None
    if not all(_ID_RE.fullmatch(i) for i in ids):
        return None
    names = names or [""] * len(ids)
    return [(i, n[:200]) for i, n in zip(ids, names, strict=True)]


@require_GET
@never_cache
@team_required()
def list_poll(request: TeamHttpRequest) -> HttpResponse:
    """Every row in transition on one list page, from one cached list call.

    The script sends the ids (and names) of the rows it shows in transition; the answer
    swaps each of those rows out of band with its current state, removes the rows of
    servers deleted elsewhere (with a note), and toasts the ones that settled.
    """
    if _other_team(request):
        return HttpResponseClientRefresh()
    watched = _watched(request)
    if watched is None:
        return HttpResponseBadRequest(_("Unreadable list of servers."))
    if not watched:
        return HttpResponse(status=204)
    try:
        current = {s.id: s for s in server_cache.list_servers(request.membership.team)}
    except vpsorg.VPSOrgError as exc:
        return _poll_failure(request, exc)
    parts: list[str] = []
    settled: list[str] = []
    for server_id, name in watched:
        server = current.get(server_id)
        if server is None:
            parts.append(_gone_row_oob(server_id, name))
            continue
        parts.append(render_row(request, server, oob=True))
        if status_rules.is_settled(server.status):
            settled.append(_settled_text(server))
    response = HttpResponse("".join(parts))
    if settled:
        _toast(response, " ".join(settled), "info")
    return response
