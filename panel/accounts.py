"""Accounts on django-allauth: the panel's adapters, and what a sign-up or sign-in does here.

allauth does the sign-up, the login, the password pages, two-factor sign-in (TOTP, passkeys,
recovery codes), single sign-on and the sessions list. What stays the panel's own: a new
account gets its personal team (unless it came to join one through an invitation), the
lock-out message says when to try again, and the team's activity records the acts.
"""

from __future__ import annotations

import math
import time
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit as allauth_ratelimit
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.test import RequestFactory
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

# The backend recorded in the session of a user the panel logs in itself (an invitation's
# sign-up form): allauth's, so its session bookkeeping applies.
BACKEND = "allauth.account.auth_backends.AuthenticationBackend"

# The session key under which the join page keeps the invitation an anonymous visitor opened:
# an account created on the way (by password or single sign-on) then joins that team and gets
# no personal team of its own.
PENDING_INVITATION = "panel_pending_invitation"


def client_address(request: HttpRequest | None) -> str:
    """The address the request came from.

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


def login_attempts_key(login: str | None) -> str:
    """allauth's per-account key of the login_failed limit: one per username, whatever the
    case or the spaces typed around it, and whatever host name the panel was reached by."""
    return "login:" + (login or "").strip().casefold()


def mfa_attempts_key(user: Any) -> str:
    """The key allauth's second-factor step counts failures under (allauth.mfa)."""
    return f"mfa-auth-user-{user.pk}"


def _address_request(address: str) -> HttpRequest:
    return RequestFactory().post("/", REMOTE_ADDR=address)


def _login_failed_keys(*, key: str | None = None, address: str | None = None) -> list[tuple]:
    """The cache keys (with their rates) of the login_failed limit for a key or an address."""
    found = []
    for rate in allauth_ratelimit.get_rates(app="allauth.account", action="login_failed"):
        if rate.per == "key" and key is not None:
            cache_key = allauth_ratelimit.get_cache_key(
                None,  # type: ignore[arg-type]  # unused for a per-key rate
                app="allauth.account",
                action="login_failed",
                rate=rate,
                key=key,
            )
        elif rate.per == "ip" and address:
            cache_key = allauth_ratelimit.get_cache_key(
                _address_request(address), app="allauth.account", action="login_failed", rate=rate
            )
        else:
            continue
        found.append((cache_key, rate))
    return found


def locked_for(*, key: str | None = None, address: str | None = None) -> int:
    """Seconds until the limit that refuses this account key or address lets one more try in;
    0 when none refuses."""
    now = time.time()
    wait = 0.0
    for cache_key, rate in _login_failed_keys(key=key, address=address):
        history = [ts for ts in cache.get(cache_key, []) if ts > now - rate.duration]
        if len(history) >= rate.amount:
            # The oldest attempt still counted is the one whose expiry frees a place.
            wait = max(wait, min(history) + rate.duration - now)
    return math.ceil(wait) if wait > 0 else 0


def unlock(*, username: str | None = None, user: Any = None, address: str | None = None) -> int:
    """Forget the failed attempts of an account (password and second factor) or an address;
    returns how many counters were removed."""
    keys: list[str] = []
    if username:
        keys += [k for k, _rate in _login_failed_keys(key=login_attempts_key(username))]
    if user is not None:
        keys += [k for k, _rate in _login_failed_keys(key=mfa_attempts_key(user))]
    if address:
        keys += [k for k, _rate in _login_failed_keys(address=address)]
    present = [k for k in keys if cache.get(k)]
    cache.delete_many(keys)
    return len(present)


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # One account per address: a password reset mails every account with the address.
        "email_taken": gettext_lazy(
            "An account with this email address exists already. Log in, or reset its password."
        ),
    }

    def validation_error(self, code: str, *args: Any) -> ValidationError:
        if code == "too_many_login_attempts":
            # The second-factor step's limit (allauth.mfa) lands here; the password step's
            # says the exact time (pre_authenticate below).
            return ValidationError(
                _(
                    "Too many failed log-in attempts. For your safety, logging in is paused "
                    "for up to %(minutes)s; try again then."
                )
                % {"minutes": _minutes(settings.LOGIN_LOCKOUT_SECONDS)},
                code=code,
            )
        return super().validation_error(code, *args)

    def validate_unique_email(self, email: str) -> str:
        # allauth compares lower-cased addresses with the users' as stored: an account made
        # outside allauth (the admin, an invitation) may have kept capitals.
        from django.contrib.auth import get_user_model

        email = super().validate_unique_email(email)
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise self.validation_error("email_taken")
        return email

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Read at request time, so a test overriding the settings sees it.
        return settings.SIGNUP_ENABLED and not settings.SIGNUP_SSO_ONLY

    def get_client_ip(self, request: HttpRequest) -> str:
        address = client_address(request)
        if not address:
            raise PermissionDenied("Unable to determine the client's address")
        return address

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        return login_attempts_key(credentials.get("username") or credentials.get("email"))

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            seconds = locked_for(
                key=self._get_login_attempts_cache_key(request, **credentials),
                address=self.get_client_ip(request),
            )
            raise ValidationError(
                _(
                    "Too many failed log-in attempts. For your safety, logging in is paused "
                    "for %(minutes)s; try again then."
                )
                % {"minutes": _minutes(seconds or settings.LOGIN_LOCKOUT_SECONDS)},
                code="too_many_login_attempts",
            ) from None


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        # SIGNUP_SSO_ONLY closes the password sign-up, not this one.
        return settings.SIGNUP_ENABLED


class MFAAdapter(DefaultMFAAdapter):
    """Authenticator-app secrets and recovery-code seeds are stored encrypted with the keys
    that encrypt the teams' API tokens (TOKEN_ENCRYPTION_KEYS; `manage.py rotate_token_keys`
    re-encrypts both): whoever reads the database or the admin cannot compute anyone's codes."""

    def encrypt(self, text: str) -> str:
        from panel import crypto

        return crypto.encrypt(text).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        from panel import crypto

        return crypto.decrypt(encrypted_text.encode("ascii"))


def welcome_new_account(request: HttpRequest | None, user: Any) -> None:
    """A new account's personal team, of which it is the admin; none for an account created
    to accept an invitation (the join page adds it to that team)."""
    from panel.models import Invitation
    from panel.teams import create_team

    if request is not None and request.session.get(PENDING_INVITATION):
        invitation = Invitation.for_key(request.session[PENDING_INVITATION])
        if invitation and invitation.accepted_at is None and not invitation.is_expired:
            return
    create_team(user, _("%(username)s's team") % {"username": user.get_username()})
    if request is not None:
        messages.success(
            request,
            _(
                "Welcome! Your personal team is ready and you are its admin. Add the team's "
                "VPS.org API token to see its servers."
            ),
        )
