"""The login and sign-up pages around allauth's views; and the health check."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from allauth.account import views as allauth_views
from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


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
