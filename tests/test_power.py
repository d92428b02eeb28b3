"""Power actions: POST /servers/<id>/start|stop|reboot/, and the buttons that post them.

Each action x each state x each role; the API is mocked the way VPS.org answers (the
sandbox's rules: start needs stopped, stop and reboot need active, anything else 400).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
import responses
from django.contrib.messages import get_messages
from django.template import Context, Template
from django.test import Client

from panel.models import AuditEntry, Membership
from sandbox import start_sandbox
from servers import cache as server_cache
from servers import power
from servers.client import Server
from servers.presenters import power_buttons
from tests.conftest import API, TOKEN, client_for, page, server_json

ACTIONS = ("start", "stop", "reboot")
STATES = ("active", "stopped", "suspended", "stopping", "provisioning", "maintenance")
REQUIRED = {"start": "stopped", "stop": "active", "reboot": "active"}
TRANSITIONAL = {"start": "starting", "stop": "stopping", "reboot": "rebooting"}
HX_ROW = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "server-12"}
HX_CARD = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "server-card"}


def mock_action(api: responses.RequestsMock, action: str, state: str, sid: int = 12) -> bool:
    """Answer the POST as VPS.org would for a server in `state`; True if accepted."""
    ok = state == REQUIRED[action]
    if ok:
        body = {
            "status": "success",
            "message": f"Server is {TRANSITIONAL[action]}",
            "server": {"id": sid, "name": "web-server-01", "status": TRANSITIONAL[action]},
        }
        api.post(f"{API}/servers/{sid}/{action}/", json=body)
        api.get(f"{API}/servers/{sid}/", json=server_json(sid, status=TRANSITIONAL[action]))
    else:
        detail = "Server is already running." if action == "start" else "Server is not running."
        api.post(f"{API}/servers/{sid}/{action}/", status=400, json={"detail": detail})
        api.get(f"{API}/servers/{sid}/", json=server_json(sid, status=state))
    return ok


def toast(response: Any) -> dict[str, str]:
    return json.loads(response["HX-Trigger"])["panel:toast"]


def upstream_posts(api: responses.RequestsMock) -> int:
    return sum(1 for call in api.calls if call.request.method == "POST")


# --- each action x each state x each role, with htmx on a list row ------------------------

ROLES = ("viewer_user", "operator_user", "manager_user", "admin_user")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_action_in_each_state_for_each_role(
    request, team, api, action: str, state: str, role: str
) -> None:
    user = request.getfixturevalue(role)
    accepted = mock_action(api, action, state)

    response = client_for(user).post(f"/servers/12/{action}/", **HX_ROW)

    if role == "viewer_user":
        assert response.status_code == 403
        assert len(api.calls) == 0
        assert not AuditEntry.objects.exists()
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<tr id="server-12"')
    shown = TRANSITIONAL[action] if accepted else state
    assert f'data-status="{shown}"' in html
    entry = AuditEntry.objects.get()
    assert entry.action == f"server.{action}"
    assert entry.target_id == "12"
    if accepted:
        assert toast(response)["level"] == "success"
        assert "web-server-01" in toast(response)["message"]
        assert entry.outcome == AuditEntry.Outcome.OK
        # In transition: no buttons, and the badge is watched by the list's poller.
        assert "power-form" not in html
        assert "data-transition" in html
    else:
        assert toast(response)["level"] == "error"
        assert "VPS.org refused" in toast(response)["message"]
        assert entry.outcome == AuditEntry.Outcome.ERROR
        assert entry.status_code == 400
        assert entry.message  # the API's own reason is kept


@pytest.mark.parametrize("action", ACTIONS)
def test_action_on_the_detail_card_answers_the_card(team, operator_user, api, action) -> None:
    mock_action(api, action, REQUIRED[action])
    api.get(f"{API}/servers/12/", json=server_json(12, status=TRANSITIONAL[action]))

    response = client_for(operator_user).post(f"/servers/12/{action}/", **HX_CARD)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="server-card"')
    # The card's one poller asks again soon: a transition has begun.
    assert f'hx-get="/servers/12/status/?team={team.pk}&amp;d=' in html
    assert 'hx-trigger="load delay:2s, panel:wake from:body"' in html
    assert f'data-status="{TRANSITIONAL[action]}"' in html
    # The page's recent activity shows the action just done, without a reload.
    assert '<section id="server-activity" class="server-activity"' in html
    assert 'hx-swap-oob="true"' in html.split('id="server-activity"')[1].split(">")[0]
    assert AuditEntry.objects.filter(target_id="12").count() == 1
    assert html.count('outcome-ok">OK<') == 1
    # The list's or card's poller hears that a transition began.
    assert "panel:wake" in json.loads(response["HX-Trigger-After-Settle"])


# --- roles ------------------------------------------------------------------------------


@pytest.mark.parametrize("role_user", ["operator_user", "manager_user", "admin_user"])
@pytest.mark.parametrize("action", ACTIONS)
def test_operator_and_above_may_act(request, team, api, role_user: str, action: str) -> None:
    user = request.getfixturevalue(role_user)
    mock_action(api, action, REQUIRED[action])
    response = client_for(user).post(f"/servers/12/{action}/", **HX_ROW)
    assert response.status_code == 200
    assert upstream_posts(api) == 1
    assert AuditEntry.objects.get().username == user.username


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_gets_403_and_nothing_reaches_vps_org(team, viewer_user, api, action) -> None:
    response = client_for(viewer_user).post(f"/servers/12/{action}/", **HX_ROW)
    assert response.status_code == 403
    assert len(api.calls) == 0
    assert not AuditEntry.objects.exists()


def test_anonymous_is_sent_to_log_in(db, api) -> None:
    response = Client().post("/servers/12/stop/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert len(api.calls) == 0


def test_get_of_start_is_not_allowed(team, operator_user, api) -> None:
    # Stop and reboot answer a GET with their confirmation (test_power_confirm.py).
    assert client_for(operator_user).get("/servers/12/start/").status_code == 405
    assert len(api.calls) == 0


def test_unknown_action_and_bad_ids_do_not_route(team, operator_user, api) -> None:
    c = client_for(operator_user)
    assert c.post("/servers/12/destroy/").status_code == 404
    assert c.post("/servers/1_2/stop/").status_code == 404
    assert len(api.calls) == 0


def test_the_users_current_team_token_is_used(team, other_team, operator_user, api) -> None:
    Membership.objects.create(team=other_team, user=operator_user, role="viewer")
    # The operator's current team is the one selected last: Acme (never selected: joined first).
    mock_action(api, "stop", "active")
    client_for(operator_user).post("/servers/12/stop/", **HX_ROW)
    assert api.calls[0].request.headers["Authorization"] == "Bearer team-secret-token-abcd1234"


# --- without JavaScript -----------------------------------------------------------------


def test_plain_post_redirects_back_to_the_referer_with_a_message(team, operator_user, api) -> None:
    mock_action(api, "stop", "active")
    c = client_for(operator_user)
    response = c.post(
        "/servers/12/stop/", HTTP_REFERER="http://testserver/servers/?status=active&q=web"
    )
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/servers/?status=active&q=web"
    # The fragment's second call is not needed for a redirect.
    assert len(api.calls) == 1
    api.get(f"{API}/servers/", json=page([server_json(12, status="stopping")]))
    followed = c.get("/servers/")
    assert "Stopping web-server-01" in followed.content.decode()


def test_plain_post_ignores_a_foreign_referer(team, operator_user, api) -> None:
    mock_action(api, "reboot", "active")
    response = client_for(operator_user).post(
        "/servers/12/reboot/", HTTP_REFERER="https://evil.example/servers/"
    )
    assert response["Location"] == "/servers/12/"


def test_plain_post_failure_redirects_with_the_reason(team, operator_user, api) -> None:
    api.get(f"{API}/servers/", json=page([server_json(12, name="web-01")]))
    server_cache.list_servers(team)  # the list page was seen: the name is known
    mock_action(api, "start", "active")  # already running: 400
    response = client_for(operator_user).post("/servers/12/start/")
    assert response["Location"] == "/servers/12/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Could not start web-01. VPS.org refused the request: Server is already running."
    ]
    assert AuditEntry.objects.get().target_name == "web-01"


# --- upstream failures: never a 5xx -----------------------------------------------------


def test_unreachable_api_keeps_the_row_and_toasts(team, operator_user, api) -> None:
    api.post(f"{API}/servers/12/stop/", body=requests.ConnectionError("refused"))
    response = client_for(operator_user).post("/servers/12/stop/", **HX_ROW)
    assert response.status_code == 204
    assert toast(response)["level"] == "error"
    # The request may have arrived before the connection broke: no "try again".
    assert "may be stopping anyway" in toast(response)["message"]
    # No second call to an API that did not answer the first.
    assert len(api.calls) == 1
    entry = AuditEntry.objects.get()
    assert entry.outcome == AuditEntry.Outcome.ERROR
    assert entry.status_code is None


@pytest.mark.parametrize(
    ("failure", "action", "words"),
    [
        ({"body": requests.exceptions.ReadTimeout("slow")}, "reboot", "may be rebooting anyway"),
        ({"status": 504, "body": "<html>gateway</html>"}, "start", "may be starting anyway"),
    ],
)
def test_an_unanswered_action_says_it_may_have_happened(
    team, operator_user, api, failure, action, words
) -> None:
    api.post(f"{API}/servers/12/{action}/", **failure)
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    response = client_for(operator_user).post(f"/servers/12/{action}/", **HX_ROW)
    message = toast(response)["message"]
    assert words in message
    assert "Check its status before trying again." in message
    assert "Try again in a moment" not in message


def test_a_plain_post_without_answer_says_so_too(team, operator_user, api) -> None:
    api.post(f"{API}/servers/12/stop/", body=requests.exceptions.ReadTimeout("slow"))
    response = client_for(operator_user).post("/servers/12/stop/", follow=True)
    assert "may be stopping anyway" in response.content.decode()


def test_an_action_that_certainly_failed_says_try_again(team, operator_user, api) -> None:
    api.post(f"{API}/servers/12/stop/", status=503, json={"detail": "down"})
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    response = client_for(operator_user).post("/servers/12/stop/", **HX_ROW)
    assert "Could not stop" in toast(response)["message"]


def test_server_error_shows_the_fresh_row(team, operator_user, api) -> None:
    api.post(f"{API}/servers/12/reboot/", status=500, json={"detail": "boom"})
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    response = client_for(operator_user).post("/servers/12/reboot/", **HX_ROW)
    assert response.status_code == 200
    assert 'data-status="active"' in response.content.decode()
    assert "VPS.org is having trouble right now" in toast(response)["message"]
    assert toast(response)["detail"] == "HTTP 500 · VPS.org said: boom"
    assert AuditEntry.objects.get().status_code == 500


def test_a_server_deleted_elsewhere_leaves_the_list(team, operator_user, api) -> None:
    api.post(f"{API}/servers/12/stop/", status=404, json={"detail": "Not found."})
    api.get(f"{API}/servers/12/", status=404, json={"detail": "Not found."})
    response = client_for(operator_user).post("/servers/12/stop/", **HX_ROW)
    # An empty row swapped over the old one removes it; the toast says why.
    assert response.status_code == 200
    assert response.content == b""
    assert "no such server" in toast(response)["message"]


def test_a_404_on_the_action_keeps_a_server_that_still_exists(team, operator_user, api) -> None:
    """The action's 404 is contradicted by the server itself: keep its row, say what failed."""
    api.post(f"{API}/servers/12/stop/", status=404, json={"detail": "Not found."})
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))
    response = client_for(operator_user).post("/servers/12/stop/", **HX_ROW)
    assert response.status_code == 200
    assert '<tr id="server-12"' in response.content.decode()
    assert toast(response)["level"] == "error"


