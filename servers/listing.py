"""The server list's state and contents: what the URL asks for (filters, search, sort,
page), applied to the team's servers locally, and the context of the list's results.

Shared by the page (servers/views.py) and its live poller (servers/live.py): both read
the team's one unfiltered list and filter it here, so every viewer of a team shares one
upstream call whatever filters they use.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from servers import client as vpsorg
from servers import presenters
from servers import status as status_rules
from servers.catalog import location, locations
from servers.protection import protected_ids

PER_PAGE_CHOICES = (25, 50, 100)
# The delete-protection filter (issue 12): every server, the protected, the others.
PROTECTED_CHOICES = ("yes", "no")
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
    protected: str = ""
    sort: str = DEFAULT_SORT
    per_page: int = PER_PAGE_CHOICES[0]
    page: int = 1

    @classmethod
    def from_query(cls, query: QueryDict) -> ListState:
        # Anything unreadable falls back to its default: a hand-edited URL still works.
        status = query.get("status", "").strip()
        location = query.get("location", "").strip()
        sort = query.get("sort", "").strip()
        protected = query.get("protected", "").strip()
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
            protected=protected if protected in PROTECTED_CHOICES else "",
            sort=sort if sort.removeprefix("-") in SORT_KEYS else DEFAULT_SORT,
            per_page=per_page if per_page in PER_PAGE_CHOICES else PER_PAGE_CHOICES[0],
            page=page,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.status or self.location or self.q or self.protected)

    def params(self, **changes: Any) -> dict[str, str]:
        state = replace(self, **changes)
        params = {
            "status": state.status,
            "location": state.location,
            "q": state.q,
            "protected": state.protected,
            "sort": "" if state.sort == DEFAULT_SORT else state.sort,
            "per_page": "" if state.per_page == PER_PAGE_CHOICES[0] else str(state.per_page),
            "page": "" if state.page == 1 else str(state.page),
        }
        return {key: value for key, value in params.items() if value}

    def filter_params(self) -> dict[str, str]:
        """What selects the servers (filters and search), without sort or page: what
        an export or "all N matching" carries."""
        keys = ("status", "location", "q", "protected")
        return {key: value for key, value in self.params().items() if key in keys}

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


def sort_choices() -> list[tuple[str, str]]:
    """The phone's one sort control: every column, each way, in the order of the columns
    (the headers' first direction first: newest first for Created)."""
    choices = []
    for key, label in COLUMNS:
        up = (key, _("%(column)s, ascending") % {"column": label})
        down = (f"-{key}", _("%(column)s, descending") % {"column": label})
        choices.extend((down, up) if key in DESCENDING_FIRST else (up, down))
    return choices


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


def _with_query(base: str, params: dict[str, str], sort: str) -> str:
    if sort != DEFAULT_SORT:
        params = {**params, "sort": sort}
    return f"{base}?{urlencode(params)}" if params else base


def apply_filters(
    servers: list[vpsorg.Server], state: ListState, protected: Collection[str] = ()
) -> list[vpsorg.Server]:
    """The status and location filters, as VPS.org would apply them, the protection
    filter (`protected`: the team's protected ids, protection.protected_ids), then the
    search."""
    if state.protected == "yes":
        servers = [s for s in servers if s.id in protected]
    elif state.protected == "no":
        servers = [s for s in servers if s.id not in protected]
    if state.status:
        servers = [s for s in servers if s.status == state.status]
    if state.location:
        servers = [s for s in servers if s.location == state.location]
    return search(servers, state.q)


def filters_context(state: ListState) -> dict[str, Any]:
    """What the filter form shows but the locations (they come from the servers)."""
    return {
        "state": state,
        "clear_url": reverse("servers:list"),
        "protected_choices": [
            ("yes", gettext_lazy("Protected")),
            ("no", gettext_lazy("Not protected")),
        ],
        "status_choices": [(s, status_rules.label(s)) for s in status_rules.FILTERABLE],
        "per_page_choices": PER_PAGE_CHOICES,
    }


def location_choices(
    servers: list[vpsorg.Server], plans: list[vpsorg.Plan] | None, state: ListState
) -> list[tuple[str, str]]:
    """The location filter's choices: where the servers and the plans are."""
    return [
        (code, location(code).choice) for code in locations(servers, plans or [], state.location)
    ]


def results_context(
    request: Any,
    state: ListState,
    servers: list[vpsorg.Server],
    *,
    plans: list[vpsorg.Plan] | None = None,
    read_at: float | None = None,
    since: float | None = None,
    errors: int = 0,
    problem: presenters.Problem | None = None,
    stale: bool = False,
    protected: set[str] | None = None,
) -> dict[str, Any]:
    """The context of "servers/list.html#results" (and of the whole page with plans):
    the page of rows, the pager, the sort headers and the live poller. `protected`: the
    team's protected ids if already asked for."""
    team = request.membership.team
    # One query per render, whatever the number of rows: the filter and the lock marks.
    if protected is None:
        protected = protected_ids(team)
    shown = sort_servers(apply_filters(servers, state, protected), state.sort)
    page_obj = Paginator(shown, state.per_page).get_page(state.page)
    if page_obj.number != state.page:
        state = replace(state, page=page_obj.number)
    rows = presenters.rows(page_obj.object_list, request.membership, protected)
    return {
        **filters_context(state),
        "servers": page_obj.object_list,
        "rows": rows,
        "page_obj": page_obj,
        "total": len(servers),
        "shown_count": len(shown),
        "headers": _sort_headers(state),
        "sort_choices": sort_choices(),
        "pager": _pager(state, page_obj),
        "can_operate": presenters.can_operate(request.membership),
        "filter_params": state.filter_params(),
        "export_url": _with_query(reverse("servers:export"), state.filter_params(), state.sort),
        "location_choices": location_choices(servers, plans, state),
        "stale": stale,
        "read_at": presenters.as_of(read_at) if read_at else None,
        "live": presenters.rows_poller(
            state.params(),
            rows,
            team.pk,
            read_at=read_at,
            since=since,
            errors=errors,
            problem=problem,
        ),
    }
