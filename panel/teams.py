"""The current team of a request, the role checks every team view goes through, and the
rules about members (a team always keeps at least one admin)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from panel.models import Membership, Role, Team


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership selected last; cached on the request."""
    if not request.user.is_authenticated:
        return None
    cached = getattr(request, "_membership", False)
    if cached is not False:
        return cached
    # All of them (a user has a few), so that user_memberships() needs no second query:
    # the team switcher's question on every full page.
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("team", "team__api_token")
        # NULLs last explicitly: PostgreSQL sorts them first in a descending order.
        .order_by(F("selected_at").desc(nulls_last=True), "joined_at", "id")
    )
    membership = memberships[0] if memberships else None
    request._membership = membership  # type: ignore[attr-defined]
    request._memberships = _by_team_name(memberships)  # type: ignore[attr-defined]
    return membership


def _by_team_name(memberships: list[Membership]) -> list[Membership]:
    # In Python rather than ORDER BY team__name: the same order on SQLite and PostgreSQL,
    # whatever the database's collation, and case aside as a person reads a list.
    return sorted(memberships, key=lambda m: (m.team.name.casefold(), m.team.name, m.team_id))


def user_memberships(request: HttpRequest) -> list[Membership]:
    """All the user's teams by name, for the team switcher; cached on the request."""
    if not request.user.is_authenticated:
        return []
    cached = getattr(request, "_memberships", None)
    if cached is None:
        cached = _by_team_name(
            list(Membership.objects.filter(user=request.user).select_related("team"))
        )
        request._memberships = cached  # type: ignore[attr-defined]
    return cached


def select_team(membership: Membership) -> None:
    membership.selected_at = timezone.now()
    membership.save(update_fields=["selected_at"])


@transaction.atomic
def create_team(user: Any, name: str) -> Team:
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=user, role=Role.ADMIN, selected_at=timezone.now())
    return team


def has_two_factor(user: Any) -> bool:
    """Whether the account signs in with a second factor (an authenticator app or a security
    key; recovery codes alone are a fallback, not a factor)."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def two_factor_required_response(request: HttpRequest, membership: Membership) -> HttpResponse:
    """The team requires two-factor sign-in and this member has none: a page load is led to
    the set-up; anything else (a form post, an htmx request) is refused with a page that
    says why."""
    message = _("The team %(team)s requires two-factor sign-in. Set it up to work in the team.") % {
        "team": membership.team.name
    }
    if request.method == "GET" and not getattr(request, "htmx", False):
        messages.warning(request, message)
        return redirect("mfa_index")
    return render(request, "team/two_factor_required.html", {"policy_message": message}, status=403)


def team_required(
    minimum: Role = Role.VIEWER,
    *,
    two_factor_exempt: bool = False,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Log-in, a current team, and at least `minimum` role in it; else 403.

    A user in no team at all gets a page that says so (403 too) rather than a bare refusal.
    A team that requires two-factor sign-in sends members without it to the set-up first,
    except on pages marked `two_factor_exempt` (leaving the team).
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = current_membership(request)
            if membership is None:
                return render(request, "team/no_team.html", status=403)
            if not membership.has_role(minimum):
                raise PermissionDenied
            if (
                membership.team.require_two_factor
                and not two_factor_exempt
                and not has_two_factor(request.user)
            ):
                return two_factor_required_response(request, membership)
            request.membership = membership  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- Members -------------------------------------------------------------------------------


class LastAdminError(Exception):
    """The change would leave the team without an admin."""


def _other_admins(membership: Membership) -> bool:
    return (
        Membership.objects.filter(team_id=membership.team_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def is_last_admin(membership: Membership) -> bool:
    """Whether the team would be left without an admin if this member went: the pages
    say so before a POST that remove_member() would refuse."""
    return membership.role == Role.ADMIN and not _other_admins(membership)


@transaction.atomic
def change_role(membership: Membership, role: Role | str) -> str:
    """Set the role; returns the previous one. Refuses to demote the team's last admin."""
    # Lock the team's admin rows so two admins demoting each other at once cannot both pass.
    list(
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    previous = membership.role
    if previous == Role.ADMIN and role != Role.ADMIN and not _other_admins(membership):
        raise LastAdminError
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    return previous


@transaction.atomic
def remove_member(membership: Membership) -> None:
    """Remove from the team. Refuses to remove the team's last admin."""
    list(
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if is_last_admin(membership):
        raise LastAdminError
    membership.delete()


# --- The token, as the server pages need it ------------------------------------------------


def token_missing_context(membership: Membership | None) -> dict[str, Any]:
    """What a server page says when the team has no token, or VPS.org rejects it.

    Admins are led to the token page; everyone else is told an admin must act. The
    templates team/_no_token.html and team/_token_rejected.html render the same from the
    `membership` the context processor puts on every page.
    """
    is_admin = bool(membership and membership.is_admin)
    return {
        "token_is_admin": is_admin,
        "token_url": reverse("team:token") if is_admin else None,
        "token_missing_message": (
            _("This team has no VPS.org API token yet. Add it on the token page.")
            if is_admin
            else _("This team has no VPS.org API token yet. An admin of the team must add one.")
        ),
        "token_rejected_message": (
            _("VPS.org rejected the team's API token. Replace it on the token page.")
            if is_admin
            else _("VPS.org rejected the team's API token. An admin of the team must replace it.")
        ),
    }
