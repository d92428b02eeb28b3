"""How the panel presents a server: what the pages (servers/views.py) and the live
endpoints (servers/power.py, servers/live.py) share, so neither imports the other.

Only data lives here (texts, URLs, which buttons, digests, delays); the markup is in
templates/servers/_server.html (badge, buttons, row) and templates/servers/detail.html
(card), escaped by the template engine.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from panel.models import Membership, Role
from servers import cache as server_cache
from servers import client as vpsorg
from servers import status as status_rules
from servers.api import Problem
from servers.catalog import location
from servers.templatetags.server_format import ago_text, gigabytes, megabytes, plan_specs_text

# Where a server is shown: a row of the list or the card of its detail page.
WITHIN = ("card", "row")


def can_manage(membership: Membership | None) -> bool:
    return membership is not None and membership.has_role(Role.MANAGER)


def can_operate(membership: Membership | None) -> bool:
    return membership is not None and membership.has_role(Role.OPERATOR)


def not_found(request: HttpRequest, server_id: str = "") -> HttpResponse:
    """An unknown id and another team's server look the same: VPS.org answers 404."""
    return render(request, "servers/not_found.html", {"server_id": server_id}, status=404)


# --- The power buttons ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PowerButton:
    """One Start / Stop / Reboot form: its words and where it posts."""

    action: str
    url: str
    label: str
    busy: str
    danger: bool
    # The group's accessible name ("Power actions for web-01"), the same on each button.
    group: str = ""
    # Stop and Reboot ask first (a dialog with scripts, a page without).
    confirm_title: str = ""
    confirm_detail: str = ""
    confirm: str = ""


@lru_cache(maxsize=16)
def _button_words(language: str | None) -> dict[str, tuple[str, str, str, str]]:
    """(label, busy label, confirmation title with %(name)s, confirmation detail)."""
    return {
        "group": (_("Power actions for %(name)s"), "", "", ""),
        "start": (_("Start"), _("Starting…"), "", ""),
        "stop": (
            _("Stop"),
            _("Stopping…"),
            _("Stop %(name)s?"),
            _("It shuts down and stays off until someone starts it again."),
        ),
        "reboot": (
            _("Reboot"),
            _("Rebooting…"),
            _("Reboot %(name)s?"),
            _("It will be unreachable for a moment while it restarts."),
        ),
    }


def confirm_words(action: str, name: str) -> tuple[str, str]:
    """The title ("Stop web-01?") and what follows, for the dialog and the no-JS page."""
    _label, _busy, title, detail = _button_words(get_language())[action]
    return (title % {"name": name} if title else "", detail)


class ButtonMaker:
    """The buttons of every server of one render: the words and URLs are looked up once,
    each server only fills in its id and name (a 100-row list stays fast)."""

    def __init__(self, membership: Membership | None) -> None:
        self.allowed = can_operate(membership)
        self.words = _button_words(get_language())
        # Reversed once with a stand-in id: ids are letters, digits and hyphens.
        self.url = reverse("servers:power", args=["0-id-0", "start"]).replace(
            "0-id-0/start", "{id}/{action}"
        )

    def __call__(self, server: vpsorg.Server) -> list[PowerButton]:
        if not self.allowed:
            return []
        actions = status_rules.allowed_actions(server.status)
        if not actions:
            return []
        values = {"name": server.name or server.id}
        group = self.words["group"][0] % values
        buttons = []
        for action in actions:
            label, busy, title, detail = self.words[action]
            title = title % values if title else ""
            buttons.append(
                PowerButton(
                    action=action,
                    url=self.url.format(id=server.id, action=action),
                    label=label,
                    busy=busy,
                    danger=action == "stop",
                    group=group,
                    confirm_title=title,
                    confirm_detail=detail,
                    confirm=f"{title} {detail}" if title else "",
                )
            )
        return buttons


def power_buttons(server: vpsorg.Server, membership: Membership | None) -> list[PowerButton]:
    return ButtonMaker(membership)(server)


# --- The badge ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Badge:
    """`data-status` is the status exactly as the API sent it; `css` is safe for a class."""

    status: str
    label: str
    css: str
    settled: bool


@lru_cache(maxsize=64)
def _badge(status: str, language: str | None) -> Badge:
    css = "".join(c for c in status.lower() if c.isascii() and (c.isalnum() or c == "-"))
    if status not in status_rules.LABELS:
        css = "unknown"
    return Badge(
        status=status,
        label=status_rules.label(status) if status else _("Unknown"),
        css=css or "unknown",
        settled=status_rules.is_settled(status),
    )


