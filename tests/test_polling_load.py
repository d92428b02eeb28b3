"""The list page's single poller (GET /servers/status/) and what polling costs upstream.

The issue's yardstick: 3 viewers watching 3 servers in transition for 10 seconds, polled
every 2 s. Per-row polling without sharing (OpenStack Horizon's way) costs V x K calls
per interval; the panel should cost about one per team per interval. The clock is the
cache's injectable one: no test here sleeps.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses

from servers import cache
from tests.conftest import API, client_for, page, server_json

HX = {"HTTP_HX_REQUEST": "true"}
INTERVAL = 2.0
SECONDS = 10.0


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


def list_calls(api: responses.RequestsMock) -> int:
    return sum(1 for c in api.calls if c.request.url.split("?")[0] == f"{API}/servers/")


def detail_calls(api: responses.RequestsMock) -> int:
    return sum(1 for c in api.calls if re.fullmatch(rf"{API}/servers/\d+/", c.request.url))


def poll_url(*rows: tuple[int, str]) -> str:
    query = "&".join(f"id={sid}&name={name}" for sid, name in rows)
    return f"/servers/status/?{query}"


# --- what the poller answers ------------------------------------------------------------


def test_watched_rows_come_back_out_of_band(team, viewer_user, api, clock) -> None:
    api.get(
        f"{API}/servers/",
        json=page(
            [
                server_json(1, name="web-1", status="stopping"),
                server_json(2, name="web-2", status="active"),
                server_json(3, name="web-3", status="active"),
            ]
        ),
    )
    response = client_for(viewer_user).get(poll_url((1, "web-1"), (2, "web-2")), **HX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<template><tr") == 2
    assert '<tr id="server-1" data-server-id="1" hx-swap-oob="true">' in html
    assert '<tr id="server-2" data-server-id="2" hx-swap-oob="true">' in html
    assert 'id="server-3"' not in html  # not watched, not sent
    assert 'data-status="stopping" data-transition' in html
    toast = json.loads(response["HX-Trigger"])["panel:toast"]
    assert toast == {"message": "web-2 is now active.", "level": "info"}


def test_settled_rows_come_back_with_their_buttons(team, operator_user, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1, name="web-1", status="stopped")]))
    html = client_for(operator_user).get(poll_url((1, "web-1")), **HX).content.decode()
    assert 'action="/servers/1/start/"' in html


def test_a_row_deleted_elsewhere_leaves_with_a_note(team, viewer_user, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([server_json(1, status="stopping")]))
    response = client_for(viewer_user).get(poll_url((1, "web-1"), (7, "old-db")), **HX)
    html = response.content.decode()
    assert '<template><tr id="server-7" hx-swap-oob="delete"></tr></template>' in html
    assert "old-db no longer exists at VPS.org" in html
    assert 'hx-swap-oob="beforeend:#messages"' in html


def test_the_note_escapes_the_name_the_page_sent(team, viewer_user, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([]))
    html = client_for(viewer_user).get(poll_url((7, "<img src=x>")), **HX).content.decode()
    assert "<img" not in html
    assert "&lt;img src=x&gt;" in html


def test_nothing_watched_is_a_204_without_upstream_call(team, viewer_user, api) -> None:
    response = client_for(viewer_user).get("/servers/status/", **HX)
    assert response.status_code == 204
    assert len(api.calls) == 0


@pytest.mark.parametrize(
    "query",
    [
        "id=1/../x",
        "id=1&id=2&name=only-one",
        "&".join(["id=1"] * 501),
    ],
)
def test_unreadable_watch_lists_are_refused(team, viewer_user, api, query: str) -> None:
    response = client_for(viewer_user).get(f"/servers/status/?{query}", **HX)
    assert response.status_code == 400
    assert len(api.calls) == 0


def test_a_rejected_token_stops_the_poller_with_one_banner(team, admin_user, api, clock) -> None:
    api.get(f"{API}/servers/", status=401, json={"detail": "Invalid token."})
    response = client_for(admin_user).get(poll_url((1, "web-1")), **HX)
    assert "panel:poll-stop" in json.loads(response["HX-Trigger"])
    assert response.content.decode().count('id="token-banner"') == 1


def test_upstream_failure_backs_off(team, viewer_user, api, clock) -> None:
    api.get(f"{API}/servers/", status=500, json={"detail": "boom"})
    response = client_for(viewer_user).get(poll_url((1, "web-1")), **HX)
    assert response.status_code == 200
    assert "panel:poll-error" in json.loads(response["HX-Trigger"])
    assert response["HX-Reswap"] == "none"


def test_a_page_of_another_team_reloads(team, other_team, viewer_user, api) -> None:
    response = client_for(viewer_user).get(
        f"/servers/status/?team={other_team.pk}&id=1&name=web-1", **HX
    )
    assert response["HX-Refresh"] == "true"
    assert "no-store" in response["Cache-Control"]
    assert len(api.calls) == 0


def test_outsiders_see_their_own_teams_list_only(team, outsider_user, api, clock) -> None:
    api.get(f"{API}/servers/", json=page([]))
    client_for(outsider_user).get(poll_url((1, "web-1")), **HX)
    assert api.calls[0].request.headers["Authorization"] == "Bearer other-team-token-wxyz9876"


# --- the load: 3 viewers x 3 servers in transition, 10 seconds ---------------------------


@pytest.fixture
def three_in_transition(api: responses.RequestsMock, clock: FakeClock) -> None:
    """Three servers that stay in transition for the whole 10 s."""
    rows = [server_json(i, name=f"web-{i}", status="rebooting") for i in (1, 2, 3)]
    api.get(f"{API}/servers/", json=page(rows))
    api.get(f"{API}/plans/", json=page([]))
    for i in (1, 2, 3):
        api.get(f"{API}/servers/{i}/", json=server_json(i, name=f"web-{i}", status="rebooting"))


@pytest.fixture
def viewers(team, viewer_user, operator_user, admin_user) -> list[Any]:
    return [client_for(u) for u in (viewer_user, operator_user, admin_user)]


def poll_rounds(clock: FakeClock, viewers: list[Any], request_for_viewer: Any) -> None:
    """Every INTERVAL for SECONDS, each viewer polls once, at its own offset (their
    pages were opened at different moments)."""
    offsets = [0.0, 0.7, 1.3]
    start = clock.now
    for round_no in range(1, int(SECONDS / INTERVAL) + 1):
        for viewer, offset in zip(viewers, offsets, strict=True):
            clock.now = start + round_no * INTERVAL + offset
            request_for_viewer(viewer)


def test_three_viewers_of_three_rows_cost_one_call_per_interval(
    viewers, three_in_transition, clock, api
) -> None:
    # The three list pages opened at different moments of the first interval.
    opened = clock.now
    for viewer, offset in zip(viewers, (0.0, 0.7, 1.3), strict=True):
        clock.now = opened + offset
        assert viewer.get("/servers/").status_code == 200
    page_loads = list_calls(api)

    url = poll_url((1, "web-1"), (2, "web-2"), (3, "web-3"))
    poll_rounds(clock, viewers, lambda viewer: viewer.get(url, **HX))

    polls = list_calls(api) - page_loads
    assert page_loads == 1
    # One list call per interval for the whole team: 5 in 10 s, whatever V and K.
    assert polls == 5
    assert detail_calls(api) == 0


@pytest.mark.parametrize(
    ("cache_seconds", "per_row", "expected"),
    [
        # What the alternatives would cost, measured with the same views:
        (0, True, 45),  # per-row polling, nothing shared: V x K x intervals (Horizon)
        # Per-row (or per-detail-page) badges through the shared cache: each badge reads
        # the team's one list, so K badges cost what one poller costs.
        (2, True, 5),
        (0, False, 15),  # one poller per page, nothing shared: V x intervals
        (2, False, 5),  # the panel: one poller per page, shared cache: intervals
    ],
)
def test_what_polling_costs_upstream(
    viewers, three_in_transition, clock, api, settings, cache_seconds, per_row, expected
) -> None:
    settings.SERVERS_CACHE_SECONDS = cache_seconds
    rows = ((1, "web-1"), (2, "web-2"), (3, "web-3"))

    def poll(viewer: Any) -> None:
        if per_row:
            for sid, _name in rows:
                assert viewer.get(f"/servers/{sid}/status/?within=row", **HX).status_code == 200
        else:
            assert viewer.get(poll_url(*rows), **HX).status_code == 200

    poll_rounds(clock, viewers, poll)
    assert len(api.calls) == expected


def test_a_teams_own_action_refreshes_everyones_next_poll(
    viewers, three_in_transition, clock, api
) -> None:
    url = poll_url((1, "web-1"))
    viewers[0].get(url, **HX)
    viewers[1].get(url, **HX)
    assert list_calls(api) == 1
    api.post(
        f"{API}/servers/2/reboot/",
        status=400,
        json={"detail": "Server is busy (rebooting)."},
    )
    viewers[1].post("/servers/2/reboot/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="server-2")
    viewers[2].get(url, **HX)
    assert list_calls(api) == 2
