"""Recording acts in the team's audit trail.

Every act that changes something goes through `record()`. Action names are the values
of `Action` (dotted, `<object>.<verb>`); `record()` accepts any string so a new kind of
act never fails to be recorded, and the activity page shows an unknown name as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from panel.models import AuditEntry, Role, Team

# What an edit of a server can change (the fields of the edit form and the API's PUT).
SERVER_FIELDS = ("name", "hostname", "backups_enabled")


class Action:
    """The names of the recorded acts, and their labels for the activity page."""

    SERVER_CREATE = "server.create"
    SERVER_EDIT = "server.edit"
    SERVER_RENAME = "server.rename"
    SERVER_DELETE = "server.delete"
    SERVER_START = "server.start"
    SERVER_STOP = "server.stop"
    SERVER_REBOOT = "server.reboot"
    TOKEN_SET = "token.set"  # noqa: S105 - action names, not secrets
    TOKEN_REPLACE = "token.replace"  # noqa: S105
    TOKEN_REMOVE = "token.remove"  # noqa: S105
    MEMBER_INVITE = "member.invite"
    MEMBER_INVITE_REVOKE = "member.invite_revoke"
    MEMBER_JOIN = "member.join"
    MEMBER_ROLE = "member.role"
    MEMBER_REMOVE = "member.remove"
    MEMBER_LEAVE = "member.leave"
    SSH_KEY_ADD = "ssh_key.add"
    SSH_KEY_DELETE = "ssh_key.delete"
    # Team operations (issue 12): delete protection and bulk power actions.
    SERVER_PROTECT = "server.protect"
    SERVER_UNPROTECT = "server.unprotect"
    SERVER_BULK = "server.bulk"
    # Accounts: recorded in every team of the account (panel/account_signals.py).
    SIGN_IN = "account.sign_in"
    SIGN_IN_FAILED = "account.sign_in_failed"
    SECOND_FACTOR_FAILED = "account.2fa_failed"
    TWO_FACTOR_ADD = "account.2fa_add"
    TWO_FACTOR_REMOVE = "account.2fa_remove"
    RECOVERY_CODES_NEW = "account.recovery_codes_new"
    RECOVERY_CODE_USE = "account.recovery_code_use"
    PASSWORD_CHANGE = "account.password_change"  # noqa: S105 - an action name
    TEAM_REQUIRE_2FA = "team.require_2fa"
    TEAM_ALLOW_NO_2FA = "team.allow_no_2fa"

    LABELS = {
        SERVER_CREATE: _("Server created"),
        SERVER_EDIT: _("Server edited"),
        SERVER_RENAME: _("Server renamed"),
        SERVER_DELETE: _("Server deleted"),
        SERVER_START: _("Server started"),
        SERVER_STOP: _("Server stopped"),
        SERVER_REBOOT: _("Server rebooted"),
        TOKEN_SET: _("API token stored"),
        TOKEN_REPLACE: _("API token replaced"),
        TOKEN_REMOVE: _("API token removed"),
        MEMBER_INVITE: _("Member invited"),
        MEMBER_INVITE_REVOKE: _("Invitation revoked"),
        MEMBER_JOIN: _("Member joined"),
        MEMBER_ROLE: _("Role changed"),
        MEMBER_REMOVE: _("Member removed"),
        MEMBER_LEAVE: _("Member left"),
        SSH_KEY_ADD: _("SSH key saved"),
        SSH_KEY_DELETE: _("SSH key removed"),
        SERVER_PROTECT: _("Server protected from deletion"),
        SERVER_UNPROTECT: _("Server protection removed"),
        SERVER_BULK: _("Bulk power action"),
        SIGN_IN: _("Signed in"),
        SIGN_IN_FAILED: _("Failed sign-in"),
        SECOND_FACTOR_FAILED: _("Wrong two-factor code"),
        TWO_FACTOR_ADD: _("Two-factor method added"),
        TWO_FACTOR_REMOVE: _("Two-factor method removed"),
        RECOVERY_CODES_NEW: _("New recovery codes"),
        RECOVERY_CODE_USE: _("Recovery code used"),
        PASSWORD_CHANGE: _("Password changed"),
        TEAM_REQUIRE_2FA: _("Two-factor sign-in required"),
        TEAM_ALLOW_NO_2FA: _("Two-factor sign-in no longer required"),
    }

    @classmethod
    def label(cls, action: str) -> str:
        return str(cls.LABELS.get(action, action))


def record(
    team: Team,
    user: Any,
    action: str,
    *,
    target_id: str | int = "",
    target_name: str = "",
    error: Exception | None = None,
    message: str = "",
    changes: dict[str, list[Any] | tuple[Any, Any]] | None = None,
) -> AuditEntry:
    """One entry per act; `error` (an upstream failure) marks the outcome as failed.

    `message` adds a detail to a successful act; for a failed one the error's own message
    is kept (the API client already strips tokens from it). `changes` is what the act
    changed, {field: (old, new)} with plain values (old None when unknown): stored as
    data, so the activity page words it in the reader's language, not the actor's.
    """
    status = getattr(error, "status", None)
    if error is not None:
        message = str(getattr(error, "message", "") or error)
    return AuditEntry.objects.create(
        team=team,
        user=user if getattr(user, "is_authenticated", False) else None,
        username=getattr(user, "get_username", lambda: "")() or "",
        action=action[:40],
        target_id=str(target_id)[:100],
        target_name=str(target_name)[:200],
        outcome=AuditEntry.Outcome.ERROR if error else AuditEntry.Outcome.OK,
        status_code=status if isinstance(status, int) and 0 < status < 1000 else None,
        message=message[:500],
        changes={field: [old, new] for field, (old, new) in (changes or {}).items()},
    )


def changes_between(
    before: Any | None, after: Any, fields: Iterable[str] = SERVER_FIELDS
) -> dict[str, tuple[Any, Any]]:
    """The fields whose value differs between two versions of an object (e.g. the server
    as the team last saw it and as the API answered the edit). Unknown `before`: every
    field with its new value and None as the old one."""
    result = {}
    for field in fields:
        new = getattr(after, field, None)
        if before is None:
            if new not in (None, ""):
                result[field] = (None, new)
            continue
        old = getattr(before, field, None)
        # An empty hostname and none at all are the same thing to the API.
        if (None if old == "" else old) != (None if new == "" else new):
            result[field] = (old, new)
    return result


# --- The activity's words for changes ---------------------------------------------------

FIELD_LABELS = {
    "name": _("Name"),
    "hostname": _("Hostname"),
    "backups_enabled": _("Automatic backups"),
    "role": _("Role"),
}


@dataclass(frozen=True, slots=True)
class Change:
    label: str
    old: str | None  # None: not known (the entry recorded only the new value)
    new: str


def _value(field: str, value: Any) -> str:
    if field == "role" and value in Role.values:
        return str(Role(value).label)
    if isinstance(value, bool):
        return str(_("On") if value else _("Off"))
    if value in (None, ""):
        return str(_("none"))
    return str(value)


def _role_from_label(text: str) -> str | None:
    """A role written as its label in any of the panel's languages (older entries kept the
    actor's words in `message`), back to its value."""
    for code in ("en", "pt-br"):
        with translation.override(code):
            for role in Role:
                if str(role.label) == text.strip():
                    return role.value
    return None


