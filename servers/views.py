"""The server pages: list, detail, create, edit, rename, delete, and the team's SSH keys.

Each view makes as few upstream calls as it can (the list: one list_servers; plans come
from a per-team cache), catches VPSOrgError in one place and shows error_message(), and
branches on request.htmx once, at the end. Power actions and the status badge live in
servers/power.py; what both show of a server comes from servers/presenters.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url, reswap, retarget

from panel import after_response
from panel.audit import Action, changes_between, entries_for_server, record
from panel.http import TeamHttpRequest
from panel.models import Role, Team
from panel.teams import team_required
from servers import cache as server_cache
from servers import client as vpsorg
from servers import fragments, presenters, protection
from servers.api import NoToken, TokenUnreadable, client_for, error_message, maybe_applied
from servers.api import problem as problem_of
from servers.catalog import (
    cached_plans,
    learn_operating_systems,
    offered_operating_systems,
    plans_for,
)
from servers.forms import (
    DeleteForm,
    RenameForm,
    ServerCreateForm,
    ServerEditForm,
    SSHKeyForm,
    apply_api_errors,
)
from servers.listing import ListState, filters_context, location_choices, results_context
from servers.models import SSHKey
from servers.presenters import card_context, not_found

logger = logging.getLogger(__name__)

# Indirection so tests can make the list look slow without touching time itself.
_clock = time.monotonic


# --------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------


def _can_manage(request: TeamHttpRequest) -> bool:
    return presenters.can_manage(request.membership)


def _upstream_context(
    error: vpsorg.VPSOrgError | None, *, retrying: bool = False
) -> dict[str, Any]:
    """`no_token` / `token_rejected` / `error` (plain words) / `problem` (with the
    technical detail) for the templates, from one caught error."""
    problem = problem_of(error, retrying=retrying) if error is not None else None
    return {
        "no_token": isinstance(error, NoToken),
        "token_rejected": isinstance(error, vpsorg.Unauthorized),
        "error": problem.message if problem else None,
        "problem": problem,
    }


def _invalidate(team: Team) -> None:
    """After the team changed a server, nobody of the team must see the cached old one."""
    server_cache.invalidate(team)


# --------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------


def _plans_quietly(team: Team, started: float) -> list[vpsorg.Plan]:
    """Plans only add filter choices to the list: their failure must not cost the list,
    and once the list used up a timeout they are not asked for (the page must answer
    within about 3 x VPSORG_TIMEOUT); the cached ones still count."""
    if _clock() - started > settings.VPSORG_TIMEOUT:
        return cached_plans(team) or []
    try:
        return plans_for(team, client_for(team))
    except vpsorg.VPSOrgError as exc:
        logger.info("Plans unavailable for the location filter: %r", exc)
        return []


# Where the page rendered while VPS.org answers takes the parts that need the servers: a
# "<" no escaped value holds, so a marker is only ever where the template put it.
_RESULTS_SLOT = mark_safe("<panel-results-slot>")
_LOCATIONS_SLOT = mark_safe("<panel-locations-slot>")
_POLLER_SLOT = mark_safe("<panel-poller-slot>")
_RESULTS_SLOT_BYTES, _POLLER_SLOT_BYTES = _RESULTS_SLOT.encode(), _POLLER_SLOT.encode()


@require_GET
@team_required()
def server_list(request: TeamHttpRequest) -> HttpResponse:
    team = request.membership.team
    started = _clock()
    state = ListState.from_query(request.GET)
    # An htmx GET answers the #results fragment; a history restore needs the whole page.
    fragment = bool(request.htmx) and not request.htmx.history_restore_request
    servers: list[vpsorg.Server] = []
    plans: list[vpsorg.Plan] | None = None
    failure: vpsorg.VPSOrgError | None = None
    read_at: float | None = None
    stale = False
    shell = ""
    # The team's one unfiltered list, filtered here, so the page and every live poll
    # share one entry. A page navigated to asks VPS.org now (refreshing the shared
    # entry); a filter change within the page may take one a moment old.
    try:
        pending: server_cache.PendingList | None = (
            (lambda: server_cache.read_list(team))
            if fragment
            else server_cache.read_list_soon(team)
        )
    except vpsorg.VPSOrgError as exc:  # no token, or one that cannot be read
        pending, failure = None, exc
    if pending is not None and not fragment:
        # While VPS.org answers: what needs no servers. The page but the results and the
        # locations, and the plans if cached (else asked for below, once the list is in).
        shell = render_to_string("servers/list.html", _shell_context(request, state), request)
        plans = cached_plans(team)
    protected = protection.protected_ids(team)
    if pending is not None:
        try:
            servers, read_at = pending()
        except vpsorg.VPSOrgError as exc:
            failure = exc
    if failure is not None:
        known = None if isinstance(failure, NoToken) else server_cache.last_known_list(team)
        if known is not None and not isinstance(failure, vpsorg.Unauthorized | vpsorg.Forbidden):
            servers, read_at = known
            stale = True
    else:
        # The catalog's gain, not the page's: after the answer.
        after_response.defer(lambda: learn_operating_systems(servers))
    if not fragment and not isinstance(failure, NoToken) and plans is None:
        # Only the full page has the location filter; during an outage the plans come
        # only from their cache.
        plans = (cached_plans(team) or []) if failure else _plans_quietly(team, started)

    # The same answer, seen the same way, a moment ago: its markup again (ResultsMemo).
    memo_key = (
        None
        if failure
        else (team.pk, request.membership.role, get_language(), state, frozenset(protected))
    )
    reused = fragments.results_memo.get(memo_key, servers) if memo_key else None
    if reused is not None:
        state = reused.state
        live = presenters.rows_poller(state.params(), reused.rows, team.pk, read_at=read_at)
        markup = reused.markup
    else:
        markup, state, live = _render_results(
            request, state, servers, failure, memo_key,
            plans=plans, read_at=read_at, stale=stale, protected=protected,
        )  # fmt: skip
    # Assembled as UTF-8 (the memo keeps the results so): no page-long string to encode.
    poller = render_to_string("servers/_live.html#poller", {"live": live, "poller_id": "live-list"})
    results = fragments.with_csrf(markup.replace(_POLLER_SLOT_BYTES, poller.encode(), 1), request)
    if fragment:
        response = HttpResponse(results)
        if request.htmx.trigger in ("filters", "sort-select"):
            # The form sends every field, empty ones too; push the tidy URL instead.
            push_url(response, state.url())
    else:
        if not shell:
            shell = render_to_string("servers/list.html", _shell_context(request, state), request)
        options = render_to_string(
            "servers/list.html#location_options",
            {"location_choices": location_choices(servers, plans, state), "state": state},
        )
        around = shell.replace(_LOCATIONS_SLOT, options, 1).encode()
        head, tail = around.split(_RESULTS_SLOT_BYTES, 1)
        response = HttpResponse(b"".join((head, results, tail)))
    # The same URL answers a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _render_results(
    request: TeamHttpRequest,
    state: ListState,
    servers: list[vpsorg.Server],
    failure: vpsorg.VPSOrgError | None,
    memo_key: tuple[Any, ...] | None,
    **shown: Any,
) -> tuple[bytes, ListState, presenters.Poller]:
    """The list's #results in UTF-8 (with the poller's slot and the CSRF marker), the state it
    showed and its poller; kept for the next same answer when it has a key and no server
    in transition."""
    upstream = _upstream_context(failure, retrying=True)
    errors = 1 if failure else 0
    context = {
        **upstream,
        **results_context(
            request, state, servers, errors=errors, problem=upstream["problem"], **shown
        ),
        "membership": request.membership,
        "can_manage": _can_manage(request),
        "poller_slot": _POLLER_SLOT,
        "csrf_token": fragments.CSRF_MARK,
    }
    if isinstance(failure, NoToken | vpsorg.Unauthorized | vpsorg.Forbidden | TokenUnreadable):
        # Polling cannot help until an admin acts on the token.
        context["live"] = presenters.STOPPED
    markup = render_to_string("servers/list.html#results", context, request).encode()
    rows = context["rows"]
    if memo_key is not None and all(row.badge.settled for row in rows):
        fragments.results_memo.keep(
            memo_key, fragments.RenderedResults(servers, markup, context["state"], rows)
        )
    return markup, context["state"], context["live"]


def _shell_context(request: TeamHttpRequest, state: ListState) -> dict[str, Any]:
    """What list.html reads outside #results and the location options (slots)."""
    return {
        **filters_context(state),
        "results_slot": _RESULTS_SLOT,
        "locations_slot": _LOCATIONS_SLOT,
        "membership": request.membership,
        "can_manage": _can_manage(request),
        "can_operate": presenters.can_operate(request.membership),
    }


