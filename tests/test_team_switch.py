"""Switching teams: a POST, remembered per user (Membership.selected_at); the current team
is shown on every page."""

from __future__ import annotations

from panel.models import Membership, Role, Team
from tests.conftest import client_for


def _second_team(user, role=Role.VIEWER) -> Team:
    other = Team.objects.create(name="Beta")
    Membership.objects.create(team=other, user=user, role=role)
    return other


def test_the_header_shows_the_current_team_and_role(viewer_user, team) -> None:
    body = client_for(viewer_user).get("/team/members/").content.decode()
    header = body.split("</header>")[0]
    assert "Acme" in header
    assert "Viewer" in header
    assert 'action="/team/switch/"' not in header  # one team: no switcher


def test_with_several_teams_the_header_offers_a_switch(admin_user, team) -> None:
    beta = _second_team(admin_user)
    header = client_for(admin_user).get("/team/members/").content.decode().split("</header>")[0]
    assert 'action="/team/switch/"' in header
    assert f'<option value="{team.pk}" selected>Acme (Admin)</option>' in header
    assert f'<option value="{beta.pk}">Beta (Viewer)</option>' in header


def test_switching_changes_the_current_team_and_is_remembered(admin_user, team) -> None:
    beta = _second_team(admin_user)
    client = client_for(admin_user)
    response = client.post("/team/switch/", {"team": beta.pk, "next": "/team/members/"})
    assert response.status_code == 302
    assert response["Location"] == "/team/members/"
    assert client.get("/team/members/").context["team"] == beta
    # Remembered for the user, not the session: a new login lands in Beta too.
    assert client_for(admin_user).get("/team/members/").context["team"] == beta
    # And the role is that team's: a viewer in Beta has no token page.
    assert client.get("/team/token/").status_code == 403
    client.post("/team/switch/", {"team": team.pk})
    assert client.get("/team/token/").status_code == 200


def test_switching_to_a_team_one_is_not_in_answers_404(admin_user, other_team) -> None:
    client = client_for(admin_user)
    assert client.post("/team/switch/", {"team": other_team.pk}).status_code == 404
    assert client.get("/team/members/").context["team"].name == "Acme"


def test_switching_from_a_server_page_goes_to_the_server_list(admin_user) -> None:
    beta = _second_team(admin_user)
    response = client_for(admin_user).post(
        "/team/switch/", {"team": beta.pk, "next": "/servers/42/"}
    )
    assert response["Location"] == "/servers/"


def test_switching_never_redirects_off_site(admin_user) -> None:
    beta = _second_team(admin_user)
    response = client_for(admin_user).post(
        "/team/switch/", {"team": beta.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/servers/"


def test_switching_is_post_only_and_needs_a_login(admin_user, team) -> None:
    from django.test import Client

    assert client_for(admin_user).get(f"/team/switch/?team={team.pk}").status_code == 405
    assert Client().post("/team/switch/", {"team": team.pk}).status_code == 302
    bad = client_for(admin_user).post("/team/switch/", {"team": "abc"})
    assert bad["Location"] == "/servers/"


def test_switching_from_the_token_page_into_a_team_one_does_not_administer(admin_user) -> None:
    """The token page is for admins: landing on it as a viewer would greet the switch with a
    403 page; the servers list is where the new team's work starts."""
    beta = _second_team(admin_user, role=Role.VIEWER)
    response = client_for(admin_user).post(
        "/team/switch/", {"team": beta.pk, "next": "/team/token/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/servers/"


def test_switching_from_the_token_page_into_a_team_one_administers_stays(admin_user) -> None:
    beta = _second_team(admin_user, role=Role.ADMIN)
    response = client_for(admin_user).post(
        "/team/switch/", {"team": beta.pk, "next": "/team/token/"}
    )
    assert response["Location"] == "/team/token/"
