"""The status badge (templates/servers/_server.jinja.html) and GET /servers/<id>/status/:
the badge for a plain GET, the detail card's one poller for htmx (servers/live.py)."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.test import Client

from servers import fragments, presenters
from servers.client import Server
from tests.conftest import API, client_for, page, server_json

HX = {"HTTP_HX_REQUEST": "true"}
# When the card's transition began (the cache's clock is pinned to it, plus 5 s).
SINCE = int(time.time())


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from servers import cache

    monkeypatch.setattr(cache, "clock", lambda: SINCE + 5.0)


def badge(status: str) -> str:
    return str(fragments.badge(presenters.badge(status)))


def triggers(response: Any) -> dict[str, Any]:
    return json.loads(response.get("HX-Trigger", "{}"))


def listed(api: Any, *servers: dict[str, Any], **kwargs: Any) -> None:
    """The team's list, which every poller of the team reads first (one shared call)."""
    if kwargs:
        api.get(f"{API}/servers/", **kwargs)
    else:
        api.get(f"{API}/servers/", json=page(list(servers)))


def digest(**fields: Any) -> str:
    return presenters.row_digest(Server.from_api(server_json(12, **fields)))


def poll(team: Any, **fields: Any) -> str:
    """The poller's URL as a card showing server 12 with `fields` carries it."""
    query = f"team={team.pk}&d={digest(**fields)}"
    if fields.get("status", "active") not in ("active", "stopped", "suspended"):
        query += f"&since={SINCE}"
    return f"/servers/12/status/?{query}"


def detail_calls(api: Any) -> int:
    return sum(1 for c in api.calls if c.request.url.startswith(f"{API}/servers/12/"))


def poller(html: str) -> dict[str, Any]:
    """The live element of an answer: its URL's query and its delay."""
    match = re.search(r'id="live-card"[^>]*hx-get="([^"]*)" hx-trigger="load delay:(\d+)s', html)
    assert match, html
    url = unquote(match[1].replace("&amp;", "&"))
    return {"query": parse_qs(urlsplit(url).query), "delay": int(match[2])}


# --- the badge ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["active", "stopped", "suspended"])
def test_a_settled_badge_is_not_marked_in_transition(status: str) -> None:
    html = badge(status)
    assert f'data-status="{status}"' in html
    assert "data-transition" not in html
    assert "hx-" not in html


@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("provisioning", "Provisioning"),
        ("starting", "Starting"),
        ("stopping", "Stopping"),
        ("rebooting", "Rebooting"),
        ("maintenance", "maintenance"),  # unknown: shown as it came
    ],
)
def test_a_badge_in_transition_is_marked_and_never_polls_itself(status: str, text: str) -> None:
    html = badge(status)
    assert f'data-status="{status}"' in html
    assert f">{text}</span>" in html
    assert "data-transition" in html
    # The page's one poller refreshes it; a badge has no request of its own.
    assert "hx-get" not in html


def test_unknown_and_missing_statuses_get_a_neutral_class() -> None:
    assert 'class="badge badge-unknown"' in badge("maintenance")
    empty = badge("")
    assert 'class="badge badge-unknown"' in empty
    assert ">Unknown</span>" in empty


def test_a_hostile_status_is_escaped() -> None:
    html = badge('"><script>alert(1)</script>')
    assert "<script>" not in html
    assert 'class="badge badge-unknown"' in html
    assert "&#34;&gt;&lt;script&gt;" in html


def test_status_is_text_not_only_colour() -> None:
    assert ">Active</span>" in badge("active")
    assert ">Stopped</span>" in badge("stopped")


# --- a plain GET: the badge -----------------------------------------------------------------


def test_a_plain_get_answers_the_badge(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="stopping"))
    response = client_for(viewer_user).get("/servers/12/status/")
    assert response.status_code == 200
    assert response.content.decode().startswith('<span class="badge badge-stopping"')
    assert detail_calls(api) == 0