def test_a_server_deleted_elsewhere_replaces_the_card_with_a_note(team, operator_user, api) -> None:
    api.post(f"{API}/servers/12/stop/", status=404, json={"detail": "Not found."})
    api.get(f"{API}/servers/12/", status=404, json={"detail": "Not found."})
    response = client_for(operator_user).post("/servers/12/stop/", **HX_CARD)
    html = response.content.decode()
    assert 'id="server-card"' in html
    assert "deleted elsewhere" in html
    assert 'href="/servers/"' in html


def test_no_token_is_a_toast_not_an_error_page(db, operator_user, api) -> None:
    Membership.objects.get(user=operator_user).team.api_token.delete()
    response = client_for(operator_user).post("/servers/12/stop/", **HX_ROW)
    assert response.status_code == 204
    assert "no VPS.org API token" in toast(response)["message"]
    assert len(api.calls) == 0
    assert AuditEntry.objects.get().outcome == AuditEntry.Outcome.ERROR


def test_accepted_action_wins_over_a_read_that_lags(team, operator_user, api) -> None:
    api.post(
        f"{API}/servers/12/stop/",
        json={"status": "success", "server": {"id": 12, "name": "web", "status": "stopping"}},
    )
    api.get(f"{API}/servers/12/", json=server_json(12, status="active"))  # not caught up yet
    response = client_for(operator_user).post("/servers/12/stop/", **HX_ROW)
    html = response.content.decode()
    assert 'data-status="stopping"' in html
    assert "power-form" not in html  # no second Stop to click while it stops


