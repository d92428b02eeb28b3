from __future__ import annotations

from django.shortcuts import render
from django.http import HttpResponse

from panel.http import TeamHttpRequest
from panel.teams import team_required
from servers import client as vpsorg
from servers import status as status_rules
from servers.api import NoToken, client_for, error_message


@team_required()
def server_list(request: TeamHttpRequest) -> HttpResponse:
    team = request.membership.team
    status = request.GET.get("status", "")
    if status not in status_rules.FILTERABLE:
        status = ""
    location = request.GET.get("location", "").strip()
    servers: list[vpsorg.Server] = []
    error: str | None = None
    no_token = False
    try:
        servers = client_for(team).list_servers(status=status or None, location=location or None)
    except NoToken:
        no_token = True
    except vpsorg.VPSOrgError as exc:
        error = error_message(exc)
    context = {
        "servers": servers,
        "error": error,
        "no_token": no_token,
        "filters": {"status": status, "location": location},
        "status_choices": [(s, status_rules.label(s)) for s in status_rules.FILTERABLE],
    }
    template = "servers/list.html#results" if request.htmx else "servers/list.html"
    return render(request, template, context)
