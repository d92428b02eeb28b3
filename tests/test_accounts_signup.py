"""Sign-up at /accounts/signup/: an account, a personal team with its user as admin, logged
in at once; closed (404, no link) with SIGNUP_ENABLED=false."""

from __future__ import annotations

from html import escape

from django.contrib.auth.models import User
from django.test import Client

from panel.models import Membership, Role

FORM = {
    "username": "newbie",
    "email": "newbie@example.com",
    "password1": "a-Long-enough-pass-77",
    "password2": "a-Long-enough-pass-77",
}


def test_the_form_has_the_four_fields(db) -> None:
    body = Client().get("/accounts/signup/").content.decode()
    for name in ("username", "email", "password1", "password2"):
        assert f'name="{name}"' in body


def test_signup_creates_a_personal_team_and_logs_in(db) -> None:
    client = Client()
    response = client.post("/accounts/signup/", FORM)
    assert response.status_code == 302
    assert response["Location"] == "/servers/"
    user = User.objects.get(username="newbie")
    assert user.email == "newbie@example.com"
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.ADMIN
    assert "newbie" in membership.team.name
    assert client.session["_auth_user_id"] == str(user.pk)
    # The header of the next page shows the team, and the admin's token link.
    page = client.get("/team/members/").content.decode()
    assert escape(membership.team.name) in page
    assert 'href="/team/token/"' in page


def test_email_is_required(db) -> None:
    response = Client().post("/accounts/signup/", {**FORM, "email": ""})
    assert response.status_code == 200
    assert not User.objects.filter(username="newbie").exists()


def test_an_email_already_used_is_refused(db) -> None:
    User.objects.create_user("first", "Newbie@Example.com", "x")
    response = Client().post("/accounts/signup/", FORM)
    assert response.status_code == 200
    assert "exists already" in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_mismatched_passwords_keep_what_was_typed_except_passwords(db) -> None:
    response = Client().post("/accounts/signup/", {**FORM, "password2": "different-pass-99"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="newbie"' in body
    assert "a-Long-enough-pass-77" not in body
    assert not User.objects.filter(username="newbie").exists()


def test_a_logged_in_user_is_sent_to_the_servers(admin_user) -> None:
    client = Client()
    client.force_login(admin_user)
    assert client.get("/accounts/signup/")["Location"] == "/servers/"


def test_login_page_links_to_signup_when_open(db) -> None:
    assert 'href="/accounts/signup/"' in Client().get("/accounts/login/").content.decode()


def test_signup_disabled_answers_404_and_hides_the_link(db, settings) -> None:
    settings.SIGNUP_ENABLED = False
    client = Client()
    assert client.get("/accounts/signup/").status_code == 404
    assert client.post("/accounts/signup/", FORM).status_code == 404
    assert not User.objects.filter(username="newbie").exists()
    login_page = client.get("/accounts/login/").content.decode()
    assert "/accounts/signup/" not in login_page


def test_a_signup_on_the_way_to_an_invitation_joins_that_team_only(admin_user, team) -> None:
    from tests.conftest import client_for
    from tests.test_team_invitations import _invite

    link = _invite(client_for(admin_user), email="newbie@example.com", role="operator")
    client = Client()
    assert client.get(link).status_code == 200  # the invitation, opened before an account
    response = client.post(f"/accounts/signup/?next={link}", {**FORM, "next": link})
    assert response["Location"] == link
    user = User.objects.get(username="newbie")
    assert not Membership.objects.filter(user=user).exists()  # no personal team
    assert client.post(link)["Location"] == "/servers/"
    assert Membership.objects.get(user=user).team == team
