"""Log in (allauth's form: `login` and `password`), and the throttling that locks out after
repeated failures (allauth's login_failed rate limit, per username and per address, counted in
the shared cache, refusing even the right password for a while)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from panel import accounts

PASSWORD = "right-password-42"


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user("lena", "lena@example.com", PASSWORD)


def _login(client: Client, username: str, password: str, addr: str = "192.0.2.1"):
    return client.post(
        "/accounts/login/", {"login": username, "password": password}, REMOTE_ADDR=addr
    )


def _fail(client: Client, username: str, times: int, addr: str = "192.0.2.1") -> None:
    for _ in range(times):
        response = _login(client, username, "wrong", addr)
        assert response.status_code in (200, 429)


def test_login_with_the_right_password_redirects_to_the_servers(user) -> None:
    response = _login(Client(), "lena", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/servers/"


def test_a_wrong_password_is_a_form_error(user) -> None:
    response = _login(Client(), "lena", "wrong")
    assert response.status_code == 200
    assert "username and/or password you specified are not correct" in response.content.decode()


def test_nine_failures_do_not_lock(user) -> None:
    _fail(Client(), "lena", 9)
    assert _login(Client(), "lena", PASSWORD).status_code == 302


def test_ten_failures_for_a_username_lock_it_even_with_the_right_password(user) -> None:
    _fail(Client(), "lena", 10, addr="192.0.2.1")
    # From another address, with the right password: still refused.
    response = _login(Client(), "lena", PASSWORD, addr="198.51.100.7")
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed log-in attempts" in body
    assert "15 minutes" in body
    assert "_auth_user_id" not in Client().session


def test_the_username_lock_ignores_case_and_spaces(user) -> None:
    _fail(Client(), "LENA ", 10)
    assert _login(Client(), "lena", PASSWORD, addr="198.51.100.7").status_code == 429


def test_ten_failures_from_one_address_lock_that_address(user) -> None:
    for n in range(10):
        _login(Client(), f"someone-{n}", "wrong", addr="203.0.113.9")
    assert _login(Client(), "lena", PASSWORD, addr="203.0.113.9").status_code == 429
    # Another address is not locked.
    assert _login(Client(), "lena", PASSWORD, addr="203.0.113.10").status_code == 302


def test_the_lock_ends_after_the_lockout_period(user, settings, monkeypatch) -> None:
    _fail(Client(), "lena", 10)
    assert _login(Client(), "lena", PASSWORD).status_code == 429
    later = time.time() + settings.LOGIN_LOCKOUT_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)  # the cache's expiry reads it too
    assert _login(Client(), "lena", PASSWORD).status_code == 302


def test_attempts_during_the_lock_do_not_extend_it(user, settings, monkeypatch) -> None:
    _fail(Client(), "lena", 10)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + settings.LOGIN_LOCKOUT_SECONDS - 5)
    _fail(Client(), "lena", 5)
    monkeypatch.setattr(time, "time", lambda: start + settings.LOGIN_LOCKOUT_SECONDS + 1)
    assert _login(Client(), "lena", PASSWORD).status_code == 302


def test_a_success_resets_the_usernames_count(user) -> None:
    _fail(Client(), "lena", 9, addr="192.0.2.50")
    assert _login(Client(), "lena", PASSWORD, addr="192.0.2.51").status_code == 302
    _fail(Client(), "lena", 9, addr="192.0.2.52")
    assert _login(Client(), "lena", PASSWORD, addr="192.0.2.53").status_code == 302


def test_the_admin_login_goes_through_the_panels_login(user) -> None:
    # Was: the admin's own form throttled by the panel's backend. The admin now sends to the
    # panel's login (allauth's rate limits and two-factor sign-in), so its form takes nothing.
    user.is_staff = True
    user.save()
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "lena", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/admin/login/")
    assert "_auth_user_id" not in client.session


def test_a_locked_staff_user_cannot_reach_the_admin(user) -> None:
    user.is_staff = True
    user.save()
    _fail(Client(), "lena", 10)
    client = Client()
    response = client.post(
        "/accounts/login/?next=/admin/",
        {"login": "lena", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.98",
    )
    assert response.status_code == 429
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_staff_user_logged_in_through_the_panel_reaches_the_admin(user) -> None:
    user.is_staff = True
    user.save()
    client = Client()
    response = client.post("/accounts/login/?next=/admin/", {"login": "lena", "password": PASSWORD})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_behind_the_proxy_the_address_our_proxy_appended_counts(user, settings) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(10):
        Client().post(
            "/accounts/login/",
            {"login": f"x{n}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",  # the proxy
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.77",  # spoofed first part varies
        )
    response = Client().post(
        "/accounts/login/",
        {"login": "lena", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.77",
    )
    assert response.status_code == 429
    other = Client().post(
        "/accounts/login/",
        {"login": "lena", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.78",
    )
    assert other.status_code == 302


# --- With redis, the cache every worker and instance shares ---------------------------------


def test_with_redis_the_lock_is_shared_by_every_instance(user, redis_cache) -> None:
    caches, raw = redis_cache
    prefix = caches["default"]["KEY_PREFIX"]
    with override_settings(CACHES=caches):
        _fail(Client(), "lena", 10)
        assert _login(Client(), "lena", PASSWORD).status_code == 429
        # What another process would see: allauth's counters are in redis itself.
        assert any(b":allauth:rl:" in k for k in raw.scan_iter(f"{prefix}:*"))
        # A fresh connection, as from another worker, refuses too.
        from django.core.cache import caches as cache_handler

        cache_handler["default"].close()
        assert _login(Client(), "lena", PASSWORD, addr="198.51.100.1").status_code == 429
        assert accounts.locked_for(key=accounts.login_attempts_key("lena")) > 0


def test_with_redis_two_instances_add_up_to_the_lock(user, redis_cache) -> None:
    # Was: the panel's own incr() counter was atomic across connections. Now: failures seen by
    # two "instances" (their own cache objects on one redis) add up to allauth's one limit.
    caches, _raw = redis_cache
    with override_settings(CACHES=caches):
        from django.core.cache import caches as cache_handler

        _fail(Client(), "lena", 5, addr="192.0.2.60")
        cache_handler["default"].close()  # the next requests connect anew, as another worker
        del cache_handler["default"]
        _fail(Client(), "lena", 5, addr="192.0.2.61")
        assert _login(Client(), "lena", PASSWORD, addr="192.0.2.62").status_code == 429