def badge(status: str) -> Badge:
    # Known statuses are cached per language; an unknown one is built each time (its
    # text is whatever VPS.org sent, not worth keeping).
    if status in status_rules.LABELS:
        return _badge(status, get_language())
    return _badge.__wrapped__(status, get_language())


# --- The list's rows --------------------------------------------------------------------


# The server's fields a row shows as they come (its cells, its buttons' names and URLs).
ROW_SERVER_FIELDS = ("id", "name", "status", "hostname", "ip_address", "location")
_row_fields = operator.attrgetter(*ROW_SERVER_FIELDS)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the list: the server and what its cells show beyond its fields."""

    server: vpsorg.Server
    badge: Badge
    buttons: Sequence[PowerButton]
    plan_specs: str
    created_iso: str
    created_exact: str
    created_ago: str
    os_name: str
    digest: str
    # "Frankfurt" for eu-central (servers.catalog.LOCATIONS); an unknown code as it comes.
    location_title: str = ""
    # Delete protection (issue 12): the lock mark, and the bulk checkbox (operators and up).
    protected: bool = False
    selectable: bool = False

    def shown(self) -> tuple[Any, ...]:
        """Everything the row's template reads, and nothing else (not the usage figures
        VPS.org changes on every read): two rows with the same `shown()` render the same
        markup in one language, so fragments.rows renders each once per worker.
        tests/test_row_memo.py checks the template reads nothing left out here."""
        plan = self.server.plan
        return (
            *_row_fields(self.server),
            None if plan is None else plan.name,
            self.badge,
            tuple(self.buttons),
            self.plan_specs,
            self.created_iso,
            self.created_exact,
            self.created_ago,
            self.os_name,
            self.location_title,
            self.protected,
            self.selectable,
        )


def row_digest(server: vpsorg.Server, protected: bool = False) -> str:
    """A short digest of what a row shows: the list poller sends only rows whose digest
    differs from the one the page has (the lock mark included)."""
    plan = server.plan
    os_name = server.os.name if server.os else ""
    fields = (
        server.name,
        server.status,
        server.hostname,
        server.ip_address,
        server.location,
        plan.name if plan else None,
        plan.vcpus if plan else None,
        plan.memory if plan else None,
        plan.storage if plan else None,
        os_name,
        server.created_at.isoformat() if server.created_at else "",
    )
    raw = "\x1f".join("" if value is None else str(value) for value in fields)
    if protected:
        # Only then: an unprotected row's digest stays what the card poller computes.
        raw += "\x1fprotected"
    return hashlib.blake2s(raw.encode(), digest_size=5).hexdigest()


# What a row derives from its server, by the fields it derives them from: a list page or
# a live poll mostly shows servers seen a moment ago, and building the buttons, digest
# and dates of 100 rows anew was a tenth of the page. One dict per language and role
# (may operate or not); emptied when full, per worker. The relative date ("3 days ago")
# depends on the time, so it is made per row every time.
_DERIVED: dict[tuple[str | None, bool], dict[tuple[Any, ...], tuple[Any, ...]]] = {}
DERIVED_SIZE = 5000


class RowMaker:
    """Rows of one render, sharing the language, the time and the buttons' words."""

    def __init__(self, membership: Membership | None, protected: Collection[str] = ()) -> None:
        self.language = get_language()
        self.now = timezone.now()
        self.buttons = ButtonMaker(membership)
        self.protected = protected
        self.derived = _DERIVED.setdefault((self.language, self.buttons.allowed), {})

    def __call__(self, server: vpsorg.Server) -> Row:
        protected = server.id in self.protected
        plan, os = server.plan, server.os
        key = (
            *_row_fields(server),
            None if plan is None else (plan.name, plan.vcpus, plan.memory, plan.storage),
            None if os is None else os.name,
            server.created_at,
            protected,
        )
        derived = self.derived.get(key)
        if derived is None:
            derived = self._derive(server, protected)
            if len(self.derived) >= DERIVED_SIZE:
                self.derived.clear()
            self.derived[key] = derived
        shown_badge, buttons, specs, iso, exact, os_name, digest, place = derived
        created = server.created_at
        return Row(
            server=server,
            badge=shown_badge,
            buttons=buttons,
            plan_specs=specs,
            created_iso=iso,
            created_exact=exact,
            created_ago=ago_text(created, self.now, self.language) if created else "",
            os_name=os_name,
            digest=digest,
            location_title=place,
            protected=protected,
            selectable=self.buttons.allowed,
        )

    def _derive(self, server: vpsorg.Server, protected: bool) -> tuple[Any, ...]:
        """What __call__ unpacks: badge, buttons, plan specs, dates, OS name, digest, the
        location's name."""
        created = server.created_at
        if created is not None:
            utc = created.astimezone(UTC)
            machine = utc.isoformat(timespec="seconds")
            exact = f"{machine[:10]} {machine[11:16]} UTC" if utc.year >= 1000 else str(utc)
        else:
            machine = exact = ""
        return (
            badge(server.status),
            # A tuple: shared by the rows of later renders, never changed.
            tuple(self.buttons(server)),
            plan_specs_text(server.plan, self.language) if server.plan else "",
            machine,
            exact,
            (server.os.name if server.os else "") or "",
            row_digest(server, protected),
            location(server.location).title if server.location else "",
        )


