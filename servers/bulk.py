"""Bulk power actions: start, stop or reboot many servers in one request.

- GET /servers/bulk/?action=reboot&id=..&id=..: the confirmation for a browser without
  JavaScript: which servers will be acted on, which skipped and why; its form POSTs.
  With htmx it answers the confirmation alone ("#confirm", e.g. for a dialog), whose
  form then swaps the result in its place.
- POST /servers/bulk/ (`action`, one `id` per server, the form's `nonce`): one upstream
  call per server whose status allows the action, a few at a time (BULK_CONCURRENCY
  threads, each with its own requests session from servers/api.py), then the outcome
  of every server: a page, or for htmx the "result" fragment of the same template.

Rules that hold whatever the user clicks:
- The ids are checked against ONE fresh list of the team's servers: an id the team does
  not have is reported as not found and never sent to VPS.org.
- A submission is claimed once (CreateGuard's mechanism: a one-time nonce, or without
  one the same selection for a minute), so a double submit sends nothing twice.
- The answer comes within about 3 x VPSORG_TIMEOUT however many servers are selected:
  calls still under way then are reported as pending and finish in the background,
  where each still records its own audit entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from panel.audit import Action, record
from panel.http import TeamHttpRequest
from panel.models import Role, Team
from panel.teams import team_required
from servers import cache as server_cache
from servers import client as vpsorg
from servers import status as status_rules
from servers.api import NoToken, client_for, error_message, maybe_applied
from servers.listing import ListState, apply_filters, sort_servers
from servers.protection import protected_ids
from servers.views import CreateGuard

logger = logging.getLogger(__name__)

ACTIONS = ("start", "stop", "reboot")
AUDIT_ACTIONS = {
    "start": Action.SERVER_START,
    "stop": Action.SERVER_STOP,
    "reboot": Action.SERVER_REBOOT,
}
# More than any list page shows; a bigger request is refused before anything is asked.
MAX_IDS = 500
# How many names the confirmation lists before "and N more".
PREVIEW = 10
_ID_RE = re.compile(r"[A-Za-z0-9-]{1,128}")
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# The share of the request's budget (3 x VPSORG_TIMEOUT) spent waiting for VPS.org; the
# rest is for the audit entries and the page.
WAIT_TIMEOUTS = 2.5
TOAST = "panel:toast"
# What the list's poller listens for (hx-trigger "panel:wake from:body").
WAKE = "panel:wake"

# Injectable, so tests can follow the time budget.
clock: Callable[[], float] = time.monotonic


class Outcome:
    DONE = "done"
    SKIPPED = "skipped"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"
    PENDING = "pending"

    LABELS = {
        DONE: gettext_lazy("Done"),
        SKIPPED: gettext_lazy("Skipped"),
        NOT_FOUND: gettext_lazy("Not found"),
        FAILED: gettext_lazy("Failed"),
        UNCONFIRMED: gettext_lazy("Not confirmed"),
        PENDING: gettext_lazy("Pending"),
    }
    ORDER = (DONE, PENDING, UNCONFIRMED, FAILED, SKIPPED, NOT_FOUND)


@dataclass
class Item:
    """One selected server and what became of it; stored as JSON for a double submit."""

    server_id: str
    name: str = ""
    status: str = ""
    outcome: str = ""
    reason: str = ""

    @property
    def outcome_label(self) -> str:
        return str(Outcome.LABELS.get(self.outcome, self.outcome))

    @property
    def status_label(self) -> str:
        return status_rules.label(self.status) if self.status else ""


# --- the selection ------------------------------------------------------------------------


class BadSelection(Exception):
    pass


def read_selection(data: QueryDict) -> tuple[str, list[str], list[str]]:
    """(action, well-formed ids, malformed ids), each id once in the order given."""
    action = data.get("action", "")
    if action not in ACTIONS:
        raise BadSelection(_("Choose Start, Stop or Reboot."))
    raw = data.getlist("id")
    if len(raw) > MAX_IDS:
        raise BadSelection(_("At most %(max)d servers can be acted on at once.") % {"max": MAX_IDS})
    ids: list[str] = []
    malformed: list[str] = []
    for value in dict.fromkeys(v.strip() for v in raw):
        if not value:
            continue
        (ids if _ID_RE.fullmatch(value) else malformed).append(value)
    if not ids and not malformed:
        raise BadSelection(_("No server was selected."))
    return action, ids, malformed


def matching_selection(team: Team, data: QueryDict) -> QueryDict:
    """ "All N matching the filter": the ids of every server of the team that the list's
    filters and search in `data` select (servers/listing.py, the list's own rules), in
    the list's order, in place of any ids sent. The confirmation then carries them
    explicitly, and its POST decides again on a fresh list."""
    state = ListState.from_query(data)
    servers = server_cache.list_servers(team)
    shown = sort_servers(apply_filters(servers, state, protected_ids(team)), state.sort)
    selection = QueryDict(mutable=True)
    selection["action"] = data.get("action", "")
    selection["nonce"] = data.get("nonce", "")
    selection.setlist("id", [s.id for s in shown])
    return selection


def _skip_reason(action: str, status: str) -> str:
    shown = status_rules.label(status).lower() if status else _("unknown")
    if status and not status_rules.is_settled(status):
        return _("It is %(status)s right now; try again once it has settled.") % {"status": shown}
    reasons = {
        "start": _("Only a stopped server can be started; this one is %(status)s."),
        "stop": _("Only an active server can be stopped; this one is %(status)s."),
        "reboot": _("Only an active server can be rebooted; this one is %(status)s."),
    }
    return reasons[action] % {"status": shown}


def classify(
    action: str, ids: list[str], malformed: list[str], servers: Iterable[vpsorg.Server]
) -> tuple[list[Item], list[vpsorg.Server]]:
    """Every selected id as an Item (skipped and not found already decided), and the
    servers to act on."""
    known = {s.id: s for s in servers}
    items: list[Item] = []
    to_act: list[vpsorg.Server] = []
    for server_id in ids:
        server = known.get(server_id)
        if server is None:
            items.append(
                Item(
                    server_id,
                    outcome=Outcome.NOT_FOUND,
                    reason=_("The team has no server with this id (it may have been deleted)."),
                )
            )
        elif action in status_rules.allowed_actions(server.status):
            items.append(Item(server.id, server.name, server.status))
            to_act.append(server)
        else:
            items.append(
                Item(
                    server.id,
                    server.name,
                    server.status,
                    Outcome.SKIPPED,
                    _skip_reason(action, server.status),
                )
            )
    items.extend(
        Item(value[:128], outcome=Outcome.NOT_FOUND, reason=_("This is not a server id."))
        for value in malformed
    )
    return items, to_act


# --- a double submit ------------------------------------------------------------------------


class BulkGuard(CreateGuard):
    """CreateGuard's claim-once mechanism, for a bulk submission: the form's one-time
    nonce; without one (a hand-made POST), the same action on the same servers is taken
    for a repeat for a minute."""

    REPEAT_TTL = 60
    DONE = "done:"

    def __init__(self, team: Team, nonce: str, action: str, ids: list[str]) -> None:
        if _NONCE_RE.fullmatch(nonce):
            self.keys = [(f"servers:bulk:nonce:{team.pk}:{nonce}", self.NONCE_TTL)]
        else:
            body = json.dumps([action, sorted(ids)])
            digest = hashlib.sha256(body.encode()).hexdigest()
            self.keys = [(f"servers:bulk:body:{team.pk}:{digest}", self.REPEAT_TTL)]

    def finished(self, action: str, items: list[Item]) -> None:
        stored = self.DONE + json.dumps({"action": action, "items": [asdict(i) for i in items]})
        for key, ttl in self.keys:
            cache.set(key, stored, ttl)

    @classmethod
    def earlier_items(cls, earlier: str) -> list[Item] | None:
        if not earlier.startswith(cls.DONE):
            return None
        try:
            stored = json.loads(earlier.removeprefix(cls.DONE))
            return [Item(**item) for item in stored["items"]]
        except (ValueError, KeyError, TypeError):
            return None


# --- the calls ------------------------------------------------------------------------------


@dataclass(eq=False)
class Job:
    server: vpsorg.Server
    result: vpsorg.ActionResult | None = None
    error: vpsorg.VPSOrgError | None = None
    finished: bool = False
    # The request answered before this call did: the worker records it itself.
    late: bool = False


@dataclass(eq=False)
class Run:
    """One submission's calls, BULK_CONCURRENCY at a time."""

    team: Team
    user: Any
    action: str
    jobs: list[Job]
    lock: threading.Lock = field(default_factory=threading.Lock)
    all_done: threading.Event = field(default_factory=threading.Event)
    _left: int = 0

    def start(self) -> None:
        self._left = len(self.jobs)
        if not self.jobs:
            self.all_done.set()
            return
        with _runs_lock:
            _runs.add(self)
        executor = ThreadPoolExecutor(
            max_workers=min(settings.BULK_CONCURRENCY, len(self.jobs)),
            thread_name_prefix="bulk",
        )
        for job in self.jobs:
            executor.submit(self._work, job)
        # The threads go on with what is queued; nobody waits for them past the deadline.
        executor.shutdown(wait=False)

    def wait(self, deadline: float) -> set[int]:
        """Until every call answered or the deadline. Returns the jobs (by id()) that had
        answered; the others are marked late, and their workers record them."""
        self.all_done.wait(max(0.0, deadline - clock()))
        with self.lock:
            for job in self.jobs:
                if not job.finished:
                    job.late = True
            return {id(job) for job in self.jobs if job.finished}

    def _work(self, job: Job) -> None:
        result: vpsorg.ActionResult | None = None
        error: vpsorg.VPSOrgError | None = None
        try:
            # client_for in this thread: servers/api.py gives every thread its own session.
            result = _call(client_for(self.team), job.server.id, self.action)
        except vpsorg.VPSOrgError as exc:
            error = exc
        except Exception:
            logger.exception("Bulk %s of server %s broke", self.action, job.server.id)
            # Whether VPS.org acted is unknown: reported as not confirmed, never retried.
            error = vpsorg.UnexpectedResponse("The panel failed while sending it.", status=None)
        with self.lock:
            job.result, job.error, job.finished = result, error, True
            late = job.late
        if late:
            self._record_late(job)
        # Counted down only once recorded: "all done" means the audit trail is complete.
        with self.lock:
            self._left -= 1
            last = self._left == 0
        if last:
            with _runs_lock:
                _runs.discard(self)
            self.all_done.set()

    def _record_late(self, job: Job) -> None:
        try:
            with _audit_writes:
                audit_server(self.team, self.user, self.action, job)
            server_cache.invalidate(self.team)
        except Exception:
            logger.exception("Could not record the late bulk %s of %s", self.action, job.server.id)
        finally:
            # This thread opened its own connection: hand it back.
            connection.close()


_runs: set[Run] = set()
_runs_lock = threading.Lock()
# The entries of one process are written one writer at a time (the request's own, then
# the late ones of its workers): SQLite, the default database, takes concurrent writers badly.
_audit_writes = threading.Lock()


def wait_for_background(timeout: float = 30.0) -> bool:
    """Until every bulk call still under way has finished and been recorded; False if the
    timeout passed first. For tests: at exit, Python itself joins the worker threads."""
    end = time.monotonic() + timeout
    while True:
        with _runs_lock:
            runs = list(_runs)
        if not runs:
            return True
        for run in runs:
            if not run.all_done.wait(max(0.0, end - time.monotonic())):
                return False


def _call(client: vpsorg.VPSOrgClient, server_id: str, action: str) -> vpsorg.ActionResult:
    if action == "start":
        return client.start_server(server_id)
    if action == "stop":
        return client.stop_server(server_id)
    return client.reboot_server(server_id)


def audit_server(team: Team, user: Any, action: str, job: Job) -> None:
    name = job.server.name or (job.result.server.name if job.result else "")
    record(
        team,
        user,
        AUDIT_ACTIONS[action],
        target_id=job.server.id,
        target_name=name,
        error=job.error,
    )


def _unconfirmed_reason(action: str) -> str:
    texts = {
        "start": _("VPS.org did not confirm it; it may be starting anyway. Check its status "
                   "before trying again."),
        "stop": _("VPS.org did not confirm it; it may be stopping anyway. Check its status "
                  "before trying again."),
        "reboot": _("VPS.org did not confirm it; it may be rebooting anyway. Check its status "
                    "before trying again."),
    }  # fmt: skip
    return texts[action]


def _settle(item: Item, job: Job, action: str, answered: bool) -> None:
    if not answered:
        item.outcome = Outcome.PENDING
        item.reason = _("Still waiting for VPS.org: check its status in a moment.")
    elif job.error is None:
        item.outcome = Outcome.DONE
        item.reason = _("VPS.org accepted it.")
    elif maybe_applied(job.error):
        item.outcome = Outcome.UNCONFIRMED
        item.reason = _unconfirmed_reason(action)
    else:
        item.outcome = Outcome.FAILED
        item.reason = error_message(job.error)


def counts(items: list[Item]) -> list[tuple[str, str, int]]:
    """(outcome, label, count) for the outcomes that occurred, in a reading order."""
    tally = {o: 0 for o in Outcome.ORDER}
    for item in items:
        tally[item.outcome] = tally.get(item.outcome, 0) + 1
    return [(o, str(Outcome.LABELS[o]), n) for o, n in tally.items() if n]


def _audit_summary(action: str, items: list[Item]) -> str:
    tally = ", ".join(f"{n} {o.replace('_', ' ')}" for o, _label, n in counts(items))
    return f"{action}, {len(items)} selected: {tally}"


# --- the pages ------------------------------------------------------------------------------


def _verb(action: str) -> str:
    return {"start": _("Start"), "stop": _("Stop"), "reboot": _("Reboot")}[action]


def _page(request: TeamHttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    context = {
        "membership": request.membership,
        "list_url": reverse("servers:list"),
        **context,
    }
    # htmx gets the part it swaps: the result after a POST, else the confirmation.
    fragment = bool(request.htmx)
    if not fragment:
        template = "servers/bulk.html"
    elif request.method == "POST":
        template = "servers/bulk.html#result"
    else:
        template = "servers/bulk.html#confirm"
    response = render(request, template, {**context, "fragment": fragment}, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _upstream(error: vpsorg.VPSOrgError) -> dict[str, Any]:
    return {
        "no_token": isinstance(error, NoToken),
        "token_rejected": isinstance(error, vpsorg.Unauthorized),
        "error": error_message(error),
    }


@require_http_methods(["GET", "POST"])
@team_required(Role.OPERATOR)
def bulk(request: TeamHttpRequest) -> HttpResponse:
    started = clock()
    data = request.POST if request.method == "POST" else request.GET
    if data.get("scope") == "filter":
        try:
            data = matching_selection(request.membership.team, data)
        except vpsorg.VPSOrgError as exc:
            base = {"action": data.get("action", "")}
            return _page(request, {**base, "mode": "confirm", **_upstream(exc)})
    try:
        action, ids, malformed = read_selection(data)
    except BadSelection as exc:
        return _page(request, {"mode": "invalid", "error": str(exc)}, status=400)
    base = {"action": action, "verb": _verb(action)}
    if request.method == "GET":
        return _confirm(request, base, action, ids, malformed)
    return _submit(request, base, action, ids, malformed, started)


def _confirm(
    request: TeamHttpRequest,
    base: dict[str, Any],
    action: str,
    ids: list[str],
    malformed: list[str],
) -> HttpResponse:
    team = request.membership.team
    try:
        servers = server_cache.list_servers(team)
    except vpsorg.VPSOrgError as exc:
        return _page(request, {**base, "mode": "confirm", **_upstream(exc)})
    items, _to_act = classify(action, ids, malformed, servers)
    acting = [i for i in items if not i.outcome]
    skipped = [i for i in items if i.outcome == Outcome.SKIPPED]
    context = {
        **base,
        "mode": "confirm",
        "acting": acting,
        "acting_preview": acting[:PREVIEW],
        "acting_more": max(0, len(acting) - PREVIEW),
        "skipped": skipped,
        "skipped_preview": skipped[:PREVIEW],
        "skipped_more": max(0, len(skipped) - PREVIEW),
        "missing": [i for i in items if i.outcome == Outcome.NOT_FOUND],
        # The form carries every well-formed id: the POST decides again on a fresh list.
        "ids": ids,
        "nonce": secrets.token_urlsafe(24),
    }
    return _page(request, context)


def _submit(
    request: TeamHttpRequest,
    base: dict[str, Any],
    action: str,
    ids: list[str],
    malformed: list[str],
    started: float,
) -> HttpResponse:
    team = request.membership.team
    guard = BulkGuard(team, request.POST.get("nonce", ""), action, ids)
    earlier = guard.claim()
    if earlier is not None:
        items = BulkGuard.earlier_items(earlier)
        context = {**base, "mode": "result", "repeat": True, "items": items or []}
        context["counts"] = counts(items or [])
        return _page(request, context)
    try:
        servers = server_cache.list_servers(team)
    except vpsorg.VPSOrgError as exc:
        # Nothing was sent: the same form may be sent again.
        guard.failed()
        return _page(request, {**base, "mode": "result", "items": [], **_upstream(exc)})
    items, to_act = classify(action, ids, malformed, servers)
    jobs = {server.id: Job(server) for server in to_act}
    run = Run(team, request.user, action, list(jobs.values()))
    run.start()
    answered = run.wait(started + WAIT_TIMEOUTS * float(settings.VPSORG_TIMEOUT))

    with _audit_writes:
        for item in items:
            job = jobs.get(item.server_id)
            if job is None:
                continue
            # A job that answered in time is recorded here; a late one by its worker.
            in_time = id(job) in answered
            _settle(item, job, action, in_time)
            if in_time:
                audit_server(team, request.user, action, job)
    record(
        team,
        request.user,
        Action.SERVER_BULK,
        target_name=_names(items),
        message=_audit_summary(action, items),
    )
    # Whatever happened, what anyone of the team sees next comes fresh from VPS.org.
    server_cache.invalidate(team)
    guard.finished(action, items)

    context = {**base, "mode": "result", "items": items, "counts": counts(items)}
    response = _page(request, context)
    if request.htmx:
        summary = ", ".join(f"{label}: {n}" for _o, label, n in context["counts"])
        failed = any(i.outcome in (Outcome.FAILED, Outcome.UNCONFIRMED) for i in items)
        trigger_client_event(
            response,
            TOAST,
            {"message": f"{base['verb']} · {summary}", "level": "error" if failed else "success"},
        )
        # The list's live poller asks at once: the rows acted on show their transition
        # and poll like any other (static/js/panel.js, servers/live.py).
        trigger_client_event(response, WAKE, {})
    return response


def _names(items: list[Item]) -> str:
    names = [i.name or i.server_id for i in items]
    text = ", ".join(names)
    if len(text) <= 200:
        return text
    shown: list[str] = []
    for name in names:
        if len(", ".join([*shown, name])) > 180:
            break
        shown.append(name)
    return f"{', '.join(shown)} (+{len(names) - len(shown)})"