def test_slow_action_skips_the_second_call(team, operator_user, api, monkeypatch) -> None:
    """Past one timeout already, the answer uses what the cache knew instead of asking."""
    api.get(f"{API}/servers/", json=page([server_json(12, status="active", name="known")]))
    server_cache.list_servers(team)
    mock_action(api, "stop", "active")
    ticks = iter([0.0, 100.0])
    monkeypatch.setattr(power, "clock", lambda: next(ticks))

    response = client_for(operator_user).post("/servers/12/stop/", **HX_ROW)

    assert [c.request.method for c in api.calls] == ["GET", "POST"]
    html = response.content.decode()
    assert 'data-status="stopping"' in html
    assert "known" in html


def test_an_action_invalidates_the_teams_cache(team, operator_user, api) -> None:
    api.get(f"{API}/servers/", json=page([server_json(12, status="active")]))
    server_cache.list_servers(team)
    mock_action(api, "stop", "active")
    client_for(operator_user).post("/servers/12/stop/", **HX_ROW)
    server_cache.list_servers(team)
    assert sum(1 for c in api.calls if c.request.url.startswith(f"{API}/servers/?")) == 2


# --- the buttons ------------------------------------------------------------------------

BUTTONS = Template("{% load servers_tags %}{% server_buttons buttons name within %}")