# An account's acts record the address they came from as their message.
ADDRESS_ACTIONS = frozenset({Action.SIGN_IN, Action.SIGN_IN_FAILED, Action.SECOND_FACTOR_FAILED})


def describe_message(entry: AuditEntry) -> str:
    """The entry's message as the activity shows it, in the reader's language: an address
    becomes "from <address>". Older entries kept those words in the language of whoever
    signed in ("from 192.0.2.1", "de 192.0.2.1"); they are shown as they were kept."""
    message = entry.message.strip()
    if entry.action in ADDRESS_ACTIONS and message and " " not in message:
        return str(_("from %(address)s") % {"address": message})
    return entry.message


def describe_changes(entry: AuditEntry) -> list[Change]:
    changes = dict(entry.changes or {})
    if not changes and entry.message and entry.action in (Action.MEMBER_ROLE, Action.MEMBER_INVITE):
        # Before `changes` existed: "Viewer → Operator" (a role change), "Viewer" (an invite).
        parts = [_role_from_label(p) for p in re.split(r"\s*→\s*", entry.message)]
        if all(parts) and len(parts) in (1, 2):
            changes["role"] = [parts[0], parts[1]] if len(parts) == 2 else [None, parts[0]]
    result = []
    for field, pair in changes.items():
        old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        label = str(FIELD_LABELS.get(field, field))
        result.append(
            Change(label, None if old is None else _value(field, old), _value(field, new))
        )
    return result


def deleted_servers(team: Team, server_ids: Iterable[str]) -> set[str]:
    """Which of these servers the team deleted (or found already gone when deleting)."""
    ids = {str(i) for i in server_ids if i}
    if not ids:
        return set()
    gone = AuditEntry.objects.filter(
        team=team, action=Action.SERVER_DELETE, target_id__in=ids
    ).filter(models.Q(outcome=AuditEntry.Outcome.OK) | models.Q(status_code=404))
    return set(gone.values_list("target_id", flat=True))


def record_for_account(user: Any, action: str, *, message: str = "") -> int:
    """An act of an account, not of one team: one entry in each of its teams' activity, so
    every team it can reach sees it. Returns how many entries were written."""
    from panel.models import Membership

    teams = [m.team for m in Membership.objects.filter(user=user).select_related("team")]
    for team in teams:
        record(team, user, action, target_name=user.get_username(), message=message)
    return len(teams)


def entries_for_server(team: Team, server_id: str | int, limit: int = 20) -> QuerySet[AuditEntry]:
    """The newest entries about one server, for its detail page."""
    return AuditEntry.objects.filter(team=team, target_id=str(server_id))[:limit]