def test_deleted_without_htmx_is_a_404_not_a_500(team, viewer_user, api) -> None:
    listed(api)
    api.get(f"{API}/servers/12/", status=404, json={"detail": "Not found."})
    response = client_for(viewer_user).get("/servers/12/status/")
    assert response.status_code == 404
    assert b"no such server" in response.content


def test_plain_get_with_upstream_error_is_a_message(team, viewer_user, api) -> None:
    listed(api, status=500, json={"detail": "boom"})
    response = client_for(viewer_user).get("/servers/12/status/")
    assert response.status_code == 200
    assert b'role="alert"' in response.content


# --- htmx: the card's poller ----------------------------------------------------------------


def test_nothing_changed_in_transition_answers_the_next_poller_soon(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="stopping"))
    response = client_for(viewer_user).get(poll(team, status="stopping"), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="live-card"')
    assert "HX-Retarget" not in response
    assert poller(html)["delay"] == 2
    assert poller(html)["query"]["since"] == [str(SINCE)]  # the transition's start, kept
    # The status came from the team's shared list: no call for this one server.
    assert detail_calls(api) == 0


def test_nothing_changed_while_settled_asks_again_later(team, viewer_user, api) -> None:
    """An open page notices changes made elsewhere: it keeps asking, at the idle pace."""
    listed(api, server_json(12, status="active"))
    html = client_for(viewer_user).get(poll(team, status="active"), **HX).content.decode()
    assert poller(html)["delay"] == 10
    assert "since" not in poller(html)["query"]
    assert detail_calls(api) == 0


def test_poll_delays_follow_the_settings(team, viewer_user, api, settings) -> None:
    settings.LIVE_IDLE_SECONDS = 3
    settings.LIVE_BUSY_SECONDS = 1
    listed(api, server_json(12, status="active"))
    html = client_for(viewer_user).get(poll(team, status="active"), **HX).content.decode()
    assert poller(html)["delay"] == 3


def test_a_long_transition_is_polled_more_slowly(team, viewer_user, api, monkeypatch) -> None:
    from servers import cache

    monkeypatch.setattr(cache, "clock", lambda: SINCE + 600.0)  # 10 minutes in
    listed(api, server_json(12, status="provisioning"))
    html = client_for(viewer_user).get(poll(team, status="provisioning"), **HX).content.decode()
    assert poller(html)["delay"] == 12


def test_settled_answers_the_whole_card_and_replaces_the_old_words(team, operator_user, api):
    """Provisioning is over: the IP address, the usage and the buttons arrive, and
    "web-01 is being created" becomes "web-01 is ready"."""
    detail = server_json(
        12,
        status="active",
        ip_address="203.0.113.77",
        resource_usage={"cpu_percent": 12.5, "memory_used": 1024, "disk_used": 5},
    )
    listed(api, server_json(12, status="active", ip_address="203.0.113.77"))
    api.get(f"{API}/servers/12/", json=detail)

    response = client_for(operator_user).get(poll(team, status="provisioning") + "&note=1", **HX)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#server-card"
    assert response["HX-Reswap"] == "outerHTML"
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="server-card"')
    assert "203.0.113.77" in html and "12.5%" in html
    assert 'action="/servers/12/stop/"' in html
    assert 'data-status="active"' in html
    assert poller(html)["delay"] == 10  # settled: the idle pace
    assert (
        '<p id="message-transition-12" class="message message-success" role="status"'
        ' hx-swap-oob="true">web-server-01 is ready.</p>'
    ) in html
    assert triggers(response)["panel:toast"] == {
        "message": "web-server-01 is now active.",
        "level": "info",
    }
    assert detail_calls(api) == 1


def test_a_change_made_elsewhere_shows_on_the_open_card(team, viewer_user, api) -> None:
    """Stopped through the API while the page was open: the card follows."""
    listed(api, server_json(12, status="stopping"))
    api.get(f"{API}/servers/12/", json=server_json(12, status="stopping"))
    response = client_for(viewer_user).get(poll(team, status="active"), **HX)
    html = response.content.decode()
    assert response["HX-Retarget"] == "#server-card"
    assert 'data-status="stopping"' in html
    assert poller(html)["delay"] == 2  # in transition now: fast
    assert detail_calls(api) == 1


def test_a_viewer_sees_the_card_without_buttons(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="active"))
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    response = client_for(viewer_user).get(poll(team, status="stopping"), **HX)
    assert 'data-status="active"' in response.content.decode()
    assert "power-form" not in response.content.decode()


