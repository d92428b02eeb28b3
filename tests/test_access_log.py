"""The access log: one JSON line per request with method, path, status, duration and the
number and total time of the VPS.org calls made while serving it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import requests
from django.test import Client
from responses import matchers

from tests.conftest import API, TOKEN, client_for, page, server_json


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def entries(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def access() -> Iterator[_Lines]:
    # panel.access does not propagate (its own one-line format), so caplog would not see it.
    logger = logging.getLogger("panel.access")
    handler = _Lines()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def upstream(api):
    api.get(f"{API}/servers/", json=page([server_json()]))
    # The list's location filter is built from the plans (cached for minutes).
    api.get(f"{API}/plans/", json=page([]))
    return api


def test_a_page_that_asks_vpsorg_logs_one_line_with_its_upstream_calls(
    access, upstream, viewer_user
) -> None:
    client = client_for(viewer_user)
    assert client.get("/servers/?status=active&q=secret-search").status_code == 200
    (entry,) = access.entries()
    assert entry["method"] == "GET"
    assert entry["path"] == "/servers/"  # the query string (what people typed) is left out
    assert entry["status"] == 200
    assert entry["upstream_calls"] == len(upstream.calls) == 2
    assert 0 < entry["upstream_ms"] <= entry["duration_ms"]
    assert isinstance(entry["pid"], int)
    assert set(entry) == {
        "ts", "method", "path", "status", "duration_ms", "upstream_calls", "upstream_ms", "pid"
    }  # fmt: skip


def test_pages_fetched_at_once_are_all_counted(access, api, viewer_user) -> None:
    # 201 servers: pages 2 and 3 are asked for together, from threads of their own.
    for number in (1, 2, 3):
        ids = range((number - 1) * 100 + 1, min(number * 100, 201) + 1)
        nxt = f"{API}/servers/?page={number + 1}&page_size=100" if number < 3 else None
        body = {**page([server_json(i) for i in ids], nxt), "count": 201}
        query = {"page_size": "100"} if number == 1 else {"page": str(number), "page_size": "100"}
        api.get(f"{API}/servers/", json=body, match=[matchers.query_param_matcher(query)])
    api.get(f"{API}/plans/", json=page([]))
    assert client_for(viewer_user).get("/servers/").status_code == 200
    (entry,) = access.entries()
    assert len(api.calls) == 4
    assert entry["upstream_calls"] == 4


def test_a_cache_hit_logs_no_upstream_call(access, upstream, viewer_user) -> None:
    client = client_for(viewer_user)
    client.get("/servers/")
    # A page a person opens asks VPS.org afresh (issue 8); the live poll right after it
    # reads the team's shared entry that page just filled.
    client.get("/servers/status/?seen=", HTTP_HX_REQUEST="true")
    first, second = access.entries()
    assert first["upstream_calls"] == 2
    assert (second["upstream_calls"], second["upstream_ms"]) == (0, 0)


def test_failed_upstream_calls_are_counted_too_and_no_token_is_logged(
    access, api, viewer_user
) -> None:
    api.get(f"{API}/servers/", body=requests.ConnectionError("refused"))
    api.get(f"{API}/plans/", body=requests.ConnectionError("refused"))
    response = client_for(viewer_user).get("/servers/")
    assert response.status_code == 200  # the page says VPS.org is unreachable
    (entry,) = access.entries()
    # The client retries an idempotent GET: each try is a call.
    assert entry["upstream_calls"] == len(api.calls) >= 1
    assert TOKEN not in access.lines[0]


def test_requests_without_a_view_are_logged_too(access, db) -> None:
    Client().get("/static/css/panel.css")
    Client().get("/no-such-page/")
    static, missing = access.entries()
    assert (static["path"], static["status"], static["upstream_calls"]) == (
        "/static/css/panel.css",
        200,
        0,
    )
    assert (missing["path"], missing["status"]) == ("/no-such-page/", 404)
