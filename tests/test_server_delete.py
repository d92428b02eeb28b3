"""Deleting a server: a confirmation page on which the user types its name."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from panel.models import AuditEntry
from tests.conftest import API, client_for, server_json

URL = f"{API}/servers/12345/"


def deletes(api) -> list[Any]:
    return [c for c in api.calls if c.request.method == "DELETE"]


@pytest.mark.django_db
def test_the_confirmation_page(api, manager_user) -> None:
    api.get(URL, json=server_json())
    response = client_for(manager_user).get("/servers/12345/delete/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Delete web-server-01?" in html
    assert "This cannot be undone" in html
    assert '<input type="text" name="name"' in html
    assert 'data-confirm-name="web-server-01"' in html
    assert deletes(api) == []


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["", "web-server-0", "WEB-SERVER-01", "web-server-01x"])
def test_the_wrong_name_deletes_nothing(api, manager_user, team, typed) -> None:
    api.get(URL, json=server_json())
    response = client_for(manager_user).post("/servers/12345/delete/", {"name": typed})
    html = response.content.decode()
    assert response.status_code == 200
    assert deletes(api) == []
    assert "nothing was deleted" in html or "This field is required." in html
    assert not AuditEntry.objects.filter(team=team).exists()


@pytest.mark.django_db
def test_the_right_name_deletes_and_returns_to_the_list(api, manager_user, team) -> None:
    api.get(URL, json=server_json())
    api.delete(URL, status=204)
    api.get(f"{API}/servers/", json={"count": 0, "results": []})
    api.get(f"{API}/plans/", json={"count": 0, "results": []})
    response = client_for(manager_user).post(
        "/servers/12345/delete/", {"name": " web-server-01 "}, follow=True
    )
    assert response.redirect_chain == [("/servers/", 302)]
    assert "Server web-server-01 deleted." in response.content.decode()
    assert len(deletes(api)) == 1
    entry = AuditEntry.objects.get(team=team, action="server.delete")
    assert (entry.outcome, entry.target_id, entry.target_name) == ("ok", "12345", "web-server-01")


@pytest.mark.django_db
def test_already_gone_at_delete_time(api, manager_user, team) -> None:
    api.get(URL, json=server_json())
    api.delete(URL, status=404, json={"detail": "Not found."})
    response = client_for(manager_user).post("/servers/12345/delete/", {"name": "web-server-01"})
    assert response.status_code == 302 and response["Location"] == "/servers/"
    entry = AuditEntry.objects.get(team=team, action="server.delete")
    assert entry.outcome == "error" and entry.status_code == 404


@pytest.mark.django_db
def test_already_gone_says_so_on_the_list(api, manager_user) -> None:
    api.get(URL, json=server_json())
    api.delete(URL, status=404, json={"detail": "Not found."})
    api.get(f"{API}/servers/", json={"count": 0, "results": []})
    api.get(f"{API}/plans/", json={"count": 0, "results": []})
    response = client_for(manager_user).post(
        "/servers/12345/delete/", {"name": "web-server-01"}, follow=True
    )
    assert "was already gone" in response.content.decode()


@pytest.mark.django_db
def test_gone_before_the_confirmation_was_read(api, manager_user) -> None:
    api.get(URL, status=404, json={"detail": "Not found."})
    response = client_for(manager_user).post("/servers/12345/delete/", {"name": "web-server-01"})
    assert response.status_code == 404
    assert deletes(api) == []
    assert client_for(manager_user).get("/servers/12345/delete/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("failure", "text"),
    [
        ({"status": 500, "json": {}}, "VPS.org is having trouble right now."),
        ({"body": requests.exceptions.ReadTimeout("slow")}, "VPS.org is not answering right now."),
        ({"status": 403, "json": {"detail": "Read-only token."}}, "not allowed to do this"),
    ],
)
def test_a_failed_delete_is_a_message_and_keeps_the_typed_name(
    api, manager_user, team, failure, text
) -> None:
    api.get(URL, json=server_json())
    api.delete(URL, **failure)
    response = client_for(manager_user).post("/servers/12345/delete/", {"name": "web-server-01"})
    html = response.content.decode()
    assert response.status_code == 200
    assert text in html
    assert 'value="web-server-01"' in html
    assert AuditEntry.objects.get(team=team, action="server.delete").outcome == "error"


@pytest.mark.django_db
def test_reading_the_server_fails(api, manager_user) -> None:
    api.get(URL, status=503, json={})
    response = client_for(manager_user).get("/servers/12345/delete/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "VPS.org is having trouble right now." in html
    assert 'href="/servers/12345/delete/">Try again</a>' in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer_user", "operator_user"])
def test_only_managers_and_admins_delete(api, request, role) -> None:
    c = client_for(request.getfixturevalue(role))
    assert c.get("/servers/12345/delete/").status_code == 403
    assert c.post("/servers/12345/delete/", {"name": "web-server-01"}).status_code == 403
    assert len(api.calls) == 0


@pytest.mark.django_db
def test_another_teams_server_cannot_be_deleted(api, outsider_user) -> None:
    # The outsider's token belongs to another account: VPS.org answers 404.
    api.get(URL, status=404, json={"detail": "Not found."})
    response = client_for(outsider_user).post("/servers/12345/delete/", {"name": "web-server-01"})
    assert response.status_code == 404
    assert deletes(api) == []
