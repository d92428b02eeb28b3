"""/team/members/: everyone sees the list; only admins change roles and remove members; a
team always keeps at least one admin; another team's members answer 404."""

from __future__ import annotations

from django.contrib.auth.models import User

from panel.models import AuditEntry, Membership, Role, Team
from tests.conftest import client_for


def _membership(user: User, team: Team) -> Membership:
    return Membership.objects.get(user=user, team=team)


def test_every_role_sees_the_members(admin_user, manager_user, operator_user, viewer_user):
    for user in (admin_user, manager_user, operator_user, viewer_user):
        response = client_for(user).get("/team/members/")
        assert response.status_code == 200
        body = response.content.decode()
        for name in ("alice-admin", "mona-manager", "oscar-operator", "vera-viewer"):
            assert name in body


def test_non_admins_see_the_list_read_only(admin_user, viewer_user, manager_user) -> None:
    for user in (viewer_user, manager_user):
        body = client_for(user).get("/team/members/").content.decode()
        assert "/role/" not in body
        assert "/team/members/invite/" not in body
        assert "Change role" not in body
        assert "Only the team's admins" in body
    admin_page = client_for(admin_user).get("/team/members/").content.decode()
    assert "Change role" in admin_page
    assert "/team/members/invite/" in admin_page


def test_an_admin_changes_a_role(admin_user, viewer_user, team) -> None:
    member = _membership(viewer_user, team)
    response = client_for(admin_user).post(f"/team/members/{member.pk}/role/", {"role": "operator"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.OPERATOR
    entry = AuditEntry.objects.get(team=team)
    assert entry.action == "member.role"
    assert entry.target_name == "vera-viewer"
    # Stored as data, worded in the reader's language on the activity page.
    assert entry.changes == {"role": ["viewer", "operator"]}


def test_a_role_change_with_htmx_answers_the_members_fragment(admin_user, viewer_user, team):
    member = _membership(viewer_user, team)
    response = client_for(admin_user).post(
        f"/team/members/{member.pk}/role/", {"role": "manager"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="members">')
    assert "<html" not in body
    assert 'hx-swap-oob="true"' in body
    assert "vera-viewer is now Manager" in body


def test_a_bad_role_is_refused(admin_user, viewer_user, team) -> None:
    member = _membership(viewer_user, team)
    client_for(admin_user).post(f"/team/members/{member.pk}/role/", {"role": "owner"})
    member.refresh_from_db()
    assert member.role == Role.VIEWER


def test_non_admins_cannot_change_roles_or_remove(manager_user, viewer_user, team) -> None:
    target = _membership(viewer_user, team)
    own = _membership(manager_user, team)
    client = client_for(manager_user)
    assert client.post(f"/team/members/{own.pk}/role/", {"role": "admin"}).status_code == 403
    assert client.post(f"/team/members/{target.pk}/role/", {"role": "admin"}).status_code == 403
    assert client.get(f"/team/members/{target.pk}/remove/").status_code == 403
    assert client.post(f"/team/members/{target.pk}/remove/").status_code == 403
    own.refresh_from_db()
    assert own.role == Role.MANAGER
    assert Membership.objects.filter(pk=target.pk).exists()
    assert not AuditEntry.objects.exists()


def test_the_last_admin_cannot_be_demoted(admin_user, team) -> None:
    own = _membership(admin_user, team)
    response = client_for(admin_user).post(
        f"/team/members/{own.pk}/role/", {"role": "viewer"}, follow=True
    )
    assert "only admin" in response.content.decode()
    own.refresh_from_db()
    assert own.role == Role.ADMIN


def test_the_last_admin_cannot_be_removed_nor_leave(admin_user, viewer_user, team) -> None:
    own = _membership(admin_user, team)
    client = client_for(admin_user)
    confirm = client.get(f"/team/members/{own.pk}/remove/").content.decode()
    assert "only admin" in confirm
    assert f'action="/team/members/{own.pk}/remove/"' not in confirm
    client.post(f"/team/members/{own.pk}/remove/")
    assert Membership.objects.filter(pk=own.pk).exists()
    client.post("/team/leave/")
    assert Membership.objects.filter(pk=own.pk).exists()
    assert not AuditEntry.objects.exists()


def test_with_two_admins_one_may_step_down(admin_user, manager_user, team) -> None:
    second = _membership(manager_user, team)
    client = client_for(admin_user)
    client.post(f"/team/members/{second.pk}/role/", {"role": "admin"})
    own = _membership(admin_user, team)
    response = client.post(f"/team/members/{own.pk}/role/", {"role": "viewer"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.role == Role.VIEWER
    # Now mona is the last admin: she cannot go.
    mona = client_for(manager_user)
    mona.post(f"/team/members/{second.pk}/remove/")
    mona.post("/team/leave/")
    assert Membership.objects.filter(pk=second.pk, role=Role.ADMIN).exists()


def test_an_admin_removes_a_member_after_confirming(admin_user, operator_user, team) -> None:
    member = _membership(operator_user, team)
    client = client_for(admin_user)
    confirm = client.get(f"/team/members/{member.pk}/remove/")
    assert confirm.status_code == 200
    assert "Remove oscar-operator" in confirm.content.decode()
    assert Membership.objects.filter(pk=member.pk).exists()
    response = client.post(f"/team/members/{member.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert User.objects.filter(pk=operator_user.pk).exists()  # the account stays
    entry = AuditEntry.objects.get(team=team)
    assert (entry.action, entry.target_name) == ("member.remove", "oscar-operator")
    # The removed member no longer reaches the team's pages.
    assert client_for(operator_user).get("/team/members/").status_code == 403


def test_another_teams_member_answers_404(admin_user, outsider_user, other_team) -> None:
    foreign = _membership(outsider_user, other_team)
    client = client_for(admin_user)
    assert client.post(f"/team/members/{foreign.pk}/role/", {"role": "viewer"}).status_code == 404
    assert client.get(f"/team/members/{foreign.pk}/remove/").status_code == 404
    assert client.post(f"/team/members/{foreign.pk}/remove/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.ADMIN


def test_any_member_may_leave(viewer_user, admin_user, team) -> None:
    client = client_for(viewer_user)
    assert client.get("/team/leave/").status_code == 200
    response = client.post("/team/leave/")
    assert response.status_code == 302
    assert not Membership.objects.filter(user=viewer_user, team=team).exists()
    assert AuditEntry.objects.get(team=team).action == "member.leave"


def test_an_admin_removing_themselves_leaves(admin_user, manager_user, team) -> None:
    Membership.objects.filter(user=manager_user).update(role=Role.ADMIN)
    own = _membership(admin_user, team)
    response = client_for(admin_user).post(f"/team/members/{own.pk}/remove/")
    assert response["Location"] == "/servers/"
    assert not Membership.objects.filter(pk=own.pk).exists()


def test_a_user_in_no_team_is_told_so(db) -> None:
    loner = User.objects.create_user("loner", "l@example.com", "x")
    response = client_for(loner).get("/team/members/")
    assert response.status_code == 403
    assert "not in any team" in response.content.decode()
