"""Delete protection: the lock, who may set and remove it, and a delete that it refuses."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.template import Context, Template
from django.test import RequestFactory

from panel.models import AuditEntry, Membership
from servers.models import ServerProtection
from servers.protection import protected_ids
from tests.conftest import API, client_for, server_json

SID = "12345"
URL = f"{API}/servers/{SID}/"
HX = {"HTTP_HX_REQUEST": "true"}
# A page that asks VPS.org nothing, to read the message a redirect back carries.
BACK = "http://testserver/team/activity/"


def protect(team: Any, user: User, server_id: str = SID, name: str = "web-server-01") -> Any:
    return ServerProtection.objects.create(
        team=team,
        server_id=server_id,
        server_name=name,
        protected_by=user,
        protected_by_name=user.username,
    )


# --- protect / unprotect ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager_user", "admin_user"])
def test_a_manager_or_admin_protects_after_one_lookup(api, team, role, request) -> None:
    user = request.getfixturevalue(role)
    api.get(URL, json=server_json(SID))
    response = client_for(user).post(
        f"/servers/{SID}/protect/", HTTP_REFERER="http://testserver/servers/?q=web"
    )
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/servers/?q=web"
    assert [c.request.method for c in api.calls] == ["GET"]
    lock = ServerProtection.objects.get(team=team, server_id=SID)
    assert (lock.server_name, lock.protected_by, lock.protected_by_name) == (
        "web-server-01",
        user,
        user.username,
    )
    entry = AuditEntry.objects.get(team=team, action="server.protect")
    assert (entry.outcome, entry.target_id, entry.target_name) == ("ok", SID, "web-server-01")


def test_protecting_redirects_to_the_detail_page_without_a_referer(api, manager_user) -> None:
    api.get(URL, json=server_json(SID))
    response = client_for(manager_user).post(f"/servers/{SID}/protect/")
    assert response.status_code == 302
    assert response["Location"] == f"/servers/{SID}/"


def test_a_foreign_referer_is_not_followed(api, manager_user) -> None:
    api.get(URL, json=server_json(SID))
    response = client_for(manager_user).post(
        f"/servers/{SID}/protect/", HTTP_REFERER="https://evil.example/"
    )
    assert response["Location"] == f"/servers/{SID}/"


@pytest.mark.parametrize("role", ["operator_user", "viewer_user"])
@pytest.mark.parametrize("verb", ["protect", "unprotect"])
def test_operators_and_viewers_may_not(api, team, manager_user, role, verb, request) -> None:
    user = request.getfixturevalue(role)
    if verb == "unprotect":
        protect(team, manager_user)
    response = client_for(user).post(f"/servers/{SID}/{verb}/")
    assert response.status_code == 403
    assert len(api.calls) == 0
    assert ServerProtection.objects.filter(team=team).count() == (verb == "unprotect")
    assert not AuditEntry.objects.filter(team=team).exists()


def test_an_outsider_cannot_protect_another_teams_server(
    api, team, other_team, outsider_user
) -> None:
    # The outsider's own token asks; VPS.org does not know the server in that account.
    api.get(URL, status=404, json={"detail": "Not found."})
    response = client_for(outsider_user).post(f"/servers/{SID}/protect/")
    assert response.status_code == 404
    assert "Server not found" in response.content.decode()
    assert not ServerProtection.objects.exists()
    assert not AuditEntry.objects.exists()
    sent = api.calls[0].request.headers["Authorization"]
    assert sent.endswith("other-team-token-wxyz9876")


def test_an_outsider_cannot_unprotect_another_teams_lock(
    api, team, manager_user, outsider_user
) -> None:
    protect(team, manager_user)
    # The outsider's team has no lock; its token finds no such server either.
    api.get(URL, status=404, json={"detail": "Not found."})
    response = client_for(outsider_user).post(f"/servers/{SID}/unprotect/")
    assert response.status_code == 404
    assert ServerProtection.objects.filter(team=team, server_id=SID).exists()
    assert not AuditEntry.objects.exists()


def test_unprotecting_an_unprotected_server_says_so(api, team, manager_user) -> None:
    api.get(URL, json=server_json(SID))
    response = client_for(manager_user).post(
        f"/servers/{SID}/unprotect/", HTTP_REFERER=BACK, follow=True
    )
    assert "web-server-01 was not protected." in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_an_upstream_failure_locks_nothing_and_says_why(api, team, manager_user) -> None:
    api.get(URL, status=503, json={"detail": "maintenance"})
    response = client_for(manager_user).post(f"/servers/{SID}/protect/", follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "could not be protected" in html
    assert "VPS.org is having trouble right now." in html
    assert not ServerProtection.objects.exists()


def test_protecting_twice_keeps_one_lock_and_asks_vpsorg_once(api, team, manager_user) -> None:
    api.get(URL, json=server_json(SID))
    browser = client_for(manager_user)
    browser.post(f"/servers/{SID}/protect/")
    response = browser.post(f"/servers/{SID}/protect/", HTTP_REFERER=BACK, follow=True)
    assert "was already protected" in response.content.decode()
    assert ServerProtection.objects.filter(team=team).count() == 1
    assert len(api.calls) == 1
    assert AuditEntry.objects.filter(action="server.protect").count() == 1


def test_htmx_gets_the_updated_lock_control_and_a_toast(api, team, manager_user) -> None:
    api.get(URL, json=server_json(SID))
    response = client_for(manager_user).post(f"/servers/{SID}/protect/", **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="server-lock-{SID}"' in html
    assert 'data-protected="true"' in html
    assert "Remove protection" in html
    assert f'hx-post="/servers/{SID}/unprotect/"' in html
    assert "mona-manager" in html
    assert "<html" not in html
    toast = json.loads(response["HX-Trigger"])["panel:toast"]
    assert toast["level"] == "success"
    assert "web-server-01 is protected" in toast["message"]

    response = client_for(manager_user).post(f"/servers/{SID}/unprotect/", **HX)
    html = response.content.decode()
    assert 'data-protected="false"' in html
    assert "Protect from deletion" in html


def test_unprotecting_removes_the_lock_and_is_audited(api, team, admin_user, manager_user) -> None:
    protect(team, manager_user)
    response = client_for(admin_user).post(
        f"/servers/{SID}/unprotect/", HTTP_REFERER=BACK, follow=True
    )
    assert "web-server-01 is no longer protected" in response.content.decode()
    assert not ServerProtection.objects.exists()
    entry = AuditEntry.objects.get(team=team, action="server.unprotect")
    assert (entry.username, entry.target_id, entry.target_name) == (
        "alice-admin",
        SID,
        "web-server-01",
    )
    assert len(api.calls) == 0


def test_protect_and_unprotect_are_post_only(manager_user) -> None:
    browser = client_for(manager_user)
    assert browser.get(f"/servers/{SID}/protect/").status_code == 405
    assert browser.get(f"/servers/{SID}/unprotect/").status_code == 405


# --- the delete page of a protected server ------------------------------------------------


def test_the_delete_page_says_it_is_protected_instead_of_the_form(api, team, manager_user) -> None:
    protect(team, manager_user)
    response = client_for(manager_user).get(f"/servers/{SID}/delete/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "web-server-01 is protected from deletion" in html
    assert ", mona-manager protected it: nobody can delete it" in html
    assert "A manager or admin of the team must remove the protection" in html
    assert 'name="name"' not in html
    assert "Delete this server" not in html
    assert "Remove protection" in html
    # A plain form: removing the protection reloads the page, which then offers the form.
    assert "hx-post" not in html.split('id="server-lock-')[1].split("</form>")[0]
    assert len(api.calls) == 0


@pytest.mark.parametrize("role", ["manager_user", "admin_user"])
def test_a_forced_delete_of_a_protected_server_sends_nothing(
    api, team, manager_user, role, request
) -> None:
    protect(team, manager_user)
    user = request.getfixturevalue(role)
    api.get(URL, json=server_json(SID))
    api.delete(URL, status=204)
    response = client_for(user).post(f"/servers/{SID}/delete/", {"name": "web-server-01"})
    assert response.status_code == 409
    assert "is protected from deletion" in response.content.decode()
    assert [c for c in api.calls if c.request.method == "DELETE"] == []
    assert len(api.calls) == 0
    assert ServerProtection.objects.filter(team=team, server_id=SID).exists()
    entry = AuditEntry.objects.get(team=team, action="server.delete")
    assert entry.outcome == "error"
    assert entry.target_id == SID
    assert entry.message.startswith("Refused: the server is protected")


def test_protected_while_the_delete_looked_the_server_up(api, team, manager_user) -> None:
    def lookup(request) -> tuple[int, dict[str, str], str]:
        # Another manager protects it while this delete asks VPS.org for the server.
        protect(team, manager_user)
        return 200, {}, json.dumps(server_json(SID))

    api.add_callback("GET", URL, callback=lookup)
    api.delete(URL, status=204)
    response = client_for(manager_user).post(f"/servers/{SID}/delete/", {"name": "web-server-01"})
    assert response.status_code == 409
    assert [c.request.method for c in api.calls] == ["GET"]
    assert AuditEntry.objects.get(action="server.delete").outcome == "error"


def test_a_forced_htmx_delete_is_refused_too(api, team, manager_user) -> None:
    protect(team, manager_user)
    api.delete(URL, status=204)
    response = client_for(manager_user).post(
        f"/servers/{SID}/delete/", {"name": "web-server-01"}, **HX
    )
    assert response.status_code == 409
    assert len(api.calls) == 0


def test_after_unprotecting_the_delete_page_offers_the_form_again(api, team, manager_user) -> None:
    protect(team, manager_user)
    browser = client_for(manager_user)
    browser.post(f"/servers/{SID}/unprotect/")
    api.get(URL, json=server_json(SID))
    html = browser.get(f"/servers/{SID}/delete/").content.decode()
    assert 'name="name"' in html
    assert "Delete this server" in html


def test_the_delete_page_offers_to_protect_instead(api, team, manager_user) -> None:
    api.get(URL, json=server_json(SID))
    browser = client_for(manager_user)
    html = browser.get(f"/servers/{SID}/delete/").content.decode()
    offer = html.split('id="server-lock-')[1].split("</form>")[0]
    assert f'action="/servers/{SID}/protect/"' in offer
    assert "Protect from deletion" in offer
    assert "hx-post" not in offer
    delete_page = f"http://testserver/servers/{SID}/delete/"
    response = browser.post(f"/servers/{SID}/protect/", HTTP_REFERER=delete_page, follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(delete_page, 302)]
    assert "web-server-01 is protected from deletion" in html
    assert "Delete this server" not in html


def test_another_teams_lock_does_not_protect_this_teams_server(
    api, team, other_team, manager_user, outsider_user
) -> None:
    protect(other_team, outsider_user)
    api.get(URL, json=server_json(SID))
    html = client_for(manager_user).get(f"/servers/{SID}/delete/").content.decode()
    assert "Delete this server" in html


# --- protected_ids, the admin, the template tag ------------------------------------------


def test_protected_ids_is_one_query_for_the_whole_team(
    team, other_team, manager_user, outsider_user, django_assert_num_queries
) -> None:
    for server_id in ("1", "2", "abc-3"):
        protect(team, manager_user, server_id)
    protect(other_team, outsider_user, "4")
    with django_assert_num_queries(1):
        ids = protected_ids(team)
    assert ids == {"1", "2", "abc-3"}


def test_the_admin_shows_locks_read_only(team, manager_user) -> None:
    protect(team, manager_user)
    staff = User.objects.create_superuser("root", "root@example.com", "pw-root")
    browser = client_for(staff)
    assert browser.get("/admin/servers/serverprotection/").status_code == 200
    lock = ServerProtection.objects.get()
    page = browser.get(f"/admin/servers/serverprotection/{lock.pk}/change/")
    assert page.status_code == 200
    assert 'name="server_id"' not in page.content.decode()
    assert browser.get("/admin/servers/serverprotection/add/").status_code == 403
    assert browser.post(f"/admin/servers/serverprotection/{lock.pk}/delete/").status_code == 403
    assert ServerProtection.objects.exists()


@pytest.mark.parametrize(("role", "has_form"), [("viewer_user", False), ("manager_user", True)])
def test_the_lock_control_tag(team, manager_user, role, has_form, request) -> None:
    protect(team, manager_user)
    user = request.getfixturevalue(role)
    membership = Membership.objects.get(user=user)
    template = Template("{% load protection_tags %}{% lock_control server %}")
    server = type("S", (), {"id": SID, "name": "web-server-01"})()
    html = template.render(
        Context({"server": server, "membership": membership, "request": RequestFactory().get("/")})
    )
    assert 'data-protected="true"' in html
    assert "Protected from deletion" in html
    assert ("Remove protection" in html) is has_form


def test_the_protected_delete_page_is_valid_html(tmp_path, api, team, manager_user) -> None:
    from tests.test_html_valid import HTMX_ATTRIBUTES, _checker

    checker = _checker()
    protect(team, manager_user)
    page = tmp_path / "delete.html"
    page.write_bytes(client_for(manager_user).get(f"/servers/{SID}/delete/").content)
    result = subprocess.run(
        [*checker, "--errors-only", "--format", "json", "--filterpattern", HTMX_ATTRIBUTES,
         str(page)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert json.loads(result.stderr or '{"messages": []}')["messages"] == []
