"""panel/session_activity.py: allauth's "last seen" written once a minute per session and
worker, not on every request (five statements and a write transaction each time)."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from panel import session_activity
from tests.test_request_queries import LIST_ROWS, tables, warm

PASSWORD = "pw-vera-viewer"


class Clock:
    def __init__(self) -> None:
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(session_activity, "clock", fake)
    monkeypatch.setattr(session_activity, "_recorded", {})
    return fake


def _logged_in(user: Any) -> Client:
    browser = Client(HTTP_USER_AGENT="Firefox/140.0", REMOTE_ADDR="192.0.2.7")
    response = browser.post("/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return browser


@pytest.mark.django_db
def test_last_seen_is_written_once_a_minute(api: Any, viewer_user: Any, clock: Clock) -> None:
    assert viewer_user.check_password(PASSWORD)
    browser = _logged_in(viewer_user)
    # The log-in made the row; the first request of the session in this process records.
    warm(api, browser)
    row = UserSession.objects.get(user=viewer_user)
    seen = row.last_seen_at
    for _ in range(3):
        clock.now += 20
        with CaptureQueriesContext(connection) as captured:
            assert browser.get("/servers/").status_code == 200
        if clock.now - 5_000.0 < session_activity.INTERVAL:
            assert tables(captured) == LIST_ROWS
    # 60 s after the first record: the third request wrote the row again.
    assert "usersessions_usersession" in tables(captured)
    row.refresh_from_db()
    assert row.last_seen_at > seen
    assert row.ip == "192.0.2.7"


@pytest.mark.django_db
def test_each_session_is_recorded_on_its_own(api: Any, viewer_user: Any, clock: Clock) -> None:
    first, second = _logged_in(viewer_user), _logged_in(viewer_user)
    warm(api, first)
    with CaptureQueriesContext(connection) as captured:
        assert second.get("/servers/").status_code == 200
    assert "usersessions_usersession" in tables(captured)
    assert UserSession.objects.filter(user=viewer_user).count() == 2


def test_the_memory_starts_over_when_full(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    monkeypatch.setattr(session_activity, "MAX_REMEMBERED", 3)
    assert [session_activity._due(key) for key in "abc"] == [True, True, True]
    assert session_activity._due("a") is False
    assert session_activity._due("d") is True  # full: forgotten, then remembered alone
    assert session_activity._recorded == {"d": clock.now}
    assert session_activity._due("a") is True
