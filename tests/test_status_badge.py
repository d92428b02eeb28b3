"""The status badge: the `status_badge` tag and GET /servers/<id>/status/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client

from servers.client import Server
from tests.conftest import API, client_for, page, server_json

BADGE = Template("{% load servers_tags %}{% status_badge server %}")
POLLING_BADGE = Template('{% load servers_tags %}{% status_badge server poll="card" %}')
HX = {"HTTP_HX_REQUEST": "true"}


def badge(status: str, template: Template = BADGE, name: str = "web-01") -> str:
    return template.render(Context({"server": Server(id="12", name=name, status=status)}))


def triggers(response: Any) -> dict[str, Any]:
    return json.loads(response.get("HX-Trigger", "{}"))


def listed(api: Any, *servers: dict[str, Any], **kwargs: Any) -> None:
    """The team's list, which every badge of the team reads first (one shared call)."""
    if kwargs:
        api.get(f"{API}/servers/", **kwargs)
    else:
        api.get(f"{API}/servers/", json=page(list(servers)))


def detail_calls(api: Any) -> int:
    return sum(1 for c in api.calls if c.request.url.startswith(f"{API}/servers/12/"))


# --- the tag ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["active", "stopped", "suspended"])
def test_a_settled_badge_neither_polls_nor_is_watched(status: str) -> None:
    for template in (BADGE, POLLING_BADGE):
        html = badge(status, template)
        assert f'data-status="{status}"' in html
        assert "hx-get" not in html
        assert "hx-trigger" not in html
        assert "data-transition" not in html


@pytest.mark.parametrize(
    ("status", "text"),
    [
        ("provisioning", "Provisioning"),
        ("starting", "Starting"),
        ("stopping", "Stopping"),
        ("rebooting", "Rebooting"),
        ("maintenance", "maintenance"),  # unknown: shown as it came, and polled
    ],
)
def test_a_badge_in_transition_is_watched(status: str, text: str) -> None:
    html = badge(status)
    assert f'data-status="{status}"' in html
    assert f">{text}</span>" in html
    assert "data-transition" in html
    assert 'data-name="web-01"' in html
    # In a list row it does not poll by itself: the list's single poller asks for it.
    assert "hx-get" not in html


def test_a_polling_badge_carries_hx_get_and_a_trigger() -> None:
    html = badge("stopping", POLLING_BADGE)
    assert 'id="status-12"' in html
    assert 'hx-get="/servers/12/status/?within=card"' in html
    assert 'hx-trigger="panel:poll"' in html
    assert 'hx-swap="outerHTML"' in html
    assert "data-poll" in html


def test_unknown_and_missing_statuses_get_a_neutral_class() -> None:
    assert 'class="badge badge-unknown"' in badge("maintenance")
    empty = badge("")
    assert 'class="badge badge-unknown"' in empty
    assert ">Unknown</span>" in empty


def test_a_hostile_status_is_escaped() -> None:
    html = badge('"><script>alert(1)</script>')
    assert "<script>" not in html
    assert 'class="badge badge-unknown"' in html
    assert "&quot;&gt;&lt;script&gt;" in html


def test_status_is_text_not_only_colour() -> None:
    assert ">Active</span>" in badge("active")
    assert ">Stopped</span>" in badge("stopped")


# --- the view ---------------------------------------------------------------------------


def test_in_transition_the_badge_keeps_polling(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="stopping"))
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<span class="badge badge-stopping" id="status-12"')
    assert f'hx-get="/servers/12/status/?within=card&amp;team={team.pk}"' in html
    assert "HX-Retarget" not in response
    # The status came from the team's shared list: no call for this one server.
    assert detail_calls(api) == 0


