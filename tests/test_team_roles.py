"""Every team page checks the role on the server: each role and each team endpoint gives the
right status; forbidden changes change nothing and call no API; another team's objects 404."""

from __future__ import annotations

import pytest
from django.test import Client

from panel.models import AuditEntry, Invitation, Membership, Role
from tests.conftest import client_for

ROLES = ["admin_user", "manager_user", "operator_user", "viewer_user"]

# (method, path, data, minimum role, status when allowed)
ENDPOINTS = [
    ("get", "/team/token/", None, Role.ADMIN, 200),
    ("post", "/team/token/", {"token": ""}, Role.ADMIN, 200),
    ("get", "/team/token/remove/", None, Role.ADMIN, 200),
    ("post", "/team/token/remove/", {}, Role.ADMIN, 302),
    ("get", "/team/members/", None, Role.VIEWER, 200),
    (
        "post",
        "/team/members/invite/",
        {"email": "n@example.com", "role": "viewer"},
        Role.ADMIN,
        200,
    ),
    ("post", "/team/members/{viewer}/role/", {"role": "operator"}, Role.ADMIN, 302),
    ("get", "/team/members/{viewer}/remove/", None, Role.ADMIN, 200),
    ("post", "/team/members/{viewer}/remove/", {}, Role.ADMIN, 302),
    ("post", "/team/invitations/{invitation}/revoke/", {}, Role.ADMIN, 302),
    ("get", "/team/activity/", None, Role.VIEWER, 200),
    ("get", "/team/leave/", None, Role.VIEWER, 200),
]

RANK = {"admin_user": Role.ADMIN, "manager_user": Role.MANAGER}
RANK |= {"operator_user": Role.OPERATOR, "viewer_user": Role.VIEWER}


@pytest.fixture
def everyone(admin_user, manager_user, operator_user, viewer_user, team):
    invitation, _key = Invitation.issue(team, "pending@example.com", Role.VIEWER, admin_user)
    ids = {
        "viewer": Membership.objects.get(user=viewer_user).pk,
        "invitation": invitation.pk,
    }
    return ids


def _state() -> tuple:
    return (
        sorted(Membership.objects.values_list("user__username", "role")),
        Invitation.objects.count(),
        AuditEntry.objects.count(),
        list(Membership.objects.values_list("team__api_token__last4", flat=True)),
    )


@pytest.mark.parametrize("fixture", ROLES)
@pytest.mark.parametrize(("method", "path", "data", "minimum", "allowed"), ENDPOINTS)
def test_role_matrix_of_the_team_pages(
    request, everyone, api, fixture, method, path, data, minimum, allowed
) -> None:
    user = request.getfixturevalue(fixture)
    membership = Membership.objects.get(user=user)
    url = path.format(**everyone)
    before = _state()
    response = getattr(client_for(user), method)(url, data or {})
    if membership.has_role(minimum):
        assert response.status_code == allowed, (fixture, method, url)
    else:
        assert response.status_code == 403, (fixture, method, url)
        assert _state() == before  # nothing changed
    assert len(api.calls) == 0


@pytest.mark.parametrize(("method", "path", "data", "minimum", "allowed"), ENDPOINTS)
def test_anonymous_is_sent_to_log_in_everywhere(everyone, method, path, data, minimum, allowed):
    before = _state()
    response = getattr(Client(), method)(path.format(**everyone), data or {})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert _state() == before


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [(m, p, d) for m, p, d, _min, _ok in ENDPOINTS if "{" in p],
)
def test_an_admin_of_another_team_gets_404_for_this_teams_objects(
    everyone, outsider_user, method, path, data
) -> None:
    before = _state()
    response = getattr(client_for(outsider_user), method)(path.format(**everyone), data or {})
    assert response.status_code == 404
    assert _state() == before


def test_forbidden_pages_say_so_in_words(viewer_user) -> None:
    response = client_for(viewer_user).get("/team/token/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "Not allowed" in body
    assert "(Viewer) does not allow this" in body
