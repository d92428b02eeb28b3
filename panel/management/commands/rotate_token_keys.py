"""Re-encrypt every stored API token with the first key of TOKEN_ENCRYPTION_KEYS.

Rotation: put the new key first in TOKEN_ENCRYPTION_KEYS, keep the old ones after it,
run this command, then drop the old keys. Without TOKEN_ENCRYPTION_KEYS the tokens are
(re-)encrypted with the key derived from SECRET_KEY.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from panel import crypto
from panel.models import TeamToken


class Command(BaseCommand):
    help = "Re-encrypt every stored API token with the first key of TOKEN_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        if crypto.uses_derived_key():
            self.stderr.write(
                self.style.WARNING(
                    "TOKEN_ENCRYPTION_KEYS is not set: encrypting with the key derived from "
                    "SECRET_KEY."
                )
            )
        rotated = 0
        unreadable: list[str] = []
        with transaction.atomic():
            for stored in TeamToken.objects.select_for_update().select_related("team"):
                try:
                    stored.encrypted = crypto.rotate(bytes(stored.encrypted))
                except crypto.InvalidToken:
                    unreadable.append(f"{stored.team} (id {stored.team_id})")
                    continue
                stored.save(update_fields=["encrypted"])
                rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} token(s) with the first key.")
        if unreadable:
            raise CommandError(
                "No key in TOKEN_ENCRYPTION_KEYS decrypts the token of: "
                + ", ".join(unreadable)
                + ". Add the key they were encrypted with, or have each team's admin "
                "store the token again."
            )