def rows(
    servers: Iterable[vpsorg.Server],
    membership: Membership | None,
    protected: Collection[str] = (),
) -> list[Row]:
    """`protected`: the team's protected ids (protection.protected_ids, one query)."""
    make = RowMaker(membership, protected)
    return [make(server) for server in servers]


def row_context(request: Any, server: vpsorg.Server) -> dict[str, Any]:
    """The context of one row ("servers/_server.html#row")."""
    return {
        "row": RowMaker(request.membership)(server),
        "servers_url": reverse("servers:list"),
        "membership": request.membership,
        "can_manage": can_manage(request.membership),
    }


# --- The detail card ----------------------------------------------------------------------


# Usage thresholds, in percent of the plan's total: amber from the first, red from the second.
USAGE_HIGH = 70.0
USAGE_CRITICAL = 90.0


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
        return self.total * USAGE_HIGH / 100 if self.total else None

    @property
    def high(self) -> float | None:
        return self.total * USAGE_CRITICAL / 100 if self.total else None

    @property
    def level(self) -> str:
        """ "ok", "high" from 70 % of the total, "critical" from 90 %: the bar's colour,
        said in words too (level_text), never by the colour alone."""
        percent = self.percent
        if percent is None or percent < USAGE_HIGH:
            return "ok"
        return "critical" if percent >= USAGE_CRITICAL else "high"

    @property
    def level_text(self) -> str:
        return {"high": _("High"), "critical": _("Critical")}.get(self.level, "")


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


def card_context(
    request: Any,
    server: vpsorg.Server,
    *,
    read_at: float | None = None,
    since: float | None = None,
    errors: int = 0,
    problem: Problem | None = None,
    stale: bool = False,
    note: bool = False,
) -> dict[str, Any]:
    """The context of the detail card ("servers/detail.html#card"), its poller inside;
    `note`: the page shows a message about the transition, to replace once it ends."""
    team = request.membership.team
    return {
        "server": server,
        "badge": badge(server.status),
        "buttons": power_buttons(server, request.membership),
        "membership": request.membership,
        "can_manage": can_manage(request.membership),
        "usage": usage_bars(server),
        "in_transition": not status_rules.is_settled(server.status),
        "stale": stale,
        "problem": problem,
        "read_at": as_of(read_at) if read_at else None,
        "live": card_poller(
            server,
            team.pk,
            read_at=read_at,
            since=since,
            errors=errors,
            problem=problem,
            note=note,
        ),
    }


# --- Live updates -------------------------------------------------------------------------


def busy_seconds() -> float:
    """Between polls while something is in transition."""
    return float(getattr(settings, "LIVE_BUSY_SECONDS", 2.0))


def idle_seconds() -> float:
    """Between polls while nothing is: a change made elsewhere shows within about
    three of these (the shared list may be two of them old)."""
    return float(getattr(settings, "LIVE_IDLE_SECONDS", 10.0))


MAX_DELAY = 120.0


def next_delay(
    *,
    busy: bool,
    busy_for: float = 0.0,
    errors: int = 0,
    retry_after: float | None = None,
) -> int:
    """Seconds until a live fragment asks again, decided here, carried by the fragment.

    Fast while a transition is young (most take seconds), slower for a long one
    (provisioning takes minutes), doubling after each failure in a row, and never
    sooner than VPS.org's Retry-After.
    """
    if busy:
        fast = busy_seconds()
        delay = fast if busy_for < 30 else fast * 2.5 if busy_for < 120 else fast * 6
    else:
        delay = idle_seconds()
    if errors:
        delay = min(MAX_DELAY, max(delay, busy_seconds()) * 2 ** min(errors, 8))
    if retry_after:
        delay = max(delay, min(retry_after, 600.0))
    return max(1, round(delay))


def any_busy(servers: Sequence[vpsorg.Server]) -> bool:
    return any(not status_rules.is_settled(s.status) for s in servers)


def as_of(at: float) -> datetime:
    """A cache timestamp (epoch seconds) as an aware datetime, shown in the user's
    time zone by the template's |time filter."""
    return datetime.fromtimestamp(at, tz=UTC)