# --------------------------------------------------------------------------------------
# Detail
# --------------------------------------------------------------------------------------


def _priced_plan(team: Team, plan: vpsorg.Plan | None) -> vpsorg.Plan | None:
    """The server's plan with its prices, for the page's price row. VPS.org names a
    server's plan without them, so they come from the team's plans as the list and the
    create form cached them (for minutes): the page makes no call of its own for them,
    so every path and every test of it keeps its one upstream call. None: no price known,
    the row is left out."""
    if plan is None:
        return None
    if plan.price_monthly is not None or plan.price_hourly is not None:
        return plan
    return next((p for p in cached_plans(team) or [] if str(p.id) == str(plan.id)), None)


@require_GET
@team_required()
def server_detail(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    team = request.membership.team
    try:
        # A page navigated to shows VPS.org's answer of this moment.
        server, read_at = server_cache.read_server(team, server_id, fresh=True)
    except vpsorg.NotFound:
        return not_found(request, server_id)
    except vpsorg.VPSOrgError as exc:
        problem = problem_of(exc, retrying=True)
        known = None if problem.token else server_cache.last_known_server(team, server_id)
        if known is None:
            context = {
                **_upstream_context(exc, retrying=True),
                "server_id": server_id,
                "membership": request.membership,
                # Nothing seen yet: the first good answer reloads the page.
                "live": presenters.STOPPED
                if problem.token
                else presenters.card_poller(
                    vpsorg.Server(id=server_id), team.pk, errors=1, problem=problem, reload=True
                ),
            }
            return render(request, "servers/detail.html", context)
        server, read_at = known
        context = {
            **card_context(request, server, read_at=read_at, errors=1, problem=problem, stale=True),
            "server_id": server.id,
            "priced_plan": _priced_plan(team, server.plan),
            "entries": entries_for_server(team, server.id, limit=10),
            "rename_form": RenameForm(initial={"name": server.name}, auto_id="rename-%s"),
        }
        return render(request, "servers/detail.html", context)
    learn_operating_systems([server])
    # A message about this server's transition ("being created") is to be replaced by
    # the card's poller once it ends. Reading the messages here leaves them to the page.
    note_id = presenters.transition_message_id(server.id)
    note = any(m.extra_tags == note_id for m in messages.get_messages(request))
    context = {
        **card_context(request, server, read_at=read_at, note=note),
        **_upstream_context(None),
        "server_id": server.id,
        "priced_plan": _priced_plan(team, server.plan),
        "entries": entries_for_server(team, server.id, limit=10),
        "rename_form": RenameForm(initial={"name": server.name}, auto_id="rename-%s"),
    }
    return render(request, "servers/detail.html", context)


# --------------------------------------------------------------------------------------
# Create
# --------------------------------------------------------------------------------------

_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class CreateGuard:
    """Makes sure one create is sent once, whatever the user's clicks and reloads.

    Two keys are claimed atomically with cache.add before the API is called: the form's
    one-time nonce (double click, reload, back and resubmit of the same form) and a digest
    of the request body (the same server asked for again from a fresh form). A key that
    is already taken holds what the first attempt led to.
    """

    PENDING = "pending"
    UNCERTAIN = "uncertain"
    # Long enough for the slowest create (3 x timeout), short enough to recover from a
    # worker that died mid-call.
    PENDING_TTL = 300
    NONCE_TTL = 24 * 3600
    BODY_TTL = 600

    def __init__(self, team: Team, nonce: str, fields: dict[str, Any]) -> None:
        body = json.dumps(fields, sort_keys=True, default=str)
        digest = hashlib.sha256(body.encode()).hexdigest()
        self.keys: list[tuple[str, int]] = []
        if _NONCE.fullmatch(nonce):
            self.keys.append((f"servers:create:nonce:{team.pk}:{nonce}", self.NONCE_TTL))
        self.keys.append((f"servers:create:body:{team.pk}:{digest}", self.BODY_TTL))

    def claim(self) -> str | None:
        """None if this request may send the create; else what the earlier attempt left."""
        for index, (key, _ttl) in enumerate(self.keys):
            if not cache.add(key, self.PENDING, self.PENDING_TTL):
                earlier = cache.get(key) or self.PENDING
                # The keys claimed a moment ago now stand for the earlier attempt.
                for claimed, ttl in self.keys[:index]:
                    cache.set(
                        claimed, earlier, self.PENDING_TTL if earlier == self.PENDING else ttl
                    )
                return earlier
        return None

    def created(self, server_id: str) -> None:
        for key, ttl in self.keys:
            cache.set(key, f"id:{server_id}", ttl)

    def uncertain(self) -> None:
        for key, ttl in self.keys:
            cache.set(key, self.UNCERTAIN, ttl)

    def failed(self) -> None:
        # VPS.org certainly created nothing: the same form may be sent again.
        cache.delete_many([key for key, _ttl in self.keys])


def _uncertain_message(error: vpsorg.VPSOrgError) -> str:
    if isinstance(error, vpsorg.Unavailable):
        reason = _("VPS.org did not answer in time.")
    elif isinstance(error, vpsorg.ServerError):
        reason = _("A gateway in front of VPS.org answered with an error (HTTP %(status)s).") % {
            "status": error.status
        }
    else:
        reason = _("VPS.org's answer could not be read.")
    return " ".join(
        (
            reason,
            _(
                "The server may have been created anyway, so the panel did not send the "
                "request again. Check the server list before trying again."
            ),
        )
    )


def _duplicate_response(request: TeamHttpRequest, earlier: str) -> HttpResponse:
    if earlier.startswith("id:"):
        server_id = earlier.removeprefix("id:")
        messages.info(
            request,
            _("This server was already created by an earlier submission of the same form."),
        )
        return redirect("servers:detail", server_id=server_id)
    if earlier == CreateGuard.UNCERTAIN:
        messages.warning(
            request,
            _(
                "An earlier attempt with these details may have created the server; it was not "
                "sent again. Check the list below. If it is not there in a few minutes, try again."
            ),
        )
    else:
        messages.info(
            request,
            _("This server is already being created; it was not sent again. It appears below."),
        )
    return redirect("servers:list")


def _credits_message(form: ServerCreateForm, error: vpsorg.PaymentRequired) -> str:
    """A 402 in numbers: the plan's price, and what VPS.org said (its answer may carry the
    balance; the Account API gives none, so the panel cannot show it beforehand)."""
    plan = form.chosen_plan()
    parts = [
        _("The VPS.org account does not have enough credits for this server.")
        if plan is None or not plan.monthly
        else _(
            "The VPS.org account does not have enough credits for this server: "
            "%(plan)s costs %(price)s a month."
        )
        % {"plan": plan.plan.name, "price": plan.monthly}
    ]
    detail = (error.message or "").strip()
    if detail and detail.rstrip(".").casefold() not in ("payment required", "insufficient credits"):
        parts.append(_("VPS.org said: %(detail)s") % {"detail": detail})
    else:
        parts.append(_("VPS.org does not tell the panel the account's balance."))
    parts.append(_("Add credits at VPS.org, or choose a smaller plan, then try again."))
    return " ".join(parts)


def _create_form(
    request: TeamHttpRequest, data: QueryDict | None, plans: list[vpsorg.Plan] | None
) -> ServerCreateForm:
    initial = {"form_nonce": secrets.token_urlsafe(24)}
    if data is None:
        # A GET may preselect (?location=...), also how htmx refreshes the plan choices.
        for field in ("location", "plan_id", "os_id"):
            if request.GET.get(field):
                initial[field] = request.GET[field]
    elif not data.get("form_nonce"):
        data = data.copy()
        data["form_nonce"] = initial["form_nonce"]
    return ServerCreateForm(
        data,
        initial=initial,
        plans=plans,
        operating_systems=offered_operating_systems(),
        ssh_keys=list(request.membership.team.ssh_keys.all()),
    )


@require_http_methods(["GET", "POST"])
@team_required(Role.MANAGER)
def server_create(request: TeamHttpRequest) -> HttpResponse:
    team = request.membership.team
    failure: vpsorg.VPSOrgError | None = None
    plans_error: str | None = None
    uncertain = False
    plans: list[vpsorg.Plan] | None = None
    client: vpsorg.VPSOrgClient | None = None
    credits_error: str | None = None
    try:
        client = client_for(team)
        plans = plans_for(team, client)
    except NoToken as exc:
        failure = exc
    except vpsorg.VPSOrgError as exc:
        plans_error = error_message(exc)

    form = _create_form(request, request.POST if request.method == "POST" else None, plans)
    if request.method == "POST" and client is not None and form.is_valid():
        fields = form.api_fields()
        guard = CreateGuard(team, form.cleaned_data["form_nonce"], fields)
        earlier = guard.claim()
        if earlier is not None:
            return _duplicate_response(request, earlier)
        try:
            server = client.create_server(**fields)
        except vpsorg.VPSOrgError as exc:
            record(team, request.user, Action.SERVER_CREATE, target_name=fields["name"], error=exc)
            if maybe_applied(exc):
                guard.uncertain()
                uncertain = True
                failure = exc
            else:
                guard.failed()
                if isinstance(exc, vpsorg.InvalidRequest):
                    apply_api_errors(form, exc)
                else:
                    failure = exc
                    if isinstance(exc, vpsorg.PaymentRequired):
                        credits_error = _credits_message(form, exc)
        else:
            guard.created(server.id)
            record(
                team,
                request.user,
                Action.SERVER_CREATE,
                target_id=server.id,
                target_name=server.name,
            )
            learn_operating_systems([server])
            _invalidate(team)
            messages.success(
                request,
                _("Server %(name)s is being created. This usually takes 2 to 5 minutes.")
                % {"name": server.name or fields["name"]},
                # The detail page's poller replaces it once the server is ready.
                extra_tags=presenters.transition_message_id(server.id),
            )
            return redirect("servers:detail", server_id=server.id)

    context = {
        **_upstream_context(failure),
        "mode": "create",
        "form": form,
        "plans_error": plans_error,
        "uncertain": uncertain,
        "membership": request.membership,
        "can_manage": True,
    }
    if uncertain and failure is not None:
        context["error"] = _uncertain_message(failure)
    if credits_error:
        context["error"] = credits_error
    return render(request, "servers/form.html", context)


# --------------------------------------------------------------------------------------
# Edit and rename
# --------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@team_required(Role.MANAGER)
def server_edit(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    team = request.membership.team
    failure: vpsorg.VPSOrgError | None = None
    form: ServerEditForm | None = None
    server_name = ""
    try:
        client = client_for(team)
        if request.method == "POST":
            form = ServerEditForm(request.POST)
            server_name = request.POST.get("name", "")
            if form.is_valid():
                data = form.cleaned_data
                try:
                    server = client.update_server(
                        server_id,
                        name=data["name"],
                        hostname=data["hostname"] or None,
                        backups_enabled=data["backups_enabled"],
                    )
                except vpsorg.VPSOrgError as exc:
                    record(
                        team,
                        request.user,
                        Action.SERVER_EDIT,
                        target_id=server_id,
                        target_name=data["name"],
                        error=exc,
                    )
                    raise
                record(
                    team,
                    request.user,
                    Action.SERVER_EDIT,
                    target_id=server_id,
                    target_name=server.name or data["name"],
                    changes=changes_between(server_cache.peek_server(team, server_id), server),
                )
                _invalidate(team)
                messages.success(
                    request, _("Server %(name)s saved.") % {"name": server.name or data["name"]}
                )
                return redirect("servers:detail", server_id=server_id)
        else:
            server = client.get_server(server_id)
            server_name = server.name
            form = ServerEditForm(initial=ServerEditForm.initial_for(server))
    except vpsorg.NotFound:
        return not_found(request, server_id)
    except vpsorg.InvalidRequest as exc:
        assert form is not None
        apply_api_errors(form, exc)
    except vpsorg.VPSOrgError as exc:
        failure = exc
    context = {
        **_upstream_context(failure),
        "mode": "edit",
        "form": form,
        "server_id": server_id,
        "server_name": server_name,
        "membership": request.membership,
        "can_manage": True,
    }
    return render(request, "servers/form.html", context)


@require_POST
@team_required(Role.MANAGER)
def server_rename(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    """PATCH with the name only: the inline form in the detail page's heading."""
    team = request.membership.team
    form = RenameForm(request.POST, auto_id="rename-%s")
    failure: vpsorg.VPSOrgError | None = None
    server: vpsorg.Server | None = None
    if form.is_valid():
        name = form.cleaned_data["name"]
        try:
            server = client_for(team).patch_server(server_id, name=name)
        except vpsorg.VPSOrgError as exc:
            record(
                team,
                request.user,
                Action.SERVER_RENAME,
                target_id=server_id,
                target_name=name,
                error=exc,
            )
            if isinstance(exc, vpsorg.InvalidRequest):
                apply_api_errors(form, exc)
            elif isinstance(exc, vpsorg.NotFound) and not request.htmx:
                return not_found(request, server_id)
            else:
                failure = exc
        else:
            record(
                team,
                request.user,
                Action.SERVER_RENAME,
                target_id=server_id,
                target_name=server.name or name,
                changes=changes_between(
                    server_cache.peek_server(team, server_id),
                    replace(server, name=server.name or name),
                    ("name",),
                ),
            )
            _invalidate(team)
            if not server.name:
                server = replace(server, name=name)

    context = {
        **_upstream_context(failure),
        "server": server or vpsorg.Server(id=server_id, name=request.POST.get("name", "")),
        "server_id": server_id,
        "rename_form": form,
        "membership": request.membership,
        "can_manage": True,
        "renamed": server is not None,
        "buttons": presenters.power_buttons(server, request.membership) if server else [],
    }
    if server is not None:
        if request.htmx:
            # htmx takes the document title from a <title> in the answer; the page's
            # recent activity shows the rename at once (out of band).
            response = render(request, "servers/detail.html#heading", context)
            response.write(render_to_string("servers/detail.html#page_title", context, request))
            activity = {"entries": entries_for_server(team, server_id, limit=10), "oob": True}
            response.write(render_to_string("servers/detail.html#activity", activity, request))
            return response
        messages.success(request, _("Server renamed to %(name)s.") % {"name": server.name})
        return redirect("servers:detail", server_id=server_id)
    if request.htmx:
        # Swap only the form, so the heading keeps showing the current name; an
        # earlier "Name saved." beside it is emptied out of band.
        context["rename_oob"] = True
        response = render(request, "servers/detail.html#rename_form", context)
        return reswap(retarget(response, "#rename-form"), "outerHTML")
    return render(request, "servers/form.html", {**context, "mode": "rename", "form": form})


# --------------------------------------------------------------------------------------
# Delete
# --------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@team_required(Role.MANAGER)
def server_delete(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    team = request.membership.team
    lock = protection.lock_for(team, server_id)
    if lock is not None:
        # Protected: the page says so instead of the form; a POST is refused, unsent.
        return protection.refuse_delete(request, lock)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    failure: vpsorg.VPSOrgError | None = None
    server: vpsorg.Server | None = None
    try:
        client = client_for(team)
        # Fetched on POST too: the typed name is checked against the real, current one.
        server = client.get_server(server_id)
    except vpsorg.NotFound:
        # Gone, or another team's: the same 404 either way, and nothing is sent.
        return not_found(request, server_id)
    except vpsorg.VPSOrgError as exc:
        failure = exc

    if request.method == "POST" and server is not None and form.is_valid():
        if form.cleaned_data["name"] != server.name:
            form.add_error(
                "name",
                _("That is not the server's name. Type %(name)s exactly; nothing was deleted.")
                % {"name": server.name},
            )
        elif (lock := protection.lock_for(team, server_id)) is not None:
            # Protected while the server was being looked up: still nothing is sent.
            return protection.refuse_delete(request, lock)
        else:
            try:
                client.delete_server(server_id)
            except vpsorg.VPSOrgError as exc:
                failure = exc
            record(
                team,
                request.user,
                Action.SERVER_DELETE,
                target_id=server_id,
                target_name=server.name,
                error=failure,
            )
            if failure is None:
                _invalidate(team)
                messages.success(request, _("Server %(name)s deleted.") % {"name": server.name})
                return redirect("servers:list")
            if isinstance(failure, vpsorg.NotFound):
                _invalidate(team)
                messages.info(
                    request,
                    _("Server %(name)s was already gone; there was nothing to delete.")
                    % {"name": server.name},
                )
                return redirect("servers:list")

    context = {
        **_upstream_context(failure),
        "form": form,
        "server": server,
        "server_id": server_id,
        "membership": request.membership,
        "can_manage": True,
    }
    return render(request, "servers/delete.html", context)


# --------------------------------------------------------------------------------------
# The team's saved SSH keys
# --------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@team_required(Role.MANAGER)
def ssh_keys(request: TeamHttpRequest) -> HttpResponse:
    team = request.membership.team
    form = SSHKeyForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        key = form.save()
        record(
            team, request.user, Action.SSH_KEY_ADD, target_id=str(key.key_id), target_name=key.name
        )
        messages.success(request, _("SSH key %(name)s saved.") % {"name": key.name})
        return redirect("servers:ssh_keys")
    context = {"form": form, "keys": list(team.ssh_keys.all()), "membership": request.membership}
    return render(request, "servers/ssh_keys.html", context)


@require_POST
@team_required(Role.MANAGER)
def ssh_key_delete(request: TeamHttpRequest, pk: int) -> HttpResponse:
    team = request.membership.team
    key = get_object_or_404(SSHKey, pk=pk, team=team)
    key.delete()
    record(
        team, request.user, Action.SSH_KEY_DELETE, target_id=str(key.key_id), target_name=key.name
    )
    messages.success(
        request, _("SSH key %(name)s removed from the team's list.") % {"name": key.name}
    )
    return redirect("servers:ssh_keys")
