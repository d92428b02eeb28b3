"""Pages, polls and actions answer within about 3 x VPSORG_TIMEOUT against an upstream
that drips its body a byte at a time (the sandbox's drip fault; the client's total
deadline per call, issue 8), and show what they last saw, marked, instead of a 5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import start_sandbox
from servers import cache as server_cache
from tests.conftest import TOKEN, client_for

TIMEOUT = 0.5
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def dripping(settings: Any, team: Any) -> Iterator[Any]:
    settings.VPSORG_TIMEOUT = TIMEOUT
    with start_sandbox(tokens=(TOKEN,), transition_seconds=30) as sandbox:
        settings.VPSORG_API_URL = sandbox.api_url
        yield sandbox


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_every_page_poll_and_action_answers_in_time(dripping, team, operator_user) -> None:
    c = client_for(operator_user)
    # A good first look, so the pages have a last known state to show.
    assert c.get("/servers/").status_code == 200
    assert c.get("/servers/12345/").status_code == 200
    dripping.faults.update({"drip_rate": 1.0, "drip_interval": 0.2})
    calls = {
        "list page": lambda: c.get("/servers/"),
        "list fragment": lambda: c.get("/servers/?status=active", **HX),
        "detail page": lambda: c.get("/servers/12345/"),
        "list poll": lambda: c.get(f"/servers/status/?team={team.pk}&seen=", **HX),
        "card poll": lambda: c.get(f"/servers/12345/status/?team={team.pk}&d=0", **HX),
        "stop (htmx)": lambda: c.post("/servers/12345/stop/", HTTP_HX_TARGET="server-12345", **HX),
        "reboot (plain)": lambda: c.post("/servers/12345/reboot/"),
        "stop confirmation": lambda: c.get("/servers/12345/stop/"),
    }
    for name, call in calls.items():
        server_cache.invalidate(team)
        response, elapsed = timed(call)
        assert response.status_code < 500, name
        assert elapsed < 3 * TIMEOUT, (name, elapsed)
        if name in ("list page", "detail page"):
            html = response.content.decode()
            assert "Not current." in html, name
            assert "VPS.org is not answering right now." in html, name


def test_a_page_with_nothing_seen_before_also_answers_in_time(dripping, team, viewer_user):
    dripping.faults.update({"drip_rate": 1.0, "drip_interval": 0.2})
    response, elapsed = timed(lambda: client_for(viewer_user).get("/servers/"))
    assert response.status_code == 200
    assert elapsed < 3 * TIMEOUT
    assert "The panel has not seen this team's servers yet" in response.content.decode()
