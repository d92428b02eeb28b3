"""Outages (issue 8): the list and detail pages keep the last state the panel saw, marked
as not current with its time, say what is wrong in plain words, and keep trying."""

from __future__ import annotations

import re

import pytest
import requests

from servers import cache
from tests.conftest import API, client_for, page, server_json

SERVERS = f"{API}/servers/"
HX = {"HTTP_HX_REQUEST": "true"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(cache, "clock", fake)
    return fake


def rows_in(html: str) -> list[str]:
    return re.findall(r'<tr id="server-[^"]+" data-server-id="([^"]+)"', html)


def seen_once(api, viewer_user) -> None:
    api.get(
        SERVERS,
        json=page(
            [
                server_json(1, name="web-01", location="eu-central"),
                server_json(2, name="db-01", location="us-east", status="stopped"),
            ]
        ),
    )
    api.get(f"{API}/plans/", json=page([]))
    assert client_for(viewer_user).get("/servers/").status_code == 200


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        ({"status": 503, "json": {"detail": "down"}}, "VPS.org is having trouble right now."),
        ({"status": 500, "json": {"detail": "boom"}}, "VPS.org is having trouble right now."),
        ({"body": requests.exceptions.ReadTimeout("slow")}, "VPS.org is not answering right now."),
        ({"status": 200, "body": "<html>"}, "could not understand"),
        ({"status": 429, "json": {"detail": "slow"}}, "too many requests"),
    ],
)
def test_the_list_keeps_the_last_rows_marked_as_not_current(
    api, viewer_user, clock, failure, words
) -> None:
    seen_once(api, viewer_user)
    clock.now += 3600  # an hour later, VPS.org fails
    api.remove("GET", SERVERS)
    api.get(SERVERS, **failure)
    response = client_for(viewer_user).get("/servers/")
    html = response.content.decode()
    assert response.status_code == 200
    assert rows_in(html) == ["2", "1"]
    assert '<div class="notice stale" id="stale-note" role="alert">' in html
    assert "Not current." in html
    assert 'Shown as of <time datetime="1970-01-12T13:46:40+00:00">1:46 p.m.</time>' in html
    assert words in html and "The panel will keep trying." in html
    # The filters keep their options: the locations of the last known servers.
    assert '<option value="eu-central">' in html and '<option value="us-east">' in html
    # And the page keeps asking, saying so.
    assert re.search(r'id="live-list"[^>]*hx-get="[^"]*errors=1', html)


def test_the_list_during_an_outage_serves_the_filters_from_the_last_rows(
    api, viewer_user, clock
) -> None:
    seen_once(api, viewer_user)
    clock.now += 10
    api.replace("GET", SERVERS, status=503, json={"detail": "down"})
    html = client_for(viewer_user).get("/servers/?status=stopped", **HX).content.decode()
    assert rows_in(html) == ["2"]
    assert "Not current." in html


def test_with_nothing_seen_before_the_list_says_so(api, viewer_user, clock) -> None:
    api.get(SERVERS, status=503, json={"detail": "down"})
    api.get(f"{API}/plans/", json=page([]))
    html = client_for(viewer_user).get("/servers/").content.decode()
    assert rows_in(html) == []
    assert "The panel has not seen this team's servers yet" in html
    assert "VPS.org is having trouble right now." in html
    assert re.search(r'id="live-list"[^>]*hx-get=', html)


def test_a_rejected_token_shows_no_old_rows(api, viewer_user, clock) -> None:
    """Another account's token, or a revoked one: the old rows are not its to show."""
    seen_once(api, viewer_user)
    api.replace("GET", SERVERS, status=401, json={"detail": "Invalid token."})
    html = client_for(viewer_user).get("/servers/").content.decode()
    assert rows_in(html) == []
    assert "VPS.org rejected the team" in html
    # Nothing to retry until an admin acts: the live element does not ask.
    assert 'id="live-list"' in html
    assert not re.search(r'id="live-list"[^>]*hx-get', html)


def test_the_last_known_state_survives_the_teams_own_changes(api, viewer_user, clock) -> None:
    seen_once(api, viewer_user)
    cache.invalidate(viewer_user.memberships.get().team)
    api.replace("GET", SERVERS, status=503, json={"detail": "down"})
    assert rows_in(client_for(viewer_user).get("/servers/").content.decode()) == ["2", "1"]


def test_the_detail_page_keeps_the_servers_name_and_fields(api, viewer_user, clock) -> None:
    api.get(
        f"{API}/servers/12/",
        json=server_json(12, name="web-01", hostname="web01.example.com", location="us-west"),
    )
    c = client_for(viewer_user)
    assert c.get("/servers/12/").status_code == 200
    clock.now += 120
    api.replace("GET", f"{API}/servers/12/", status=502, json={"detail": "bad gateway"})
    response = c.get("/servers/12/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>web-01</h1>" in html
    assert "web01.example.com" in html and "us-west" in html
    assert 'data-status="active"' in html
    assert "Not current." in html and "Shown as of" in html
    assert '<small class="problem-detail">HTTP 502' in html
    assert re.search(r'id="live-card"[^>]*hx-get="[^"]*errors=1', html)


def test_the_detail_page_falls_back_on_the_last_list(api, viewer_user, clock) -> None:
    seen_once(api, viewer_user)
    api.get(f"{API}/servers/1/", status=503, json={"detail": "down"})
    html = client_for(viewer_user).get("/servers/1/").content.decode()
    assert "<h1>web-01</h1>" in html
    assert "Not current." in html


# --- fresh when it matters ---------------------------------------------------------------


def test_a_page_navigated_to_reads_vpsorg_at_that_moment(api, viewer_user, clock) -> None:
    """Stopped elsewhere a second after someone's page filled the shared entry: the next
    page opened shows it (the short cache is for polls, not navigation)."""
    api.get(SERVERS, json=page([server_json(1, name="web-01", status="active")]))
    api.get(f"{API}/plans/", json=page([]))
    c = client_for(viewer_user)
    c.get("/servers/")
    api.replace("GET", SERVERS, json=page([server_json(1, name="web-01", status="stopping")]))
    clock.now += 1
    html = c.get("/servers/").content.decode()
    assert 'data-status="stopping"' in html
    # And the page refreshed the team's shared entry, which polls read.
    servers, _at = cache.read_list(viewer_user.memberships.get().team, max_age=2)
    assert servers[0].status == "stopping"


def test_the_detail_page_reads_vpsorg_at_that_moment(api, viewer_user, clock) -> None:
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    c = client_for(viewer_user)
    c.get("/servers/12/")
    api.replace("GET", f"{API}/servers/12/", json=server_json(12, status="stopped"))
    clock.now += 1
    assert 'data-status="stopped"' in c.get("/servers/12/").content.decode()
