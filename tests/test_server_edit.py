"""Editing a server (PUT with all three fields) and renaming it inline (PATCH, htmx)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from panel.models import AuditEntry
from tests.conftest import API, client_for, server_json

URL = f"{API}/servers/12345/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def detail(**overrides: Any) -> dict[str, Any]:
    data = server_json(12345, backups_enabled=True)
    data.update(overrides)
    return data


def sent(api, method: str) -> list[Any]:
    return [json.loads(c.request.body) for c in api.calls if c.request.method == method]


# --- edit ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_is_prefilled(api, manager_user) -> None:
    api.get(URL, json=detail())
    response = client_for(manager_user).get("/servers/12345/edit/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="name" value="web-server-01"' in html
    assert 'name="hostname" value="web01.example.com"' in html
    assert 'type="checkbox" name="backups_enabled"' in html
    assert "checked" in html.split('name="backups_enabled"')[1].split(">")[0]
    assert len(api.calls) == 1


@pytest.mark.django_db
def test_save_sends_put_with_all_three_fields(api, manager_user, team) -> None:
    api.put(URL, json=detail(name="web-renamed", hostname="new.example.com", backups_enabled=False))
    response = client_for(manager_user).post(
        "/servers/12345/edit/", {"name": "web-renamed", "hostname": "new.example.com"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/servers/12345/"
    assert sent(api, "PUT") == [
        {"name": "web-renamed", "hostname": "new.example.com", "backups_enabled": False}
    ]
    assert len(api.calls) == 1  # nothing fetched before the PUT
    entry = AuditEntry.objects.get(team=team, action="server.edit")
    assert (entry.outcome, entry.target_id, entry.target_name) == ("ok", "12345", "web-renamed")


@pytest.mark.django_db
def test_an_empty_hostname_is_sent_as_null(api, manager_user) -> None:
    api.put(URL, json=detail(hostname=None))
    client_for(manager_user).post(
        "/servers/12345/edit/", {"name": "web-server-01", "hostname": "", "backups_enabled": "on"}
    )
    assert sent(api, "PUT") == [
        {"name": "web-server-01", "hostname": None, "backups_enabled": True}
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"name": "bad name", "hostname": ""}, "Use only letters, digits and hyphens"),
        ({"name": "ok", "hostname": "nodots"}, "fully qualified domain name"),
        ({"name": "", "hostname": ""}, "This field is required."),
    ],
)
def test_invalid_input_is_not_sent(api, manager_user, data, text) -> None:
    response = client_for(manager_user).post("/servers/12345/edit/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert text in html
    assert len(api.calls) == 0
    assert f'value="{data["name"]}"' in html or not data["name"]


@pytest.mark.django_db
def test_400_field_errors_land_on_fields_and_keep_the_input(api, manager_user, team) -> None:
    api.put(URL, status=400, json={"hostname": ["Already used by another server."]})
    response = client_for(manager_user).post(
        "/servers/12345/edit/", {"name": "web-x", "hostname": "taken.example.com"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Already used by another server." in html.split('id="id_hostname_error"')[1]
    assert 'value="taken.example.com"' in html and 'value="web-x"' in html
    entry = AuditEntry.objects.get(team=team, action="server.edit")
    assert entry.outcome == "error" and entry.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("failure", "text"),
    [
        ({"status": 500, "json": {}}, "is having trouble right now"),
        ({"body": requests.exceptions.ReadTimeout("slow")}, "is not answering right now"),
        ({"status": 403, "json": {"detail": "Read-only token."}}, "not allowed to do this"),
    ],
)
def test_upstream_failures_on_save_keep_the_form(api, manager_user, failure, text) -> None:
    api.put(URL, **failure)
    response = client_for(manager_user).post(
        "/servers/12345/edit/", {"name": "web-x", "hostname": "x.example.com"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert text in html
    assert 'value="web-x"' in html


@pytest.mark.django_db
def test_an_upstream_failure_on_open_offers_to_try_again(api, manager_user) -> None:
    api.get(URL, status=502, json={})
    response = client_for(manager_user).get("/servers/12345/edit/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "HTTP 502" in html
    assert 'href="/servers/12345/edit/">Try again</a>' in html


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_server_is_a_404(api, manager_user, method) -> None:
    api.get(URL, status=404, json={"detail": "Not found."})
    api.put(URL, status=404, json={"detail": "Not found."})
    response = getattr(client_for(manager_user), method)(
        "/servers/12345/edit/", {"name": "x", "hostname": ""} if method == "post" else None
    )
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer_user", "operator_user"])
def test_only_managers_and_admins_edit(api, request, role) -> None:
    c = client_for(request.getfixturevalue(role))
    assert c.get("/servers/12345/edit/").status_code == 403
    assert c.post("/servers/12345/edit/", {"name": "x"}).status_code == 403
    assert len(api.calls) == 0


# --- rename ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_rename_through_htmx_sends_patch_with_the_name_only(api, manager_user, team) -> None:
    api.patch(URL, json=detail(name="web-new"))
    response = client_for(manager_user).post("/servers/12345/rename/", {"name": "web-new"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert sent(api, "PATCH") == [{"name": "web-new"}]
    assert html.lstrip().startswith('<div id="server-heading"')
    assert "<h1>web-new</h1>" in html
    assert "Name saved." in html
    assert "<title>web-new · VPS.org Panel</title>" in html
    entry = AuditEntry.objects.get(team=team, action="server.rename")
    assert (entry.outcome, entry.target_name) == ("ok", "web-new")
    # The page's recent activity shows it at once (issue 8).
    activity = html.split('<section id="server-activity"')[1]
    assert activity.split(">")[0].endswith('hx-swap-oob="true"')
    assert "Renamed" in activity or "rename" in activity.lower()


@pytest.mark.django_db
def test_a_failed_rename_empties_the_earlier_name_saved(api, manager_user) -> None:
    """A new error replaces the old success beside the field (issue 8: no stale words)."""
    api.patch(URL, status=503, json={"detail": "down"})
    response = client_for(manager_user).post("/servers/12345/rename/", {"name": "x"}, **HTMX)
    html = response.content.decode()
    assert response["HX-Retarget"] == "#rename-form"
    assert '<p id="rename-status" class="saved" role="status" hx-swap-oob="true"></p>' in html
    assert "VPS.org is having trouble right now." in html


@pytest.mark.django_db
def test_rename_through_htmx_renames_the_breadcrumb_and_the_power_buttons(
    api, manager_user
) -> None:
    """Nothing on the page keeps the old name: not the breadcrumb, and not the power
    buttons, whose names and confirmation ("Stop web-old?") would otherwise lie."""
    api.patch(URL, json=detail(name="web-new", status="active"))
    html = (
        client_for(manager_user)
        .post("/servers/12345/rename/", {"name": "web-new"}, **HTMX)
        .content.decode()
    )
    assert '<span id="crumb-current" aria-current="page" hx-swap-oob="true">web-new</span>' in html
    actions = html.split('id="card-actions" hx-swap-oob="true"')[1]
    assert 'data-confirm-title="Stop web-new?"' in actions
    assert "web-server-01" not in actions


@pytest.mark.django_db
def test_the_detail_page_names_the_parts_a_rename_replaces(api, manager_user) -> None:
    api.get(URL, json=detail(status="active"))
    html = client_for(manager_user).get("/servers/12345/").content.decode()
    assert '<span aria-current="page" id="crumb-current">web-server-01</span>' in html
    assert '<div class="card-actions" id="card-actions">' in html
    assert "hx-swap-oob" not in html


@pytest.mark.django_db
def test_rename_without_javascript_redirects_with_a_message(api, manager_user) -> None:
    api.patch(URL, json=detail(name="web-new"))
    api.get(URL, json=detail(name="web-new"))
    response = client_for(manager_user).post(
        "/servers/12345/rename/", {"name": "web-new"}, follow=True
    )
    assert response.redirect_chain == [("/servers/12345/", 302)]
    assert "Server renamed to web-new." in response.content.decode()


@pytest.mark.django_db
def test_an_invalid_name_answers_the_form_in_place(api, manager_user) -> None:
    response = client_for(manager_user).post(
        "/servers/12345/rename/", {"name": "no spaces"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#rename-form"
    assert response["HX-Reswap"] == "outerHTML"
    assert html.lstrip().startswith('<form id="rename-form"')
    assert "Use only letters, digits and hyphens" in html
    assert 'value="no spaces"' in html
    assert len(api.calls) == 0


@pytest.mark.django_db
def test_a_400_from_the_api_lands_on_the_name(api, manager_user) -> None:
    api.patch(URL, status=400, json={"name": ["That name is taken."]})
    html = (
        client_for(manager_user)
        .post("/servers/12345/rename/", {"name": "taken"}, **HTMX)
        .content.decode()
    )
    assert "That name is taken." in html.split('id="rename-name_error"')[1]


@pytest.mark.django_db
def test_an_upstream_failure_without_javascript_keeps_the_typed_name(
    api, manager_user, team
) -> None:
    api.patch(URL, status=500, json={})
    response = client_for(manager_user).post("/servers/12345/rename/", {"name": "web-new"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "having trouble right now" in html
    assert "<h1>Rename server</h1>" in html
    assert 'value="web-new"' in html
    assert AuditEntry.objects.get(team=team, action="server.rename").outcome == "error"


@pytest.mark.django_db
def test_rename_is_post_only_and_for_managers(api, manager_user, operator_user) -> None:
    assert client_for(manager_user).get("/servers/12345/rename/").status_code == 405
    assert (
        client_for(operator_user).post("/servers/12345/rename/", {"name": "x"}).status_code == 403
    )
    assert len(api.calls) == 0
