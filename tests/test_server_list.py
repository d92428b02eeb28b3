"""The server list: /servers/ with filters, search, sort, paging, htmx fragment, errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from panel.models import TeamToken
from servers import client as vpsorg
from servers import fragments
from servers.models import OperatingSystem
from servers.presenters import RowMaker
from tests.conftest import API, client_for, page, server_json

SERVERS = f"{API}/servers/"
PLANS = f"{API}/plans/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def plan_json(id: int, name: str, locations: list[str], **extra: Any) -> dict[str, Any]:
    data = {
        "id": id,
        "name": name,
        "vcpus": 2,
        "memory": 4096,
        "storage": 80,
        "bandwidth": 2048,
        "price_monthly": 10.0,
        "available": True,
        "locations": locations,
    }
    data.update(extra)
    return data


def three_servers() -> list[dict[str, Any]]:
    return [
        server_json(1, name="web-01", hostname="web01.example.com", ip_address="203.0.113.10"),
        server_json(
            2,
            name="db-01",
            hostname="db01.example.com",
            ip_address="203.0.113.9",
            status="stopped",
            location="us-east",
            created_at="2025-03-01T00:00:00Z",
        ),
        server_json(
            3,
            name="cache-01",
            hostname=None,
            ip_address=None,
            status="provisioning",
            location="eu-central",
            os={"id": 9, "name": "Rocky Linux 9"},
            created_at="2024-01-01T00:00:00Z",
        ),
    ]


def mock_list(api: responses.RequestsMock, servers: list[dict[str, Any]], **params: str) -> Any:
    query = {"page_size": "100", **params}
    return api.get(SERVERS, json=page(servers), match=[matchers.query_param_matcher(query)])


def mock_plans(api: responses.RequestsMock, plans: list[dict[str, Any]] | None = None) -> Any:
    return api.get(PLANS, json=page(plans or [plan_json(1, "Standard VPS", ["us-west"])]))


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="server-[^"]+" data-server-id="([^"]+)"', html)


@pytest.mark.django_db
def test_the_page_shows_every_column(api, viewer_user) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    response = client_for(viewer_user).get("/servers/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert row_ids(html) == ["3", "2", "1"]  # by name: cache-01, db-01, web-01
    assert '<a href="/servers/1/">web-01</a>' in html
    assert "web01.example.com" in html
    assert 'data-status="active"' in html and 'data-status="stopped"' in html
    assert "203.0.113.10" in html
    assert "not yet assigned" in html  # the provisioning server has no IP yet
    assert "eu-central" in html
    assert "Standard VPS" in html and "2 vCPUs" in html and "4 GB" in html and "80 GB" in html
    assert "Ubuntu 22.04 LTS" in html and "Rocky Linux 9" in html
    assert '<time datetime="2025-01-10T14:30:00+00:00" title="2025-01-10 14:30 UTC">' in html
    assert " ago</time>" in html


@pytest.mark.django_db
def test_only_data_status_on_badges(api, viewer_user) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    html = client_for(viewer_user).get("/servers/").content.decode()
    for match in re.finditer(r"<(\w+)[^>]*data-status=", html):
        assert match.group(1) == "span"
    assert html.count("data-status=") == 3
    assert html.count('class="badge ') == 3


@pytest.mark.django_db
def test_one_list_call_and_plans_once(api, viewer_user) -> None:
    listed = mock_list(api, three_servers())
    plans = mock_plans(api)
    c = client_for(viewer_user)
    assert c.get("/servers/").status_code == 200
    assert listed.call_count == 1
    assert plans.call_count == 1
    # A second full page within the plans' cache time asks for the plans no more.
    from django.core.cache import cache

    from servers import cache as server_cache

    server_cache.invalidate(viewer_user.memberships.get().team)
    assert c.get("/servers/").status_code == 200
    assert plans.call_count == 1
    assert listed.call_count == 2
    assert cache.get("servers:plans:missing") is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("", ["3", "2", "1"]),
        ("?status=active", ["1"]),
        ("?status=stopped", ["2"]),
        ("?status=suspended", []),
        ("?location=us-east", ["2"]),
        ("?status=stopped&location=us-west", []),
        # Not filter values: dropped.
        ("?status=provisioning", ["3", "2", "1"]),
        ("?location=us%20east%2F..", ["3", "2", "1"]),
        ("?q=web&sort=-created&per_page=50&page=1", ["1"]),
    ],
)
def test_filters_apply_to_the_teams_one_list(api, viewer_user, query, shown) -> None:
    """Issue 8: the page and every live poll read the team's one unfiltered list (one
    shared upstream call whatever the filters) and filter it in the panel, as VPS.org's
    status and location filters would (they used to be sent upstream)."""
    listed = mock_list(api, three_servers())
    mock_plans(api)
    response = client_for(viewer_user).get(f"/servers/{query}", **HTMX)
    assert response.status_code == 200
    assert listed.call_count == 1
    assert len(api.calls) == 1  # the fragment needs no plans
    assert row_ids(response.content.decode()) == shown


@pytest.mark.django_db
def test_the_filter_form_keeps_its_state(api, viewer_user) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    html = (
        client_for(viewer_user)
        .get("/servers/?status=stopped&location=us-east&q=db&per_page=50")
        .content.decode()
    )
    assert '<option value="stopped" selected>' in html
    assert '<option value="us-east" selected>' in html
    assert 'name="q" id="filter-q" value="db"' in html
    assert '<option value="50" selected>' in html
    assert "Clear filters" in html


@pytest.mark.django_db
def test_location_choices_come_from_plans_and_servers(api, viewer_user) -> None:
    mock_list(api, three_servers())
    mock_plans(
        api,
        [plan_json(1, "Standard VPS", ["us-west", "ap-south"]), plan_json(2, "Big", ["us-east"])],
    )
    html = client_for(viewer_user).get("/servers/").content.decode()
    select = html.split('id="filter-location"')[1].split("</select>")[0]
    options = re.findall(r'<option value="([^"]*)"', select)
    assert options == ["", "ap-south", "eu-central", "us-east", "us-west"]


@pytest.mark.django_db
def test_plans_failing_costs_only_the_extra_locations(api, viewer_user) -> None:
    mock_list(api, three_servers())
    api.get(PLANS, status=500, json={"detail": "boom"})
    response = client_for(viewer_user).get("/servers/")
    html = response.content.decode()
    assert response.status_code == 200
    assert len(row_ids(html)) == 3
    assert '<option value="eu-central"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("web", ["1"]),
        ("DB01.EXAMPLE", ["2"]),  # hostname, any case
        ("203.0.113.9", ["2"]),  # IP
        ("203.0.113.1", ["1"]),  # a part of an IP
        ("-01", ["3", "2", "1"]),
        ("web example", ["1"]),  # every word must match
        ("nothing-like-this", []),
    ],
)
def test_search_over_name_hostname_and_ip(api, viewer_user, q, expected) -> None:
    mock_list(api, three_servers())
    html = client_for(viewer_user).get("/servers/", {"q": q}, **HTMX).content.decode()
    assert row_ids(html) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["3", "2", "1"]),
        ("-name", ["1", "2", "3"]),
        ("created", ["3", "1", "2"]),
        ("-created", ["2", "1", "3"]),
        ("ip", ["2", "1", "3"]),  # numeric: .9 before .10; no IP last
        ("status", ["1", "3", "2"]),  # Active, Provisioning, Stopped
        ("location", ["3", "2", "1"]),
        ("bogus", ["3", "2", "1"]),
    ],
)
def test_sort_by_column(api, viewer_user, sort, expected) -> None:
    mock_list(api, three_servers())
    html = client_for(viewer_user).get("/servers/", {"sort": sort}, **HTMX).content.decode()
    assert row_ids(html) == expected


@pytest.mark.django_db
def test_sort_headers_toggle_and_keep_the_filters(api, viewer_user) -> None:
    mock_list(api, three_servers())
    html = (
        client_for(viewer_user)
        .get("/servers/", {"status": "active", "sort": "name"}, **HTMX)
        .content.decode()
    )
    assert 'aria-sort="ascending"' in html
    assert 'href="/servers/?status=active&amp;sort=-name"' in html
    assert 'href="/servers/?status=active&amp;sort=-created"' in html  # newest first
    assert 'hx-push-url="true"' in html


def many(n: int) -> list[dict[str, Any]]:
    return [server_json(i, name=f"srv-{i:03d}") for i in range(1, n + 1)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "first", "count"),
    [
        ({}, "1", 25),
        ({"per_page": "50"}, "1", 50),
        ({"per_page": "100"}, "1", 100),
        ({"per_page": "7"}, "1", 25),  # not offered: the default
        ({"page": "2"}, "26", 25),
        ({"page": "5"}, "101", 20),
        ({"page": "99"}, "101", 20),  # past the end: the last page
        ({"page": "x"}, "1", 25),
        ({"per_page": "50", "page": "3"}, "101", 20),
    ],
)
def test_page_size_and_page(api, viewer_user, query, first, count) -> None:
    mock_list(api, many(120))
    html = client_for(viewer_user).get("/servers/", query, **HTMX).content.decode()
    ids = row_ids(html)
    assert ids[0] == first
    assert len(ids) == count


@pytest.mark.django_db
def test_pager_links_and_summary(api, viewer_user) -> None:
    mock_list(api, many(60))
    html = (
        client_for(viewer_user).get("/servers/", {"page": "2", "q": "srv"}, **HTMX).content.decode()
    )
    assert "Showing 26\u201350 of 60 servers" in html
    assert "Page 2 of 3" in html
    assert 'href="/servers/?q=srv&amp;page=3"' in html
    assert 'href="/servers/?q=srv"' in html  # first page: no page parameter


@pytest.mark.django_db
def test_every_page_of_the_api_is_followed(api, viewer_user) -> None:
    api.get(
        SERVERS,
        json=page(many(100), next_url=f"{SERVERS}?page=2&page_size=100"),
        match=[matchers.query_param_matcher({"page_size": "100"})],
    )
    api.get(
        SERVERS,
        json=page([server_json(101, name="srv-101")]),
        match=[matchers.query_param_matcher({"page": "2", "page_size": "100"})],
    )
    html = client_for(viewer_user).get("/servers/", {"sort": "-name"}, **HTMX).content.decode()
    assert row_ids(html)[0] == "101"
    assert "of 101 servers" in html
    assert len(api.calls) == 2


@pytest.mark.django_db
def test_htmx_answers_the_fragment_and_a_plain_get_the_page(api, viewer_user) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    c = client_for(viewer_user)
    fragment = c.get("/servers/", **HTMX)
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html and 'id="filters"' not in html
    assert "HX-Request" in fragment["Vary"]
    restore = c.get("/servers/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restore.content.decode()
    full = c.get("/servers/")
    assert "<html" in full.content.decode()
    assert "HX-Request" in full["Vary"]


@pytest.mark.django_db
def test_the_filter_form_pushes_a_tidy_url(api, viewer_user) -> None:
    mock_list(api, three_servers(), status="active")
    response = client_for(viewer_user).get(
        "/servers/?q=&status=active&location=&per_page=25",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER="filters",
    )
    assert response["HX-Push-Url"] == "/servers/?status=active"


@pytest.mark.django_db
def test_the_sort_rides_along_with_the_filter_form(api, viewer_user) -> None:
    mock_list(api, three_servers())
    html = client_for(viewer_user).get("/servers/?sort=-ip", **HTMX).content.decode()
    # Rows shown: the sort control (a select, outside the form) carries it.
    assert '<select name="sort" id="sort-select" form="filters"' in html
    assert '<option value="-ip" selected>IPv4, descending</option>' in html
    assert html.count('name="sort"') == 1


@pytest.mark.django_db
def test_the_sort_rides_along_when_no_server_matches(api, viewer_user) -> None:
    mock_list(api, three_servers())
    html = client_for(viewer_user).get("/servers/?sort=-ip&q=nothing-matches", **HTMX)
    html = html.content.decode()
    assert '<input type="hidden" name="sort" value="-ip" form="filters">' in html
    assert 'id="sort-select"' not in html


@pytest.mark.django_db
def test_the_sort_control_pushes_the_tidy_url(api, viewer_user) -> None:
    mock_list(api, three_servers())
    response = client_for(viewer_user).get(
        "/servers/?q=&status=&location=&per_page=25&sort=-created",
        **HTMX,
        HTTP_HX_TRIGGER="sort-select",
    )
    assert response["HX-Push-Url"] == "/servers/?sort=-created"


@pytest.mark.django_db
def test_a_viewer_is_told_once_why_there_are_no_buttons(api, team, viewer_user) -> None:
    mock_list(api, three_servers())
    html = client_for(viewer_user).get("/servers/").content.decode()
    note = f"Your role (Viewer) cannot start or stop servers. Ask an admin of {team.name}."
    assert html.count(note) == 1
    assert "data-action=" not in html


@pytest.mark.django_db
def test_an_operator_gets_no_role_note_and_a_menu_of_actions(api, operator_user) -> None:
    mock_list(api, three_servers())
    html = client_for(operator_user).get("/servers/").content.decode()
    assert "cannot start or stop servers" not in html
    # Every row with buttons holds them in its menu (a disclosure on a phone).
    menus = html.count('<details class="row-menu">')
    assert menus >= 1
    assert menus == html.count('<div class="power-actions"')


@pytest.mark.django_db
def test_no_servers_yet_leads_a_manager_to_create_one(api, manager_user) -> None:
    mock_list(api, [])
    mock_plans(api)
    html = client_for(manager_user).get("/servers/").content.decode()
    assert "This team has no servers yet." in html
    assert 'href="/servers/new/"' in html


@pytest.mark.django_db
def test_no_servers_yet_tells_a_viewer_who_can_create(api, viewer_user) -> None:
    mock_list(api, [])
    mock_plans(api)
    html = client_for(viewer_user).get("/servers/").content.decode()
    assert "This team has no servers yet." in html
    assert "A manager or admin of the team can create one." in html
    assert 'href="/servers/new/"' not in html


@pytest.mark.django_db
def test_nothing_matches_offers_to_clear_the_filters(api, viewer_user) -> None:
    mock_list(api, three_servers())
    html = client_for(viewer_user).get("/servers/?status=suspended", **HTMX).content.decode()
    assert "No server matches these filters." in html
    assert '<a class="button" href="/servers/">Clear filters</a>' in html

    html = client_for(viewer_user).get("/servers/?q=zzz", **HTMX).content.decode()
    assert "No server matches these filters." in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body", "text", "detail"),
    [
        (500, {"detail": "boom"}, "VPS.org is having trouble right now.", "HTTP 500"),
        (503, {"detail": "down"}, "VPS.org is having trouble right now.", "HTTP 503"),
        (429, {"detail": "slow down"}, "too many requests", "HTTP 429"),
        (403, {"detail": "no"}, "not allowed", "HTTP 403"),
        (200, ["not", "an", "envelope"], "could not understand", "The VPS.org API sent"),
    ],
)
def test_upstream_failures_are_messages_not_500s(
    api, viewer_user, status, body, text, detail
) -> None:
    """Plain words first, the technical detail beside them, smaller (issue 8)."""
    api.get(SERVERS, status=status, json=body)
    for kwargs in ({}, HTMX):
        response = client_for(viewer_user).get("/servers/", **kwargs)
        html = response.content.decode()
        assert response.status_code == 200
        assert f'<span class="problem-message">{text}' in html or text in html
        assert re.search(rf'<small class="problem-detail">{detail}\b', html)
        assert 'role="alert"' in html
        assert "internal error" not in html


@pytest.mark.django_db
def test_a_timeout_is_a_message(api, viewer_user) -> None:
    api.get(SERVERS, body=requests.exceptions.ReadTimeout("slow"))
    response = client_for(viewer_user).get("/servers/")
    assert response.status_code == 200
    assert "VPS.org is not answering right now. The panel will keep trying." in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_a_rejected_token_shows_the_token_notice(api, admin_user) -> None:
    api.get(SERVERS, status=401, json={"detail": "Invalid token."})
    html = client_for(admin_user).get("/servers/").content.decode()
    assert "VPS.org rejected the team" in html
    assert 'href="/team/token/"' in html


@pytest.mark.django_db
def test_no_token_leads_to_the_token_page(api, admin_user, team) -> None:
    TeamToken.objects.filter(team=team).delete()
    response = client_for(admin_user).get("/servers/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "This team has no VPS.org API token yet." in html
    assert len(api.calls) == 0


@pytest.mark.django_db
def test_the_list_needs_a_login(api, db) -> None:
    from django.test import Client

    response = Client().get("/servers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert len(api.calls) == 0


@pytest.mark.django_db
def test_operating_systems_are_learned_from_the_list(api, viewer_user) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    assert not OperatingSystem.objects.filter(api_id="9").exists()
    client_for(viewer_user).get("/servers/")
    learned = OperatingSystem.objects.get(api_id="9")
    assert learned.name == "Rocky Linux 9"
    assert learned.source == OperatingSystem.Source.LEARNED
    # The seeded one keeps what the migration (or an admin) gave it.
    assert OperatingSystem.objects.get(api_id="5").source == OperatingSystem.Source.SEEDED


@pytest.mark.django_db
def test_an_unknown_status_is_shown_as_it_came(api, viewer_user) -> None:
    mock_list(api, [server_json(7, status="migrating")])
    html = client_for(viewer_user).get("/servers/", **HTMX).content.decode()
    assert 'data-status="migrating"' in html
    assert "badge-unknown" in html


@pytest.mark.django_db
def test_the_row_fragment_renders_alone_from_its_presenter(viewer_user, team) -> None:
    """The live endpoints render one row (templates/servers/_server.jinja.html) alone."""
    server = vpsorg.Server.from_api(server_json("abc-123", name="solo"))
    html = fragments.row(RowMaker(viewer_user.memberships.get())(server), "")
    assert html.strip().startswith('<tr id="server-abc-123" data-server-id="abc-123">')
    assert '<td class="actions">' in html
    assert 'data-status="active"' in html


@pytest.mark.django_db
def test_a_slow_list_skips_the_plans_to_answer_in_time(api, viewer_user, monkeypatch) -> None:
    mock_list(api, three_servers())
    plans = mock_plans(api)
    ticks = iter([0.0, 2.5])  # the list took longer than VPSORG_TIMEOUT (2 s in tests)
    monkeypatch.setattr("servers.views._clock", lambda: next(ticks))
    response = client_for(viewer_user).get("/servers/")
    assert response.status_code == 200
    assert plans.call_count == 0
    assert len(row_ids(response.content.decode())) == 3


@pytest.mark.django_db
def test_a_suspended_row_says_whom_to_ask(api, operator_user) -> None:
    servers = [server_json(1, name="web-01"), server_json(2, name="held-01", status="suspended")]
    mock_list(api, servers)
    html = client_for(operator_user).get("/servers/", **HTMX).content.decode()
    rows = {
        m.group(1): m.group(0) for m in re.finditer(r'<tr id="server-(\d+)".*?</tr>', html, re.S)
    }
    assert "ask the account owner to contact VPS.org support" in rows["2"]
    assert "row-note" not in rows["1"]
    assert "data-action" not in rows["2"]


# --- team operations (issue 12): bulk selection, lock marks, the protection filter, export --


def protect(team: Any, user: Any, server_id: str) -> None:
    from servers.models import ServerProtection

    ServerProtection.objects.create(team=team, server_id=server_id, protected_by=user)


def checkboxes(html: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="id" value="([^"]+)"', html)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "selectable"),
    [("viewer_user", False), ("operator_user", True), ("manager_user", True), ("admin_user", True)],
)
def test_rows_carry_bulk_checkboxes_only_for_operators_and_up(
    api, role, selectable, request
) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    html = client_for(request.getfixturevalue(role)).get("/servers/").content.decode()
    if selectable:
        assert checkboxes(html) == ["3", "2", "1"]  # the rows' order: cache, db, web
        # Tied to the bulk form by its form attribute, kept by hx-preserve across swaps.
        assert (
            '<input type="checkbox" name="id" value="1" id="select-1" form="bulk-form" '
            'class="bulk-select" aria-label="Select web-01" hx-preserve>'
        ) in html
        assert '<form id="bulk-form" method="get" action="/servers/bulk/"' in html
        for action in ("start", "stop", "reboot"):
            assert f'form="bulk-form" name="action" value="{action}"' in html
        assert 'id="select-page"' in html
        assert 'name="scope" value="filter" form="bulk-form"' in html
        assert "js/bulk.js" in html
        assert "bulk-note" not in html
    else:
        assert checkboxes(html) == []
        assert "bulk-form" not in html
        assert 'id="select-page"' not in html
        assert "js/bulk.js" not in html
        # The page's one note on why there are no buttons (issue 9) says it, once.
        assert html.count("Your role (Viewer) cannot start or stop servers.") == 1


@pytest.mark.django_db
def test_all_matching_carries_the_filters_and_their_count(api, operator_user) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    html = client_for(operator_user).get("/servers/?status=active&q=web").content.decode()
    assert "Instead: the 1 server matching the filters" in html
    assert '<input type="hidden" name="status" value="active" form="bulk-form">' in html
    assert '<input type="hidden" name="q" value="web" form="bulk-form">' in html
    unfiltered = client_for(operator_user).get("/servers/?sort=-created").content.decode()
    assert "Instead: all 3 of the team's servers, every page" in unfiltered
    assert 'type="hidden" name="status"' not in unfiltered


@pytest.mark.django_db
def test_protected_rows_show_the_lock_from_one_query(
    api, team, viewer_user, manager_user, django_assert_max_num_queries
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    servers = [server_json(i, name=f"s-{i:03d}") for i in range(1, 101)]
    mock_list(api, servers)
    mock_plans(api)
    protect(team, manager_user, "2")
    protect(team, manager_user, "50")
    browser = client_for(viewer_user)
    with CaptureQueriesContext(connection) as queries:
        html = browser.get("/servers/?per_page=100").content.decode()
    lock_queries = [q for q in queries if "servers_serverprotection" in q["sql"]]
    assert len(lock_queries) == 1
    locks = re.findall(
        r'<tr id="server-(\d+)"[^>]*>\s*<th scope="row" class="cell-name">[^<]*<a [^>]+>[^<]+</a>'
        r' <span class="lock-mark row-lock" title="Protected from deletion">'
        r'<span aria-hidden="true">🔒</span><span class="visually-hidden">Protected from deletion',
        html,
    )
    assert locks == ["2", "50"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "ids"),
    [("yes", ["2"]), ("no", ["3", "1"]), ("", ["3", "2", "1"]), ("x", ["3", "2", "1"])],
)
def test_the_protected_filter(api, team, viewer_user, manager_user, value, ids) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    protect(team, manager_user, "2")
    html = client_for(viewer_user).get(f"/servers/?protected={value}").content.decode()
    assert row_ids(html) == ids
    for option in ("yes", "no"):
        selected = " selected" if option == value else ""
        assert f'<option value="{option}"{selected}>' in html
    if value in ("yes", "no"):
        assert "Clear filters" in html


@pytest.mark.django_db
def test_the_protected_filter_lives_in_the_url_and_the_pager(api, team, viewer_user) -> None:
    mock_list(api, [server_json(i, name=f"s-{i:03d}") for i in range(1, 61)])
    html = client_for(viewer_user).get("/servers/?protected=no", **HTMX).content.decode()
    assert 'href="/servers/?protected=no&amp;page=2"' in html
    assert "/servers/status/?protected=no&amp;" in html  # the live poller keeps the filter too


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "href"),
    [
        ("", "/servers/export.csv"),
        (
            "?status=active&location=us-west&q=web&protected=yes&sort=-created&page=2&per_page=50",
            "/servers/export.csv?status=active&amp;location=us-west&amp;q=web&amp;protected=yes"
            "&amp;sort=-created",
        ),
    ],
)
def test_the_export_link_keeps_the_filters(
    api, team, viewer_user, manager_user, query, href
) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    protect(team, manager_user, "1")
    html = client_for(viewer_user).get(f"/servers/{query}").content.decode()
    assert f'<a class="button small export-link" href="{href}">Export CSV</a>' in html


@pytest.mark.django_db
def test_the_live_poller_keeps_the_checkbox_and_sends_a_row_whose_lock_changed(
    api, team, operator_user, manager_user
) -> None:
    mock_list(api, three_servers())
    mock_plans(api)
    browser = client_for(operator_user)
    html = browser.get("/servers/").content.decode()
    poll_url = re.search(r'hx-get="(/servers/status/\?[^"]+)"', html).group(1).replace("&amp;", "&")
    quiet = browser.get(poll_url, **HTMX).content.decode()
    assert "<tr" not in quiet  # nothing changed: no row sent

    protect(team, manager_user, "1")
    changed = browser.get(poll_url, **HTMX).content.decode()
    assert row_ids(changed) == ["1"]
    assert 'id="select-1" form="bulk-form"' in changed
    assert "hx-preserve" in changed
    assert "Protected from deletion" in changed


@pytest.mark.django_db
def test_locations_are_named_by_their_city_and_an_unknown_one_as_it_comes(api, viewer_user) -> None:
    mock_list(
        api,
        [
            server_json(1, name="fra", location="eu-central"),
            server_json(2, name="x", location="mars-1"),
        ],
    )
    mock_plans(api, [plan_json(1, "Standard VPS", ["eu-central"])])
    html = client_for(viewer_user).get("/servers/").content.decode()
    rows = dict(zip(row_ids(html), re.findall(r"<tr id=.*?</tr>", html, flags=re.S), strict=True))
    assert '>Frankfurt<span class="plan-specs">eu-central</span></td>' in rows["1"]
    assert '<td data-label="Location" class="cell-nowrap">mars-1</td>' in rows["2"]
    select = html.split('id="filter-location"')[1].split("</select>")[0]
    assert '<option value="eu-central">Frankfurt (eu-central)</option>' in select
    assert '<option value="mars-1">mars-1</option>' in select


@pytest.mark.django_db
def test_location_names_are_translated(api, viewer_user) -> None:
    mock_list(api, [server_json(1, name="gru", location="sa-east")])
    mock_plans(api, [])
    c = client_for(viewer_user)
    c.cookies["django_language"] = "pt-br"
    html = c.get("/servers/").content.decode()
    assert '>São Paulo<span class="plan-specs">sa-east</span>' in html
    assert "São Paulo (sa-east)" in html
