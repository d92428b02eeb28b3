"""/healthz: the database and the cache of this instance, no login, no secret."""

from __future__ import annotations

import pytest
from django.db.backends.utils import CursorWrapper
from django.test import Client, override_settings

SECRET_PASSWORD = "redis-secret-password-42"


# The suite runs on local memory (make test) or redis (make test-services).
KINDS = {"LocMemCache": "local-memory", "RedisCache": "redis", "DatabaseCache": "database"}


def test_healthz_reports_database_and_cache_without_login(db: object, settings) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "cache_backend": KINDS[settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[1]],
    }
    assert "no-store" in response["Cache-Control"]


def test_healthz_reads_and_writes_the_default_database_cache(transactional_db: None) -> None:
    caches = {
        "default": {"BACKEND": "panel.cache_backend.DatabaseCache", "LOCATION": "panel_cache"}
    }
    with override_settings(CACHES=caches):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["cache"] == "ok"
    assert response.json()["cache_backend"] == "database"


def test_an_unreachable_redis_is_a_503_that_names_no_url_nor_password(db: object) -> None:
    pytest.importorskip("redis")
    # Nothing listens on port 9 (discard): the connection is refused at once.
    location = f"redis://:{SECRET_PASSWORD}@127.0.0.1:9/0"
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "ok",
        "cache": "error",
        "cache_backend": "redis",
    }
    body = response.content.decode()
    assert SECRET_PASSWORD not in body
    assert "127.0.0.1" not in body


def test_a_failing_database_is_a_503_without_its_error_text(db: object, monkeypatch) -> None:
    def refuse(self, sql, params=None):
        raise RuntimeError(f"could not connect to postgres://panel:{SECRET_PASSWORD}@db/panel")

    with monkeypatch.context() as patched:
        patched.setattr(CursorWrapper, "execute", refuse)
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "error"
    assert response.json()["status"] == "error"
    assert SECRET_PASSWORD not in response.content.decode()


def test_pages_need_a_login(db: object) -> None:
    response = Client().get("/servers/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_healthz_answers_plain_http_while_pages_redirect_to_https(db: object, settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200
    page = Client().get("/accounts/login/")
    assert page.status_code == 301
    assert page["Location"].startswith("https://")
