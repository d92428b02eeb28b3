"""What the panel keeps about servers itself: the OS catalog and the team's saved SSH keys.

The API documents no endpoint for operating systems, so the panel keeps its own catalog:
seeded with the documented ones (a data migration), editable in the admin, and learned
from the servers the API returns (an id seen on a server is an id VPS.org accepts).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from panel.models import Team


class OperatingSystem(models.Model):
    class Source(models.TextChoices):
        SEEDED = "seeded", _("Documented by VPS.org")
        LEARNED = "learned", _("Seen on a server")
        ADMIN = "admin", _("Added in the admin")

    # Text, not an integer: ids are integers in the documentation, but the live API
    # may use other ids; the client turns digit strings back into integers.
    api_id = models.CharField(_("VPS.org id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    offered = models.BooleanField(
        _("offered for new servers"),
        default=True,
        help_text=_("Untick to hide it from the create form (servers running it still show it)."),
    )
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.ADMIN
    )
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("operating system")
        verbose_name_plural = _("operating systems")
        ordering = ["name", "api_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.api_id})"

    @classmethod
    def learn(cls, seen: Iterable[tuple[str, str]]) -> int:
        """Add the (id, name) pairs not in the catalog yet; returns how many were new.

        One query whatever the number of servers; an existing entry is never renamed,
        so what an admin typed wins over what the API says.
        """
        pairs = {api_id: name for api_id, name in seen if api_id and name}
        if not pairs:
            return 0
        known = set(cls.objects.filter(api_id__in=pairs).values_list("api_id", flat=True))
        new = [
            cls(api_id=api_id, name=name[:100], source=cls.Source.LEARNED)
            for api_id, name in pairs.items()
            if api_id not in known
        ]
        if new:
            # Two requests may learn the same id at once; the unique index settles it.
            cls.objects.bulk_create(new, ignore_conflicts=True)
        return len(new)


class SSHKey(models.Model):
    """A VPS.org SSH key id the team saved under a name, to choose it on the create form."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="ssh_keys")
    name = models.CharField(_("name"), max_length=100)
    # The API documents ssh_key_id as an integer.
    key_id = models.PositiveBigIntegerField(_("VPS.org key id"), validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("SSH key")
        verbose_name_plural = _("SSH keys")
        ordering = ["name", "key_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "key_id"],
                name="unique_team_ssh_key_id",
                violation_error_message=_("The team has already saved this key id."),
            ),
            models.UniqueConstraint(
                fields=["team", "name"],
                name="unique_team_ssh_key_name",
                violation_error_message=_("The team already has a key with this name."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"


class ServerProtection(models.Model):
    """A team's lock against deleting one server through the panel (servers/protection.py).

    Kept by the panel, not at VPS.org: the API knows no such flag. Per team, because the
    team is who decided it; the id is VPS.org's opaque server id.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="server_protections")
    server_id = models.CharField(_("VPS.org server id"), max_length=128)
    # The name when it was protected: the delete page and the audit trail can say which
    # server it is without asking VPS.org.
    server_name = models.CharField(_("server name"), max_length=200, blank=True)
    protected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept as text so the page still names who did it after the user is deleted.
    protected_by_name = models.CharField(_("protected by"), max_length=150, blank=True)
    protected_at = models.DateTimeField(_("protected"), default=timezone.now)

    class Meta:
        verbose_name = _("server protection")
        verbose_name_plural = _("server protections")
        ordering = ["team", "server_id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "server_id"], name="unique_team_server_lock"),
        ]

    def __str__(self) -> str:
        return f"{self.server_name or self.server_id} ({self.team})"
