"""The server pages: list, detail, create, edit, rename, delete, and the team's SSH keys.

Each view makes as few upstream calls as it can (the list: one list_servers; plans come
from a per-team cache), catches VPSOrgError in one place and shows error_message(), and
branches on request.htmx once, at the end. Power actions and the status badge live in
servers/power.py; they reuse row_context() and card_context() from here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url, reswap, retarget

from panel.audit import Action, changes_between, entries_for_server, record
from panel.http import TeamHttpRequest
from panel.models import Role, Team
from panel.teams import team_required
from servers import cache as server_cache
from servers import client as vpsorg
from servers import protection
from servers import status as status_rules
from servers.api import NoToken, client_for, error_message, maybe_applied
from servers.catalog import (
    cached_plans,
    learn_operating_systems,
    locations,
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
from servers.models import SSHKey
from servers.templatetags.server_format import gigabytes, megabytes

logger = logging.getLogger(__name__)

# Indirection so tests can make the list look slow without touching time itself.
_clock = time.monotonic


# --------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------


def _can_manage(request: TeamHttpRequest) -> bool:
    return request.membership.has_role(Role.MANAGER)


def _upstream_context(error: vpsorg.VPSOrgError | None) -> dict[str, Any]:
    """`no_token` / `token_rejected` / `error` for the templates, from one caught error."""
    return {
        "no_token": isinstance(error, NoToken),
        "token_rejected": isinstance(error, vpsorg.Unauthorized),
        "error": error_message(error) if error is not None else None,
    }


def not_found(request: TeamHttpRequest, server_id: str = "") -> HttpResponse:
    """An unknown id and another team's server look the same: VPS.org answers 404."""
    return render(request, "servers/not_found.html", {"server_id": server_id}, status=404)


def _invalidate(team: Team) -> None:
    """After the team changed a server, nobody of the team must see the cached old one."""
    server_cache.invalidate(team)


# --------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------

PER_PAGE_CHOICES = (25, 50, 100)
DEFAULT_SORT = "name"
_LOCATION_PARAM = re.compile(r"[A-Za-z0-9_-]{1,64}")
Q_MAX = 100


def _text_key(value: str | None) -> tuple[bool, str]:
    # Missing values last, whatever the case of the others.
    return (not value, (value or "").casefold())


def _ip_key(value: str | None) -> tuple[int, int, str]:
    if not value:
        return (9, 0, "")
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return (8, 0, value)
    return (ip.version, int(ip), "")


_EPOCH = datetime.min.replace(tzinfo=UTC)

SORT_KEYS: dict[str, Callable[[vpsorg.Server], Any]] = {
    "name": lambda s: _text_key(s.name),
    "hostname": lambda s: _text_key(s.hostname),
    "status": lambda s: _text_key(status_rules.label(s.status)),
    "ip": lambda s: _ip_key(s.ip_address),
    "location": lambda s: _text_key(s.location),
    "plan": lambda s: (
        s.plan is None,
        (s.plan.vcpus or 0, s.plan.memory or 0, s.plan.storage or 0) if s.plan else (0, 0, 0),
    ),
    "os": lambda s: _text_key(s.os.name if s.os else None),
    "created": lambda s: s.created_at or _EPOCH,
}

COLUMNS: tuple[tuple[str, Any], ...] = (
    ("name", gettext_lazy("Name")),
    ("hostname", gettext_lazy("Hostname")),
    ("status", gettext_lazy("Status")),
    ("ip", gettext_lazy("IPv4")),
    ("location", gettext_lazy("Location")),
    ("plan", gettext_lazy("Plan")),
    ("os", gettext_lazy("OS")),
    ("created", gettext_lazy("Created")),
)
# Columns whose first click sorts descending (newest first reads more naturally).
DESCENDING_FIRST = frozenset({"created"})


