"""The team's two-factor policy in Chromium: an admin who signs in with a code requires
two-factor sign-in on the members page; a member without it is then stopped and led to the
set-up when logging in."""

from __future__ import annotations

import time
from typing import Any

import pyotp
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import User

from panel.models import Membership, Role, Team

PASSWORD = "policy-pass-Aa1"


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_an_admin_requires_two_factor_and_a_member_without_it_is_stopped(
    page: Any, live_server: Any, db: Any
) -> None:
    base = live_server.url
    team = Team.objects.create(name="Strict")
    admin = User.objects.create_user("ada", "ada@example.com", PASSWORD)
    member = User.objects.create_user("max", "max@example.com", PASSWORD)
    Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
    Membership.objects.create(team=team, user=member, role=Role.OPERATOR)
    secret = pyotp.random_base32()
    TOTP.activate(admin, secret)

    _log_in(page, base, "ada")
    page.wait_for_url(f"{base}/accounts/2fa/authenticate/")
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time()))
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/servers/**")
    page.goto(f"{base}/team/members/")
    assert page.locator("tr[data-member='max'] [data-two-factor]").inner_text() == "Off"
    page.click("button:has-text('Require two-factor sign-in')")
    page.wait_for_selector("text=This team requires two-factor sign-in")
    team.refresh_from_db()
    assert team.require_two_factor
    page.click("header form[action='/accounts/logout/'] button")
    page.wait_for_url(f"{base}/accounts/login/")

    _log_in(page, base, "max")
    page.wait_for_url(f"{base}/accounts/2fa/")
    assert page.locator("text=The team Strict requires two-factor sign-in").is_visible()
    page.goto(f"{base}/team/activity/")
    assert page.url == f"{base}/accounts/2fa/"