def render_buttons(membership: Any, status: str, within: str = "row", name: str = "web-01") -> str:
    server = Server(id="12", name=name, status=status)
    context = Context(
        {
            "buttons": power_buttons(server, membership),
            "name": name,
            "within": within,
            "csrf_token": "tok",
        }
    )
    return BUTTONS.render(context)


@pytest.mark.parametrize(
    ("status", "names"),
    [
        ("active", ["Stop", "Reboot"]),
        ("stopped", ["Start"]),
        ("suspended", []),
        ("starting", []),
        ("stopping", []),
        ("rebooting", []),
        ("provisioning", []),
        ("maintenance", []),
        ("", []),
    ],
)
def test_buttons_follow_the_status(team, operator_user, status: str, names: list[str]) -> None:
    html = render_buttons(Membership.objects.get(user=operator_user), status)
    shown = [a for a in ("Start", "Stop", "Reboot") if f">{a}<span" in html]
    assert shown == names


@pytest.mark.parametrize("role", ["viewer", "operator", "manager", "admin"])
def test_buttons_follow_the_role(team, admin_user, role: str) -> None:
    membership = Membership.objects.get(user=admin_user)
    membership.role = role
    html = render_buttons(membership, "active")
    assert ("power-form" in html) == (role != "viewer")


