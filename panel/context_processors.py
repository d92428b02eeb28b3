from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from panel.teams import current_membership, user_memberships


def team(request: HttpRequest) -> dict[str, Any]:
    """The current team and role on every page (the header shows them), and the user's
    teams for the switcher, fetched only when a template asks (fragments never do)."""
    membership = current_membership(request)
    return {
        "membership": membership,
        "team": membership.team if membership else None,
        "memberships": SimpleLazyObject(lambda: user_memberships(request)),
        "signup_enabled": settings.SIGNUP_ENABLED and not settings.SIGNUP_SSO_ONLY,
        "sso_enabled": bool(settings.SOCIALACCOUNT_PROVIDERS),
    }
