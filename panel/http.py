"""Typed request classes for views (after healthchecks' hc/accounts/http.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django_htmx.middleware import HtmxDetails

    from panel.models import Membership


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
    user: User | AnonymousUser


class AuthenticatedHttpRequest(HttpRequest):
    htmx: HtmxDetails
    user: User


class TeamHttpRequest(AuthenticatedHttpRequest):
    """A request for which @team_required found the user's current membership."""

    membership: Membership