@dataclass(frozen=True, slots=True)
class Poller:
    """A page's one live element: where it asks next and when (`hx-trigger="load
    delay:Ns"`), decided here from what the page shows. `url` empty: it stopped."""

    url: str
    delay: int
    errors: int = 0
    problem: Problem | None = None
    # When what the page shows was read from VPS.org (for "as of 14:02").
    read_at: datetime | None = None


def _since(busy: bool, since: float | None, now: float) -> float | None:
    if not busy:
        return None
    return since if since and since <= now else now


def _poller(
    path: str,
    query: dict[str, Any],
    *,
    busy: bool,
    busy_for: float,
    errors: int,
    problem: Problem | None,
    read_at: float | None,
) -> Poller:
    """A live element's next request: its query with the failures and the age of what
    it shows, and the delay the server chose for it."""
    if errors:
        query["errors"] = errors
    if read_at:
        query["at"] = int(read_at)
    delay = next_delay(
        busy=busy,
        busy_for=busy_for,
        errors=errors,
        retry_after=problem.retry_after if problem else None,
    )
    return Poller(
        url=f"{path}?{urlencode(query)}",
        delay=delay,
        errors=errors,
        problem=problem,
        read_at=as_of(read_at) if read_at else None,
    )


def list_poller(
    params: dict[str, str],
    team_pk: int,
    *,
    seen: Sequence[tuple[str, str]],
    busy_ids: Sequence[str],
    read_at: float | None = None,
    since: float | None = None,
    errors: int = 0,
    problem: Problem | None = None,
) -> Poller:
    """The list's poller carries what the page shows (each row's id and digest, and
    which rows are in transition), so the next answer sends only what changed."""
    now = server_cache.clock()
    busy = bool(busy_ids)
    since = _since(busy, since, now)
    query: dict[str, Any] = {
        **params,
        "team": team_pk,
        "seen": ",".join(f"{server_id}.{digest}" for server_id, digest in seen),
    }
    if busy:
        query["busy"] = ",".join(busy_ids)
        query["since"] = int(since or now)
    return _poller(
        reverse("servers:poll"),
        query,
        busy=busy,
        busy_for=now - (since or now),
        errors=errors,
        problem=problem,
        read_at=read_at,
    )


def rows_poller(params: dict[str, str], rows: Sequence[Row], team_pk: int, **kwargs: Any) -> Poller:
    return list_poller(
        params,
        team_pk,
        seen=[(r.server.id, r.digest) for r in rows],
        busy_ids=[r.server.id for r in rows if not r.badge.settled],
        **kwargs,
    )


def card_poller(
    server: vpsorg.Server,
    team_pk: int,
    *,
    read_at: float | None = None,
    since: float | None = None,
    errors: int = 0,
    problem: Problem | None = None,
    reload: bool = False,
    shown: tuple[str, bool] | None = None,
    note: bool = False,
) -> Poller:
    """The detail card's poller; `reload`: the page could show nothing of the server
    yet, so the first good answer reloads it; `shown`: (digest, in transition) of what
    the card shows, when `server` is not what it shows (a failed poll)."""
    now = server_cache.clock()
    digest, busy = shown or (row_digest(server), not status_rules.is_settled(server.status))
    since = _since(busy, since, now)
    query: dict[str, Any] = {"team": team_pk, "d": digest}
    if reload:
        query["reload"] = 1
    if note and busy:
        query["note"] = 1
    if busy:
        query["since"] = int(since or now)
    return _poller(
        reverse("servers:status", args=[server.id]),
        query,
        busy=busy,
        busy_for=now - (since or now),
        errors=errors,
        problem=problem,
        read_at=read_at,
    )


STOPPED = Poller(url="", delay=0)


def gone_note(name: str) -> str:
    if name:
        return _("%(name)s no longer exists at VPS.org: it was deleted elsewhere.") % {"name": name}
    return _("A server no longer exists at VPS.org: it was deleted elsewhere.")


def settled_note(server: vpsorg.Server) -> str:
    return _("%(name)s is now %(status)s.") % {
        "name": server.name or server.id,
        "status": status_rules.label(server.status).lower(),
    }


def transition_message_id(server_id: str) -> str:
    """The id of a message about a server's transition ("being created"), so the answer
    that sees it settle can replace it."""
    return f"message-transition-{server_id}"


def ready_note(server: vpsorg.Server) -> str:
    if server.status == "active":
        return _("%(name)s is ready.") % {"name": server.name or server.id}
    return settled_note(server)


def button_label(action: str) -> str:
    return _button_words(get_language())[action][0]
