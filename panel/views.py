"""Accounts: log in (throttled), sign up, the password pages; and the health check."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from panel.forms import PanelAuthenticationForm, SignupForm
from panel.teams import create_team

# The backend recorded in the session of a user logged in by the panel itself.
BACKEND = settings.AUTHENTICATION_BACKENDS[0]


class PanelLoginView(LoginView):
    redirect_authenticated_user = True
    authentication_form = PanelAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # Read at request time, so a test overriding SIGNUP_ENABLED sees it.
        return super().get_context_data(signup_enabled=settings.SIGNUP_ENABLED, **kwargs)

    def form_invalid(self, form: PanelAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error("__all__", "locked"):
            response.status_code = 429
        return response


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.SIGNUP_ENABLED:
        raise Http404(_("Sign-up is closed on this panel."))
    if request.user.is_authenticated:
        return redirect("servers:list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        create_team(user, _("%(username)s's team") % {"username": user.get_username()})
        login(request, user, backend=BACKEND)
        messages.success(
            request,
            _(
                "Welcome! Your personal team is ready and you are its admin. Add the team's "
                "VPS.org API token to see its servers."
            ),
        )
        return redirect("servers:list")
    return render(request, "registration/signup.html", {"form": form})


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
