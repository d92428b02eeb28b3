"""The account's sessions (allauth.usersessions): listed with browser, address and last seen;
the others can be ended; a password change, a password reset and a change of two-factor
sign-in end them too."""

from __future__ import annotations

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.auth.models import User
from django.test import Client

from tests.test_accounts_two_factor import PASSWORD, _set_up_totp

CHROME = "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user("tess", "tess@example.com", PASSWORD)


def _signed_in(agent: str, addr: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=addr)
    response = client.post("/accounts/login/", {"login": "tess", "password": PASSWORD})
    assert response["Location"] == "/servers/"
    return client


def _is_signed_in(client: Client) -> bool:
    return client.get("/accounts/sessions/").status_code == 200


def test_the_sessions_page_lists_browser_address_and_last_seen(user) -> None:
    laptop = _signed_in(CHROME, "192.0.2.10")
    _signed_in(FIREFOX, "198.51.100.20")
    html = laptop.get("/accounts/sessions/").text
    assert "192.0.2.10" in html and "198.51.100.20" in html
    assert "Chrome/140.0" in html and "Firefox/140.0" in html
    assert "Last seen at" in html
    assert UserSession.objects.filter(user=user).count() == 2


def test_ending_the_other_sessions(user) -> None:
    laptop = _signed_in(CHROME, "192.0.2.10")
    phone = _signed_in(FIREFOX, "198.51.100.20")
    response = laptop.post("/accounts/sessions/")
    assert response.status_code == 302
    assert _is_signed_in(laptop)
    assert not _is_signed_in(phone)
    assert UserSession.objects.filter(user=user).count() == 1


def test_a_password_change_ends_the_other_sessions(user) -> None:
    laptop = _signed_in(CHROME, "192.0.2.10")
    phone = _signed_in(FIREFOX, "198.51.100.20")
    new = "another-Long-pass-88"
    laptop.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert _is_signed_in(laptop)
    assert not _is_signed_in(phone)


def test_setting_up_two_factor_ends_the_other_sessions(user, django_capture_on_commit_callbacks):
    laptop = _signed_in(CHROME, "192.0.2.10")
    phone = _signed_in(FIREFOX, "198.51.100.20")
    with django_capture_on_commit_callbacks(execute=True):
        _set_up_totp(laptop, view_codes=False)
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    assert _is_signed_in(laptop)
    assert not _is_signed_in(phone)


def test_new_recovery_codes_end_the_other_sessions(user, django_capture_on_commit_callbacks):
    laptop = _signed_in(CHROME, "192.0.2.10")
    with django_capture_on_commit_callbacks(execute=True):
        secret, _codes = _set_up_totp(laptop, view_codes=False)
    phone = Client(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="198.51.100.20")
    phone.post("/accounts/login/", {"login": "tess", "password": PASSWORD})
    phone.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})
    assert _is_signed_in(phone)
    with django_capture_on_commit_callbacks(execute=True):
        response = laptop.post("/accounts/2fa/recovery-codes/generate/")
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    assert _is_signed_in(laptop)
    assert not _is_signed_in(phone)


def test_the_header_leads_to_the_account_pages(user) -> None:
    laptop = _signed_in(CHROME, "192.0.2.10")
    header = laptop.get("/accounts/2fa/").text
    assert 'class="username" href="/accounts/2fa/"' in header
    assert 'href="/accounts/sessions/"' in header
    assert 'href="/accounts/password/change/"' in header


def test_every_column_of_the_sessions_table_has_a_header(user) -> None:
    """The last column (the "Current" badge) has its header cell too (allauth's has none)."""
    import re

    laptop = _signed_in(CHROME, "192.0.2.10")
    _signed_in(FIREFOX, "198.51.100.20")
    html = laptop.get("/accounts/sessions/").text
    table = html[html.index("<table") : html.index("</table>")]
    header = table[table.index("<thead") : table.index("</thead>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody") :], re.S)
    assert len(rows) == 2
    columns = len(re.findall(r"<th[\s>]", header))
    assert all(row.count("<td") == columns for row in rows), (columns, rows)
    assert "This browser" in header
