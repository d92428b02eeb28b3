"""The login and sign-up pages around allauth's views; and the health check."""

from __future__ import annotations

from typing import Any

from allauth.account import views as allauth_views
from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET


class PanelLoginView(allauth_views.LoginView):
    """allauth's login, answering 429 while the account or address is locked out."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # Read at request time, so a test overriding the settings sees them.
        return super().get_context_data(
            signup_enabled=get_adapter(self.request).is_open_for_signup(self.request),
            demo_logins=settings.DEBUG,
            **kwargs,
        )

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "too_many_login_attempts"):
            response.status_code = 429
        return response


def signup(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """allauth's sign-up; a closed sign-up is not found (it has no page to show)."""
    if not get_adapter(request).is_open_for_signup(request):
        raise Http404(_("Sign-up is closed on this panel."))
    return allauth_views.signup(request, *args, **kwargs)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability; never calls VPS.org."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    return redirect("servers:list")
