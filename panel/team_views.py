"""The team's pages: its API token, its members and invitations, its activity, switching.

Every view checks the role on the server (`team_required`); another team's objects are
looked up within the current team only, so they answer 404.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from panel.accounts import BACKEND, PENDING_INVITATION
from panel.audit import Action, deleted_servers, record
from panel.forms import InvitedSignupForm, InviteForm, RoleForm, TeamSwitchForm, TokenForm
from panel.http import AuthenticatedHttpRequest, HtmxHttpRequest, TeamHttpRequest
from panel.models import AuditEntry, Invitation, Membership, Role, Team, TeamToken
from panel.teams import (
    LastAdminError,
    change_role,
    has_two_factor,
    is_last_admin,
    remove_member,
    select_team,
    team_required,
)
from servers import client as vpsorg
from servers.api import error_message
from servers.exports import csv_datetime, csv_response

log = logging.getLogger(__name__)

ACTIVITY_PAGE_SIZE = 50


# --- The token -----------------------------------------------------------------------------


def _stored_token(team: Team) -> TeamToken | None:
    return TeamToken.objects.filter(team=team).select_related("stored_by").first()


@sensitive_variables()
def check_token(token: str) -> vpsorg.Account:
    """Ask VPS.org who this token is (GET /account/me/); raises VPSOrgError."""
    with vpsorg.VPSOrgClient(
        token, base_url=settings.VPSORG_API_URL, timeout=settings.VPSORG_TIMEOUT
    ) as client:
        return client.get_account()


@sensitive_variables()
def store_token(team: Team, token: str, account: vpsorg.Account, user: Any) -> TeamToken:
    stored = _stored_token(team) or TeamToken(team=team)
    stored.set_token(token)
    stored.token_name = (account.token_name or "")[:200]
    stored.account_email = (account.email or "")[:254]
    full_name = " ".join(p for p in (account.first_name, account.last_name) if p)
    stored.account_name = (full_name or account.company_name or "")[:200]
    stored.permissions = list(account.token_permissions)
    stored.stored_by = user
    stored.stored_at = timezone.now()
    stored.save()
    return stored


@sensitive_post_parameters("token")
@never_cache
@require_http_methods(["GET", "POST"])
@team_required(Role.ADMIN)
@sensitive_variables()
def token(request: TeamHttpRequest) -> HttpResponse:
    team = request.membership.team
    stored = _stored_token(team)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action = Action.TOKEN_REPLACE if stored else Action.TOKEN_SET
        try:
            account = check_token(form.cleaned_data["token"])
        except vpsorg.Unauthorized as exc:
            form.add_error(
                "token",
                _(
                    "VPS.org rejected this token (401): it is wrong, expired or revoked. "
                    "Nothing was stored."
                ),
            )
            record(team, request.user, action, error=exc)
        except vpsorg.VPSOrgError as exc:
            form.add_error(
                "token",
                _("The token could not be checked with VPS.org, so nothing was stored. %(reason)s")
                % {"reason": error_message(exc)},
            )
            record(team, request.user, action, error=exc)
        else:
            stored = store_token(team, form.cleaned_data["token"], account, request.user)
            record(team, request.user, action, target_name=str(stored))
            if action == Action.TOKEN_REPLACE:
                messages.success(request, _("The team's API token was replaced."))
            else:
                messages.success(request, _("The team's API token was checked and stored."))
            return redirect("team:token")
    return render(request, "team/token.html", {"stored": stored, "form": form})


@never_cache
@require_http_methods(["GET", "POST"])
@team_required(Role.ADMIN)
def token_remove(request: TeamHttpRequest) -> HttpResponse:
    team = request.membership.team
    stored = _stored_token(team)
    if stored is None:
        messages.info(request, _("This team has no API token to remove."))
        return redirect("team:token")
    if request.method == "POST":
        label = str(stored)
        stored.delete()
        record(team, request.user, Action.TOKEN_REMOVE, target_name=label)
        messages.success(
            request,
            _(
                "The team's API token was removed. Nobody in the team can reach its servers "
                "until an admin stores a new one."
            ),
        )
        return redirect("team:token")
    return render(request, "team/token_remove.html", {"stored": stored})


# --- Members -------------------------------------------------------------------------------


def _members_context(request: TeamHttpRequest, **extra: Any) -> dict[str, Any]:
    team = request.membership.team
    members = list(
        Membership.objects.filter(team=team).select_related("user").order_by("user__username", "id")
    )
    # Who signs in with a second factor: whether, never what (no admin sees a secret).
    with_two_factor = set(
        Authenticator.objects.filter(
            user_id__in=[m.user_id for m in members],
            type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
        ).values_list("user_id", flat=True)
    )
    for member in members:
        member.has_two_factor = member.user_id in with_two_factor  # type: ignore[attr-defined]
    admins = sum(1 for m in members if m.role == Role.ADMIN)
    context: dict[str, Any] = {
        "members": members,
        "admin_count": admins,
        "role_choices": Role.choices,
        "is_admin": request.membership.is_admin,
        "invite_form": InviteForm(),
        "invitation_days": settings.INVITATION_EXPIRY_DAYS,
        "without_two_factor": sum(1 for m in members if m.user_id not in with_two_factor),
        "i_have_two_factor": request.user.pk in with_two_factor,
    }
    if request.membership.is_admin:
        context["invitations"] = list(
            Invitation.objects.filter(
                team=team, accepted_at__isnull=True, expires_at__gt=timezone.now()
            ).select_related("invited_by")
        )
    context.update(extra)
    return context


def _members_response(request: TeamHttpRequest) -> HttpResponse:
    """After an action: redirect, or for htmx the members section (messages out of band)."""
    if request.htmx:
        return render(request, "team/members.html#members", _members_context(request))
    return redirect("team:members")


@require_GET
@team_required(Role.VIEWER)
def members(request: TeamHttpRequest) -> HttpResponse:
    return render(request, "team/members.html", _members_context(request))


@require_POST
@team_required(Role.ADMIN)
def two_factor_policy(request: TeamHttpRequest) -> HttpResponse:
    """Require (or stop requiring) two-factor sign-in of every member of the team."""
    team = request.membership.team
    require = request.POST.get("require_two_factor") == "on"
    if require == team.require_two_factor:
        return _members_response(request)
    if require and not has_two_factor(request.user):
        # An admin without it would be shut out of the team by their own policy.
        messages.error(
            request,
            _("Set up two-factor sign-in for your own account first, then require it."),
        )
        return _members_response(request)
    team.require_two_factor = require
    team.save(update_fields=["require_two_factor"])
    record(
        team,
        request.user,
        Action.TEAM_REQUIRE_2FA if require else Action.TEAM_ALLOW_NO_2FA,
        target_name=team.name,
    )
    if require:
        messages.success(
            request,
            _(
                "Two-factor sign-in is now required: members without it are led to set it up "
                "before they can use the team's pages."
            ),
        )
    else:
        messages.success(request, _("Two-factor sign-in is no longer required in this team."))
    return _members_response(request)


@require_POST
@team_required(Role.ADMIN)
def member_role(request: TeamHttpRequest, pk: int) -> HttpResponse:
    team = request.membership.team
    member = get_object_or_404(Membership.objects.select_related("user"), pk=pk, team=team)
    form = RoleForm(request.POST)
    username = member.user.get_username()
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return _members_response(request)
    new_role = Role(form.cleaned_data["role"])
    if new_role == member.role:
        messages.info(
            request,
            _("%(user)s is already %(role)s.") % {"user": username, "role": new_role.label},
        )
        return _members_response(request)
    try:
        previous = change_role(member, new_role)
    except LastAdminError:
        messages.error(
            request,
            _(
                "%(user)s is the team's only admin. Make another member admin first: a team "
                "always keeps at least one admin."
            )
            % {"user": username},
        )
        return _members_response(request)
    record(
        team,
        request.user,
        Action.MEMBER_ROLE,
        target_name=username,
        changes={"role": (previous, new_role.value)},
    )
    messages.success(
        request,
        _("%(user)s is now %(role)s.") % {"user": username, "role": new_role.label},
    )
    if member.user_id == request.user.pk and not member.is_admin:
        # Demoted themselves: the admin's controls on the page no longer apply; reload it.
        if request.htmx:
            return HttpResponseClientRedirect(reverse("team:members"))
        return redirect("team:members")
    return _members_response(request)


@never_cache
@require_http_methods(["GET", "POST"])
@team_required(Role.ADMIN)
def member_remove(request: TeamHttpRequest, pk: int) -> HttpResponse:
    team = request.membership.team
    member = get_object_or_404(Membership.objects.select_related("user"), pk=pk, team=team)
    username = member.user.get_username()
    is_self = member.user_id == request.user.pk
    if request.method == "POST":
        try:
            remove_member(member)
        except LastAdminError:
            messages.error(
                request,
                _(
                    "%(user)s is the team's only admin and cannot be removed. Make another "
                    "member admin first."
                )
                % {"user": username},
            )
            return redirect("team:members")
        record(
            team,
            request.user,
            Action.MEMBER_LEAVE if is_self else Action.MEMBER_REMOVE,
            target_name=username,
        )
        if is_self:
            messages.success(request, _("You left the team %(team)s.") % {"team": team.name})
            return redirect("servers:list")
        messages.success(
            request,
            _("%(user)s was removed from the team.") % {"user": username},
        )
        return redirect("team:members")
    return render(
        request,
        "team/member_remove.html",
        {"member": member, "is_self": is_self, "last_admin": is_last_admin(member)},
    )


@never_cache
@require_http_methods(["GET", "POST"])
# A member who will not set up two-factor sign-in may still leave a team that requires it.
@team_required(Role.VIEWER, two_factor_exempt=True)
def leave(request: TeamHttpRequest) -> HttpResponse:
    """Any member may leave the current team, except its last admin."""
    member = request.membership
    team = member.team
    if request.method == "POST":
        try:
            remove_member(member)
        except LastAdminError:
            messages.error(
                request,
                _(
                    "You are the team's only admin, so you cannot leave it. Make another "
                    "member admin first."
                ),
            )
            return redirect("team:members")
        record(team, request.user, Action.MEMBER_LEAVE, target_name=request.user.get_username())
        messages.success(request, _("You left the team %(team)s.") % {"team": team.name})
        return redirect("servers:list")
    return render(request, "team/leave.html", {"last_admin": is_last_admin(member)})


# --- Invitations ---------------------------------------------------------------------------


def _send_invitation(request: HttpRequest, invitation: Invitation, link: str) -> bool:
    context = {"invitation": invitation, "link": link, "inviter": request.user}
    subject = _("You are invited to the team %(team)s on the VPS.org Panel") % {
        "team": invitation.team.name
    }
    body = render_to_string("team/invitation_email.txt", context, request=request)
    try:
        send_mail(subject, body, None, [invitation.email])
    except Exception:
        # The link is on the page for copying; a mail server that is down must not lose it.
        log.exception("Could not mail the invitation to team %s", invitation.team_id)
        return False
    return True


@never_cache
@require_http_methods(["GET", "POST"])
@team_required(Role.ADMIN)
def invite(request: TeamHttpRequest) -> HttpResponse:
    if request.method == "GET":
        # The address bar shows this URL after a refused invitation; Enter there lands here.
        return redirect("team:members")
    team = request.membership.team
    form = InviteForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"]
        if Membership.objects.filter(team=team, user__email__iexact=email).exists():
            form.add_error("email", _("Someone with this email address is in the team already."))
    if not form.is_valid():
        context = _members_context(request, invite_form=form)
        return render(request, "team/members.html", context)
    role = Role(form.cleaned_data["role"])
    with transaction.atomic():
        # One live link per address: inviting again replaces the earlier link.
        Invitation.objects.filter(team=team, email__iexact=email, accepted_at__isnull=True).delete()
        invitation, key = Invitation.issue(team, email, role, request.user)
        record(
            team,
            request.user,
            Action.MEMBER_INVITE,
            target_name=email,
            changes={"role": (None, role.value)},
        )
    link = request.build_absolute_uri(reverse("team:join", args=[key]))
    mailed = _send_invitation(request, invitation, link)
    # The link's secret is stored only hashed, so this page is the one time it is shown:
    # rendered, not redirected (a message would carry it through the session).
    return render(
        request,
        "team/invitation_created.html",
        {"invitation": invitation, "link": link, "mailed": mailed},
    )


@require_POST
@team_required(Role.ADMIN)
def invitation_revoke(request: TeamHttpRequest, pk: int) -> HttpResponse:
    team = request.membership.team
    invitation = get_object_or_404(Invitation, pk=pk, team=team, accepted_at__isnull=True)
    email = invitation.email
    invitation.delete()
    record(team, request.user, Action.MEMBER_INVITE_REVOKE, target_name=email)
    messages.success(request, _("The invitation for %(email)s was revoked.") % {"email": email})
    return _members_response(request)


def _join(request: HttpRequest, invitation: Invitation, user: Any) -> Membership:
    membership, created = Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    select_team(membership)
    request.session.pop(PENDING_INVITATION, None)
    if created:
        record(
            invitation.team,
            user,
            Action.MEMBER_JOIN,
            target_name=user.get_username(),
            message=Role(invitation.role).label,
        )
    return membership


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """The invitation link: join the team, logging in or creating an account first."""
    invitation = Invitation.for_key(key)
    if invitation is None:
        return render(request, "team/invitation_invalid.html", {"reason": "unknown"}, status=404)
    if invitation.accepted_at is not None:
        return render(request, "team/invitation_invalid.html", {"reason": "used"}, status=410)
    if invitation.is_expired:
        return render(request, "team/invitation_invalid.html", {"reason": "expired"}, status=410)

    if request.user.is_authenticated:
        existing = Membership.objects.filter(team=invitation.team, user=request.user).first()
        if request.method == "POST":
            with transaction.atomic():
                # Locked, so two clicks (or two people) cannot both use one link.
                locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
                if locked.accepted_at is not None:
                    return render(
                        request, "team/invitation_invalid.html", {"reason": "used"}, status=410
                    )
                _join(request, locked, request.user)
            if existing:
                messages.info(
                    request,
                    _("You were already in the team %(team)s; you now work in it.")
                    % {"team": invitation.team.name},
                )
            else:
                messages.success(
                    request,
                    _("Welcome to the team %(team)s. Your role: %(role)s.")
                    % {"team": invitation.team.name, "role": Role(invitation.role).label},
                )
            return redirect("servers:list")
        context = {"invitation": invitation, "existing": existing}
        return render(request, "team/join.html", context)

    # An account made on the way (the sign-up page, single sign-on) comes back here to join,
    # and gets no personal team of its own (panel.accounts.welcome_new_account).
    request.session[PENDING_INVITATION] = key
    form = InvitedSignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
            if locked.accepted_at is not None:
                return render(
                    request, "team/invitation_invalid.html", {"reason": "used"}, status=410
                )
            user = form.save()
            _join(request, locked, user)
        login(request, user, backend=BACKEND)
        messages.success(
            request,
            _("Welcome to the team %(team)s. Your role: %(role)s.")
            % {"team": invitation.team.name, "role": Role(invitation.role).label},
        )
        return redirect("servers:list")
    return render(request, "team/join.html", {"invitation": invitation, "form": form})


# --- Activity ------------------------------------------------------------------------------


@require_GET
# One URL, a fragment or the page: the browser's cache must keep them apart.
@vary_on_headers("HX-Request")
@team_required(Role.VIEWER)
def activity(request: TeamHttpRequest) -> HttpResponse:
    team = request.membership.team
    entries, filters = activity_entries(team, request.GET)
    page = Paginator(entries, ACTIVITY_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    # A deleted server's entries name it in plain text: a link would lead to "not found".
    gone = deleted_servers(team, {e.target_id for e in page.object_list})
    for entry in page.object_list:
        is_server = entry.action.startswith("server.") and bool(entry.target_id)
        entry.server_gone = is_server and entry.target_id in gone
        entry.server_link = is_server and not entry.server_gone
    context = {
        "page": page,
        "filters": filters,
        # Kept on the pagination links, so paging does not drop the filters.
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "filtered": any(filters.values()),
        "member_choices": _member_choices(team),
        "action_choices": _action_choices(team),
        "server_choices": _server_choices(team),
        "servers_url": reverse("servers:list"),
        "labels": Action.LABELS,
    }
    # htmx's history restore (the back button; its cache is off) wants the whole page.
    fragment = bool(request.htmx) and not request.htmx.history_restore_request
    template = "team/activity.html#results" if fragment else "team/activity.html"
    return render(request, template, context)


def activity_entries(team: Team, query: QueryDict) -> tuple[QuerySet[AuditEntry], dict[str, str]]:
    """The team's entries the activity filters select, newest first, and the filters as read:
    the activity page and its CSV export read them alike."""
    entries = AuditEntry.objects.filter(team=team)
    filters = {
        "member": query.get("member", "").strip(),
        "action": query.get("action", "").strip(),
        "server": query.get("server", "").strip(),
    }
    if filters["member"]:
        entries = entries.filter(username=filters["member"])
    if filters["action"]:
        entries = entries.filter(action=filters["action"])
    if filters["server"]:
        entries = entries.filter(target_id=filters["server"])
    return entries, filters


# Entries read from the database per round trip while the export streams.
EXPORT_CHUNK = 2000


@require_GET
@never_cache
@team_required(Role.VIEWER)
def activity_export(request: TeamHttpRequest) -> HttpResponse:
    """GET /team/activity/export.csv: every entry the page's filters select, streamed."""
    team = request.membership.team
    entries, _filters = activity_entries(team, request.GET)
    rows = entries.values_list(
        "created_at",
        "username",
        "action",
        "target_id",
        "target_name",
        "outcome",
        "status_code",
        "message",
    ).iterator(chunk_size=EXPORT_CHUNK)
    header = [
        _("When (UTC)"),
        _("Member"),
        _("Action"),
        _("Action code"),
        _("Target id"),
        _("Target"),
        _("Outcome"),
        _("HTTP status"),
        _("Message"),
    ]
    # Translated now, in the request's language: the rows are written after the view returns.
    ok, failed = _("OK"), _("Failed")
    labels = {name: str(label) for name, label in Action.LABELS.items()}

    def lines() -> Iterator[list[Any]]:
        for when, username, action, target_id, target_name, outcome, status, message in rows:
            yield [
                csv_datetime(when),
                username,
                labels.get(action, action),
                action,
                target_id,
                target_name,
                ok if outcome == AuditEntry.Outcome.OK else failed,
                status or "",
                message,
            ]

    return csv_response(team, "activity", header, lines())


