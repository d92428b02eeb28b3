"""A new user signs up in Chromium, then: adds a passkey (a virtual authenticator through
CDP's WebAuthn domain), logs out and logs in with it alone, and with the password and the
key as the second factor; or sets up an authenticator app from the secret the page shows
and logs in with the password and a code."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.contrib.auth.models import User

from panel.models import Membership, Role

PASSWORD = "passkey-pass-Aa1"


@pytest.fixture
def member(page: Any, live_server: Any, db: Any) -> User:
    """A new user, signed up in the browser (and so signed in, in their personal team)."""
    base = live_server.url
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=username]", "kim")
    page.fill("input[name=email]", "kim@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main form[action='/accounts/signup/'] button[type=submit]")
    page.wait_for_url(f"{base}/servers/**")
    user = User.objects.get(username="kim")
    assert Membership.objects.get(user=user).role == Role.ADMIN
    return user


@pytest.fixture
def authenticator(page: Any) -> str:
    """A platform authenticator with resident keys and user verification, as a phone or a
    laptop's fingerprint reader offers."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return added["authenticatorId"]


def _password_login(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "kim")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")


def _confirm_access(page: Any) -> None:
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")


def _log_out(page: Any, base: str) -> None:
    page.click("header form[action='/accounts/logout/'] button")
    page.wait_for_url(f"{base}/accounts/login/")


def test_add_a_passkey_and_log_in_with_it(
    page: Any, live_server: Any, member: User, authenticator: str
) -> None:
    base = live_server.url
    assert base.startswith("http://localhost:")  # a secure context; the RP id is the host
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{base}/accounts/2fa/webauthn/add/")
    _confirm_access(page)
    page.wait_for_url(f"{base}/accounts/2fa/webauthn/add/**")
    page.fill("input[name=name]", "Laptop")
    page.check("input[name=passwordless]")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    from allauth.mfa.models import Authenticator

    assert Authenticator.objects.filter(user=member, type="webauthn").count() == 1

    _log_out(page, base)
    page.click("#passkey_login")
    page.wait_for_url(f"{base}/servers/**")
    assert page.locator("header .username").inner_text() == "kim"

    # The same key as the second factor after the password.
    _log_out(page, base)
    _password_login(page, base)
    page.wait_for_url(f"{base}/accounts/2fa/authenticate/")
    page.click("#mfa_webauthn_authenticate")
    page.wait_for_url(f"{base}/servers/**")
    assert page.locator("header .username").inner_text() == "kim"
    # allauth's scripts are static files and JSON data blocks: the strict CSP let them run.
    assert not [m for m in console if "Content Security Policy" in m]


def test_set_up_an_authenticator_app_and_log_in_with_a_code(
    page: Any, live_server: Any, member: User
) -> None:
    base = live_server.url
    page.goto(f"{base}/accounts/2fa/totp/activate/")
    _confirm_access(page)
    page.wait_for_url(f"{base}/accounts/2fa/totp/activate/")
    assert page.locator("img.totp-qr").is_visible()
    secret = page.locator("#authenticator_secret").input_value()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/totp/activate/" not in url)
    # The recovery codes, shown once, with their download made from the page.
    codes = page.locator("#recovery_codes").input_value().split()
    assert len(codes) == 10
    with page.expect_download() as download:
        page.click("a[download='recovery-codes.txt']")
    assert Path(download.value.path()).read_text().split() == codes
    _log_out(page, base)

    _password_login(page, base)
    page.wait_for_url(f"{base}/accounts/2fa/authenticate/")
    # The next period's code (accepted: MFA_TOTP_TOLERANCE=1); the set-up's one is spent.
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/servers/**")
    assert page.locator("header .username").inner_text() == "kim"
