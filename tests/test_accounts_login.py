"""Log in, and the throttling that locks out after repeated failures (per username and per
address, counted in the shared cache, refusing even the right password for a while)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from panel import throttle

PASSWORD = "right-password-42"


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user("lena", "lena@example.com", PASSWORD)


def _login(client: Client, username: str, password: str, addr: str = "192.0.2.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=addr
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
    assert "correct username and password" in response.content.decode()


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


def test_the_admin_login_is_throttled_too(user) -> None:
    user.is_staff = True
    user.save()
    _fail(Client(), "lena", 10)
    response = Client().post(
        "/admin/login/?next=/admin/",
        {"username": "lena", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.99",
    )
    assert response.status_code == 200  # the admin's form, refusing
    assert "_auth_user_id" not in response.wsgi_request.session


def test_failures_at_the_admin_login_count(user) -> None:
    for _ in range(10):
        Client().post("/admin/login/", {"username": "lena", "password": "x"})
    assert _login(Client(), "lena", PASSWORD, addr="198.51.100.98").status_code == 429


def test_behind_the_proxy_the_address_our_proxy_appended_counts(user, settings) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(10):
        Client().post(
            "/accounts/login/",
            {"username": f"x{n}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",  # the proxy
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.77",  # spoofed first part varies
        )
    response = Client().post(
        "/accounts/login/",
        {"username": "lena", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.77",
    )
    assert response.status_code == 429
    other = Client().post(
        "/accounts/login/",
        {"username": "lena", "password": PASSWORD},
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
        # What another process would see: the lock keys are in redis itself.
        assert any(b":login-throttle:lock:" in k for k in raw.scan_iter(f"{prefix}:*"))
        # A fresh connection, as from another worker, refuses too.
        from django.core.cache import caches as cache_handler

        cache_handler["default"].close()
        assert _login(Client(), "lena", PASSWORD, addr="198.51.100.1").status_code == 429
        assert throttle.locked_for(None, "lena") > 0


def test_with_redis_counting_is_atomic_across_connections(user, redis_cache) -> None:
    caches, _raw = redis_cache
    with override_settings(CACHES=caches):
        from django.core.cache import caches as cache_handler
        from django.core.cache.backends.redis import RedisCache

        # Two "instances": their own cache objects, one redis.
        first = cache_handler["default"]
        second = RedisCache(caches["default"]["LOCATION"], caches["default"])
        key = "login-throttle:count:probe"
        first.add(key, 0)
        for _ in range(5):
            first.incr(key)
            second.incr(key)
        assert first.get(key) == 10