def _member_choices(team: Team) -> list[str]:
    # Former members stay in the filter: their entries outlive their membership.
    names = set(AuditEntry.objects.filter(team=team).values_list("username", flat=True).distinct())
    names.update(Membership.objects.filter(team=team).values_list("user__username", flat=True))
    names.discard("")
    return sorted(names, key=str.casefold)


def _action_choices(team: Team) -> list[tuple[str, str]]:
    used = set(AuditEntry.objects.filter(team=team).values_list("action", flat=True).distinct())
    names = list(Action.LABELS) + sorted(used - set(Action.LABELS))
    return [(name, Action.label(name)) for name in names]


def _server_choices(team: Team) -> list[tuple[str, str]]:
    """Every server the trail mentions, under the name of its newest entry."""
    newest = (
        AuditEntry.objects.filter(team=team)
        .exclude(target_id="")
        .values("target_id")
        .annotate(newest=Max("id"))
        .values_list("newest", flat=True)
    )
    rows = AuditEntry.objects.filter(pk__in=list(newest)).values_list("target_id", "target_name")
    return sorted(
        ((tid, f"{name} ({tid})" if name else tid) for tid, name in rows),
        key=lambda item: item[1].casefold(),
    )


# --- Switching teams -----------------------------------------------------------------------


@require_POST
@login_required
def switch(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TeamSwitchForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of your teams."))
        return redirect("servers:list")
    membership = get_object_or_404(
        Membership.objects.select_related("team"),
        user=request.user,
        team_id=form.cleaned_data["team"],
    )
    select_team(membership)
    messages.success(
        request,
        _("You now work in the team %(team)s (%(role)s).")
        % {"team": membership.team.name, "role": membership.get_role_display()},
    )
    return redirect(_after_switch(request, membership))


def _after_switch(request: HttpRequest, membership: Membership) -> str:
    """Back to the page the switch was made from, unless it shows one of the old team's
    objects (a server id would be another team's, so 404), or the role in the new team
    does not open it (the token page, for a viewer): then to the servers list."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return reverse("servers:list")
    path = target.split("?", 1)[0]
    team_pages = {
        reverse("team:token"): Role.ADMIN,
        reverse("team:members"): Role.VIEWER,
        reverse("team:activity"): Role.VIEWER,
        reverse("servers:list"): Role.VIEWER,
    }
    minimum = team_pages.get(path)
    if minimum is None or not membership.has_role(minimum):
        return reverse("servers:list")
    return path
