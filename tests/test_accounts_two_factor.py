"""Two-factor sign-in over HTTP (allauth's mfa): sign up, set up an authenticator app from the
secret the page shows (codes computed with pyotp), log out, log in with the password and then a
code, and a recovery code that works once. The second step is rate limited too."""

from __future__ import annotations

import io
import re
import time
from html import unescape

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import User
from django.test import Client

PASSWORD = "a-Long-enough-pass-77"


def _sign_up(client: Client, username: str = "tess") -> User:
    response = client.post(
        "/accounts/signup/",
        {
            "username": username,
            "email": f"{username}@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    return User.objects.get(username=username)


def _secret(page: str) -> str:
    match = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page)
    if match is None:
        match = re.search(r'value="([A-Z2-7]+)"[^>]*id="authenticator_secret"', page)
    assert match, "the set-up page shows the secret as text"
    return match.group(1)


def _set_up_totp(client: Client, *, view_codes: bool = True) -> tuple[str, list[str]]:
    """Activate an authenticator app; returns its secret and the recovery codes shown."""
    page = client.get("/accounts/2fa/totp/activate/")
    if page.status_code == 302 and page["Location"].startswith("/accounts/reauthenticate/"):
        # allauth asks for the password again before a security change.
        confirmed = client.post(page["Location"], {"password": PASSWORD})
        assert confirmed["Location"] == "/accounts/2fa/totp/activate/"
        page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    html = page.content.decode()
    secret = _secret(html)
    # The QR code is an image the CSP allows (img-src data:), never an inline script.
    assert re.search(
        r'<img src="data:image/svg\+xml;base64,[^"]+" alt="[^"]*" class="totp-qr"', html
    )
    assert 'name="code"' in html
    response = client.post("/accounts/2fa/totp/activate/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    if not view_codes:
        return secret, []
    codes_page = client.get(response["Location"], follow=True).content.decode()
    codes = re.findall(
        r"\b\d{8}\b", unescape(codes_page.split("<textarea")[1].split("</textarea>")[0])
    )
    assert len(codes) >= 10, "the recovery codes are shown once after set-up"
    # ... with a download made in the browser from the page itself.
    link = re.search(
        r'download="recovery-codes.txt" href="data:text/plain;charset=utf-8,([^"]+)"', codes_page
    )
    assert link and link.group(1).split("%0A")[:-1] == codes
    return secret, codes


def _log_out(client: Client) -> None:
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"
    assert client.get("/servers/").status_code == 302


def _password_step(client: Client, username: str = "tess") -> None:
    response = client.post("/accounts/login/", {"login": username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    # Not signed in yet: the password alone opens nothing.
    assert "_auth_user_id" not in client.session
    assert client.get("/servers/").status_code == 302


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch):
    """Move the clock on by one TOTP period, so the next code differs from the one used."""

    def move(seconds: int = 30) -> float:
        now = time.time() + seconds
        monkeypatch.setattr(time, "time", lambda: now)
        return now

    return move


def test_the_whole_flow_with_an_authenticator_app(db, later) -> None:
    client = Client()
    user = _sign_up(client)
    secret, _codes = _set_up_totp(client)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    _log_out(client)

    _password_step(client)
    step = client.get("/accounts/2fa/authenticate/").content.decode()
    assert 'name="code"' in step
    at = later()
    response = client.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).at(at)})
    assert response.status_code == 302
    assert response["Location"] == "/servers/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_wrong_code_keeps_the_door_shut(db) -> None:
    client = Client()
    _sign_up(client)
    _set_up_totp(client)
    _log_out(client)
    _password_step(client)
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 200
    assert "Incorrect code." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_signs_in_once(db) -> None:
    client = Client()
    user = _sign_up(client)
    _, codes = _set_up_totp(client)
    _log_out(client)

    _password_step(client)
    response = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert response["Location"] == "/servers/"
    assert client.session["_auth_user_id"] == str(user.pk)
    _log_out(client)

    _password_step(client)
    again = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert again.status_code == 200
    assert "_auth_user_id" not in client.session
    # Another, unused, code still works.
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[1]})["Location"] == (
        "/servers/"
    )


def test_recovery_codes_are_shown_once_and_downloadable(db) -> None:
    client = Client()
    user = _sign_up(client)
    _set_up_totp(client, view_codes=False)
    download = client.get("/accounts/2fa/recovery-codes/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    codes = Authenticator.objects.get(user=user, type="recovery_codes").wrap().get_unused_codes()
    assert len(codes) == 10
    assert all(code in download.content.decode() for code in codes)
    # Once seen, neither the page nor the download gives them again.
    assert codes[0] not in client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert client.get("/accounts/2fa/recovery-codes/download/").status_code == 403


def test_the_second_step_is_rate_limited(db, settings) -> None:
    client = Client()
    _sign_up(client)
    secret, _codes = _set_up_totp(client)
    _log_out(client)
    _password_step(client)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    # Even the right code is refused now.
    refused = client.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})
    assert refused.status_code == 200
    assert "Too many failed log-in attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_setup_pages_need_a_login(db) -> None:
    response = Client().get("/accounts/2fa/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_setup_page_lists_the_methods(db) -> None:
    client = Client()
    _sign_up(client)
    page = client.get("/accounts/2fa/").content.decode()
    assert 'href="/accounts/2fa/totp/activate/"' in page
    assert 'href="/accounts/2fa/webauthn/add/"' in page


def test_the_secrets_are_stored_encrypted_and_rotate_with_the_token_keys(db, settings) -> None:
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old]
    client = Client()
    user = _sign_up(client)
    secret, _codes = _set_up_totp(client, view_codes=False)
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert secret not in str(totp.data)  # not in the clear in the database
    codes = Authenticator.objects.get(user=user, type="recovery_codes")
    assert codes.wrap().get_unused_codes()

    settings.TOKEN_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_token_keys", stdout=io.StringIO())
    settings.TOKEN_ENCRYPTION_KEYS = [new]  # the old key dropped: still readable
    totp.refresh_from_db()
    assert totp.wrap().validate_code(pyotp.TOTP(secret).at(time.time() + 30))
    assert Authenticator.objects.get(pk=codes.pk).wrap().get_unused_codes()


def test_the_admin_shows_no_secret(db) -> None:
    staff = User.objects.create_superuser("root", "root@example.com", "root-pw-1")
    client = Client()
    user = _sign_up(client)
    secret, _codes = _set_up_totp(client, view_codes=False)
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    admin = Client()
    admin.force_login(staff)
    page = admin.get(f"/admin/mfa/authenticator/{totp.pk}/change/")
    assert page.status_code == 200
    assert secret not in page.text
    assert totp.data["secret"] not in page.text
    assert "tess" in admin.get("/admin/mfa/authenticator/").text
