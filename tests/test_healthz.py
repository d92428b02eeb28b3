from __future__ import annotations

from django.test import Client


def test_healthz_answers_ok_without_login(db: object) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_pages_need_a_login(db: object) -> None:
    response = Client().get("/servers/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
