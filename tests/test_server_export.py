"""GET /servers/export.csv: the list's filters, search and order, every matching server, as
a CSV a spreadsheet opens safely; an upstream failure answers a page, never a CSV."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import date
from typing import Any

import pytest
from responses import matchers

from servers.exports import neutralise
from servers.models import ServerProtection
from tests.conftest import API, client_for, page, server_json

LIST = f"{API}/servers/"


def rows(response: Any) -> list[list[str]]:
    assert response.streaming
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def many(count: int) -> list[dict[str, object]]:
    return [
        server_json(1000 + i, name=f"web-{i:02d}", ip_address=f"203.0.113.{i}")
        for i in range(count)
    ]


def test_every_matching_server_not_one_page(api, viewer_user) -> None:
    api.get(LIST, json=page(many(30)))
    response = client_for(viewer_user).get("/servers/export.csv?page=2&per_page=25")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    table = rows(response)
    assert table[0] == [
        "ID",
        "Name",
        "Hostname",
        "Status",
        "IPv4",
        "IPv6",
        "Location",
        "Plan",
        "OS",
        "Created (UTC)",
        "Protected",
    ]
    assert len(table) == 31
    assert [r[1] for r in table[1:]] == [f"web-{i:02d}" for i in range(30)]
    assert table[1] == [
        "1000",
        "web-00",
        "web01.example.com",
        "active",
        "203.0.113.0",
        "",
        "us-west",
        "Standard VPS",
        "Ubuntu 22.04 LTS",
        "2025-01-10 14:30:00",
        "no",
    ]


def test_the_lists_filters_search_and_sort(api, viewer_user) -> None:
    servers = [
        server_json(1, name="alpha", hostname="a.example.com"),
        server_json(2, name="beta-db", hostname="db.example.com"),
        server_json(3, name="gamma-db", hostname="db2.example.com"),
    ]
    api.get(
        LIST,
        json=page(servers),
        match=[matchers.query_param_matcher({"status": "active", "location": "us-west"},
                                            strict_match=False)],
    )  # fmt: skip
    response = client_for(viewer_user).get(
        "/servers/export.csv?status=active&location=us-west&q=db&sort=-name"
    )
    assert [r[1] for r in rows(response)[1:]] == ["gamma-db", "beta-db"]
    assert api.calls[0].request.params["status"] == "active"


def test_formulas_are_neutralised_and_text_survives(api, viewer_user) -> None:
    names = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", 'Café, "quoted"\nline']
    api.get(LIST, json=page([server_json(i + 1, name=n) for i, n in enumerate(names)]))
    table = rows(client_for(viewer_user).get("/servers/export.csv?sort=created"))
    exported = {r[0]: r[1] for r in table[1:]}
    assert exported == {
        "1": '\'=HYPERLINK("http://x")',
        "2": "'+1",
        "3": "'-2",
        "4": "'@SUM(A1)",
        "5": "'\tx",
        "6": "'\rx",
        "7": 'Café, "quoted"\nline',
    }


def test_neutralise() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("a=1") == "a=1"
    assert neutralise(None) == ""
    assert neutralise(42) == "42"


def test_the_protected_column(api, team, viewer_user, manager_user) -> None:
    ServerProtection.objects.create(team=team, server_id="1001", protected_by=manager_user)
    api.get(LIST, json=page(many(3)))
    table = rows(client_for(viewer_user).get("/servers/export.csv"))
    assert {r[0]: r[-1] for r in table[1:]} == {"1000": "no", "1001": "yes", "1002": "no"}


def test_a_dated_attachment_never_cached(api, viewer_user) -> None:
    api.get(LIST, json=page(many(1)))
    response = client_for(viewer_user).get("/servers/export.csv")
    today = date.today().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="servers-acme-{today}.csv"'
    cache_control = {p.strip() for p in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control


@pytest.mark.parametrize(
    ("status", "text"),
    [(503, "VPS.org is having trouble right now."), (401, "rejected the team")],
)
def test_an_upstream_failure_answers_a_page_not_a_csv(api, viewer_user, status, text) -> None:
    api.get(LIST, status=status, json={"detail": "no"})
    response = client_for(viewer_user).get("/servers/export.csv?q=web")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response
    assert "The export could not be made" in html
    assert text in html
    assert 'href="/servers/export.csv?q=web"' in html


def test_a_list_cut_short_upstream_is_no_csv(api, viewer_user) -> None:
    # The second page of the list fails: the export must not pass off the first as all.
    api.get(LIST, json=page(many(2), next_url=f"{LIST}?page=2"),
            match=[matchers.query_param_matcher({"page_size": "100"})])  # fmt: skip
    api.get(LIST, status=503, json={"detail": "down"},
            match=[matchers.query_param_matcher({"page": "2"})])  # fmt: skip
    response = client_for(viewer_user).get("/servers/export.csv")
    assert not response.streaming
    assert "The export could not be made" in response.content.decode()


def test_no_token(team, viewer_user) -> None:
    team.api_token.delete()
    response = client_for(viewer_user).get("/servers/export.csv")
    assert response.status_code == 200
    assert "no VPS.org API token yet" in response.content.decode()


def test_an_outsider_exports_its_own_teams_servers(api, outsider_user) -> None:
    mine = [matchers.header_matcher({"Authorization": "Bearer other-team-token-wxyz9876"})]
    api.get(LIST, json=page([server_json(77, name="theirs")]), match=mine)
    table = rows(client_for(outsider_user).get("/servers/export.csv"))
    assert [r[1] for r in table[1:]] == ["theirs"]


def test_login_required(client) -> None:
    response = client.get("/servers/export.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_failure_page_and_the_activity_link_are_valid_html(
    tmp_path, api, team, admin_user
) -> None:
    from panel.audit import record
    from tests.test_html_valid import HTMX_ATTRIBUTES, _checker

    checker = _checker()
    api.get(LIST, status=503, json={"detail": "no"})
    record(team, admin_user, "server.start", target_id="1", target_name="=x")
    browser = client_for(admin_user)
    files = []
    for name, url in (("failed", "/servers/export.csv"), ("activity", "/team/activity/?server=1")):
        path = tmp_path / f"{name}.html"
        path.write_bytes(browser.get(url).content)
        files.append(str(path))
    result = subprocess.run(
        [*checker, "--errors-only", "--format", "json", "--filterpattern", HTMX_ATTRIBUTES,
         *files],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert json.loads(result.stderr or '{"messages": []}')["messages"] == []


@pytest.mark.parametrize(("value", "ids"), [("yes", ["1001"]), ("no", ["1000", "1002"])])
def test_the_protected_filter_as_on_the_list(api, team, viewer_user, manager_user, value, ids):
    ServerProtection.objects.create(team=team, server_id="1001", protected_by=manager_user)
    api.get(LIST, json=page(many(3)))
    table = rows(client_for(viewer_user).get(f"/servers/export.csv?protected={value}"))
    assert [r[0] for r in table[1:]] == ids