def test_many_viewers_polling_one_server_cost_one_upstream_call(
    team, viewer_user, operator_user, admin_user, api
) -> None:
    listed(api, server_json(12, status="rebooting"))
    for user in (viewer_user, operator_user, admin_user):
        client_for(user).get(poll(team, status="rebooting"), **HX)
    assert len(api.calls) == 1


def test_viewers_of_different_servers_share_one_upstream_call(
    team, viewer_user, operator_user, admin_user, api
) -> None:
    """Three detail pages of three servers in transition: one list call, not three gets."""
    listed(api, *(server_json(i, status="rebooting") for i in (11, 12, 13)))
    for user, sid in zip((viewer_user, operator_user, admin_user), (11, 12, 13), strict=True):
        d = presenters.row_digest(Server.from_api(server_json(sid, status="rebooting")))
        url = f"/servers/{sid}/status/?team={team.pk}&d={d}&since={SINCE}"
        response = client_for(user).get(url, **HX)
        assert 'id="live-card"' in response.content.decode()
    assert [c.request.url.split("?")[0] for c in api.calls] == [f"{API}/servers/"]


def test_a_server_the_list_lacks_is_asked_for_directly(team, viewer_user, api) -> None:
    """Just created, and the list lags behind: the server itself says where it stands."""
    listed(api)
    api.get(f"{API}/servers/12/", json=server_json(12, status="provisioning"))
    response = client_for(viewer_user).get(poll(team, status="provisioning"), **HX)
    assert response.status_code == 200
    assert poller(response.content.decode())["delay"] == 2
    assert detail_calls(api) == 1


def test_an_unreadable_list_falls_back_to_the_server(team, viewer_user, api) -> None:
    listed(api, body="<html>not json</html>", status=200)
    api.get(f"{API}/servers/12/", json=server_json(12, status="starting"))
    response = client_for(viewer_user).get(poll(team, status="active"), **HX)
    assert 'data-status="starting"' in response.content.decode()


def test_a_slow_list_leaves_no_time_for_the_detail(team, viewer_user, api, monkeypatch) -> None:
    """The list used up a timeout: the card comes from it, within the budget."""
    from servers import live

    ticks = iter([0.0, 1000.0])
    monkeypatch.setattr(live, "clock", lambda: next(ticks, 1000.0))
    listed(api, server_json(12, status="active", ip_address="203.0.113.9"))
    response = client_for(viewer_user).get(poll(team, status="stopping"), **HX)
    assert "203.0.113.9" in response.content.decode()
    assert detail_calls(api) == 0


def test_deleted_while_polled_stops_with_a_note(team, viewer_user, api) -> None:
    listed(api, server_json(13))
    api.get(f"{API}/servers/12/", status=404, json={"detail": "Not found."})
    response = client_for(viewer_user).get(poll(team, status="active"), **HX)
    assert response.status_code == 286
    assert response["HX-Retarget"] == "#server-card"
    html = response.content.decode()
    assert "deleted elsewhere" in html
    assert "hx-get" not in html


@pytest.mark.parametrize("user_fixture", ["admin_user", "operator_user"])
def test_a_rejected_token_shows_the_banner_and_stops(request, team, api, user_fixture) -> None:
    user = request.getfixturevalue(user_fixture)
    listed(api, status=401, json={"detail": "Invalid token."})
    c = client_for(user)
    first = c.get(poll(team), **HX)
    second = c.get(poll(team), **HX)
    for response in (first, second):
        assert response.status_code == 286
        html = response.content.decode()
        assert "hx-get" not in html  # the poller that comes back no longer asks
        # One element, by id: however many answers, one banner.
        assert html.count('id="token-banner"') == 1
        assert "rejected the team" in html
    # Admins get the way to fix it; others are told an admin must.
    assert ('href="/team/token/"' in first.content.decode()) == (user_fixture == "admin_user")
    # The 401 was cached: the second poll did not ask again.
    assert len(api.calls) == 1


