"""Bulk actions from the server list in a real browser, against the sandbox behind its
request counter: the selection, the confirmation in the page's bulk panel, each outcome
on its row, the rows going live, a double submit, a viewer, the same flow without
JavaScript, and a selection that survives the live poller's row swaps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from panel.models import Role, Team
from sandbox import start_sandbox
from tests.e2e.conftest import SANDBOX_TOKEN, log_in, member, team_with_token

PASSWORD = "bulk-password-1"
REBOOT = "POST /api/v1/servers/{id}/reboot/"
START = "POST /api/v1/servers/{id}/start/"
SETTLE = 20_000  # ms: a 4 s transition, then a few 2 s polls, with room for a slow CI


pytestmark = pytest.mark.usefixtures("quick_idle_polls")


@pytest.fixture
def upstream(settings: Any) -> Iterator[Any]:
    # Long enough to see "rebooting" on the page, short enough to see it settle.
    with start_sandbox(tokens=(SANDBOX_TOKEN,), transition_seconds=4) as running:
        settings.VPSORG_API_URL = running.api_url
        yield running


@pytest.fixture
def team(transactional_db: Any, upstream: Any) -> Team:
    return team_with_token("E2E bulk")


def calls(upstream: Any, key: str) -> int:
    return upstream.requests.snapshot()["by_endpoint"].get(key, 0)


def ids_by_name(upstream: Any) -> dict[str, str]:
    answer = requests.get(
        f"{upstream.api_url}/servers/",
        params={"page_size": 100},
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        timeout=5,
    )
    return {s["name"]: str(s["id"]) for s in answer.json()["results"]}


def tick(page: Any, name: str) -> None:
    page.get_by_role("checkbox", name=f"Select {name}", exact=True).check()


def badge(page: Any, server_id: str) -> Any:
    return page.locator(f"#server-{server_id} [data-status]")


def watch_errors(page: Any) -> list[str]:
    """Script errors and console errors (a CSP violation is one) seen by the page."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def test_reboot_three_selected_one_stopped_confirm_and_the_rows_settle(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    ids = ids_by_name(upstream)
    errors = watch_errors(page)
    log_in(page, live_server, "olga", PASSWORD)
    page.evaluate("window.__noReload = true")
    for name in ("web-server-01", "db-server-01", "staging-01"):
        tick(page, name)
    before = calls(upstream, REBOOT)
    page.get_by_role("button", name="Reboot selected", exact=True).click()

    panel = page.locator("#bulk-panel")
    expect(panel.locator(".bulk-question")).to_have_text("Reboot 2 servers?")
    # In the list's order (by name), as the form sends them.
    expect(panel.locator("#bulk-acting + .bulk-names li")).to_have_text(
        ["db-server-01", "web-server-01"]
    )
    skipped = panel.locator("#bulk-skipped + .bulk-names li")
    expect(skipped).to_have_count(1)
    expect(skipped).to_contain_text("staging-01")
    expect(skipped).to_contain_text("Only an active server can be rebooted")
    assert calls(upstream, REBOOT) == before

    panel.get_by_role("button", name="Reboot 2 servers", exact=True).click()
    expect(panel.locator("#bulk-result")).to_be_visible()
    outcomes = panel.locator("[data-bulk-server]").evaluate_all(
        "rows => Object.fromEntries(rows.map(r => [r.dataset.bulkServer, r.dataset.outcome]))"
    )
    assert outcomes == {
        ids["web-server-01"]: "done",
        ids["db-server-01"]: "done",
        ids["staging-01"]: "skipped",
    }
    # Each outcome on its own row, beside the name.
    expect(page.locator(f"#bulk-outcome-{ids['web-server-01']}")).to_have_text("Reboot: Done")
    expect(page.locator(f"#bulk-outcome-{ids['staging-01']}")).to_have_text("Reboot: Skipped")
    assert calls(upstream, REBOOT) - before == 2

    # The rows acted on go live through the list's poller, and settle, without a reload.
    for name in ("web-server-01", "db-server-01"):
        expect(badge(page, ids[name])).to_have_attribute("data-status", "rebooting")
    # While rebooting, the swapped rows kept their outcome and their ticked box (hx-preserve).
    expect(page.locator(f"#bulk-outcome-{ids['web-server-01']}")).to_have_text("Reboot: Done")
    for name in ("web-server-01", "db-server-01"):
        expect(badge(page, ids[name])).to_have_attribute("data-status", "active", timeout=SETTLE)
    expect(badge(page, ids["staging-01"])).to_have_attribute("data-status", "stopped")
    expect(page.get_by_role("checkbox", name="Select web-server-01", exact=True)).to_be_checked()
    # Settled, the outcomes are old news: a live refresh clears them (static/js/bulk.js).
    for name in ("web-server-01", "db-server-01", "staging-01"):
        expect(page.locator(f"#bulk-outcome-{ids[name]}")).to_have_text("", timeout=SETTLE)
    expect(page.get_by_role("checkbox", name="Select web-server-01", exact=True)).to_be_checked()
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    assert calls(upstream, REBOOT) - before == 2
    assert errors == []


