"""The current team of a request, and the role checks every team view goes through."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from panel.models import Membership, Role, Team


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership selected last; cached on the request."""
    if not request.user.is_authenticated:
        return None
    cached = getattr(request, "_membership", False)
    if cached is not False:
        return cached
    membership = (
        Membership.objects.filter(user=request.user)
        .select_related("team", "team__api_token")
        .order_by("-selected_at", "joined_at", "id")
        .first()
    )
    request._membership = membership  # type: ignore[attr-defined]
    return membership


def select_team(membership: Membership) -> None:
    membership.selected_at = timezone.now()
    membership.save(update_fields=["selected_at"])


@transaction.atomic
def create_team(user: Any, name: str) -> Team:
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=user, role=Role.ADMIN, selected_at=timezone.now())
    return team


def team_required(
    minimum: Role = Role.VIEWER,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Log-in, a current team, and at least `minimum` role in it; else 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = current_membership(request)
            if membership is None or not membership.has_role(minimum):
                raise PermissionDenied
            request.membership = membership  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