@dataclass(frozen=True, slots=True)
class ListState:
    """Everything the list shows, as it is written in the URL."""

    status: str = ""
    location: str = ""
    q: str = ""
    sort: str = DEFAULT_SORT
    per_page: int = PER_PAGE_CHOICES[0]
    page: int = 1

    @classmethod
    def from_query(cls, query: QueryDict) -> ListState:
        # Anything unreadable falls back to its default: a hand-edited URL still works.
        status = query.get("status", "").strip()
        location = query.get("location", "").strip()
        sort = query.get("sort", "").strip()
        try:
            per_page = int(query.get("per_page", ""))
        except ValueError:
            per_page = PER_PAGE_CHOICES[0]
        try:
            page = max(1, int(query.get("page", "")))
        except ValueError:
            page = 1
        return cls(
            status=status if status in status_rules.FILTERABLE else "",
            location=location if _LOCATION_PARAM.fullmatch(location) else "",
            q=" ".join(query.get("q", "").split())[:Q_MAX],
            sort=sort if sort.removeprefix("-") in SORT_KEYS else DEFAULT_SORT,
            per_page=per_page if per_page in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0],
            page=page,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.location or self.q)

    def params(self, **changes: Any) -> dict[str, str]:
        state = replace(self, **changes)
        params = {
            "status": state.status,
            "location": state.location,
            "q": state.q,
            "sort": "" if state.sort == DEFAULT_SORT else state.sort,
            "per_page": "" if state.per_page == PER_PAGE_CHOICES[0] else str(state.per_page),
            "page": "" if state.page == 1 else str(state.page),
        }
        return {key: value for key, value in params.items() if value}

    def url(self, base: str = "", **changes: Any) -> str:
        """This state's URL, with `changes`; `base` is the list's path when the caller
        has it (a page builds a dozen of these links: one reverse() is enough)."""
        query = urlencode(self.params(**changes))
        base = base or reverse("servers:list")
        return f"{base}?{query}" if query else base


def search(servers: list[vpsorg.Server], q: str) -> list[vpsorg.Server]:
    """Free text over name, hostname and IP addresses, case-insensitive; every word must match."""
    words = q.casefold().split()
    if not words:
        return servers
    result = []
    for server in servers:
        haystack = " ".join(
            v for v in (server.name, server.hostname, server.ip_address, server.ipv6_address) if v
        ).casefold()
        if all(word in haystack for word in words):
            result.append(server)
    return result


def sort_servers(servers: list[vpsorg.Server], sort: str) -> list[vpsorg.Server]:
    field = sort.removeprefix("-")
    # Name then id first, so equal keys keep a stable, readable order (sort is stable).
    ordered = sorted(servers, key=lambda s: (_text_key(s.name), s.id))
    if field != "name":
        ordered.sort(key=SORT_KEYS[field], reverse=sort.startswith("-"))
    elif sort.startswith("-"):
        ordered.reverse()
    return ordered


def _sort_headers(state: ListState) -> list[dict[str, Any]]:
    headers = []
    base = reverse("servers:list")
    current, descending = state.sort.removeprefix("-"), state.sort.startswith("-")
    for key, label in COLUMNS:
        if key == current:
            direction = "descending" if descending else "ascending"
            next_sort = key if descending else f"-{key}"
        else:
            direction = None
            next_sort = f"-{key}" if key in DESCENDING_FIRST else key
        headers.append(
            {
                "key": key,
                "label": label,
                "direction": direction,
                "url": state.url(base, sort=next_sort, page=1),
            }
        )
    return headers


def _pager(state: ListState, page_obj: Page) -> dict[str, Any]:
    number, last = page_obj.number, page_obj.paginator.num_pages
    base = reverse("servers:list")
    return {
        "first": state.url(base, page=1) if number > 1 else None,
        "previous": state.url(base, page=number - 1) if number > 1 else None,
        "next": state.url(base, page=number + 1) if number < last else None,
        "last": state.url(base, page=last) if number < last else None,
        "per_page_links": [
            {
                "size": size,
                "url": state.url(base, per_page=size, page=1),
                "current": size == state.per_page,
            }
            for size in PER_PAGE_CHOICES
        ],
    }


def row_context(request: TeamHttpRequest, server: vpsorg.Server) -> dict[str, Any]:
    """The context of one list row ("servers/list.html#row"), for the power actions too."""
    return {
        "server": server,
        "membership": request.membership,
        "can_manage": _can_manage(request),
    }


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


