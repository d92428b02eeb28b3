"""Accounts: log in (throttled), sign up, the password pages; and the health check."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.core.cache import cache, caches
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from panel.forms import PanelAuthenticationForm, SignupForm
from panel.teams import create_team

log = logging.getLogger(__name__)

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


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.exception("healthz: the database did not answer")
        return False


def _cache_ok() -> bool:
    # A write and a read back: the lock-out, the locks and the shared server lists need both.
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, key, 10)
        ok = cache.get(key) == key
        cache.delete(key)
        return ok
    except Exception:
        log.exception("healthz: the cache did not answer")
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Whether this instance can serve: its database and its cache (Redis when CACHE_URL
    says so) answer. 503 otherwise, so a balancer takes the instance out. Never calls
    VPS.org, and names only kinds (no URL, host or error text: they may hold passwords)."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    backend = type(caches["default"]).__name__
    body: dict[str, str] = {
        "status": "ok" if all(checks.values()) else "error",
        **{name: "ok" if ok else "error" for name, ok in checks.items()},
        "cache_backend": _CACHE_KINDS.get(backend, "other"),
    }
    return JsonResponse(body, status=200 if all(checks.values()) else 503)


_CACHE_KINDS = {
    "DatabaseCache": "database",
    "RedisCache": "redis",
    "LocMemCache": "local-memory",
    "FileBasedCache": "file",
    "PyMemcacheCache": "memcached",
    "PyLibMCCache": "memcached",
}


def home(request: HttpRequest) -> HttpResponse:
    return redirect("servers:list")
