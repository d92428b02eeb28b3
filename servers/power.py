"""Power actions: start, stop and reboot one server.

- POST /servers/<id>/start|stop|reboot/: a plain form POST that redirects back with a
  message; with htmx it answers the server's row (list) or card (detail, with its recent
  activity out of band), and a toast through HX-Trigger.
- GET /servers/<id>/stop|reboot/: the confirmation page for a browser without scripts
  (the buttons' forms GET it; with htmx, hx-post acts after the dialog). Its form POSTs
  to the same URL. Start needs no confirmation.

What a row or card shows comes from servers/presenters.py, its markup from the templates.
"""

from __future__ import annotations

import dataclasses
import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from panel import audit
from panel.http import TeamHttpRequest
from panel.models import Role
from panel.teams import team_required
from servers import cache as server_cache
from servers import client as vpsorg
from servers import fragments, presenters
from servers import status as status_rules
from servers.api import NoToken, client_for, error_message, maybe_applied
from servers.api import problem as problem_of
from servers.presenters import not_found
from servers.protection import lock_for

AUDIT_ACTIONS = {
    "start": audit.Action.SERVER_START,
    "stop": audit.Action.SERVER_STOP,
    "reboot": audit.Action.SERVER_REBOOT,
}
# Injectable, so tests can make an action "slow" without waiting.
clock = time.monotonic

TOAST = "panel:toast"
# Heard by the page's live poller (hx-trigger "... panel:wake from:body"): a transition
# just began, so it asks now and comes back at the fast pace.
WAKE = "panel:wake"


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


def _call(client: vpsorg.VPSOrgClient, server_id: str, action: str) -> vpsorg.ActionResult:
    if action == "start":
        return client.start_server(server_id)
    if action == "stop":
        return client.stop_server(server_id)
    return client.reboot_server(server_id)


def _toast(response: HttpResponse, message: str, level: str, detail: str = "") -> HttpResponse:
    """A toast (static/js/panel.js): plain words, the technical detail smaller beside."""
    payload = {"message": message, "level": level}
    if detail:
        payload["detail"] = detail
    return trigger_client_event(response, TOAST, payload)


# --- fragments ---------------------------------------------------------------------------


def render_row(request: TeamHttpRequest, server: vpsorg.Server) -> str:
    # The row keeps its lock mark (and the digest the list poller compares).
    locked = {server.id} if lock_for(request.membership.team, server.id) else set()
    maker = presenters.RowMaker(request.membership, locked)
    return fragments.row(maker(server), get_token(request))


def render_card(request: TeamHttpRequest, server: vpsorg.Server) -> str:
    """The card, and the page's recent activity out of band: it shows the action just done."""
    team = request.membership.team
    context = {
        **presenters.card_context(request, server),
        "poller_id": "live-card",
        "entries": audit.entries_for_server(team, server.id, limit=10),
        "oob": True,
    }
    return render_to_string("servers/detail.html#card", context, request) + render_to_string(
        "servers/detail.html#activity", context, request
    )


def _gone_card(request: TeamHttpRequest, server_id: str) -> str:
    return render_to_string("servers/_live.html#gone_card", {"server_id": server_id}, request)


def _back(request: TeamHttpRequest, server_id: str) -> str:
    """Where a plain form POST returns: the confirmation page's `next` (the page its
    GET came from), else the page the form was on; never another site."""
    for candidate in (request.POST.get("next", ""), request.headers.get("Referer", "")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return reverse("servers:detail", args=[server_id])


# --- views ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@team_required(Role.OPERATOR)
def power(request: TeamHttpRequest, server_id: str, action: str) -> HttpResponse:
    """Start, stop or reboot one server, then show where it stands; a GET of stop or
    reboot asks first."""
    if request.method == "GET":
        if action == "start":
            return HttpResponseNotAllowed(["POST"])
        return _confirm(request, server_id, action)
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
    found = problem_of(error) if error is not None else None
    detail = found.detail if found else ""
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
        if found and found.transient and detail:
            # A message is plain text: the detail in brackets after the plain words.
            text = f"{text} ({detail})"
        messages.add_message(request, messages.SUCCESS if error is None else messages.ERROR, text)
        return redirect(_back(request, server_id))

    within = "card" if request.htmx.target == "server-card" else "row"
    if gone:
        # An empty answer swapped over the row removes it; a card says what happened.
        response = HttpResponse(_gone_card(request, server_id) if within == "card" else "")
        return _toast(response, text, level, detail)
    server = fresh or (known if result is not None else None)
    if server is None:
        # Nothing better to show than what the page shows: keep it, the toast explains.
        return _toast(HttpResponse(status=204), text, level, detail)
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
    response = _toast(HttpResponse(html), text, level, detail)
    if result is not None:
        # The page's poller asks at once, and at the fast pace of a transition.
        trigger_client_event(response, WAKE, after="settle")
    return response


def _confirm(request: TeamHttpRequest, server_id: str, action: str) -> HttpResponse:
    """Without scripts, Stop and Reboot lead here: what will happen, and a form that
    POSTs the action. A server whose status does not allow it says so instead."""
    team = request.membership.team
    server: vpsorg.Server | None = None
    found = None
    try:
        server = server_cache.get_server(team, server_id)
    except vpsorg.NotFound:
        return not_found(request, server_id)
    except vpsorg.VPSOrgError as exc:
        found = problem_of(exc)
        known = server_cache.last_known_server(team, server_id)
        server = known[0] if known else None
    name = (server.name if server else "") or server_id
    title, detail = presenters.confirm_words(action, name)
    allowed = found is not None or (
        server is not None and action in status_rules.allowed_actions(server.status)
    )
    context = {
        "server": server,
        "server_id": server_id,
        "name": name,
        "action": action,
        "title": title,
        "detail": detail,
        "label": presenters.button_label(action),
        "allowed": allowed,
        "badge": presenters.badge(server.status) if server else None,
        "problem": found,
        "membership": request.membership,
        # The page the button was on, to return to after the POST.
        "next": _back(request, server_id),
    }
    return render(request, "servers/confirm_power.html", context)
