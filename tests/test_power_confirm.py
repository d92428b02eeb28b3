"""GET /servers/<id>/stop/ and /reboot/: the confirmation page a browser without
JavaScript gets (issue 8); its form POSTs the action to the same URL."""

from __future__ import annotations

import re

import pytest

from tests.conftest import API, client_for, server_json

ACTIONS = ("stop", "reboot")


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("stop", "It shuts down and stays off until someone starts it again."),
        ("reboot", "It will be unreachable for a moment while it restarts."),
    ],
)
def test_the_page_names_the_server_and_what_will_happen(team, operator_user, api, action, words):
    api.get(f"{API}/servers/12/", json=server_json(12, name="web-01", status="active"))
    response = client_for(operator_user).get(
        f"/servers/12/{action}/", HTTP_REFERER="http://testserver/servers/?status=active"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<h1 id="confirm-title">{action.capitalize()} web-01?</h1>' in html
    assert words in html
    form = re.search(r'<form method="post" action="([^"]+)" class="confirm-form">', html)
    assert form and form[1] == f"/servers/12/{action}/"
    assert 'name="csrfmiddlewaretoken"' in html
    # Back where the button was, once done or cancelled.
    assert 'name="next" value="http://testserver/servers/?status=active"' in html
    assert re.search(rf'<button type="submit" class="button danger">{action.capitalize()}<', html)
    # Showing it did nothing upstream but read the server.
    assert [c.request.method for c in api.calls] == ["GET"]


@pytest.mark.parametrize("action", ACTIONS)
def test_a_status_that_does_not_allow_it_says_so(team, operator_user, api, action) -> None:
    api.get(f"{API}/servers/12/", json=server_json(12, name="web-01", status="stopped"))
    html = client_for(operator_user).get(f"/servers/12/{action}/").content.decode()
    assert "This cannot be done now: the server is Stopped." in html
    assert "confirm-form" not in html


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_is_refused(team, viewer_user, api, action) -> None:
    assert client_for(viewer_user).get(f"/servers/12/{action}/").status_code == 403
    assert len(api.calls) == 0


def test_another_teams_server_is_not_found(team, outsider_user, api) -> None:
    api.get(f"{API}/servers/12/", status=404, json={"detail": "Not found."})
    response = client_for(outsider_user).get("/servers/12/stop/")
    assert response.status_code == 404
    assert api.calls[0].request.headers["Authorization"] == "Bearer other-team-token-wxyz9876"


def test_an_upstream_failure_still_offers_the_form(team, operator_user, api) -> None:
    api.get(f"{API}/servers/12/", status=503, json={"detail": "down"})
    response = client_for(operator_user).get("/servers/12/reboot/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "VPS.org is having trouble right now." in html
    assert "confirm-form" in html


def test_the_post_still_acts_at_once_and_returns(team, operator_user, api) -> None:
    api.post(
        f"{API}/servers/12/stop/",
        json={"status": "success", "server": {"id": 12, "name": "web-01", "status": "stopping"}},
    )
    response = client_for(operator_user).post(
        "/servers/12/stop/", {"next": "/servers/?status=active"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/servers/?status=active"
    assert [c.request.method for c in api.calls] == ["POST"]


def test_next_never_leads_off_site(team, operator_user, api) -> None:
    api.post(
        f"{API}/servers/12/stop/",
        json={"status": "success", "server": {"id": 12, "name": "web-01", "status": "stopping"}},
    )
    response = client_for(operator_user).post("/servers/12/stop/", {"next": "https://evil.test/"})
    assert response["Location"] == "/servers/12/"


def test_start_needs_no_confirmation(team, operator_user, api) -> None:
    assert client_for(operator_user).get("/servers/12/start/").status_code == 405
