"""The Django admin for staff: users, teams, memberships, invitations; the audit read-only;
the token never shown."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from panel.audit import Action, record
from panel.models import AuditEntry, Invitation, Membership, Role
from tests.conftest import TOKEN, client_for


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw-root")


def test_staff_browse_every_model(staff, admin_user, team) -> None:
    record(team, admin_user, Action.SERVER_START, target_id="1")
    Invitation.issue(team, "i@example.com", Role.VIEWER, admin_user)
    client = client_for(staff)
    for path in (
        "/admin/",
        "/admin/auth/user/",
        "/admin/panel/team/",
        f"/admin/panel/team/{team.pk}/change/",
        "/admin/panel/membership/",
        "/admin/panel/teamtoken/",
        "/admin/panel/auditentry/",
        f"/admin/panel/auditentry/{AuditEntry.objects.get().pk}/change/",
        "/admin/panel/invitation/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert TOKEN not in response.content.decode(), path


def test_staff_can_change_a_membership(staff, viewer_user, team) -> None:
    membership = Membership.objects.get(user=viewer_user)
    response = client_for(staff).post(
        f"/admin/panel/membership/{membership.pk}/change/",
        {
            "team": team.pk,
            "user": viewer_user.pk,
            "role": "operator",
            "joined_at_0": "2026-01-01",
            "joined_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.OPERATOR


def test_the_audit_cannot_be_added_edited_or_deleted(staff, admin_user, team) -> None:
    entry = record(team, admin_user, Action.SERVER_DELETE, target_id="5", target_name="db")
    client = client_for(staff)
    assert client.get("/admin/panel/auditentry/add/").status_code == 403
    response = client.post(
        f"/admin/panel/auditentry/{entry.pk}/change/", {"target_name": "tampered"}
    )
    assert response.status_code == 403
    assert (
        client.post(f"/admin/panel/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    bulk = client.post(
        "/admin/panel/auditentry/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 403)
    entry.refresh_from_db()
    assert entry.target_name == "db"
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_token_admin_shows_no_secret_and_allows_no_edit(staff, team) -> None:
    stored = team.api_token
    client = client_for(staff)
    page = client.get(f"/admin/panel/teamtoken/{stored.pk}/change/").content.decode()
    assert TOKEN not in page
    assert bytes(stored.encrypted).decode() not in page
    assert "…" + TOKEN[-4:] in page
    assert client.get("/admin/panel/teamtoken/add/").status_code == 403


def test_removing_a_token_in_the_admin_is_in_the_teams_activity(staff, team) -> None:
    """Staff may delete a team's token in the admin; the team's trail must say so, as it
    does when an admin of the team removes it on the token page."""
    stored = team.api_token
    response = client_for(staff).post(
        f"/admin/panel/teamtoken/{stored.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(team=team, action=Action.TOKEN_REMOVE)
    assert entry.username == "root"
    assert entry.target_name == "…" + TOKEN[-4:]


def test_removing_tokens_in_bulk_in_the_admin_is_recorded_per_team(staff, team, other_team) -> None:
    from panel.models import TeamToken

    ids = list(TeamToken.objects.values_list("pk", flat=True))
    assert len(ids) == 2
    client_for(staff).post(
        "/admin/panel/teamtoken/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert not TeamToken.objects.exists()
    for each in (team, other_team):
        assert AuditEntry.objects.filter(team=each, action=Action.TOKEN_REMOVE).count() == 1
