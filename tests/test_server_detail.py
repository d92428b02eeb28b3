"""The server's own page: /servers/<id>/."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from django.template.loader import render_to_string
from django.test import RequestFactory

from panel.audit import Action, record
from panel.models import TeamToken
from servers import client as vpsorg
from servers.presenters import card_context
from tests.conftest import API, client_for, server_json

HTMX = {"HTTP_HX_REQUEST": "true"}


def detail_json(id: Any = 12345, **overrides: Any) -> dict[str, Any]:
    data = server_json(
        id,
        ipv6_address="2001:0db8::1",
        backups_enabled=True,
        plan={
            "id": 1,
            "name": "Standard VPS",
            "vcpus": 2,
            "memory": 4096,
            "storage": 80,
            "bandwidth": 2048,
        },
        resource_usage={
            "cpu_percent": 23.5,
            "memory_used": 2048,
            "disk_used": 35,
            "bandwidth_used": 450,
        },
        updated_at="2025-01-16T15:45:00Z",
    )
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_every_field_the_api_gives(api, viewer_user) -> None:
    api.get(f"{API}/servers/12345/", json=detail_json())
    response = client_for(viewer_user).get("/servers/12345/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>web-server-01</h1>" in html
    assert '<section id="server-card" class="server-card" data-server-id="12345"' in html
    assert 'data-status="active"' in html
    assert "203.0.113.10" in html and "2001:0db8::1" in html
    assert 'data-copy="203.0.113.10"' in html and 'data-copy="2001:0db8::1"' in html
    assert "web01.example.com" in html
    # The datacenter by its city and country, its code beside it.
    assert "<dd>Los Angeles, United States <span" in html and ">us-west</span></dd>" in html
    assert "Standard VPS" in html and "2 vCPUs" in html and "4 GB RAM" in html
    assert "80 GB disk" in html and "2 TB bandwidth a month" in html
    assert "Ubuntu 22.04 LTS" in html
    assert "<dt>Automatic backups</dt><dd>On</dd>" in html
    assert '<time datetime="2025-01-10T14:30:00+00:00" title="2025-01-10 14:30 UTC">' in html
    assert '<time datetime="2025-01-16T15:45:00+00:00" title="2025-01-16 15:45 UTC">' in html
    assert len(api.calls) == 1


@pytest.mark.django_db
def test_usage_bars_against_the_plan(api, viewer_user) -> None:
    api.get(f"{API}/servers/12345/", json=detail_json())
    html = client_for(viewer_user).get("/servers/12345/").content.decode()
    meters = re.findall(r"<meter ([^>]*)>", html)
    assert len(meters) == 4
    assert 'max="100.0" value="23.5"' in meters[0]
    assert 'max="4096.0" value="2048.0"' in meters[1]
    assert 'max="80.0" value="35.0"' in meters[2]
    assert 'max="2048.0" value="450.0"' in meters[3]
    assert "23.5%" in html
    assert "2 GB of 4 GB (50%)" in html
    assert "35 GB of 80 GB (44%)" in html
    assert "450 GB of 2 TB (22%)" in html


@pytest.mark.django_db
def test_usage_without_a_plan_total_is_text_only(api, viewer_user) -> None:
    data = detail_json()
    data["plan"] = {"id": 1, "name": "Standard VPS"}
    api.get(f"{API}/servers/12345/", json=data)
    html = client_for(viewer_user).get("/servers/12345/").content.decode()
    assert html.count("<meter") == 1  # CPU only: a percentage needs no total
    assert "2 GB used" in html


@pytest.mark.django_db
def test_a_provisioning_server_says_what_is_happening(api, viewer_user) -> None:
    api.get(
        f"{API}/servers/12347/",
        json=server_json(12347, status="provisioning", ip_address=None),
    )
    html = client_for(viewer_user).get("/servers/12347/").content.decode()
    assert 'data-status="provisioning"' in html
    assert "Provisioning" in html
    assert "2 to 5 minutes" in html
    assert "Not yet assigned" in html
    assert "VPS.org reports no resource usage" in html
    assert '<dt>Automatic backups</dt><dd><span class="muted">Not reported</span>' in html


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["provisioning", "rebooting", "maintenance"])
def test_in_transition_a_page_without_javascript_offers_a_reload(api, viewer_user, status) -> None:
    """Without scripts nothing polls: the page says how to see where the server stands."""
    api.get(f"{API}/servers/12347/", json=server_json(12347, status=status))
    html = client_for(viewer_user).get("/servers/12347/").content.decode()
    card = html.split('id="server-card"')[1].split("</section>")[0]
    assert re.search(r'<noscript>.*<a href="/servers/12347/">Reload the page</a>', card, re.S)


@pytest.mark.django_db
def test_a_settled_server_needs_no_reload_hint(api, viewer_user) -> None:
    api.get(f"{API}/servers/12347/", json=server_json(12347, status="active"))
    html = client_for(viewer_user).get("/servers/12347/").content.decode()
    assert "<noscript>" not in html.split('id="server-card"')[1].split("</section>")[0]


@pytest.mark.django_db
def test_an_unknown_or_foreign_server_is_a_404(api, viewer_user) -> None:
    api.get(f"{API}/servers/999/", status=404, json={"detail": "Not found."})
    response = client_for(viewer_user).get("/servers/999/")
    assert response.status_code == 404
    assert "Server not found" in response.content.decode()
    assert 'href="/servers/"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["12.3", "abc_def", "a%2Fb", "..", "x" * 129])
def test_ids_other_than_letters_digits_hyphens_never_reach_the_api(api, viewer_user, bad) -> None:
    response = client_for(viewer_user).get(f"/servers/{bad}/")
    assert response.status_code == 404
    assert len(api.calls) == 0


@pytest.mark.django_db
def test_a_uuid_id_is_fine(api, viewer_user) -> None:
    uuid = "3f2c9a1e-7b4d-4e8a-9c61-0d5e2f7a8b90"
    api.get(f"{API}/servers/{uuid}/", json=detail_json(uuid))
    response = client_for(viewer_user).get(f"/servers/{uuid}/")
    assert response.status_code == 200
    assert f'data-server-id="{uuid}"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"status": 500, "json": {"detail": "x"}}, "VPS.org is having trouble right now."),
        # Retry-After sets when the page asks again.
        ({"status": 429, "json": {"detail": "x"}, "headers": {"Retry-After": "7"}}, "7 seconds"),
        ({"body": requests.exceptions.ConnectionError("down")}, "is not answering right now"),
        ({"status": 200, "body": "<html>"}, "could not understand"),
    ],
)
def test_upstream_failures_are_messages(api, viewer_user, kwargs, text) -> None:
    """Nothing seen of the server before: said plainly, and the page keeps trying."""
    api.get(f"{API}/servers/12345/", **kwargs)
    response = client_for(viewer_user).get("/servers/12345/")
    html = response.content.decode()
    assert response.status_code == 200
    assert text in html
    assert "The panel has not seen this server yet" in html
    assert 'href="/servers/12345/">Try again</a>' in html
    assert 'id="live-card"' in html and "reload=1" in html


@pytest.mark.django_db
def test_a_rejected_token(api, viewer_user) -> None:
    api.get(f"{API}/servers/12345/", status=401, json={"detail": "Invalid token."})
    html = client_for(viewer_user).get("/servers/12345/").content.decode()
    assert "VPS.org rejected the team" in html
    assert "An admin of the team must replace it" in html


@pytest.mark.django_db
def test_no_token(api, viewer_user, team) -> None:
    TeamToken.objects.filter(team=team).delete()
    response = client_for(viewer_user).get("/servers/12345/")
    assert response.status_code == 200
    assert "This team has no VPS.org API token yet." in response.content.decode()
    assert len(api.calls) == 0


@pytest.mark.django_db
def test_recent_activity_is_this_servers_only(
    api, viewer_user, admin_user, team, other_team
) -> None:
    record(team, admin_user, Action.SERVER_RENAME, target_id="12345", target_name="renamed-one")
    record(
        team,
        admin_user,
        Action.SERVER_EDIT,
        target_id="12345",
        target_name="web-server-01",
        error=vpsorg.InvalidRequest("Hostname is bad.", status=400),
    )
    record(team, admin_user, Action.SERVER_DELETE, target_id="777", target_name="another-server")
    record(other_team, admin_user, Action.SERVER_STOP, target_id="12345", target_name="theirs")
    api.get(f"{API}/servers/12345/", json=detail_json())
    html = client_for(viewer_user).get("/servers/12345/").content.decode()
    activity = html.split('id="activity-title"')[1]
    assert "Server renamed" in activity
    assert "Server edited" in activity and "Hostname is bad." in activity
    assert "alice-admin" in activity
    assert "another-server" not in activity and "Server deleted" not in activity
    assert "Server stopped" not in activity


@pytest.mark.django_db
def test_managers_see_rename_edit_delete(api, manager_user) -> None:
    api.get(f"{API}/servers/12345/", json=detail_json())
    html = client_for(manager_user).get("/servers/12345/").content.decode()
    assert 'action="/servers/12345/rename/"' in html
    assert 'hx-post="/servers/12345/rename/"' in html
    assert 'value="web-server-01"' in html  # the rename field starts with the current name
    assert 'href="/servers/12345/edit/"' in html
    assert 'href="/servers/12345/delete/"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["viewer_user", "operator_user"])
def test_others_do_not(api, request, role) -> None:
    user = request.getfixturevalue(role)
    api.get(f"{API}/servers/12345/", json=detail_json())
    html = client_for(user).get("/servers/12345/").content.decode()
    assert "/rename/" not in html
    assert 'href="/servers/12345/edit/"' not in html
    assert 'href="/servers/12345/delete/"' not in html


@pytest.mark.django_db
def test_the_card_partial_renders_alone_from_card_context(viewer_user) -> None:
    request = RequestFactory().get("/servers/12345/")
    request.user = viewer_user
    request.membership = viewer_user.memberships.get()
    server = vpsorg.Server.from_api(detail_json(status="rebooting"))
    html = render_to_string("servers/detail.html#card", card_context(request, server), request)
    assert html.strip().startswith('<section id="server-card"')
    assert 'data-server-id="12345"' in html
    assert 'data-status="rebooting"' in html
    assert "<meter" in html
    assert "<h1>" not in html


@pytest.mark.django_db
def test_usage_numbers_use_the_languages_decimal_mark(api, viewer_user) -> None:
    api.get(f"{API}/servers/12345/", json=detail_json())
    browser = client_for(viewer_user)
    html = browser.get("/servers/12345/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "23,5%" in html
    # The meter's machine-readable value keeps the dot whatever the language.
    assert 'value="23.5"' in html


@pytest.mark.django_db
def test_the_price_of_the_plan_in_the_currency_setting(api, viewer_user, settings) -> None:
    settings.PRICE_CURRENCY = "EUR"
    data = detail_json()
    data["plan"] |= {"price_monthly": "12.00", "price_hourly": "0.018"}
    api.get(f"{API}/servers/12345/", json=data)
    html = client_for(viewer_user).get("/servers/12345/").content.decode()
    assert "<dt>Price</dt>" in html
    assert '<span class="monthly">€12.00/month</span>' in html
    assert '<span class="hourly">€0.018/hour</span>' in html


@pytest.mark.django_db
def test_no_price_row_when_the_plan_has_none(api, viewer_user) -> None:
    api.get(f"{API}/servers/12345/", json=detail_json())
    html = client_for(viewer_user).get("/servers/12345/").content.decode()
    assert "<dt>Price</dt>" not in html


@pytest.mark.django_db
def test_usage_levels_by_threshold_in_colour_and_in_words(api, viewer_user) -> None:
    # CPU 69.9 %: ok; memory 70 %: high; disk 90 %: critical; bandwidth 100 %: critical.
    data = detail_json(
        resource_usage={
            "cpu_percent": 69.9,
            "memory_used": 2867.2,
            "disk_used": 72,
            "bandwidth_used": 2048,
        }
    )
    api.get(f"{API}/servers/12345/", json=data)
    html = client_for(viewer_user).get("/servers/12345/").content.decode()
    levels = re.findall(r'<div class="usage-row usage-(\w+)">', html)
    assert levels == ["ok", "high", "critical", "critical"]
    texts = re.findall(r'<span class="usage-text" id="usage-(\w+)-text">(.*?)</span></dd>', html)
    words = {key: re.sub(r"<[^>]+>", "", text).strip() for key, text in texts}
    assert words["cpu"] == "69.9%"
    assert words["memory"].endswith("(70%) High")
    assert words["disk"].endswith("(90%) Critical")
    assert 'aria-describedby="usage-disk-text"' in html


@pytest.mark.django_db
def test_a_suspended_server_says_what_it_means_and_whom_to_ask(api, operator_user) -> None:
    api.get(f"{API}/servers/12345/", json=detail_json(status="suspended"))
    html = client_for(operator_user).get("/servers/12345/").content.decode()
    assert "VPS.org has suspended this server." in html
    assert "contact VPS.org support" in html
    assert "data-action=" not in html


@pytest.mark.django_db
def test_a_viewer_is_told_why_there_are_no_buttons(api, team, viewer_user, operator_user) -> None:
    api.get(f"{API}/servers/12345/", json=detail_json())
    note = f"Your role (Viewer) cannot start or stop servers. Ask an admin of {team.name}."
    html = client_for(viewer_user).get("/servers/12345/").content.decode()
    assert html.count(note) == 1
    html = client_for(operator_user).get("/servers/12345/").content.decode()
    assert "cannot start or stop servers" not in html
    assert 'data-action="reboot"' in html


@pytest.mark.django_db
def test_the_price_comes_from_the_plans_the_list_cached(api, viewer_user) -> None:
    """VPS.org names a server's plan without prices: the plans the list (or the create
    form) fetched give them, and the page makes no call of its own for them."""
    from tests.test_server_list import mock_list, plan_json

    mock_list(api, [server_json(12345)])
    plan = plan_json(1, "Standard VPS", ["us-west"], price_monthly=10.0, price_hourly=0.015)
    plans = api.get(f"{API}/plans/", json={"count": 1, "next": None, "results": [plan]})
    client = client_for(viewer_user)
    client.get("/servers/")
    api.get(f"{API}/servers/12345/", json=detail_json())
    html = client.get("/servers/12345/").content.decode()
    assert '<span class="monthly">$10.00/month</span>' in html
    assert '<span class="hourly">$0.015/hour</span>' in html
    assert plans.call_count == 1


@pytest.mark.django_db
def test_without_cached_plans_no_price_and_no_extra_call(api, viewer_user) -> None:
    api.get(f"{API}/servers/12345/", json=detail_json())
    response = client_for(viewer_user).get("/servers/12345/")
    assert response.status_code == 200
    assert "<dt>Price</dt>" not in response.content.decode()
    assert len(api.calls) == 1


# --- delete protection (issue 12) --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("protected", [False, True])
@pytest.mark.parametrize(
    ("role", "control"),
    [
        ("viewer_user", False),
        ("operator_user", False),
        ("manager_user", True),
        ("admin_user", True),
    ],
)
def test_the_lock_control_for_managers_a_mark_for_others(
    api, team, manager_user, request, role, control, protected
) -> None:
    from servers.models import ServerProtection

    if protected:
        ServerProtection.objects.create(
            team=team, server_id="12345", protected_by=manager_user, protected_by_name="mona"
        )
    api.get(f"{API}/servers/12345/", json=detail_json())
    html = client_for(request.getfixturevalue(role)).get("/servers/12345/").content.decode()
    assert '<div id="server-lock-12345" class="server-lock"' in html
    assert f'data-protected="{"true" if protected else "false"}"' in html
    if protected:
        assert '<span class="lock-mark">Protected from deletion</span>' in html
        assert "by mona" in html
    else:
        assert "Not protected from deletion" in html
    forms = ('action="/servers/12345/protect/"', 'action="/servers/12345/unprotect/"')
    shown = [form for form in forms if form in html]
    if control:
        assert shown == [forms[1] if protected else forms[0]]
    else:
        assert shown == []
    # The lock sits outside the card: the card's poller does not ask for it again.
    card = html[
        html.index('<section id="server-card"') : html.index('<section class="server-facts"')
    ]
    assert "server-lock" not in card
