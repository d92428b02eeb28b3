"""Sign-ins, failed sign-ins, two-factor set-up and removal, recovery-code use and password
changes appear in the activity of every team of the account."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.contrib.auth.models import User
from django.test import Client

from panel.audit import Action
from panel.models import AuditEntry, Membership, Role, Team
from tests.conftest import client_for
from tests.test_accounts_two_factor import (
    PASSWORD,
    _log_out,
    _password_step,
    _set_up_totp,
    _sign_up,
)


def _actions(team: Team) -> list[str]:
    return list(AuditEntry.objects.filter(team=team).values_list("action", flat=True))


def _two_teams(user: User) -> tuple[Team, Team]:
    personal = Membership.objects.get(user=user).team
    other = Team.objects.create(name="Shared")
    Membership.objects.create(team=other, user=user, role=Role.VIEWER)
    return personal, other


def test_a_sign_in_is_recorded_in_each_team(db) -> None:
    client = Client()
    user = _sign_up(client)
    personal, other = _two_teams(user)
    _log_out(client)
    client.post(
        "/accounts/login/", {"login": "tess", "password": PASSWORD}, REMOTE_ADDR="192.0.2.5"
    )
    for team in (personal, other):
        entry = AuditEntry.objects.get(
            team=team, action=Action.SIGN_IN, message__contains="192.0.2.5"
        )
        assert entry.username == "tess"


def test_a_failed_sign_in_is_recorded_without_a_login(db) -> None:
    client = Client()
    user = _sign_up(client)
    personal, other = _two_teams(user)
    _log_out(client)
    client.post("/accounts/login/", {"login": "TESS", "password": "wrong"}, REMOTE_ADDR="192.0.2.6")
    for team in (personal, other):
        entry = AuditEntry.objects.get(team=team, action=Action.SIGN_IN_FAILED)
        assert "192.0.2.6" in entry.message
    assert not AuditEntry.objects.filter(
        action=Action.SIGN_IN, message__contains="192.0.2.6"
    ).exists()


def test_an_unknown_username_records_nothing(db) -> None:
    Client().post("/accounts/login/", {"login": "nobody", "password": "x"})
    assert not AuditEntry.objects.exists()


def test_two_factor_set_up_use_and_removal_are_recorded(
    db, django_capture_on_commit_callbacks
) -> None:
    client = Client()
    user = _sign_up(client)
    personal, other = _two_teams(user)
    # allauth sends its signal once the set-up's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        _secret, codes = _set_up_totp(client)
    for team in (personal, other):
        assert Action.TWO_FACTOR_ADD in _actions(team)
    _log_out(client)

    _password_step(client)
    client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    for team in (personal, other):
        actions = _actions(team)
        assert Action.SECOND_FACTOR_FAILED in actions
        assert Action.RECOVERY_CODE_USE in actions
        assert Action.SIGN_IN in actions

    # Removing the authenticator app: allauth asks to confirm access first (the password).
    response = client.post("/accounts/2fa/totp/deactivate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    with django_capture_on_commit_callbacks(execute=True):
        # allauth then carries out the deactivation it had held back.
        confirmed = client.post(response["Location"], {"password": PASSWORD})
    assert confirmed.status_code == 302
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    for team in (personal, other):
        removed = set(
            AuditEntry.objects.filter(team=team, action=Action.TWO_FACTOR_REMOVE).values_list(
                "message", flat=True
            )
        )
        # The app, and the recovery codes that go with the last factor.
        assert "authenticator app" in removed


def test_a_password_change_is_recorded(db) -> None:
    client = Client()
    user = _sign_up(client)
    new = "another-Long-pass-88"
    client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    team = Membership.objects.get(user=user).team
    assert Action.PASSWORD_CHANGE in _actions(team)


def test_the_activity_page_labels_the_account_acts(admin_user, team) -> None:
    from panel.audit import record_for_account

    record_for_account(admin_user, Action.SIGN_IN_FAILED, message="from 192.0.2.9")
    record_for_account(admin_user, Action.RECOVERY_CODE_USE)
    html = client_for(admin_user).get("/team/activity/").text
    assert "Failed sign-in" in html
    assert "Recovery code used" in html


def test_the_address_of_a_sign_in_is_worded_in_the_readers_language(db) -> None:
    """The entry keeps the address alone; "from" is the reader's word, not the words of
    whoever signed in. An older entry that kept the words shows them as they were."""
    from django.utils import translation

    client = Client()
    user = _sign_up(client)
    _log_out(client)
    with translation.override("pt-br"):
        client.post(
            "/accounts/login/",
            {"login": user.username, "password": PASSWORD},
            REMOTE_ADDR="192.0.2.7",
            HTTP_ACCEPT_LANGUAGE="pt-br",
        )
    entry = AuditEntry.objects.filter(action=Action.SIGN_IN, message="192.0.2.7").first()
    assert entry is not None
    with translation.override("en"):
        assert entry.display_message == "from 192.0.2.7"
    with translation.override("pt-br"):
        assert entry.display_message == "de 192.0.2.7"
        older = AuditEntry(action=Action.SIGN_IN, message="from 192.0.2.8")
        assert older.display_message == "from 192.0.2.8"
    page = client.get("/team/activity/", HTTP_ACCEPT_LANGUAGE="en")
    assert "from 192.0.2.7" in page.content.decode()
