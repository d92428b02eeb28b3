"""Login throttling that locks out.

After LOGIN_FAILURE_LIMIT failed logins for one username, or from one address, every
further attempt for that username or from that address is refused for
LOGIN_LOCKOUT_SECONDS, even with the right password. The counts live in Django's default
cache: shared by every worker and instance when CACHE_URL points at redis (with the
default local-memory cache they are per process, which suits one process only).

Failures are counted through the `user_login_failed` signal, so the admin's login form
counts too; the refusal lives in the authentication backend, so it holds for every form
that authenticates.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

_PREFIX = "login-throttle"
log = logging.getLogger(__name__)


def client_address(request: HttpRequest | None) -> str:
    """The address the attempt came from.

    Behind our TLS proxy (BEHIND_TLS_PROXY) REMOTE_ADDR is the proxy's, so the last entry
    of X-Forwarded-For, the one our proxy appended, is taken; earlier entries are the
    client's to invent and are ignored.
    """
    if request is None:
        return ""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR", "")


def _keys(request: HttpRequest | None, username: str | None) -> list[str]:
    keys = []
    name = (username or "").strip().casefold()
    if name:
        keys.append("user:" + hashlib.sha256(name.encode()).hexdigest())
    address = client_address(request)
    if address:
        keys.append("addr:" + hashlib.sha256(address.encode()).hexdigest())
    return keys


def locked_for(request: HttpRequest | None, username: str | None) -> int:
    """Seconds left before this username or address may try again; 0 when not locked."""
    lock_keys = [f"{_PREFIX}:lock:{key}" for key in _keys(request, username)]
    if not lock_keys:
        return 0
    until = max((float(v) for v in cache.get_many(lock_keys).values()), default=0.0)
    return max(0, math.ceil(until - time.time()))


def register_failure(request: HttpRequest | None, username: str | None) -> None:
    limit = settings.LOGIN_FAILURE_LIMIT
    window = settings.LOGIN_LOCKOUT_SECONDS
    for key in _keys(request, username):
        count_key = f"{_PREFIX}:count:{key}"
        # add() then incr(): atomic in redis, so workers racing each other all count.
        cache.add(count_key, 0, timeout=window)
        try:
            count = cache.incr(count_key)
        except ValueError:  # expired between add() and incr()
            cache.set(count_key, 1, timeout=window)
            count = 1
        # add(), not set(): attempts during the lock-out do not extend it.
        if count >= limit and cache.add(
            f"{_PREFIX}:lock:{key}", time.time() + window, timeout=window
        ):
            log.warning(
                "Log-in locked for %d s after %d failures (%s)",
                window,
                count,
                "username" if key.startswith("user:") else "address",
            )


def clear_username(username: str | None) -> None:
    """After a successful login, that username's count starts again (its address's does not:
    an attacker with one valid account must not reset the count of the address)."""
    keys = [k for k in _keys(None, username)]
    cache.delete_many([f"{_PREFIX}:count:{key}" for key in keys])


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, refusing every attempt while the username or address is locked."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(self._username_field())
        if locked_for(request, username):
            # PermissionDenied stops Django trying any other backend.
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


@receiver(user_login_failed, dispatch_uid="panel.throttle.failed")
def _count_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    register_failure(request, credentials.get("username"))


@receiver(user_logged_in, dispatch_uid="panel.throttle.logged_in")
def _forget_failures(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    clear_username(user.get_username())
