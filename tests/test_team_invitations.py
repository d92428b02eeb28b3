"""Invitations: an admin invites by email; the link (shown once, mailed) expires, works once,
and joins the team, creating an account if needed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from panel.models import AuditEntry, Invitation, Membership, Role, Team
from tests.conftest import client_for


def _invite(client: Client, email: str = "new@example.com", role: str = "operator") -> str:
    response = client.post("/team/members/invite/", {"email": email, "role": role})
    assert response.status_code == 200
    match = re.search(r'value="(http://testserver/team/join/[\w-]+/)"', response.content.decode())
    assert match, "the link is shown for copying"
    return match.group(1).removeprefix("http://testserver")


def test_an_admin_invites_and_sees_the_link_which_is_also_mailed(
    admin_user, team, mailoutbox
) -> None:
    link = _invite(client_for(admin_user))
    invitation = Invitation.objects.get(team=team)
    assert invitation.email == "new@example.com"
    assert invitation.role == Role.OPERATOR
    assert invitation.invited_by == admin_user
    assert timedelta(days=6) < invitation.expires_at - timezone.now() <= timedelta(days=7)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new@example.com"]
    assert f"http://testserver{link}" in mailoutbox[0].body
    assert "Acme" in mailoutbox[0].subject
    # Only a hash of the link's secret is kept.
    key = link.rstrip("/").rsplit("/", 1)[1]
    assert key not in invitation.key_hash
    assert AuditEntry.objects.get(team=team).action == "member.invite"
    # The members page lists it as pending, without the link.
    page = client_for(admin_user).get("/team/members/").content.decode()
    assert "new@example.com" in page
    assert key not in page


def test_inviting_again_replaces_the_earlier_link(admin_user, team) -> None:
    client = client_for(admin_user)
    first = _invite(client)
    second = _invite(client)
    assert Invitation.objects.filter(team=team).count() == 1
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200


def test_inviting_a_member_again_is_a_form_error(admin_user, viewer_user, team) -> None:
    response = client_for(admin_user).post(
        "/team/members/invite/", {"email": "VERA-viewer@example.com", "role": "admin"}
    )
    assert response.status_code == 200
    assert "in the team already" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_bad_email_is_a_form_error(admin_user) -> None:
    response = client_for(admin_user).post(
        "/team/members/invite/", {"email": "not-an-email", "role": "viewer"}
    )
    assert response.status_code == 200
    assert "valid email" in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("fixture", ["manager_user", "operator_user", "viewer_user"])
def test_only_admins_invite_or_revoke(request, fixture, admin_user, team, mailoutbox) -> None:
    user = request.getfixturevalue(fixture)
    client = client_for(user)
    response = client.post("/team/members/invite/", {"email": "x@example.com", "role": "admin"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mailoutbox == []
    invitation, _key = Invitation.issue(team, "y@example.com", Role.VIEWER, admin_user)
    assert client.post(f"/team/invitations/{invitation.pk}/revoke/").status_code == 403
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_an_admin_revokes_an_invitation(admin_user, team) -> None:
    link = _invite(client_for(admin_user))
    invitation = Invitation.objects.get()
    response = client_for(admin_user).post(f"/team/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    assert not Invitation.objects.exists()
    assert Client().get(link).status_code == 404


def test_another_teams_invitation_cannot_be_revoked(admin_user, outsider_user, other_team):
    invitation, _key = Invitation.issue(other_team, "z@example.com", Role.VIEWER, outsider_user)
    response = client_for(admin_user).post(f"/team/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 404
    assert Invitation.objects.filter(pk=invitation.pk).exists()


def test_accepting_with_a_new_account(admin_user, team) -> None:
    link = _invite(client_for(admin_user), email="newcomer@example.com", role="operator")
    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Join Acme" in body
    assert "newcomer@example.com" in body
    response = client.post(
        link,
        {
            "username": "newcomer",
            "password1": "Newcomer-pass-123",
            "password2": "Newcomer-pass-123",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/servers/"
    user = User.objects.get(username="newcomer")
    assert user.email == "newcomer@example.com"  # the invitation's, not editable
    assert Membership.objects.get(user=user).team == team  # no personal team for them
    assert Membership.objects.get(user=user).role == Role.OPERATOR
    assert client.session["_auth_user_id"] == str(user.pk)
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == user
    entry = AuditEntry.objects.filter(team=team, action="member.join").get()
    assert entry.username == "newcomer"


def test_the_email_of_an_invitation_cannot_be_changed(admin_user, team) -> None:
    link = _invite(client_for(admin_user), email="fixed@example.com")
    Client().post(
        link,
        {
            "username": "sneaky",
            "email": "other@example.com",
            "password1": "Sneaky-pass-123",
            "password2": "Sneaky-pass-123",
        },
    )
    assert User.objects.get(username="sneaky").email == "fixed@example.com"


def test_accepting_with_an_existing_account_after_logging_in(admin_user, outsider_user, team):
    link = _invite(client_for(admin_user), email="otto@example.com", role="viewer")
    anonymous = Client()
    page = anonymous.get(link).content.decode()
    assert f'href="/accounts/login/?next={link}"' in page
    client = client_for(outsider_user)
    confirm = client.get(link)
    assert confirm.status_code == 200
    assert "Join as otto-outsider" in confirm.content.decode()
    response = client.post(link)
    assert response.status_code == 302
    membership = Membership.objects.get(user=outsider_user, team=team)
    assert membership.role == Role.VIEWER
    # Both teams now, and the new one is the current one.
    assert Membership.objects.filter(user=outsider_user).count() == 2
    assert client.get("/team/members/").context["team"] == team


def test_a_login_from_the_invitation_comes_back_to_it(admin_user, outsider_user) -> None:
    link = _invite(client_for(admin_user))
    outsider_user.set_password("otto-pass-1")
    outsider_user.save()
    response = Client().post(
        f"/accounts/login/?next={link}",
        # allauth's login field is `login` (was Django's `username`).
        {"login": "otto-outsider", "password": "otto-pass-1", "next": link},
    )
    assert response["Location"] == link


def test_an_existing_member_keeps_their_role(admin_user, manager_user, team) -> None:
    link = _invite(client_for(admin_user), email="other-address@example.com", role="viewer")
    client_for(manager_user).post(link)
    assert Membership.objects.get(user=manager_user, team=team).role == Role.MANAGER


def test_a_link_works_once(admin_user, outsider_user, team) -> None:
    link = _invite(client_for(admin_user))
    client_for(outsider_user).post(link)
    stranger = User.objects.create_user("stranger", "s@example.com", "x")
    response = client_for(stranger).post(link)
    assert response.status_code == 410
    assert "used already" in response.content.decode()
    assert not Membership.objects.filter(user=stranger, team=team).exists()


def test_an_expired_link_is_refused(admin_user, outsider_user, team) -> None:
    link = _invite(client_for(admin_user))
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client = client_for(outsider_user)
    response = client.get(link)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert client.post(link).status_code == 410
    assert not Membership.objects.filter(user=outsider_user, team=team).exists()
    anonymous = Client().post(
        link, {"username": "late", "password1": "Late-pass-123", "password2": "Late-pass-123"}
    )
    assert anonymous.status_code == 410
    assert not User.objects.filter(username="late").exists()
    # And expired invitations leave the pending list.
    assert "new@example.com" not in client_for(admin_user).get("/team/members/").content.decode()


def test_an_unknown_link_answers_404(db) -> None:
    assert Client().get("/team/join/not-a-real-key/").status_code == 404


def test_invited_signup_works_when_signup_is_closed(admin_user, team, settings) -> None:
    settings.SIGNUP_ENABLED = False
    link = _invite(client_for(admin_user), email="private@example.com")
    response = Client().post(
        link,
        {"username": "private", "password1": "Private-pass-123", "password2": "Private-pass-123"},
    )
    assert response.status_code == 302
    assert Membership.objects.filter(user__username="private", team=team).exists()


def test_a_failing_mail_server_keeps_the_link_on_the_page(admin_user, team, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("panel.team_views.send_mail", broken)
    response = client_for(admin_user).post(
        "/team/members/invite/", {"email": "n@example.com", "role": "viewer"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "could not be mailed" in body
    assert "/team/join/" in body
    assert Invitation.objects.filter(team=team).exists()


def test_invitations_of_one_team_never_join_another(admin_user, team, other_team) -> None:
    link = _invite(client_for(admin_user))
    joiner = User.objects.create_user("joiner", "j@example.com", "x")
    client_for(joiner).post(link)
    assert list(Team.objects.filter(memberships__user=joiner)) == [team]


def test_the_invite_url_opened_directly_leads_to_the_members(admin_user, team) -> None:
    """A refused invitation is shown at /team/members/invite/; pressing Enter in the
    address bar there must not give a blank 405 page."""
    response = client_for(admin_user).get("/team/members/invite/")
    assert response.status_code == 302
    assert response["Location"] == "/team/members/"
    assert not Invitation.objects.exists()
