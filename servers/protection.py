"""Delete protection: a lock the panel keeps per team and server against deleting it.

- POST /servers/<id>/protect/ and /unprotect/ (managers and admins): a plain form POST
  that redirects back with a message; with htmx it answers the lock control
  ("servers/protection.html#lock") and a toast.
- Before locking, the server is looked up once with the team's own token: a server of
  another account (or none) answers 404, so nobody can lock what is not the team's.
- server_delete (servers/views.py) asks `lock_for()` first, and again just before it
  sends the DELETE, and answers `refuse_delete()` for a protected server without any
  upstream call; the list and detail pages ask `protected_ids()`, one query a team.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from panel.audit import Action, record
from panel.http import TeamHttpRequest
from panel.models import Role, Team
from panel.teams import team_required
from servers import client as vpsorg
from servers.api import client_for, error_message
from servers.models import ServerProtection

# The toast event static/js/panel.js shows (the power actions use the same one).
TOAST = "panel:toast"


class DeleteRefused(Exception):
    """Why a delete was refused without asking VPS.org; recorded as the entry's error."""

    def __init__(self, protection: ServerProtection) -> None:
        by = protection.protected_by_name or "?"
        super().__init__(f"Refused: the server is protected from deletion (by {by}).")


def protected_ids(team: Team) -> set[str]:
    """The ids of the team's protected servers, in one query (for a whole list page)."""
    return set(ServerProtection.objects.filter(team=team).values_list("server_id", flat=True))


def lock_for(team: Team, server_id: str) -> ServerProtection | None:
    return ServerProtection.objects.filter(team=team, server_id=str(server_id)).first()


def refuse_delete(request: TeamHttpRequest, protection: ServerProtection) -> HttpResponse:
    """The delete page of a protected server: who protected it and who may remove the
    protection, instead of the form. A POST is refused (409) and audited; nothing is sent
    to VPS.org."""
    if request.method == "POST":
        record(
            request.membership.team,
            request.user,
            Action.SERVER_DELETE,
            target_id=protection.server_id,
            target_name=protection.server_name,
            error=DeleteRefused(protection),
        )
    context = {
        "protection": protection,
        "server_id": protection.server_id,
        "membership": request.membership,
        "can_manage": True,
    }
    status = 409 if request.method == "POST" else 200
    return render(request, "servers/delete.html", context, status=status)


def _back(request: TeamHttpRequest, server_id: str) -> str:
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("servers:detail", args=[server_id])


def _answer(
    request: TeamHttpRequest,
    server_id: str,
    server_name: str,
    text: str,
    level: str,
) -> HttpResponse:
    """Redirect back with the message; for htmx, the updated lock control and a toast."""
    if not request.htmx:
        messages.add_message(request, getattr(messages, level.upper()), text)
        return redirect(_back(request, server_id))
    context = {
        "server_id": server_id,
        "server_name": server_name,
        "protection": lock_for(request.membership.team, server_id),
        "can_manage": True,
        "error": text if level == "error" else "",
    }
    response = render(request, "servers/protection.html#lock", context)
    return trigger_client_event(response, TOAST, {"message": text, "level": level})


def _not_found(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    return render(request, "servers/not_found.html", {"server_id": server_id}, status=404)


@require_POST
@team_required(Role.MANAGER)
def protect(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    team = request.membership.team
    existing = lock_for(team, server_id)
    if existing is not None:
        name = existing.server_name or server_id
        return _answer(
            request,
            server_id,
            existing.server_name,
            _("%(name)s was already protected from deletion.") % {"name": name},
            "info",
        )
    try:
        # With the team's own token: another account's server answers 404 here.
        server = client_for(team).get_server(server_id)
    except vpsorg.NotFound:
        return _not_found(request, server_id)
    except vpsorg.VPSOrgError as exc:
        text = " ".join(
            (
                _("The server could not be protected: the panel could not check it."),
                error_message(exc),
            )
        )
        return _answer(request, server_id, "", text, "error")
    try:
        with transaction.atomic():
            ServerProtection.objects.create(
                team=team,
                server_id=server_id,
                server_name=server.name[:200],
                protected_by=request.user,
                protected_by_name=request.user.get_username(),
            )
    except IntegrityError:
        # Someone else of the team protected it at the same moment: it is protected.
        pass
    else:
        record(
            team, request.user, Action.SERVER_PROTECT, target_id=server_id, target_name=server.name
        )
    name = server.name or server_id
    return _answer(
        request,
        server_id,
        server.name,
        _(
            "%(name)s is protected: nobody can delete it through the panel until a manager "
            "or admin removes the protection."
        )
        % {"name": name},
        "success",
    )


@require_POST
@team_required(Role.MANAGER)
def unprotect(request: TeamHttpRequest, server_id: str) -> HttpResponse:
    team = request.membership.team
    existing = lock_for(team, server_id)
    if existing is None:
        # Nothing to remove. Whether the team has such a server at all decides between
        # "was not protected" and the 404 every unknown or foreign server gets.
        try:
            server = client_for(team).get_server(server_id)
        except vpsorg.NotFound:
            return _not_found(request, server_id)
        except vpsorg.VPSOrgError:
            server = vpsorg.Server(id=server_id)
        return _answer(
            request,
            server_id,
            server.name,
            _("%(name)s was not protected.") % {"name": server.name or server_id},
            "info",
        )
    deleted, _rows = ServerProtection.objects.filter(pk=existing.pk).delete()
    if deleted:
        record(
            team,
            request.user,
            Action.SERVER_UNPROTECT,
            target_id=server_id,
            target_name=existing.server_name,
        )
    name = existing.server_name or server_id
    return _answer(
        request,
        server_id,
        existing.server_name,
        _("%(name)s is no longer protected: managers and admins can delete it.") % {"name": name},
        "success",
    )
