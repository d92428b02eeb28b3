"""The panel's own domain: teams, memberships and roles, the stored API token, the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables


class Role(models.TextChoices):
    # Ordered from least to most powerful; ROLE_RANK below relies on this order.
    VIEWER = "viewer", _("Viewer")
    OPERATOR = "operator", _("Operator")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Admin")


ROLE_RANK = {role: rank for rank, role in enumerate(Role)}


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # The team's policy: members without two-factor sign-in are sent to set it up before
    # they can use the team's pages (panel.teams.team_required).
    require_two_factor = models.BooleanField(_("require two-factor sign-in"), default=False)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)
    # The current team is the membership selected last: remembered per user, no extra table.
    selected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="unique_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team} ({self.role})"

    def has_role(self, minimum: Role | str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]

    # For templates, which cannot pass an argument to has_role().
    @property
    def can_operate(self) -> bool:
        """Start, stop, reboot."""
        return self.has_role(Role.OPERATOR)

    @property
    def can_manage(self) -> bool:
        """Create, edit, rename, delete servers."""
        return self.has_role(Role.MANAGER)

    @property
    def is_admin(self) -> bool:
        """The token, the members, the roles."""
        return self.has_role(Role.ADMIN)


class TeamToken(models.Model):
    """The team's VPS.org API token, Fernet-encrypted; only its last four characters in clear."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="api_token")
    encrypted = models.BinaryField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    # What GET /account/me/ said when the token was stored.
    token_name = models.CharField(max_length=200, blank=True)
    account_email = models.CharField(max_length=254, blank=True)
    account_name = models.CharField(max_length=200, blank=True)
    permissions = models.JSONField(default=list, blank=True)
    stored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    stored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"…{self.last4}"

    @sensitive_variables("plaintext")
    def set_token(self, plaintext: str) -> None:
        from panel.crypto import encrypt

        self.encrypted = encrypt(plaintext)
        self.last4 = plaintext[-4:]

    @sensitive_variables()
    def get_token(self) -> str:
        from panel.crypto import decrypt

        return decrypt(bytes(self.encrypted))


class AuditEntry(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok", _("OK")
        ERROR = "error", _("Error")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="audit_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept as text so the trail still reads right after the user is deleted or renamed.
    username = models.CharField(max_length=150)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    target_id = models.CharField(_("target"), max_length=100, blank=True, db_index=True)
    target_name = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.OK)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    # What the act changed, {field: [old, new]} (old null when unknown); see panel.audit.
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="audit_team_newest")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.target_id}"

    @property
    def action_label(self) -> str:
        from panel.audit import Action

        return Action.label(self.action)

    @property
    def display_message(self) -> str:
        """The message as the activity shows it (panel.audit.describe_message)."""
        from panel.audit import describe_message

        return describe_message(self)

    @property
    def change_list(self) -> list[Any]:
        """The changes as the activity shows them, translated (panel.audit.describe_changes)."""
        from panel.audit import describe_changes

        return describe_changes(self)


class Invitation(models.Model):
    """An invitation to join a team, by a link that expires.

    Only a hash of the link's secret is stored: whoever reads the database cannot join
    a team (and reach its servers through the stored token) with a pending invitation.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} → {self.team} ({self.role})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(
        cls, team: Team, email: str, role: Role | str, invited_by: Any
    ) -> tuple[Invitation, str]:
        """A new invitation and the secret for its link (not stored, so returned once)."""
        key = secrets.token_urlsafe(32)
        invitation = cls.objects.create(
            team=team,
            email=email,
            role=role,
            key_hash=cls.hash_key(key),
            invited_by=invited_by,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_EXPIRY_DAYS),
        )
        return invitation, key

    @classmethod
    def for_key(cls, key: str) -> Invitation | None:
        return (
            cls.objects.select_related("team", "invited_by")
            .filter(key_hash=cls.hash_key(key))
            .first()
        )

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
