"""The team's two-factor policy: an admin (with two-factor sign-in of their own) requires it;
members without it are led to set it up before they can use the team's pages, and can still
reach the set-up, their account pages, leaving the team and logging out. The members page
shows who has it. Every change is in the team's activity."""

from __future__ import annotations

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import User

from panel.audit import Action
from panel.models import AuditEntry, Team
from tests.conftest import API, client_for, page, server_json

ROLES = ["admin_user", "manager_user", "operator_user", "viewer_user"]


def _with_totp(user: User) -> User:
    TOTP.activate(user, pyotp.random_base32())
    return user


def _require(team: Team) -> None:
    team.require_two_factor = True
    team.save()


def test_an_admin_with_two_factor_requires_it(admin_user, team) -> None:
    _with_totp(admin_user)
    response = client_for(admin_user).post(
        "/team/members/two-factor/", {"require_two_factor": "on"}
    )
    assert response["Location"] == "/team/members/"
    team.refresh_from_db()
    assert team.require_two_factor
    entry = AuditEntry.objects.get(team=team, action=Action.TEAM_REQUIRE_2FA)
    assert entry.username == admin_user.username


def test_an_admin_without_two_factor_cannot_require_it(admin_user, team) -> None:
    client = client_for(admin_user)
    response = client.post("/team/members/two-factor/", {"require_two_factor": "on"}, follow=True)
    assert "Set up two-factor sign-in for your own account first" in response.text
    team.refresh_from_db()
    assert not team.require_two_factor
    assert not AuditEntry.objects.filter(team=team, action=Action.TEAM_REQUIRE_2FA).exists()


def test_an_admin_stops_requiring_it(admin_user, team) -> None:
    _with_totp(admin_user)
    _require(team)
    client_for(admin_user).post("/team/members/two-factor/", {})
    team.refresh_from_db()
    assert not team.require_two_factor
    assert AuditEntry.objects.filter(team=team, action=Action.TEAM_ALLOW_NO_2FA).exists()


@pytest.mark.parametrize("role", ["manager_user", "operator_user", "viewer_user"])
def test_other_roles_cannot_change_the_policy(role, team, request) -> None:
    user = _with_totp(request.getfixturevalue(role))
    response = client_for(user).post("/team/members/two-factor/", {"require_two_factor": "on"})
    assert response.status_code == 403
    team.refresh_from_db()
    assert not team.require_two_factor


def test_outsiders_cannot_change_another_teams_policy(outsider_user, team, other_team) -> None:
    _with_totp(outsider_user)
    client_for(outsider_user).post("/team/members/two-factor/", {"require_two_factor": "on"})
    team.refresh_from_db()
    assert not team.require_two_factor  # the outsider's own team changed, if any, not this


@pytest.mark.parametrize("role", ROLES)
def test_a_member_without_two_factor_is_led_to_set_it_up(role, team, request) -> None:
    user = request.getfixturevalue(role)
    _require(team)
    client = client_for(user)
    for url in ("/servers/", "/team/members/", "/team/activity/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == "/accounts/2fa/"
    setup = client.get("/accounts/2fa/")
    assert setup.status_code == 200
    assert "requires two-factor sign-in" in setup.text


@pytest.mark.parametrize("role", ["operator_user", "manager_user", "admin_user"])
def test_a_member_without_two_factor_cannot_act(role, team, request, api) -> None:
    user = request.getfixturevalue(role)
    _require(team)
    client = client_for(user)
    response = client.post("/servers/12345/reboot/")
    assert response.status_code == 403
    assert "requires two-factor sign-in" in response.text
    htmx = client.get("/servers/", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 403
    assert len(api.calls) == 0  # nothing reached VPS.org


def test_a_member_without_two_factor_can_still_leave_and_log_out(viewer_user, team) -> None:
    _require(team)
    client = client_for(viewer_user)
    assert client.get("/team/leave/").status_code == 200
    assert client.get("/accounts/password/change/").status_code == 200
    assert client.get("/accounts/sessions/").status_code == 200
    assert client.post("/accounts/logout/")["Location"] == "/accounts/login/"


@pytest.mark.parametrize("role", ROLES)
def test_a_member_with_two_factor_works_as_before(role, team, request, api) -> None:
    user = _with_totp(request.getfixturevalue(role))
    _require(team)
    api.get(f"{API}/servers/", json=page([server_json(1)]))
    api.get(f"{API}/plans/", json=page([]))
    response = client_for(user).get("/servers/")
    assert response.status_code == 200
    assert 'data-server-id="1"' in response.text


def test_recovery_codes_alone_do_not_count(viewer_user, team) -> None:
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    RecoveryCodes.activate(viewer_user)
    _require(team)
    assert client_for(viewer_user).get("/team/activity/")["Location"] == "/accounts/2fa/"


def test_another_team_without_the_policy_is_not_affected(outsider_user, other_team, team):
    _require(team)
    assert client_for(outsider_user).get("/team/activity/").status_code == 200


def test_the_members_page_shows_who_has_it(admin_user, viewer_user, team) -> None:
    secret = pyotp.random_base32()
    TOTP.activate(admin_user, secret)
    html = client_for(viewer_user).get("/team/members/").text
    assert 'data-member="alice-admin"' in html
    row_admin = html.split('data-member="alice-admin"')[1].split("</tr>")[0]
    row_viewer = html.split('data-member="vera-viewer"')[1].split("</tr>")[0]
    assert 'data-two-factor="on"' in row_admin
    assert 'data-two-factor="off"' in row_viewer
    assert "1 member has not set it up." in html
    # Whether, never what: no secret of anyone on the page.
    assert secret not in html
