"""What the activity says about a change: old → new for edits and renames (panel.audit
`changes`), deleted servers in plain text, and every word and date in the reader's
language."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from panel.audit import Action, changes_between, describe_changes, record
from panel.models import AuditEntry
from servers.client import Server
from tests.conftest import API, client_for, server_json

URL = f"{API}/servers/12345/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def target_cell(html: str, action: str) -> str:
    row = html.split(f'<tr data-action="{action}">')[1].split("</tr>")[0]
    return row.split('data-label="Target">')[1].split("</td>")[0]


def test_changes_between_keeps_only_what_differs() -> None:
    before = Server(id="1", name="web-1", hostname="", backups_enabled=True)
    after = Server(id="1", name="web-2", hostname=None, backups_enabled=False)
    assert changes_between(before, after) == {
        "name": ("web-1", "web-2"),
        "backups_enabled": (True, False),
    }
    # Not known before: the new values only, and nothing for an empty field.
    assert changes_between(None, after) == {
        "name": (None, "web-2"),
        "backups_enabled": (None, False),
    }


@pytest.mark.django_db
def test_an_edit_records_old_and_new_and_the_activity_shows_them(api, manager_user, team) -> None:
    api.get(URL, json=server_json(12345, backups_enabled=True))
    api.put(URL, json=server_json(12345, name="web-server-03", backups_enabled=False))
    c = client_for(manager_user)
    # The detail page the user came from is what the team last saw of the server.
    assert c.get("/servers/12345/").status_code == 200
    response = c.post(
        "/servers/12345/edit/",
        {"name": "web-server-03", "hostname": "web01.example.com"},
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(team=team, action=Action.SERVER_EDIT)
    assert entry.changes == {
        "name": ["web-server-01", "web-server-03"],
        "backups_enabled": [True, False],
    }
    cell = target_cell(c.get("/team/activity/").content.decode(), "server.edit")
    assert re.search(
        r'Name: <span class="old">web-server-01</span> .*→.* '
        r'<span class="new">web-server-03</span>',
        cell,
    )
    assert (
        'Automatic backups: <span class="old">On</span>' in cell
        and '<span class="new">Off</span>' in cell
    )
    assert "Hostname" not in cell  # unchanged


@pytest.mark.django_db
def test_a_rename_records_old_and_new(api, manager_user, team) -> None:
    api.get(URL, json=server_json(12345))
    api.patch(URL, json=server_json(12345, name="web-new"))
    c = client_for(manager_user)
    c.get("/servers/12345/")
    assert c.post("/servers/12345/rename/", {"name": "web-new"}, **HTMX).status_code == 200
    entry = AuditEntry.objects.get(team=team, action=Action.SERVER_RENAME)
    assert entry.changes == {"name": ["web-server-01", "web-new"]}
    detail = c.get("/servers/12345/").content.decode()
    assert '<span class="old">web-server-01</span>' in detail  # the server's recent activity


@pytest.mark.django_db
def test_without_the_old_server_at_hand_only_the_new_values_are_told(
    api, manager_user, team
) -> None:
    api.patch(URL, json=server_json(12345, name="web-new"))
    client_for(manager_user).post("/servers/12345/rename/", {"name": "web-new"})
    entry = AuditEntry.objects.get(team=team, action=Action.SERVER_RENAME)
    assert entry.changes == {"name": [None, "web-new"]}
    [change] = describe_changes(entry)
    assert (change.label, change.old, change.new) == ("Name", None, "web-new")


@pytest.mark.django_db
def test_a_deleted_servers_entries_are_plain_text(admin_user, team) -> None:
    record(team, admin_user, Action.SERVER_START, target_id="101", target_name="old-box")
    record(team, admin_user, Action.SERVER_DELETE, target_id="101", target_name="old-box")
    record(team, admin_user, Action.SERVER_STOP, target_id="102", target_name="live-box")
    record(team, admin_user, Action.SSH_KEY_ADD, target_id="42", target_name="Deploy key")
    html = client_for(admin_user).get("/team/activity/").content.decode()
    assert 'href="/servers/101/"' not in html
    assert '<span class="gone">old-box</span>' in target_cell(html, "server.start")
    assert "deleted" in target_cell(html, "server.delete")
    assert 'href="/servers/102/"' in target_cell(html, "server.stop")
    # An SSH key's id is not a server's: no link to /servers/42/.
    assert 'href="/servers/42/"' not in html


@pytest.mark.django_db
def test_a_delete_that_found_the_server_gone_also_counts(admin_user, team) -> None:
    from servers.client import NotFound

    record(team, admin_user, Action.SERVER_STOP, target_id="103", target_name="gone-box")
    record(
        team,
        admin_user,
        Action.SERVER_DELETE,
        target_id="103",
        target_name="gone-box",
        error=NotFound("Not found.", status=404),
    )
    html = client_for(admin_user).get("/team/activity/").content.decode()
    assert 'href="/servers/103/"' not in html


@pytest.mark.django_db
def test_in_portuguese_roles_values_and_months_are_portuguese(
    admin_user, viewer_user, team
) -> None:
    c = client_for(admin_user)
    member = viewer_user.memberships.get(team=team)
    c.post(f"/team/members/{member.pk}/role/", {"role": "operator"})
    record(
        team, admin_user, Action.MEMBER_ROLE, target_name="old-entry", message="Viewer → Manager"
    )
    entry = record(
        team,
        admin_user,
        Action.SERVER_EDIT,
        target_id="101",
        target_name="web-1",
        changes={"backups_enabled": (False, True), "hostname": ("a.example.com", None)},
    )
    AuditEntry.objects.filter(pk=entry.pk).update(
        created_at=datetime(2026, 12, 2, 15, 4, tzinfo=UTC)
    )
    html = c.get("/team/activity/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    table = html.split('<div id="activity">')[1]
    rows = table.split('<tr data-action="')[1:]
    old_role, new_role = (r for r in rows if r.startswith("member.role"))  # newest first
    # The change made now (stored as data) and an older entry (stored as English words).
    assert 'Papel: <span class="old">Visualizador</span>' in new_role
    assert '<span class="new">Operador</span>' in new_role
    assert 'Papel: <span class="old">Visualizador</span>' in old_role
    assert '<span class="new">Gerente</span>' in old_role
    assert "Viewer" not in table and "Operator" not in table and "Manager" not in table
    edit = next(r for r in rows if r.startswith("server.edit"))
    assert 'Backups automáticos: <span class="old">Desativados</span>' in edit
    assert '<span class="new">Ativados</span>' in edit
    assert 'Nome do host: <span class="old">a.example.com</span>' in edit
    assert '<span class="new">nenhum</span>' in edit
    assert "2 de dezembro de 2026" in edit
    assert "Dezembro" not in table
