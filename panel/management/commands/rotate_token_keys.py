"""Re-encrypt every stored API token, and every two-factor secret (authenticator apps,
recovery codes), with the first key of TOKEN_ENCRYPTION_KEYS.

Rotation: put the new key first in TOKEN_ENCRYPTION_KEYS, keep the old ones after it,
run this command, then drop the old keys. Without TOKEN_ENCRYPTION_KEYS the tokens are
(re-)encrypted with the key derived from SECRET_KEY.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from panel import crypto
from panel.models import TeamToken

# The encrypted entries of an authenticator's data (panel.accounts.MFAAdapter), by type.
SECRET_FIELDS = {Authenticator.Type.TOTP: ("secret",), Authenticator.Type.RECOVERY_CODES: ("seed",)}


def _rotate_text(text: str) -> str:
    return crypto.rotate(text.encode("ascii")).decode("ascii")


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
            secrets = 0
            for authenticator in Authenticator.objects.select_for_update().filter(
                type__in=list(SECRET_FIELDS)
            ):
                data = dict(authenticator.data)
                try:
                    for name in SECRET_FIELDS[authenticator.type]:
                        data[name] = _rotate_text(data[name])
                    if "migrated_codes" in data:
                        data["migrated_codes"] = [_rotate_text(c) for c in data["migrated_codes"]]
                except crypto.InvalidToken:
                    unreadable.append(f"{authenticator.get_type_display()} of user id "
                                      f"{authenticator.user_id}")  # fmt: skip
                    continue
                authenticator.data = data
                authenticator.save(update_fields=["data"])
                secrets += 1
        self.stdout.write(f"Re-encrypted {rotated} token(s) with the first key.")
        self.stdout.write(f"Re-encrypted {secrets} two-factor secret(s) with the first key.")
        if unreadable:
            raise CommandError(
                "No key in TOKEN_ENCRYPTION_KEYS decrypts the token or secret of: "
                + ", ".join(unreadable)
                + ". Add the key they were encrypted with, or have each team's admin "
                "store the token again (and each such user set up two-factor sign-in again)."
            )
