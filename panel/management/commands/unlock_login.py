"""Lift a log-in lock-out: forget the failed attempts of an account or of an address."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from panel.accounts import unlock


class Command(BaseCommand):
    help = (
        "Forget the failed log-in and second-factor attempts of a username (and/or of an "
        "address), so that it may log in again at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", help="the account to unlock")
        parser.add_argument("--address", help="an IP address to unlock as well (or alone)")

    def handle(self, *args: Any, username: str | None, address: str | None, **options: Any) -> None:
        if not username and not address:
            raise CommandError("Name a username, an --address, or both.")
        user = None
        if username:
            user = get_user_model().objects.filter(username__iexact=username.strip()).first()
            if user is None:
                raise CommandError(f"No account is named {username!r}.")
        removed = unlock(username=username, user=user, address=address)
        what = " and ".join(
            part for part in (f"account {username!r}" if username else "", address or "") if part
        )
        self.stdout.write(f"Unlocked {what} ({removed} counter(s) cleared).")
