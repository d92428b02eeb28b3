"""Every role x every action: the right HTTP status, and where forbidden, no API call at all.

Roles: viewer < operator (+ start/stop/reboot) < manager (+ create/edit/rename/delete)
< admin (+ token, members). An outsider (admin of another team) reaches the same URLs
with its own team's token: VPS.org answers 404 for a server it does not own, and the
panel answers 404 too, without ever sending this team's token.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses
from responses import matchers

from panel.models import Role
from tests.conftest import API, OTHER_TOKEN, TOKEN, client_for, page, server_json

SID = "12345"
ROLES = ("viewer", "operator", "manager", "admin")
# (name, method, url, data, minimum role)
ACTIONS: list[tuple[str, str, str, dict[str, str], Role]] = [
    ("list", "get", "/servers/", {}, Role.VIEWER),
    ("detail", "get", f"/servers/{SID}/", {}, Role.VIEWER),
    ("badge", "get", f"/servers/{SID}/status/", {}, Role.VIEWER),
    ("activity", "get", "/team/activity/", {}, Role.VIEWER),
    ("members", "get", "/team/members/", {}, Role.VIEWER),
    ("start", "post", f"/servers/{SID}/start/", {}, Role.OPERATOR),
    ("stop", "post", f"/servers/{SID}/stop/", {}, Role.OPERATOR),
    ("reboot", "post", f"/servers/{SID}/reboot/", {}, Role.OPERATOR),
    ("create form", "get", "/servers/new/", {}, Role.MANAGER),
    (
        "create",
        "post",
        "/servers/new/",
        {"name": "web-9", "plan_id": "1", "os_id": "5", "location": "us-west"},
        Role.MANAGER,
    ),
    ("edit form", "get", f"/servers/{SID}/edit/", {}, Role.MANAGER),
    (
        "edit",
        "post",
        f"/servers/{SID}/edit/",
        {"name": "web-9", "hostname": "web9.example.com", "backups_enabled": "on"},
        Role.MANAGER,
    ),
    ("rename", "post", f"/servers/{SID}/rename/", {"name": "web-10"}, Role.MANAGER),
    ("delete form", "get", f"/servers/{SID}/delete/", {}, Role.MANAGER),
    ("delete", "post", f"/servers/{SID}/delete/", {"name": "web-server-01"}, Role.MANAGER),
    ("ssh keys", "get", "/servers/ssh-keys/", {}, Role.MANAGER),
    ("save ssh key", "post", "/servers/ssh-keys/", {"name": "deploy", "key_id": "7"}, Role.MANAGER),
    ("token page", "get", "/team/token/", {}, Role.ADMIN),
    ("store token", "post", "/team/token/", {"token": "a-new-token-0000"}, Role.ADMIN),
    ("remove token", "post", "/team/token/remove/", {}, Role.ADMIN),
    (
        "invite",
        "post",
        "/team/members/invite/",
        {"email": "new@example.com", "role": "viewer"},
        Role.ADMIN,
    ),
    # Team operations (issue 12): delete protection, bulk actions, exports.
    ("protect", "post", f"/servers/{SID}/protect/", {}, Role.MANAGER),
    ("unprotect", "post", f"/servers/{SID}/unprotect/", {}, Role.MANAGER),
    ("bulk reboot", "post", "/servers/bulk/", {"action": "reboot", "id": SID}, Role.OPERATOR),
    ("server export", "get", "/servers/export.csv", {}, Role.VIEWER),
    ("activity export", "get", "/team/activity/export.csv", {}, Role.VIEWER),
]


def mock_vpsorg(api: responses.RequestsMock) -> None:
    """This team's account (TOKEN) owns server 12345; the other team's account owns none."""
    mine = [matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})]
    theirs = [matchers.header_matcher({"Authorization": f"Bearer {OTHER_TOKEN}"})]
    server = server_json(SID)
    server_url = re.compile(rf"{re.escape(API)}/servers/{SID}/$")
    api.get(f"{API}/servers/", json=page([server]), match=mine)
    api.get(server_url, json=server, match=mine)
    for action, status in (("start", "starting"), ("stop", "stopping"), ("reboot", "rebooting")):
        body = {"status": "success", "message": "ok", "server": {**server, "status": status}}
        api.post(f"{API}/servers/{SID}/{action}/", json=body, match=mine)
    api.post(f"{API}/servers/", status=201, json=server_json("12399", status="provisioning"),
             match=mine)  # fmt: skip
    api.put(server_url, json=server, match=mine)
    api.patch(server_url, json=server, match=mine)
    api.delete(server_url, status=204, match=mine)
    plan = {"id": 1, "name": "Standard VPS", "vcpus": 2, "memory": 4096, "storage": 80,
            "price_monthly": "10.00", "available": True, "locations": ["us-west"]}  # fmt: skip
    api.get(f"{API}/plans/", json=page([plan]))
    api.get(f"{API}/account/me/", json={"account": {"email": "a@example.com"},
                                         "token": {"name": "t", "permissions": []}})  # fmt: skip
    api.get(f"{API}/servers/", json=page([]), match=theirs)
    not_found = {"status": 404, "json": {"detail": "Not found."}, "match": theirs}
    for method in ("get", "put", "patch", "delete"):
        getattr(api, method)(re.compile(rf"{re.escape(API)}/servers/.+"), **not_found)
    api.post(re.compile(rf"{re.escape(API)}/servers/.+"), **not_found)


def send(user: Any, method: str, url: str, data: dict[str, str]) -> Any:
    browser = client_for(user)
    return browser.get(url) if method == "get" else browser.post(url, data)


@pytest.fixture
def members(admin_user, manager_user, operator_user, viewer_user) -> dict[str, Any]:
    return {
        "admin": admin_user,
        "manager": manager_user,
        "operator": operator_user,
        "viewer": viewer_user,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "url", "data", "minimum"), ACTIONS,
                         ids=[a[0] for a in ACTIONS])  # fmt: skip
def test_role_matrix(
    members: dict[str, Any],
    api: responses.RequestsMock,
    role: str,
    name: str,
    method: str,
    url: str,
    data: dict[str, str],
    minimum: Role,
) -> None:
    mock_vpsorg(api)
    response = send(members[role], method, url, data)
    allowed = members[role].memberships.get().has_role(minimum)
    if allowed:
        assert response.status_code in (200, 302), (role, name, response.status_code)
    else:
        assert response.status_code == 403, (role, name, response.status_code)
        assert len(api.calls) == 0, (role, name, [c.request.url for c in api.calls])


@pytest.mark.parametrize(
    ("name", "method", "url", "data"),
    [(a[0], a[1], a[2], a[3]) for a in ACTIONS if SID in a[2]],
    ids=[a[0] for a in ACTIONS if SID in a[2]],
)
def test_an_outsider_cannot_see_or_touch_this_teams_server(
    outsider_user: Any, team: Any, api: responses.RequestsMock, name: str, method: str,
    url: str, data: dict[str, str],
) -> None:  # fmt: skip
    mock_vpsorg(api)
    response = send(outsider_user, method, url, data)
    assert response.status_code == 404, (name, response.status_code)
    assert b"web-server-01" not in response.content
    # Only the outsider's own token ever went upstream.
    assert all(c.request.headers["Authorization"] == f"Bearer {OTHER_TOKEN}" for c in api.calls)


def test_an_outsiders_list_shows_only_its_own_team(outsider_user: Any, team: Any, api) -> None:
    mock_vpsorg(api)
    response = client_for(outsider_user).get("/servers/")
    assert response.status_code == 200
    assert b"web-server-01" not in response.content
    assert b"data-server-id" not in response.content
