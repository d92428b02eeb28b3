"""Bulk power actions: /servers/bulk/ (a confirmation on GET, the calls on POST)."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections import Counter
from typing import Any

import pytest
from responses import matchers

from panel.models import AuditEntry
from servers import bulk
from servers import cache as server_cache
from tests.conftest import API, OTHER_TOKEN, client_for, page, server_json

LIST = f"{API}/servers/"
HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "bulk-result"}
NONCE = "a-one-time-nonce-0123456789"
MIXED = [
    server_json(101, name="web-1", status="active"),
    server_json(102, name="web-2", status="active"),
    server_json(103, name="db-1", status="stopped"),
    server_json(104, name="old-1", status="suspended"),
    server_json(105, name="new-1", status="rebooting"),
]


def action_url(server_id: object, action: str = "reboot") -> str:
    return f"{API}/servers/{server_id}/{action}/"


def accepted(server: dict[str, Any], status: str = "rebooting") -> dict[str, Any]:
    return {"status": "success", "message": "ok", "server": {**server, "status": status}}


def posts(api) -> list[str]:
    return [c.request.url for c in api.calls if c.request.method == "POST"]


def outcomes(response) -> dict[str, str]:
    html = response.content.decode()
    return dict(re.findall(r'data-bulk-server="([^"]+)" data-outcome="([^"]+)"', html))


def mock_mixed(api) -> None:
    api.get(LIST, json=page(MIXED))
    for server in MIXED:
        api.post(action_url(server["id"]), json=accepted(server))


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("viewer_user", 403), ("operator_user", 200), ("manager_user", 200), ("admin_user", 200)],
)
def test_the_role_matrix(api, role, status, request) -> None:
    mock_mixed(api)
    browser = client_for(request.getfixturevalue(role))
    post = browser.post("/servers/bulk/", {"action": "reboot", "id": ["101"], "nonce": NONCE})
    confirm = browser.get("/servers/bulk/?action=reboot&id=101")
    assert (post.status_code, confirm.status_code) == (status, status)
    assert len(posts(api)) == (0 if status == 403 else 1)
    assert AuditEntry.objects.filter(action="server.reboot").count() == (status == 200)


def test_a_viewer_sends_nothing(api, viewer_user) -> None:
    mock_mixed(api)
    client_for(viewer_user).post("/servers/bulk/", {"action": "reboot", "id": ["101", "102"]})
    assert len(api.calls) == 0
    assert not AuditEntry.objects.exists()


def test_login_required(api, client) -> None:
    response = client.post("/servers/bulk/", {"action": "reboot", "id": ["101"]})
    assert response.status_code == 302
    assert len(api.calls) == 0


# --- a mixed selection ----------------------------------------------------------------------


def test_a_mixed_selection(api, team, operator_user) -> None:
    mock_mixed(api)
    ids = ["101", "102", "103", "104", "105", "999", "101", "../etc"]
    response = client_for(operator_user).post(
        "/servers/bulk/", {"action": "reboot", "id": ids, "nonce": NONCE}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert sorted(posts(api)) == [action_url(101), action_url(102)]
    assert [c.request.method for c in api.calls].count("GET") == 1
    assert outcomes(response) == {
        "101": "done",
        "102": "done",
        "103": "skipped",
        "104": "skipped",
        "105": "skipped",
        "999": "not_found",
        "../etc": "not_found",
    }
    assert "Only an active server can be rebooted; this one is stopped." in html
    assert "Only an active server can be rebooted; this one is suspended." in html
    assert "It is rebooting right now; try again once it has settled." in html
    assert "The team has no server with this id" in html
    assert "This is not a server id." in html
    assert "Done: <strong>2</strong>" in html
    assert "Skipped: <strong>3</strong>" in html
    assert "Not found: <strong>2</strong>" in html
    entries = AuditEntry.objects.filter(team=team)
    assert sorted(entries.filter(action="server.reboot").values_list("target_id", "outcome")) == [
        ("101", "ok"),
        ("102", "ok"),
    ]
    summary = entries.get(action="server.bulk")
    assert summary.username == "oscar-operator"
    assert summary.message == "reboot, 7 selected: 2 done, 3 skipped, 2 not found"
    assert summary.target_name.startswith("web-1, web-2, db-1")
    assert entries.count() == 3


@pytest.mark.parametrize(
    ("action", "acted", "status"),
    [("start", ["103"], "starting"), ("stop", ["101", "102"], "stopping")],
)
def test_start_and_stop_follow_the_status_rules(api, operator_user, action, acted, status) -> None:
    api.get(LIST, json=page(MIXED))
    for server in MIXED:
        api.post(action_url(server["id"], action), json=accepted(server, status))
    response = client_for(operator_user).post(
        "/servers/bulk/", {"action": action, "id": ["101", "102", "103", "104"]}
    )
    assert sorted(posts(api)) == [action_url(i, action) for i in acted]
    done = sorted(k for k, v in outcomes(response).items() if v == "done")
    assert done == acted
    assert AuditEntry.objects.filter(action=f"server.{action}").count() == len(acted)


def test_a_partial_failure_is_reported_per_server(api, team, operator_user) -> None:
    servers = [server_json(i, name=f"web-{i}") for i in (1, 2, 3, 4)]
    api.get(LIST, json=page(servers))
    api.post(action_url(1), json=accepted(servers[0]))
    api.post(action_url(2), status=503, json={"detail": "maintenance"})
    api.post(action_url(3), status=404, json={"detail": "Not found."})
    api.post(action_url(4), status=504, body="gateway timeout")
    response = client_for(operator_user).post(
        "/servers/bulk/", {"action": "reboot", "id": ["1", "2", "3", "4"]}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert outcomes(response) == {"1": "done", "2": "failed", "3": "failed", "4": "unconfirmed"}
    assert "VPS.org is having trouble right now. Try again in a moment." in html
    assert "VPS.org has no such server (it may have been deleted)." in html
    assert "it may be rebooting anyway. Check its status before trying again." in html
    # One call each: a power action is never retried.
    assert Counter(posts(api)) == {action_url(i): 1 for i in (1, 2, 3, 4)}
    rows = AuditEntry.objects.filter(team=team, action="server.reboot")
    assert sorted(rows.values_list("target_id", "outcome", "status_code")) == [
        ("1", "ok", None),
        ("2", "error", 503),
        ("3", "error", 404),
        ("4", "error", 504),
    ]


# --- a double submit ------------------------------------------------------------------------


@pytest.mark.parametrize("nonce", [NONCE, ""])
def test_a_double_submit_sends_nothing_twice(api, team, operator_user, nonce) -> None:
    mock_mixed(api)
    browser = client_for(operator_user)
    data = {"action": "reboot", "id": ["101", "102", "103"], "nonce": nonce}
    first = browser.post("/servers/bulk/", data)
    calls = len(api.calls)
    assert len(posts(api)) == 2
    second = browser.post("/servers/bulk/", data)
    assert len(api.calls) == calls
    html = second.content.decode()
    assert "This request had already been sent: nothing was sent to VPS.org again." in html
    # The earlier outcome is shown again.
    assert outcomes(second) == outcomes(first)
    assert AuditEntry.objects.filter(team=team, action="server.reboot").count() == 2
    assert AuditEntry.objects.filter(team=team, action="server.bulk").count() == 1


def test_a_submit_while_the_first_is_under_way(api, team, operator_user) -> None:
    mock_mixed(api)
    assert bulk.BulkGuard(team, NONCE, "reboot", ["101"]).claim() is None
    response = client_for(operator_user).post(
        "/servers/bulk/", {"action": "reboot", "id": ["101"], "nonce": NONCE}
    )
    assert "It is still being carried out" in response.content.decode()
    assert len(api.calls) == 0


def test_a_fresh_form_may_act_again(api, operator_user) -> None:
    mock_mixed(api)
    browser = client_for(operator_user)
    browser.post("/servers/bulk/", {"action": "reboot", "id": ["101"], "nonce": NONCE})
    browser.post("/servers/bulk/", {"action": "reboot", "id": ["101"], "nonce": NONCE + "x"})
    assert len(posts(api)) == 2


def test_an_unreadable_list_sends_nothing_and_may_be_resent(api, operator_user) -> None:
    api.get(LIST, status=401, json={"detail": "bad token"})
    browser = client_for(operator_user)
    data = {"action": "reboot", "id": ["101"], "nonce": NONCE}
    response = browser.post("/servers/bulk/", data)
    assert response.status_code == 200
    assert "VPS.org rejected the team's API token" in response.content.decode()
    assert posts(api) == []
    api.replace("GET", LIST, json=page(MIXED))
    api.post(action_url(101), json=accepted(MIXED[0]))
    server_cache.invalidate(operator_user.memberships.get().team)
    assert outcomes(browser.post("/servers/bulk/", data)) == {"101": "done"}


# --- the confirmation (no JavaScript) -------------------------------------------------------


def test_the_confirmation_names_the_servers_and_the_skipped(api, operator_user) -> None:
    mock_mixed(api)
    response = client_for(operator_user).get(
        "/servers/bulk/?action=reboot&id=101&id=102&id=103&id=104&id=999"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Reboot 2 servers?" in html
    assert "<li>web-1</li><li>web-2</li>" in html
    assert "Will be skipped (2)" in html
    assert (
        "<strong>db-1</strong>: Only an active server can be rebooted; this one is stopped." in html
    )
    assert "Not found (1)" in html
    assert '<button type="submit" class="button primary">Reboot 2 servers</button>' in html
    for server_id in ("101", "102", "103", "104", "999"):
        assert f'<input type="hidden" name="id" value="{server_id}">' in html
    assert re.search(r'name="nonce" value="[A-Za-z0-9_-]{32}"', html)
    assert posts(api) == []


def test_the_confirmation_shows_ten_names_and_how_many_more(api, operator_user) -> None:
    servers = [server_json(i, name=f"web-{i:02d}") for i in range(1, 43)]
    api.get(LIST, json=page(servers))
    query = "&".join(f"id={i}" for i in range(1, 43))
    html = client_for(operator_user).get(f"/servers/bulk/?action=stop&{query}").content.decode()
    assert "Stop 42 servers?" in html
    assert html.count("<li>web-") == 10
    assert "and 32 more" in html


def test_nothing_to_do_offers_no_button(api, operator_user) -> None:
    mock_mixed(api)
    html = client_for(operator_user).get("/servers/bulk/?action=start&id=101").content.decode()
    assert "None of the selected servers can be started now." in html
    assert 'type="submit" class="button primary"' not in html


def test_the_whole_flow_without_javascript(api, operator_user) -> None:
    mock_mixed(api)
    browser = client_for(operator_user)
    html = browser.get("/servers/bulk/?action=reboot&id=101&id=103").content.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    response = browser.post("/servers/bulk/", {"action": "reboot", "id": ["101", "103"],
                                               "nonce": nonce})  # fmt: skip
    assert outcomes(response) == {"101": "done", "103": "skipped"}
    assert "<html" in response.content.decode()
    browser.post("/servers/bulk/", {"action": "reboot", "id": ["101", "103"], "nonce": nonce})
    assert posts(api) == [action_url(101)]


# --- htmx -----------------------------------------------------------------------------------


def test_htmx_gets_the_result_fragment_and_a_toast(api, operator_user) -> None:
    mock_mixed(api)
    response = client_for(operator_user).post(
        "/servers/bulk/", {"action": "reboot", "id": ["101", "103"], "nonce": NONCE}, **HX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="bulk-result"')
    assert "<html" not in html
    assert outcomes(response) == {"101": "done", "103": "skipped"}
    toast = json.loads(response["HX-Trigger"])["panel:toast"]
    assert toast == {"message": "Reboot · Done: 1, Skipped: 1", "level": "success"}
    assert "HX-Request" in response["Vary"]


# --- refused selections ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"action": "delete", "id": ["101"]}, "Choose Start, Stop or Reboot."),
        ({"action": "reboot"}, "No server was selected."),
        ({"action": "reboot", "id": [str(i) for i in range(501)]}, "At most 500 servers"),
    ],
)
def test_a_bad_selection_is_refused_before_any_call(api, operator_user, data, text) -> None:
    mock_mixed(api)
    browser = client_for(operator_user)
    for response in (browser.post("/servers/bulk/", data), browser.get("/servers/bulk/", data)):
        assert response.status_code == 400
        assert text in response.content.decode()
    assert len(api.calls) == 0


def test_an_outsider_finds_none_of_this_teams_servers(api, team, outsider_user) -> None:
    theirs = [matchers.header_matcher({"Authorization": f"Bearer {OTHER_TOKEN}"})]
    api.get(LIST, json=page([server_json(7, name="theirs")]), match=theirs)
    response = client_for(outsider_user).post(
        "/servers/bulk/", {"action": "reboot", "id": ["101", "102"]}
    )
    assert outcomes(response) == {"101": "not_found", "102": "not_found"}
    assert posts(api) == []
    assert not AuditEntry.objects.filter(team=team).exists()


def test_no_token(team, operator_user) -> None:
    team.api_token.delete()
    response = client_for(operator_user).post("/servers/bulk/", {"action": "reboot", "id": ["1"]})
    assert response.status_code == 200
    assert "no VPS.org API token yet" in response.content.decode()


def test_the_cache_is_dropped_after(api, team, operator_user) -> None:
    mock_mixed(api)
    client_for(operator_user).post("/servers/bulk/", {"action": "reboot", "id": ["101"]})
    server_cache.list_servers(team)
    lists = [c for c in api.calls if c.request.method == "GET"]
    assert len(lists) == 2


# --- concurrency and the time bound ---------------------------------------------------------


def test_the_concurrency_is_bounded_and_the_calls_leave_from_worker_threads(
    api, operator_user, settings
) -> None:
    settings.BULK_CONCURRENCY = 3
    servers = [server_json(i, name=f"web-{i}") for i in range(1, 13)]
    api.get(LIST, json=page(servers))
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    threads: set[str] = set()

    def slow(request) -> tuple[int, dict[str, str], str]:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            threads.add(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        server_id = request.url.rstrip("/").split("/")[-2]
        return 200, {}, json.dumps(accepted(server_json(server_id)))

    api.add_callback("POST", re.compile(rf"{re.escape(API)}/servers/\d+/reboot/"), callback=slow)
    response = client_for(operator_user).post(
        "/servers/bulk/", {"action": "reboot", "id": [str(i) for i in range(1, 13)]}
    )
    assert set(outcomes(response).values()) == {"done"}
    assert state["most"] == 3
    assert all(name.startswith("bulk") for name in threads)
    assert threading.current_thread().name not in threads


@pytest.mark.django_db(transaction=True)
def test_a_hundred_servers_answer_within_the_time_bound(api, team, operator_user, settings) -> None:
    settings.VPSORG_TIMEOUT = 0.4
    servers = [server_json(i, name=f"web-{i:03d}") for i in range(1, 101)]
    api.get(LIST, json=page(servers))
    release = threading.Event()
    sent: Counter[str] = Counter()
    lock = threading.Lock()

    def slow(request) -> tuple[int, dict[str, str], str]:
        server_id = request.url.rstrip("/").split("/")[-2]
        with lock:
            sent[server_id] += 1
        # Slow (0.3 s a call, 4 at a time: 7.5 s for all) until the test lets go.
        release.wait(0.3)
        return 200, {}, json.dumps(accepted(server_json(server_id)))

    api.add_callback("POST", re.compile(rf"{re.escape(API)}/servers/\d+/reboot/"), callback=slow)
    started = time.monotonic()
    response = client_for(operator_user).post(
        "/servers/bulk/", {"action": "reboot", "id": [str(i) for i in range(1, 101)]}
    )
    elapsed = time.monotonic() - started
    try:
        assert response.status_code == 200
        assert elapsed < 3 * 0.4 + 0.3, elapsed
        found = Counter(outcomes(response).values())
        assert found["done"] >= 4
        assert found["pending"] >= 50
        assert found["done"] + found["pending"] == 100
        html = response.content.decode()
        assert "Still waiting for VPS.org: check its status in a moment." in html
        # Every server reported done is recorded by the time the answer leaves; the
        # pending ones go on in the background and may add theirs meanwhile.
        done_now = AuditEntry.objects.filter(team=team, action="server.reboot").count()
        assert found["done"] <= done_now < 100
    finally:
        release.set()
        assert bulk.wait_for_background(30)
    # The pending ones went on in the background: each sent once, each recorded once.
    assert sent == Counter({str(i): 1 for i in range(1, 101)})
    reboots = AuditEntry.objects.filter(team=team, action="server.reboot")
    assert reboots.count() == 100
    assert len(set(reboots.values_list("target_id", flat=True))) == 100
    summary = AuditEntry.objects.get(team=team, action="server.bulk")
    assert f"{found['pending']} pending" in summary.message


# --- valid HTML -----------------------------------------------------------------------------


def test_the_pages_are_valid_html(tmp_path, api, operator_user) -> None:
    from tests.test_html_valid import HTMX_ATTRIBUTES, _checker

    checker = _checker()
    mock_mixed(api)
    browser = client_for(operator_user)
    pages = {
        "confirm": browser.get("/servers/bulk/?action=reboot&id=101&id=103&id=999&id=x_y"),
        "result": browser.post("/servers/bulk/", {"action": "reboot", "id": ["101", "103", "9"]}),
        "invalid": browser.get("/servers/bulk/?action=reboot"),
    }
    files = []
    for name, response in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_bytes(response.content)
        files.append(str(path))
    result = subprocess.run(
        [*checker, "--errors-only", "--format", "json", "--filterpattern", HTMX_ATTRIBUTES,
         *files],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert json.loads(result.stderr or '{"messages": []}')["messages"] == []


def test_htmx_gets_the_confirmation_alone_with_a_form_that_swaps_in_the_result(
    api, operator_user
) -> None:
    mock_mixed(api)
    browser = client_for(operator_user)
    response = browser.get("/servers/bulk/?action=reboot&id=101&id=103", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="bulk-confirm"')
    assert "<html" not in html
    assert '<h2 class="bulk-question">Reboot 1 server?</h2>' in html
    assert 'hx-post="/servers/bulk/" hx-target="#bulk-confirm" hx-swap="outerHTML"' in html
    assert posts(api) == []
    # The full page's form is a plain one.
    page_html = browser.get("/servers/bulk/?action=reboot&id=101").content.decode()
    assert "<h1>Reboot 1 server?</h1>" in page_html
    assert 'hx-post="/servers/bulk/"' not in page_html
    assert "bulk-question" not in page_html


def test_htmx_gets_a_bad_selection_as_a_fragment_too(api, operator_user) -> None:
    response = client_for(operator_user).get("/servers/bulk/?action=x&id=1", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 400
    assert html.lstrip().startswith('<div id="bulk-confirm"')
    assert "Choose Start, Stop or Reboot." in html
    assert len(api.calls) == 0


# --- "all N matching the filter" (the list page's scope=filter) ---------------------------


def test_all_matching_resolves_the_lists_filters_and_ignores_ids(api, operator_user) -> None:
    mock_mixed(api)
    browser = client_for(operator_user)
    # web-* and active: 101 and 102; the ticked 103 is not what "all matching" means.
    query = "action=reboot&scope=filter&status=active&q=web&id=103"
    response = browser.get(f"/servers/bulk/?{query}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Reboot 2 servers?</h1>" in html
    assert re.findall(r'<input type="hidden" name="id" value="(\d+)">', html) == ["101", "102"]
    assert posts(api) == []


def test_all_matching_with_the_protection_filter(api, team, operator_user, manager_user) -> None:
    from servers.models import ServerProtection

    mock_mixed(api)
    ServerProtection.objects.create(team=team, server_id="103", protected_by=manager_user)
    html = client_for(operator_user).get("/servers/bulk/?action=start&scope=filter&protected=no")
    # 103 (the one stopped server) is protected, so filtered out: nothing to start.
    assert "None of the selected servers can be started now." in html.content.decode()
    yes = client_for(operator_user).get("/servers/bulk/?action=start&scope=filter&protected=yes")
    assert "<h1>Start 1 server?</h1>" in yes.content.decode()


def test_all_matching_posted_acts_on_the_filters_servers_once(api, operator_user) -> None:
    mock_mixed(api)
    browser = client_for(operator_user)
    data = {"action": "reboot", "scope": "filter", "status": "active", "nonce": NONCE}
    response = browser.post("/servers/bulk/", data)
    assert outcomes(response) == {"101": "done", "102": "done"}
    assert sorted(posts(api)) == [action_url(101), action_url(102)]
    again = browser.post("/servers/bulk/", data)
    assert "already been sent" in again.content.decode()
    assert len(posts(api)) == 2


def test_all_matching_when_vpsorg_fails_sends_nothing(api, operator_user) -> None:
    api.get(LIST, status=503, json={"detail": "down"})
    response = client_for(operator_user).get("/servers/bulk/?action=reboot&scope=filter")
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert posts(api) == []


def test_htmx_result_puts_each_outcome_on_its_row_and_wakes_the_poller(api, operator_user):
    mock_mixed(api)
    response = client_for(operator_user).post(
        "/servers/bulk/", {"action": "reboot", "id": ["101", "103", "nope"], "nonce": NONCE}, **HX
    )
    html = response.content.decode()
    oob = re.findall(r'<span id="bulk-outcome-([^"]+)"[^>]*hx-swap-oob="true">([^<]+)</span>', html)
    # Unknown ids have no row: no out-of-band swap for them.
    assert oob == [("101", "Reboot: Done"), ("103", "Reboot: Skipped")]
    assert "panel:wake" in json.loads(response["HX-Trigger"])
    # Without htmx, the result page has no out-of-band parts.
    plain = client_for(operator_user).post(
        "/servers/bulk/", {"action": "reboot", "id": ["102"], "nonce": NONCE + "x"}
    )
    assert "hx-swap-oob" not in plain.content.decode()