def test_a_double_submit_sends_nothing_twice(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    member(team, "otto", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "otto", PASSWORD)
    tick(page, "web-server-01")
    tick(page, "app-server-01")
    page.get_by_role("button", name="Reboot selected", exact=True).click()
    confirm = page.locator("#bulk-panel").get_by_role("button", name="Reboot 2 servers")
    expect(confirm).to_be_visible()
    before = calls(upstream, REBOOT)
    # Two submits of the same form as fast as a script can send them, then a double click.
    page.locator("#bulk-panel form.bulk-form").evaluate(
        "f => { f.requestSubmit(); f.requestSubmit(); }"
    )
    expect(page.locator("#bulk-result")).to_be_visible()
    assert calls(upstream, REBOOT) - before == 2

    # Another selection, confirmed with a double click.
    for name in ("web-server-01", "app-server-01"):
        page.get_by_role("checkbox", name=f"Select {name}", exact=True).uncheck()
    tick(page, "cache-server-01")
    tick(page, "api-server-01")
    page.get_by_role("button", name="Reboot selected", exact=True).click()
    confirm = page.locator("#bulk-panel").get_by_role("button", name="Reboot 2 servers")
    expect(confirm).to_be_visible()
    confirm.dblclick()
    expect(page.locator("#bulk-result")).to_be_visible()
    expect(page.locator("#bulk-result [data-bulk-server]")).to_have_count(2)
    assert calls(upstream, REBOOT) - before == 4


def test_a_viewer_sees_no_bulk_controls(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    member(team, "vera", Role.VIEWER, PASSWORD)
    log_in(page, live_server, "vera", PASSWORD)
    expect(page.locator("tr[data-server-id]").first).to_be_visible()
    expect(page.locator("input[type=checkbox]")).to_have_count(0)
    expect(page.locator("#bulk-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Reboot selected")).to_have_count(0)
    expect(page.locator(".role-note")).to_contain_text("cannot start or stop servers")
    # The export is for every role.
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute(
        "href", "/servers/export.csv"
    )


def test_without_javascript_the_whole_flow_goes_through_the_pages(
    browser: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    member(team, "nina", Role.OPERATOR, PASSWORD)
    ids = ids_by_name(upstream)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, live_server, "nina", PASSWORD)
        # "Select all on this page" needs a script: without one it stays hidden.
        expect(page.locator("#select-page")).to_be_hidden()
        for name in ("web-server-01", "db-server-01", "staging-01"):
            tick(page, name)
        before = calls(upstream, REBOOT)
        page.get_by_role("button", name="Reboot selected", exact=True).click()
        page.wait_for_url("**/servers/bulk/?**")
        expect(page.locator("h1")).to_have_text("Reboot 2 servers?")
        expect(page.locator("#bulk-skipped + .bulk-names")).to_contain_text("staging-01")
        page.get_by_role("button", name="Reboot 2 servers", exact=True).click()
        expect(page.locator("#bulk-result")).to_be_visible()
        outcomes = page.locator("[data-bulk-server]").evaluate_all(
            "rows => Object.fromEntries(rows.map(r => [r.dataset.bulkServer, r.dataset.outcome]))"
        )
        assert outcomes == {
            ids["web-server-01"]: "done",
            ids["db-server-01"]: "done",
            ids["staging-01"]: "skipped",
        }
        assert calls(upstream, REBOOT) - before == 2

        # "All N matching the filters": the filter's servers, not the ticked ones.
        page.goto(f"{live_server.url}/servers/?status=stopped")
        tick(page, "backup-01")
        page.locator("#select-matching").check()
        page.get_by_role("button", name="Start selected", exact=True).click()
        stopped = ["backup-01", "ci-runner-01", "files-01", "git-01", "staging-01", "vpn-01"]
        expect(page.locator("h1")).to_have_text("Start 6 servers?")
        expect(page.locator("#bulk-acting + .bulk-names li")).to_have_text(stopped)
        started = calls(upstream, START)
        page.get_by_role("button", name="Start 6 servers", exact=True).click()
        expect(page.locator("#bulk-result")).to_be_visible()
        assert calls(upstream, START) - started == 6
    finally:
        context.close()


def test_the_selection_survives_a_live_refresh_of_its_row(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    member(team, "omar", Role.OPERATOR, PASSWORD)
    ids = ids_by_name(upstream)
    log_in(page, live_server, "omar", PASSWORD)
    web = page.locator(f"#server-{ids['web-server-01']}")
    tick(page, "web-server-01")
    page.get_by_role("checkbox", name="Select all on this page").check()
    page.get_by_role("checkbox", name="Select db-server-01", exact=True).uncheck()
    # The row as it is now, marked: the live poller replaces the element when it changes.
    web.evaluate("row => { row.__before = true; }")

    # Stopped elsewhere (straight at VPS.org): the poller brings the new row.
    requests.post(
        f"{upstream.api_url}/servers/{ids['web-server-01']}/stop/",
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        timeout=5,
    ).raise_for_status()
    expect(badge(page, ids["web-server-01"])).not_to_have_attribute(
        "data-status", "active", timeout=SETTLE
    )
    assert web.evaluate("row => row.__before === undefined"), "the row was not swapped"
    expect(page.get_by_role("checkbox", name="Select web-server-01", exact=True)).to_be_checked()
    expect(page.get_by_role("checkbox", name="Select db-server-01", exact=True)).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="Select app-server-01", exact=True)).to_be_checked()
    # Partly ticked: "select all" says so.
    assert page.locator("#select-page").evaluate("box => box.indeterminate")


def test_cancel_closes_the_confirmation_without_a_reload(
    page: Any, live_server: Any, team: Team, upstream: Any
) -> None:
    member(team, "cleo", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "cleo", PASSWORD)
    page.evaluate("window.__noReload = true")
    tick(page, "web-server-01")
    page.get_by_role("button", name="Reboot selected", exact=True).click()
    panel = page.locator("#bulk-panel")
    expect(panel.locator(".bulk-question")).to_have_text("Reboot 1 server?")
    # Every request the page makes from now on but the live poller's (servers/status/).
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/servers/status/" not in r.url else None)
    panel.get_by_role("link", name="Cancel").click()
    expect(panel).to_be_empty()
    expect(panel).to_be_hidden()
    # No reload, no request: the ticked box and the page are as they were.
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    assert asked == []
    expect(page.get_by_role("checkbox", name="Select web-server-01", exact=True)).to_be_checked()
    expect(page.get_by_role("button", name="Start selected", exact=True)).to_be_focused()