def test_settled_on_the_card_answers_286_and_the_whole_card(team, operator_user, api) -> None:
    """Provisioning is over: the IP address, the usage and the buttons arrive with it."""
    detail = server_json(
        12,
        status="active",
        ip_address="203.0.113.77",
        resource_usage={"cpu_percent": 12.5, "memory_used": 1024, "disk_used": 5},
    )
    # The list says it settled; the card then needs the server in detail, once.
    listed(api, server_json(12, status="active", ip_address="203.0.113.77"))
    api.get(f"{API}/servers/12/", json=detail)

    response = client_for(operator_user).get("/servers/12/status/?within=card", **HX)

    assert response.status_code == 286
    assert response["HX-Retarget"] == "#server-card"
    assert response["HX-Reswap"] == "outerHTML"
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="server-card"')
    assert "203.0.113.77" in html
    assert "12.5%" in html
    assert 'action="/servers/12/stop/"' in html
    assert 'data-status="active"' in html
    assert "hx-get" not in html.split("data-status")[1].split(">")[0]
    assert triggers(response)["panel:toast"] == {
        "message": "web-server-01 is now active.",
        "level": "info",
    }


def test_settled_in_a_row_answers_the_row(team, operator_user, api) -> None:
    listed(api, server_json(12, status="stopped"))
    response = client_for(operator_user).get("/servers/12/status/?within=row", **HX)
    assert response.status_code == 286
    assert response["HX-Retarget"] == "#server-12"
    html = response.content.decode()
    assert html.lstrip().startswith('<tr id="server-12"')
    assert 'action="/servers/12/start/"' in html


def test_settled_without_context_answers_a_badge_that_stops(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="active"))
    c = client_for(viewer_user)
    response = c.get("/servers/12/status/", **HX)
    assert response.status_code == 286
    assert response.content.decode().startswith('<span class="badge badge-active"')
    plain = c.get("/servers/12/status/")
    assert plain.status_code == 200
    assert "hx-get" not in plain.content.decode()


def test_a_viewer_sees_the_settled_card_without_buttons(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="active"))
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert response.status_code == 286
    assert "power-form" not in response.content.decode()


def test_many_viewers_polling_one_server_cost_one_upstream_call(
    team, viewer_user, operator_user, admin_user, api
) -> None:
    listed(api, server_json(12, status="rebooting"))
    for user in (viewer_user, operator_user, admin_user):
        client_for(user).get("/servers/12/status/?within=card", **HX)
    assert len(api.calls) == 1


def test_viewers_of_different_servers_share_one_upstream_call(
    team, viewer_user, operator_user, admin_user, api
) -> None:
    """Three detail pages of three servers in transition: one list call, not three gets."""
    listed(api, *(server_json(i, status="rebooting") for i in (11, 12, 13)))
    for user, sid in zip((viewer_user, operator_user, admin_user), (11, 12, 13), strict=True):
        response = client_for(user).get(f"/servers/{sid}/status/?within=card", **HX)
        assert 'data-status="rebooting"' in response.content.decode()
    assert [c.request.url.split("?")[0] for c in api.calls] == [f"{API}/servers/"]


def test_a_server_the_list_lacks_is_asked_for_directly(team, viewer_user, api) -> None:
    """Just created, and the list lags behind: the server itself says where it stands."""
    listed(api)
    api.get(f"{API}/servers/12/", json=server_json(12, status="provisioning"))
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert response.status_code == 200
    assert 'data-status="provisioning"' in response.content.decode()
    assert detail_calls(api) == 1


def test_an_unreadable_list_falls_back_to_the_server(team, viewer_user, api) -> None:
    listed(api, body="<html>not json</html>", status=200)
    api.get(f"{API}/servers/12/", json=server_json(12, status="starting"))
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert 'data-status="starting"' in response.content.decode()


def test_a_slow_list_leaves_no_time_for_the_detail(team, viewer_user, api, monkeypatch) -> None:
    """The list used up a timeout: the settled card comes from it, within the budget."""
    from servers import power

    ticks = iter([0.0, 1000.0])
    monkeypatch.setattr(power, "clock", lambda: next(ticks, 1000.0))
    listed(api, server_json(12, status="active", ip_address="203.0.113.9"))
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert response.status_code == 286
    assert "203.0.113.9" in response.content.decode()
    assert detail_calls(api) == 0


