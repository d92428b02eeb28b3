"""What the panel does when allauth or Django say something happened to an account: a new
account's personal team, and entries in the activity of each of the account's teams."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset, user_logged_in, user_signed_up
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import (
    authentication_failed,
    authenticator_added,
    authenticator_removed,
    authenticator_reset,
    authenticator_used,
)
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from panel.accounts import client_address, unlock, welcome_new_account
from panel.audit import Action, record_for_account

KIND_LABELS = {
    Authenticator.Type.TOTP: _("authenticator app"),
    Authenticator.Type.RECOVERY_CODES: _("recovery codes"),
    Authenticator.Type.WEBAUTHN: _("security key or passkey"),
}


def _kind(authenticator: Authenticator) -> str:
    return str(KIND_LABELS.get(authenticator.type, authenticator.type))


def _from(request: HttpRequest | None) -> str:
    # The address alone: the activity words it in the reader's language
    # (panel.audit.describe_message), not in the language of whoever signed in.
    return client_address(request) or ""


@receiver(user_signed_up, dispatch_uid="panel.accounts.signed_up")
def _signed_up(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    welcome_new_account(request, user)


@receiver(user_logged_in, dispatch_uid="panel.accounts.logged_in")
def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # allauth's signal, not Django's: sent by a real sign-in, not by the tests' force_login.
    record_for_account(user, Action.SIGN_IN, message=_from(request))
    # The account's own count starts again (allauth only gives back the successful attempt);
    # the address's count does not: one valid account must not reset an attacker's address.
    unlock(username=user.get_username())


@receiver(user_login_failed, dispatch_uid="panel.accounts.login_failed")
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = (credentials.get("username") or "").strip()
    if not username:
        return
    user = get_user_model().objects.filter(username__iexact=username).first()
    if user is not None:
        record_for_account(user, Action.SIGN_IN_FAILED, message=_from(request))


@receiver(authentication_failed, dispatch_uid="panel.accounts.mfa_failed")
def _second_factor_failed(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    record_for_account(user, Action.SECOND_FACTOR_FAILED, message=_from(request))


def _end_other_sessions(request: HttpRequest | None, user: Any) -> None:
    """After a change of how the account signs in, every other session of it ends: one
    opened by whoever knew the old password, or before a second factor was asked, must not
    stay open. The session of the request that made the change stays."""
    from allauth.usersessions.adapter import get_adapter
    from allauth.usersessions.models import UserSession

    current = request.session.session_key if request is not None else None
    others = [s for s in UserSession.objects.filter(user=user) if s.session_key != current]
    get_adapter().end_sessions(others)


@receiver(authenticator_added, dispatch_uid="panel.accounts.mfa_added")
def _added(
    sender: Any, request: HttpRequest | None, user: Any, authenticator: Authenticator, **kw: Any
) -> None:
    record_for_account(user, Action.TWO_FACTOR_ADD, message=_kind(authenticator))
    _end_other_sessions(request, user)


@receiver(authenticator_removed, dispatch_uid="panel.accounts.mfa_removed")
def _removed(
    sender: Any, request: HttpRequest | None, user: Any, authenticator: Authenticator, **kw: Any
) -> None:
    record_for_account(user, Action.TWO_FACTOR_REMOVE, message=_kind(authenticator))
    _end_other_sessions(request, user)


@receiver(authenticator_reset, dispatch_uid="panel.accounts.mfa_reset")
def _reset(
    sender: Any, request: HttpRequest | None, user: Any, authenticator: Authenticator, **kw: Any
) -> None:
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        record_for_account(user, Action.RECOVERY_CODES_NEW)
    _end_other_sessions(request, user)


@receiver(authenticator_used, dispatch_uid="panel.accounts.mfa_used")
def _used(
    sender: Any,
    request: HttpRequest | None,
    user: Any,
    authenticator: Authenticator,
    **kwargs: Any,
) -> None:
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        record_for_account(user, Action.RECOVERY_CODE_USE, message=_from(request))


@receiver(password_changed, dispatch_uid="panel.accounts.password_changed")
@receiver(password_reset, dispatch_uid="panel.accounts.password_reset")
def _password(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    record_for_account(user, Action.PASSWORD_CHANGE, message=_from(request))
    # A reset is made signed out: its request has no session of the account, so all end.
    _end_other_sessions(request, user)
