"""CSV exports: the team's servers (GET /servers/export.csv) and the CSV machinery the
activity export (panel/team_views.py) shares.

- The same filters, search and order as the list (ListState, search(), sort_servers()
  of servers/views.py), every matching server rather than one page.
- UTF-8 with a byte order mark: Excel reads a CSV without one in the machine's legacy
  code page (accents turn into mojibake), and LibreOffice, Numbers, Google Sheets and
  Python's "utf-8-sig" all take the mark as what it is.
- A cell that a spreadsheet would read as a formula (=, +, -, @, tab, CR first) is
  prefixed with an apostrophe (OWASP's advice on CSV injection).
- Streamed (StreamingHttpResponse): rows are written as they are produced, so an
  export of many audit entries never sits whole in memory. VPS.org's answer is read
  completely before the first byte goes out: its failure answers a page saying so,
  never a CSV cut short.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from panel.http import TeamHttpRequest
from panel.models import Team
from panel.teams import team_required
from servers import cache as server_cache
from servers import client as vpsorg
from servers.api import NoToken, error_message
from servers.listing import ListState, apply_filters, sort_servers
from servers.protection import protected_ids

BOM = "\ufeff"
# Rows per chunk sent: big enough that 10,000 rows are a few hundred writes, small
# enough that a chunk is a few kilobytes.
ROWS_PER_CHUNK = 200
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The cell's text, made inert for spreadsheets that evaluate formulas."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_datetime(value: datetime | None) -> str:
    """UTC, "2025-01-10 14:30:00": the form Excel and LibreOffice both read as a date."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class _Line:
    """csv.writer writes into this and gets the line back: no buffer grows."""

    def write(self, value: str) -> str:
        return value


def _lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    chunk = [BOM, writer.writerow([neutralise(h) for h in header])]
    for row in rows:
        chunk.append(writer.writerow([neutralise(v) for v in row]))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def csv_response(
    team: Team, what: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV download named <what>-<team>-<date>.csv, never cached."""
    encoded = (text.encode("utf-8") for text in _lines(header, rows))
    response = StreamingHttpResponse(encoded, content_type="text/csv; charset=utf-8")
    name = "-".join(p for p in (what, slugify(team.name), timezone.localdate().isoformat()) if p)
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.csv")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _server_row(server: vpsorg.Server, protected: set[str]) -> list[str]:
    return [
        server.id,
        server.name,
        server.hostname or "",
        server.status,
        server.ip_address or "",
        server.ipv6_address or "",
        server.location or "",
        server.plan.name if server.plan and server.plan.name else "",
        server.os.name if server.os and server.os.name else "",
        csv_datetime(server.created_at),
        _("yes") if server.id in protected else _("no"),
    ]


def server_header() -> list[str]:
    return [
        _("ID"),
        _("Name"),
        _("Hostname"),
        _("Status"),
        _("IPv4"),
        _("IPv6"),
        _("Location"),
        _("Plan"),
        _("OS"),
        _("Created (UTC)"),
        _("Protected"),
    ]


@require_GET
@never_cache
@team_required()
def servers_csv(request: TeamHttpRequest) -> HttpResponse:
    """Every server the list shows for these query parameters, all pages together."""
    team = request.membership.team
    state = ListState.from_query(request.GET)
    try:
        # The whole list (every page of it) is in hand before anything is sent.
        servers = server_cache.list_servers(
            team, status=state.status or None, location=state.location or None
        )
    except vpsorg.VPSOrgError as exc:
        context = {
            "no_token": isinstance(exc, NoToken),
            "token_rejected": isinstance(exc, vpsorg.Unauthorized),
            "error": error_message(exc),
            "list_url": state.url(reverse("servers:list"), page=1),
            "retry_url": request.get_full_path(),
            "membership": request.membership,
        }
        return render(request, "servers/export.html", context)
    protected = protected_ids(team)
    # The list's own filters (the protection filter too); status and location again,
    # which VPS.org already applied, are a no-op.
    shown = sort_servers(apply_filters(servers, state, protected), state.sort)
    return csv_response(
        team, "servers", server_header(), (_server_row(s, protected) for s in shown)
    )