def test_deleted_while_polled_on_the_card(team, viewer_user, api) -> None:
    listed(api, server_json(13))
    api.get(f"{API}/servers/12/", status=404, json={"detail": "Not found."})
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#server-card"
    assert "deleted elsewhere" in response.content.decode()


def test_deleted_while_polled_in_a_row(team, viewer_user, api) -> None:
    listed(api)
    api.get(f"{API}/servers/12/", status=404, json={"detail": "Not found."})
    response = client_for(viewer_user).get("/servers/12/status/?within=row", **HX)
    html = response.content.decode()
    assert response["HX-Reswap"] == "none"
    assert '<template><tr id="server-12" hx-swap-oob="delete"></tr></template>' in html
    assert 'hx-swap-oob="beforeend:#messages"' in html


def test_deleted_without_htmx_is_a_404_page_not_a_500(team, viewer_user, api) -> None:
    listed(api)
    api.get(f"{API}/servers/12/", status=404, json={"detail": "Not found."})
    response = client_for(viewer_user).get("/servers/12/status/")
    assert response.status_code == 404
    assert b"no such server" in response.content


@pytest.mark.parametrize("user_fixture", ["admin_user", "operator_user"])
def test_a_rejected_token_shows_the_banner_and_stops(request, team, api, user_fixture) -> None:
    user = request.getfixturevalue(user_fixture)
    listed(api, status=401, json={"detail": "Invalid token."})
    c = client_for(user)
    first = c.get("/servers/12/status/?within=card", **HX)
    second = c.get("/servers/12/status/?within=card", **HX)
    for response in (first, second):
        assert response.status_code == 200
        assert response["HX-Reswap"] == "none"
        assert "panel:poll-stop" in triggers(response)
        html = response.content.decode()
        # One element, by id: however many answers, one banner.
        assert html.count('id="token-banner"') == 1
        assert 'hx-swap-oob="true"' in html
        assert "rejected the team" in html
    # Admins get the way to fix it; others are told an admin must.
    assert ('href="/team/token/"' in first.content.decode()) == (user_fixture == "admin_user")
    # The 401 was cached: the second poll did not ask again.
    assert len(api.calls) == 1


def test_upstream_errors_ask_the_page_to_back_off(team, viewer_user, api) -> None:
    listed(api, status=500, json={"detail": "boom"})
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    error = triggers(response)["panel:poll-error"]
    assert "HTTP 500" in error["message"]
    assert error["retryAfter"] is None


def test_rate_limits_pass_their_retry_after_on(team, viewer_user, api) -> None:
    listed(api, status=429, json={"detail": "Slow down"}, headers={"Retry-After": "30"})
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert triggers(response)["panel:poll-error"]["retryAfter"] == 30


def test_plain_get_with_upstream_error_is_a_message(team, viewer_user, api) -> None:
    listed(api, status=500, json={"detail": "boom"})
    response = client_for(viewer_user).get("/servers/12/status/")
    assert response.status_code == 200
    assert b'role="alert"' in response.content


def test_anonymous_polling_is_sent_to_log_in(db, api) -> None:
    response = Client().get("/servers/12/status/", **HX)
    assert response.status_code == 302
    assert len(api.calls) == 0


def test_a_bogus_within_is_ignored(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="starting"))
    response = client_for(viewer_user).get('/servers/12/status/?within="><b>', **HX)
    html = response.content.decode()
    assert "<b>" not in html
    assert "within=card" in html


def test_a_page_of_another_team_reloads_instead_of_polling(team, other_team, viewer_user, api):
    """The user switched team in another tab: this page's servers are not the team's."""
    response = client_for(viewer_user).get(
        f"/servers/12/status/?within=card&team={other_team.pk}", **HX
    )
    assert response["HX-Refresh"] == "true"
    assert len(api.calls) == 0


def test_polling_answers_are_never_cached(team, viewer_user, api) -> None:
    listed(api, server_json(12, status="starting"))
    response = client_for(viewer_user).get("/servers/12/status/?within=card", **HX)
    assert "no-store" in response["Cache-Control"]
    assert "HX-Request" in response["Vary"]
