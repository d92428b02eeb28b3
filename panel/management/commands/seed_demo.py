"""Seed a demo login and a demo team whose stored token is a sandbox token (idempotent)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from panel.crypto import InvalidToken
from panel.models import Membership, Role, Team, TeamToken
from panel.team_views import check_token, store_token
from servers import client as vpsorg

DEMO_PASSWORD = "vpsorg-demo"  # noqa: S105 - a public demo login, printed on the console
DEMO_USERS = (
    ("demo", Role.ADMIN),
    ("demo-manager", Role.MANAGER),
    ("demo-operator", Role.OPERATOR),
    ("demo-viewer", Role.VIEWER),
)


def _holds(stored: TeamToken, token: str) -> bool:
    try:
        return stored.get_token() == token
    except InvalidToken:  # encrypted under a key that is gone: store it again
        return False


class Command(BaseCommand):
    help = "Create the demo users (one per role) and the demo team with a sandbox token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--token", default="sandbox-demo-token", help="the sandbox token")
        parser.add_argument("--team", default="Demo team")

    @transaction.atomic
    def handle(self, *args: Any, token: str, team: str, **options: Any) -> None:
        demo_team, _ = Team.objects.get_or_create(name=team)
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            Membership.objects.update_or_create(team=demo_team, user=user, defaults={"role": role})
        admin = User.objects.get(username="demo")
        stored = TeamToken.objects.filter(team=demo_team).first()
        if stored is None or not _holds(stored, token) or not stored.account_email:
            try:
                # As the token page does: ask the sandbox who the token is, then store it.
                store_token(demo_team, token, check_token(token), admin)
            except vpsorg.VPSOrgError as exc:
                self.stderr.write(f"Could not check the token with VPS.org ({exc}); stored as is.")
                stored = stored or TeamToken(team=demo_team)
                stored.set_token(token)
                stored.token_name = "Sandbox demo token"  # noqa: S105 - a label
                stored.stored_by = admin
                stored.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: demo / {DEMO_PASSWORD} (admin). Also demo-manager, "
                "demo-operator, demo-viewer with the same password."
            )
        )
