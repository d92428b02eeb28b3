"""Lifting a log-in lock-out: `manage.py unlock_login <username> [--address A]` and the
user admin's action clear allauth's rate-limit counters for that account or address."""

from __future__ import annotations

import pyotp
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from panel import accounts
from tests.test_accounts_two_factor import _log_out, _password_step, _set_up_totp, _sign_up

PASSWORD = "right-password-42"


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user("lena", "lena@example.com", PASSWORD)


def _login(username: str, password: str, addr: str) -> int:
    return (
        Client()
        .post("/accounts/login/", {"login": username, "password": password}, REMOTE_ADDR=addr)
        .status_code
    )


def _lock_account(settings, username: str = "lena") -> None:
    # From several addresses, so that only the account's own limit is reached.
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(username, "wrong", f"192.0.2.{n + 1}")


def test_the_account_is_locked_even_with_the_right_password(user, settings) -> None:
    _lock_account(settings)
    assert _login("lena", PASSWORD, "198.51.100.1") == 429
    assert accounts.locked_for(key=accounts.login_attempts_key("lena")) > 0


def test_the_command_lifts_the_accounts_lock(user, settings, capsys) -> None:
    _lock_account(settings)
    call_command("unlock_login", "lena")
    assert "Unlocked account 'lena'" in capsys.readouterr().out
    assert accounts.locked_for(key=accounts.login_attempts_key("lena")) == 0
    assert _login("lena", PASSWORD, "198.51.100.1") == 302


def test_the_command_ignores_the_case_of_the_username(user, settings) -> None:
    _lock_account(settings)
    call_command("unlock_login", "LENA")
    assert _login("lena", PASSWORD, "198.51.100.1") == 302


def test_the_command_lifts_an_addresss_lock(user, settings) -> None:
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        _login(f"someone-{n}", "wrong", "203.0.113.9")
    assert _login("lena", PASSWORD, "203.0.113.9") == 429
    call_command("unlock_login", address="203.0.113.9")
    assert _login("lena", PASSWORD, "203.0.113.9") == 302


def test_unlocking_the_account_leaves_the_address_locked(user, settings) -> None:
    for _n in range(settings.LOGIN_FAILURE_LIMIT):
        _login("lena", "wrong", "203.0.113.20")
    call_command("unlock_login", "lena")
    assert _login("lena", PASSWORD, "203.0.113.20") == 429
    assert _login("lena", PASSWORD, "203.0.113.21") == 302


def test_the_command_lifts_the_second_factor_lock(db, settings) -> None:
    client = Client()
    tess = _sign_up(client)
    secret, _codes = _set_up_totp(client)
    _log_out(client)
    _password_step(client)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    code = pyotp.TOTP(secret).now()
    assert "_auth_user_id" not in client.session
    assert "Too many" in client.post("/accounts/2fa/authenticate/", {"code": code}).text
    # The failures from this address count for the address as well: lift both.
    call_command("unlock_login", tess.get_username())
    assert "Too many" in client.post("/accounts/2fa/authenticate/", {"code": code}).text
    call_command("unlock_login", tess.get_username(), address="127.0.0.1")
    assert client.post("/accounts/2fa/authenticate/", {"code": code})["Location"] == "/servers/"


def test_the_command_refuses_an_unknown_account(db) -> None:
    with pytest.raises(CommandError, match="No account"):
        call_command("unlock_login", "nobody")


def test_the_command_needs_a_username_or_an_address(db) -> None:
    with pytest.raises(CommandError):
        call_command("unlock_login")


def test_the_admins_action_lifts_the_lock(user, settings) -> None:
    staff = User.objects.create_superuser("root", "root@example.com", "root-pw-1")
    _lock_account(settings)
    admin = Client()
    admin.force_login(staff)
    response = admin.post(
        "/admin/auth/user/",
        {"action": "unlock_login", "_selected_action": [user.pk]},
    )
    assert response.status_code == 302
    assert _login("lena", PASSWORD, "198.51.100.1") == 302