def test_buttons_without_a_membership_render_nothing(team) -> None:
    assert render_buttons(None, "active") == ""


def test_buttons_are_real_forms_named_after_action_and_server(team, operator_user) -> None:
    html = render_buttons(Membership.objects.get(user=operator_user), "active")
    # Without scripts, Stop leads to its confirmation page (a GET); with htmx, hx-post
    # acts after the dialog (issue 8: no power-off in one click without JavaScript).
    assert '<form method="get" action="/servers/12/stop/"' in html
    assert 'hx-post="/servers/12/stop/" hx-target="closest tr" hx-swap="outerHTML"' in html
    # No token in a GET form's URL; htmx sends it as a header (base.html's hx-headers).
    assert "csrfmiddlewaretoken" not in html
    # The accessible name: "Stop web-01", visible text "Stop".
    assert '<button type="submit" class="button small danger" data-action="stop"' in html
    assert 'Stop<span class="visually-hidden"> web-01</span></button>' in html
    # Stop and Reboot ask first, naming the server; the script turns it into a dialog.
    assert 'hx-confirm="Stop web-01? ' in html
    assert 'hx-confirm="Reboot web-01? ' in html
    assert 'data-confirm-title="Stop web-01?"' in html


def test_start_does_not_ask(team, operator_user) -> None:
    html = render_buttons(Membership.objects.get(user=operator_user), "stopped")
    assert "hx-confirm" not in html
    assert '<form method="post" action="/servers/12/start/"' in html
    assert '<input type="hidden" name="csrfmiddlewaretoken" value="tok">' in html
    assert "Start<span" in html


def test_card_buttons_target_the_card(team, operator_user) -> None:
    html = render_buttons(Membership.objects.get(user=operator_user), "active", "card")
    assert 'hx-target="#server-card"' in html
    assert "small" not in html


def test_names_are_escaped(team, operator_user) -> None:
    membership = Membership.objects.get(user=operator_user)
    html = render_buttons(membership, "active", name='<b>"x"</b>')
    assert "<b>" not in html
    assert "&lt;b&gt;" in html


def test_list_rows_carry_the_buttons(team, operator_user, viewer_user, api) -> None:
    api.get(
        f"{API}/servers/",
        json=page(
            [server_json(1, status="active"), server_json(2, status="stopped", name="db-01")]
        ),
    )
    html = client_for(operator_user).get("/servers/").content.decode()
    assert 'action="/servers/1/stop/"' in html
    assert 'action="/servers/1/reboot/"' in html
    assert 'action="/servers/2/start/"' in html
    assert 'action="/servers/1/start/"' not in html
    html = client_for(viewer_user).get("/servers/").content.decode()
    assert "power-form" not in html


# --- time budget: about 3 x VPSORG_TIMEOUT per request, however many calls ---------------


def test_power_and_polling_answer_within_3x_the_timeout(team, operator_user, settings) -> None:
    """Against a real (sandbox) API that answers after 3 s, with a 0.4 s timeout."""
    settings.VPSORG_TIMEOUT = 0.4
    c = client_for(operator_user)
    with start_sandbox(tokens=(TOKEN,), latency=3.0) as sandbox:
        settings.VPSORG_API_URL = sandbox.api_url
        calls = [
            lambda: c.post("/servers/12345/stop/", **HX_ROW),
            lambda: c.post("/servers/12345/reboot/"),
            lambda: c.get("/servers/12345/status/?within=card", HTTP_HX_REQUEST="true"),
            lambda: c.get("/servers/status/?id=12345&name=web", HTTP_HX_REQUEST="true"),
        ]
        for call in calls:
            server_cache.invalidate(team)
            started = time.monotonic()
            response = call()
            elapsed = time.monotonic() - started
            assert response.status_code < 500
            assert elapsed < 3 * 0.4, (response.wsgi_request.path, elapsed)
