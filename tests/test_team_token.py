"""The token page: /team/token/ (admins only), checked with GET /account/me/ before storing."""

from __future__ import annotations

import pytest
import requests
import responses
from django.contrib.auth.models import User

from panel.models import AuditEntry, Team, TeamToken
from tests.conftest import API, TOKEN, client_for

NEW_TOKEN = "brand-new-token-value-9f8e7d6c"
ME = f"{API}/account/me/"
ACCOUNT = {
    "account": {
        "email": "ops@acme.example",
        "first_name": "Ada",
        "last_name": "Ops",
        "company_name": "Acme",
        "created_at": "2024-05-01",
    },
    "token": {"name": "panel token", "permissions": ["servers:read", "servers:write"]},
}


@pytest.fixture
def bare_team(db) -> Team:
    return Team.objects.create(name="Fresh")


@pytest.fixture
def bare_admin(bare_team: Team) -> User:
    from panel.models import Membership, Role

    user = User.objects.create_user("fresh-admin", "fa@example.com", "pw")
    Membership.objects.create(team=bare_team, user=user, role=Role.ADMIN)
    return user


def test_admin_sees_the_stored_tokens_details_and_last_four(admin_user, team) -> None:
    stored = team.api_token
    stored.account_email = "ops@acme.example"
    stored.permissions = ["servers:read"]
    stored.stored_by = admin_user
    stored.save()
    response = client_for(admin_user).get("/team/token/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme token" in body
    assert "ops@acme.example" in body
    assert "servers:read" in body
    assert TOKEN[-4:] in body
    assert "alice-admin" in body
    assert TOKEN not in body


@pytest.mark.parametrize("fixture", ["manager_user", "operator_user", "viewer_user"])
def test_only_admins_reach_the_token_page(request, fixture: str, api) -> None:
    user = request.getfixturevalue(fixture)
    client = client_for(user)
    assert client.get("/team/token/").status_code == 403
    assert client.post("/team/token/", {"token": NEW_TOKEN}).status_code == 403
    assert client.get("/team/token/remove/").status_code == 403
    assert client.post("/team/token/remove/").status_code == 403
    assert len(api.calls) == 0
    assert TeamToken.objects.get().get_token() == TOKEN


def test_anonymous_is_sent_to_log_in(db) -> None:
    from django.test import Client

    response = Client().get("/team/token/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_storing_a_token_checks_it_with_account_me_first(bare_admin, bare_team, api) -> None:
    api.get(ME, json=ACCOUNT)
    response = client_for(bare_admin).post("/team/token/", {"token": NEW_TOKEN})
    assert response.status_code == 302
    assert response["Location"] == "/team/token/"
    assert len(api.calls) == 1
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {NEW_TOKEN}"
    stored = TeamToken.objects.get(team=bare_team)
    assert stored.get_token() == NEW_TOKEN
    assert stored.last4 == NEW_TOKEN[-4:]
    assert stored.token_name == "panel token"
    assert stored.account_email == "ops@acme.example"
    assert stored.account_name == "Ada Ops"
    assert stored.permissions == ["servers:read", "servers:write"]
    assert stored.stored_by == bare_admin
    entry = AuditEntry.objects.get(team=bare_team)
    assert (entry.action, entry.outcome, entry.username) == ("token.set", "ok", "fresh-admin")

    page = client_for(bare_admin).get("/team/token/").content.decode()
    for shown in ("panel token", "Ada Ops", "ops@acme.example", "servers:write", "6c"):
        assert shown in page
    assert NEW_TOKEN not in page


def test_surrounding_whitespace_of_a_pasted_token_is_not_stored(bare_admin, bare_team, api):
    api.get(ME, json=ACCOUNT)
    client_for(bare_admin).post("/team/token/", {"token": f"  {NEW_TOKEN}\n"})
    assert TeamToken.objects.get(team=bare_team).get_token() == NEW_TOKEN


def test_a_401_is_a_form_error_and_nothing_is_stored(bare_admin, bare_team, api) -> None:
    api.get(ME, status=401, json={"detail": "Invalid token."})
    response = client_for(bare_admin).post("/team/token/", {"token": NEW_TOKEN})
    assert response.status_code == 200
    body = response.content.decode()
    assert "rejected this token (401)" in body
    assert NEW_TOKEN not in body  # the password input is rendered empty
    assert not TeamToken.objects.filter(team=bare_team).exists()
    entry = AuditEntry.objects.get(team=bare_team)
    assert (entry.action, entry.outcome, entry.status_code) == ("token.set", "error", 401)


def test_a_rejected_replacement_keeps_the_old_token(admin_user, team, api) -> None:
    api.get(ME, status=401, json={"detail": "Invalid token."})
    response = client_for(admin_user).post("/team/token/", {"token": NEW_TOKEN})
    assert response.status_code == 200
    assert TeamToken.objects.get(team=team).get_token() == TOKEN


@pytest.mark.parametrize(
    ("mock", "text"),
    [
        ({"status": 500, "json": {"detail": "boom"}}, "having trouble right now"),
        ({"status": 503, "body": "down"}, "having trouble right now"),
        ({"body": requests.ConnectTimeout("slow")}, "is not answering right now"),
        ({"status": 200, "body": "<html>not json"}, "could not understand"),
        ({"status": 403, "json": {"detail": "nope"}}, "not allowed"),
    ],
)
def test_other_upstream_failures_are_clear_form_errors(bare_admin, bare_team, api, mock, text):
    api.add(responses.GET, ME, **mock)
    response = client_for(bare_admin).post("/team/token/", {"token": NEW_TOKEN})
    assert response.status_code == 200
    body = response.content.decode()
    assert "nothing was stored" in body
    assert text in body
    assert NEW_TOKEN not in body
    assert not TeamToken.objects.filter(team=bare_team).exists()


def test_an_empty_token_is_refused_without_calling_the_api(bare_admin, bare_team, api) -> None:
    response = client_for(bare_admin).post("/team/token/", {"token": "   "})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert len(api.calls) == 0


def test_replacing_the_token_is_audited_as_a_replacement(admin_user, team, api) -> None:
    api.get(ME, json=ACCOUNT)
    response = client_for(admin_user).post("/team/token/", {"token": NEW_TOKEN})
    assert response.status_code == 302
    assert TeamToken.objects.get(team=team).get_token() == NEW_TOKEN
    assert TeamToken.objects.filter(team=team).count() == 1
    assert AuditEntry.objects.get(team=team).action == "token.replace"


def test_removing_asks_for_confirmation_then_removes(admin_user, team) -> None:
    client = client_for(admin_user)
    confirm = client.get("/team/token/remove/")
    assert confirm.status_code == 200
    assert TOKEN[-4:] in confirm.content.decode()
    assert TeamToken.objects.filter(team=team).exists()
    response = client.post("/team/token/remove/")
    assert response.status_code == 302
    assert not TeamToken.objects.filter(team=team).exists()
    entry = AuditEntry.objects.get(team=team)
    assert entry.action == "token.remove"
    page = client.get("/team/token/").content.decode()
    assert "no API token yet" in page


def test_removing_when_there_is_none_says_so(bare_admin) -> None:
    response = client_for(bare_admin).post("/team/token/remove/", follow=True)
    assert "no API token to remove" in response.content.decode()


def test_an_admin_changes_only_the_current_teams_token(admin_user, team, other_team, api):
    api.get(ME, json=ACCOUNT)
    client_for(admin_user).post("/team/token/", {"token": NEW_TOKEN})
    client_for(admin_user).post("/team/token/remove/")
    from tests.conftest import OTHER_TOKEN

    assert TeamToken.objects.get(team=other_team).get_token() == OTHER_TOKEN