@require_GET
@team_required()
def server_list(request: TeamHttpRequest) -> HttpResponse:
    team = request.membership.team
    started = _clock()
    state = ListState.from_query(request.GET)
    # An htmx GET answers the #results fragment; a history restore needs the whole page.
    fragment = bool(request.htmx) and not request.htmx.history_restore_request
    servers: list[vpsorg.Server] = []
    plans: list[vpsorg.Plan] = []
    failure: vpsorg.VPSOrgError | None = None
    try:
        # One GET /servers/ (all its pages), shared for a moment by everyone of the team.
        servers = server_cache.list_servers(
            team, status=state.status or None, location=state.location or None
        )
    except vpsorg.VPSOrgError as exc:
        failure = exc
    else:
        learn_operating_systems(servers)
        if not fragment:
            # Only the full page has the location filter; plans come from their cache.
            plans = _plans_quietly(team, started)

    shown = sort_servers(search(servers, state.q), state.sort)
    page_obj = Paginator(shown, state.per_page).get_page(state.page)
    if page_obj.number != state.page:
        state = replace(state, page=page_obj.number)
    context = {
        **_upstream_context(failure),
        "state": state,
        "servers": page_obj.object_list,
        "page_obj": page_obj,
        "total": len(servers),
        "shown_count": len(shown),
        "headers": _sort_headers(state),
        "pager": _pager(state, page_obj),
        "clear_url": reverse("servers:list"),
        "status_choices": [(s, status_rules.label(s)) for s in status_rules.FILTERABLE],
        "location_choices": locations(servers, plans, state.location),
        "per_page_choices": PER_PAGE_CHOICES,
        "membership": request.membership,
        "can_manage": _can_manage(request),
    }
    if fragment:
        response = render(request, "servers/list.html#results", context)
        if request.htmx.trigger == "filters":
            # The form sends every field, empty ones too; push the tidy URL instead.
            push_url(response, state.url())
    else:
        response = render(request, "servers/list.html", context)
    # The same URL answers a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


# --------------------------------------------------------------------------------------
# Detail
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageBar:
    key: str
    label: str
    used: float
    total: float | None
    text: str

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(100.0, self.used / self.total * 100))

    @property
    def low(self) -> float | None:
        return self.total * 0.7 if self.total else None

    @property
    def high(self) -> float | None:
        return self.total * 0.9 if self.total else None


def usage_bars(server: vpsorg.Server) -> list[UsageBar]:
    """Resource usage against the plan: CPU %, memory, disk and bandwidth used of total."""
    usage, plan = server.resource_usage, server.plan
    if usage is None:
        return []
    bars = []
    if usage.cpu_percent is not None:
        bars.append(
            UsageBar(
                "cpu",
                _("CPU"),
                usage.cpu_percent,
                100.0,
                # The user's language's decimal mark (53,4% in Portuguese).
                _("%(percent)s%%") % {"percent": number_format(usage.cpu_percent, 1)},
            )
        )
    for key, label, used, total, fmt in (
        ("memory", _("Memory"), usage.memory_used, plan.memory if plan else None, megabytes),
        ("disk", _("Disk"), usage.disk_used, plan.storage if plan else None, gigabytes),
        (
            "bandwidth",
            _("Bandwidth"),
            usage.bandwidth_used,
            plan.bandwidth if plan else None,
            gigabytes,
        ),
    ):
        if used is None:
            continue
        if total:
            text = _("%(used)s of %(total)s (%(percent)d%%)") % {
                "used": fmt(used),
                "total": fmt(total),
                "percent": round(min(100.0, used / total * 100)),
            }
        else:
            text = _("%(used)s used") % {"used": fmt(used)}
        bars.append(UsageBar(key, label, used, float(total) if total else None, text))
    return bars


def card_context(request: TeamHttpRequest, server: vpsorg.Server) -> dict[str, Any]:
    """The context of the detail card ("servers/detail.html#card"), for the power actions too."""
    return {
        "server": server,
        "membership": request.membership,
        "can_manage": _can_manage(request),
        "usage": usage_bars(server),
        "in_transition": not status_rules.is_settled(server.status),
    }


@require_GET
@team_required()
def server_detail(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    team = request.membership.team
    try:
        server = server_cache.get_server(team, server_id)
    except vpsorg.NotFound:
        return not_found(request, server_id)
    except vpsorg.VPSOrgError as exc:
        context = {
            **_upstream_context(exc),
            "server_id": server_id,
            "membership": request.membership,
        }
        return render(request, "servers/detail.html", context)
    learn_operating_systems([server])
    context = {
        **card_context(request, server),
        **_upstream_context(None),
        "server_id": server.id,
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
    }
    if server is not None:
        if request.htmx:
            response = render(request, "servers/detail.html#heading", context)
            # htmx takes the document title from a <title> in the answer.
            response.write(format_html("<title>{} · {}</title>", server.name, _("VPS.org Panel")))
            return response
        messages.success(request, _("Server renamed to %(name)s.") % {"name": server.name})
        return redirect("servers:detail", server_id=server_id)
    if request.htmx:
        # Swap only the form, so the heading keeps showing the current name.
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