def test_upstream_errors_pause_updates_and_say_so(team, viewer_user, api) -> None:
    listed(api, status=500, json={"detail": "boom"})
    response = client_for(viewer_user).get(poll(team, status="rebooting") + "&at=999000", **HX)
    assert response.status_code == 200
    assert "HX-Retarget" not in response  # the card keeps what it shows
    html = response.content.decode()
    live = poller(html)
    assert live["query"]["errors"] == ["1"]
    assert live["query"]["d"] == [digest(status="rebooting")]
    assert live["delay"] == 4  # backing off
    assert "Updates paused, retrying in 4 seconds." in html
    assert "VPS.org is having trouble right now. The panel will keep trying." in html
    assert '<small class="problem-detail">HTTP 500' in html
    # When what the card shows was read, in the language's time format.
    assert 'Shown as of <time datetime="1970-01-12T13:30:00+00:00">1:30 p.m.</time>' in html


def test_errors_in_a_row_back_off_further(team, viewer_user, api) -> None:
    listed(api, status=503, json={"detail": "down"})
    html = client_for(viewer_user).get(poll(team) + "&errors=2", **HX).content.decode()
    assert poller(html)["delay"] == 80  # idle 10 s, doubled three times
    assert poller(html)["query"]["errors"] == ["3"]
    html = client_for(viewer_user).get(poll(team) + "&errors=7", **HX).content.decode()
    assert poller(html)["delay"] == 120  # at most two minutes


def test_rate_limits_set_the_next_delay(team, viewer_user, api) -> None:
    listed(api, status=429, json={"detail": "Slow down"}, headers={"Retry-After": "30"})
    html = client_for(viewer_user).get(poll(team, status="rebooting"), **HX).content.decode()
    assert poller(html)["delay"] == 30


def test_updates_recover_by_themselves(team, viewer_user, api) -> None:
    """After failures, the first good answer replaces the card (and its paused note)."""
    listed(api, server_json(12, status="active"))
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    response = client_for(viewer_user).get(poll(team) + "&errors=2", **HX)
    html = response.content.decode()
    assert response["HX-Retarget"] == "#server-card"
    assert "Updates paused" not in html
    assert "errors" not in poller(html)["query"]


def test_a_page_that_showed_nothing_reloads_once_vpsorg_answers(team, viewer_user, api) -> None:
    listed(api, server_json(12))
    api.get(f"{API}/servers/12/", json=server_json(12))
    response = client_for(viewer_user).get(f"/servers/12/status/?team={team.pk}&reload=1", **HX)
    assert response["HX-Refresh"] == "true"


def test_anonymous_polling_is_sent_to_log_in(db, api) -> None:
    response = Client().get("/servers/12/status/", **HX)
    assert response.status_code == 302
    assert len(api.calls) == 0


def test_a_page_of_another_team_reloads_instead_of_polling(team, other_team, viewer_user, api):
    """The user switched team in another tab: this page's servers are not the team's."""
    response = client_for(viewer_user).get(f"/servers/12/status/?team={other_team.pk}", **HX)
    assert response["HX-Refresh"] == "true"
    assert len(api.calls) == 0


def test_polling_answers_are_never_cached(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="starting"))
    response = client_for(viewer_user).get(poll(team, status="starting"), **HX)
    assert "no-store" in response["Cache-Control"]
    assert "HX-Request" in response["Vary"]


def test_the_detail_page_carries_one_poller(team, viewer_user, api) -> None:
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    html = client_for(viewer_user).get("/servers/12/").content.decode()
    assert html.count("hx-trigger=") == 1
    assert poller(html)["query"]["d"] == [digest(status="active")]
    assert poller(html)["delay"] == 10


def test_without_such_a_message_nothing_is_replaced(team, operator_user, api) -> None:
    listed(api, server_json(12, status="active"))
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    html = client_for(operator_user).get(poll(team, status="provisioning"), **HX).content.decode()
    assert "message-transition-12" not in html
