"""Power actions and live pages in a real browser, against the sandbox.

The sandbox settles transitions after `transition_seconds`; each page's one poller asks
every 2 s while something is in transition and every LIVE_IDLE_SECONDS (shortened here)
otherwise. Nothing here reloads the page after the first load: a marker set on `window`
must survive until the end of each test.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from panel.models import Role, Team, TeamToken
from sandbox import start_sandbox
from tests.e2e.conftest import SANDBOX_TOKEN, log_in, member, team_with_token

PASSWORD = "e2e-password-1"
SETTLE = 12_000  # ms: a 1.5 s transition plus a few 2 s polls, with room for a slow CI


pytestmark = pytest.mark.usefixtures("quick_idle_polls")


@pytest.fixture
def team(db: Any) -> Team:
    return team_with_token("E2E")


@pytest.fixture
def sandbox_5s(settings: Any) -> Iterator[Any]:
    """Transitions long enough for several polls, and for a page to load before they
    settle even on a busy machine."""
    with start_sandbox(tokens=(SANDBOX_TOKEN,), transition_seconds=5) as running:
        settings.VPSORG_API_URL = running.api_url
        yield running


def watch_errors(page: Any) -> list[str]:
    """Script errors and console errors (a CSP violation is one) seen by the page."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def mark_page(page: Any) -> None:
    page.evaluate("window.__noReload = true")


def assert_not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"


def row(page: Any, name: str) -> Any:
    return page.locator("tr[data-server-id]").filter(
        has=page.get_by_role("link", name=name, exact=True)
    )


def api_call(sandbox: Any, method: str, path: str) -> requests.Response:
    return requests.request(
        method,
        f"{sandbox.api_url}/{path.strip('/')}/",
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        timeout=5,
    )


def server_id(sandbox: Any, name: str) -> str:
    servers = api_call(sandbox, "GET", "servers").json()["results"]
    return str(next(s["id"] for s in servers if s["name"] == name))


def list_calls(sandbox: Any) -> int:
    counts = sandbox.requests.snapshot()["by_endpoint"]
    return sum(
        n for key, n in counts.items() if key.startswith("GET ") and key.endswith("/servers/")
    )


# --- the list page ----------------------------------------------------------------------


def test_stop_from_the_list_settles_without_reload(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    errors = watch_errors(page)
    log_in(page, live_server, "olga", PASSWORD)
    mark_page(page)
    web = row(page, "web-server-01")
    badge = web.locator("[data-status]")
    expect(badge).to_have_attribute("data-status", "active")
    assert web.get_by_role("button", name=re.compile(r"^Start")).count() == 0

    web.get_by_role("button", name=re.compile(r"^Stop")).click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Stop web-server-01?")
    page.screenshot(path="/tmp/e2e-power-confirm.png")
    dialog.get_by_role("button", name="Stop").click()

    expect(badge).to_have_attribute("data-status", "stopping")
    expect(badge).to_have_text("Stopping")
    # The focus stays on the server (the row: its buttons are gone while it stops).
    focused_row = "document.activeElement.closest('[data-server-id]')?.dataset.serverId ?? null"
    expect(web).to_be_focused()
    expect(page.locator("#toasts")).to_contain_text("Stopping web-server-01")
    page.screenshot(path="/tmp/e2e-power-stopping.png")

    expect(badge).to_have_attribute("data-status", "stopped", timeout=SETTLE)
    start = web.get_by_role("button", name=re.compile(r"^Start"))
    expect(start).to_be_visible()
    assert start.get_attribute("type") == "submit"
    # Replaced by the poller, the row hands the focus on to its new button.
    expect(start).to_be_focused()
    assert page.evaluate(focused_row) == web.get_attribute("data-server-id")
    expect(web.get_by_role("button", name=re.compile(r"^Stop"))).to_have_count(0)
    page.screenshot(path="/tmp/e2e-power-stopped.png")
    assert_not_reloaded(page)
    assert errors == []


def test_without_javascript_stop_asks_on_a_page_first(
    browser: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    """Issue 8: no power-off in one click on a locked-down browser."""
    member(team, "olga", Role.OPERATOR, PASSWORD)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server, "olga", PASSWORD)
    page.goto(f"{live_server.url}/servers/?status=active")
    row(page, "web-server-01").get_by_role("button", name=re.compile(r"^Stop")).click()
    # A page that names the server and says what will happen; nothing done yet.
    page.wait_for_url(re.compile(r"/servers/\d+/stop/\??$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Stop web-server-01?")
    expect(page.locator("main")).to_contain_text("stays off until someone starts it again")
    sid = server_id(sandbox, "web-server-01")
    status = api_call(sandbox, "GET", f"servers/{sid}").json()["status"]
    assert status == "active"
    page.screenshot(path="/tmp/e2e-power-nojs-confirm.png")
    page.locator("form.confirm-form").get_by_role("button", name=re.compile(r"^Stop")).click()
    # Back where it was, filters kept, with a message.
    page.wait_for_url(f"{live_server.url}/servers/?status=active")
    expect(page.locator("#messages")).to_contain_text("Stopping web-server-01")
    # Stopping, it no longer matches "active".
    expect(row(page, "web-server-01")).to_have_count(0)
    # Start needs no confirmation: a plain POST.
    page.goto(f"{live_server.url}/servers/")
    start = row(page, "web-server-01").get_by_role("button", name=re.compile(r"^Start"))
    if start.count():
        start.click()
        expect(page.locator("#messages")).to_contain_text("Starting web-server-01")
    context.close()


def test_the_dialog_works_from_the_keyboard(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "olga", PASSWORD)
    mark_page(page)
    web = row(page, "web-server-01")
    reboot = web.get_by_role("button", name=re.compile(r"^Reboot"))
    reboot.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Reboot web-server-01?")
    # Cancel has the focus first: Escape closes, the focus goes back to the button.
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(reboot).to_be_focused()
    assert web.locator("[data-status]").get_attribute("data-status") == "active"
    # Again, and Tab to the action, Enter.
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Reboot")).to_be_focused()
    page.keyboard.press("Enter")
    expect(web.locator("[data-status]")).to_have_attribute("data-status", "rebooting")
    expect(web.locator("[data-status]")).to_have_attribute("data-status", "active", timeout=SETTLE)
    assert_not_reloaded(page)


def test_cancelling_the_dialog_does_nothing(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "olga", PASSWORD)
    web = row(page, "web-server-01")
    reboot = web.get_by_role("button", name=re.compile(r"^Reboot"))
    reboot.click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Reboot web-server-01?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(reboot).to_be_focused()
    page.wait_for_timeout(500)
    posted = sandbox.requests.snapshot()["by_endpoint"]
    assert not [key for key in posted if key.startswith("POST")]
    expect(web.locator("[data-status]")).to_have_attribute("data-status", "active")


def test_the_button_is_busy_while_the_request_runs(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "olga", PASSWORD)
    sandbox.faults.update({"latency": 1.0})
    web = row(page, "staging-01")
    start = web.get_by_role("button", name=re.compile(r"^Start"))
    start.click()  # Start asks no question
    expect(start).to_be_disabled()
    expect(start).to_have_attribute("aria-busy", "true")
    expect(start).to_contain_text("Starting…")
    page.screenshot(path="/tmp/e2e-power-busy.png")
    expect(web.locator("[data-status]")).to_have_attribute("data-status", "starting")
    sandbox.faults.reset()


def test_a_refused_action_shows_a_toast_and_the_fresh_row(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "olga", PASSWORD)
    web = row(page, "web-server-01")
    # Someone else stops it meanwhile: the page still offers Stop.
    api_call(sandbox, "POST", f"servers/{server_id(sandbox, 'web-server-01')}/stop")
    web.get_by_role("button", name=re.compile(r"^Stop")).click()
    page.locator("#confirm-dialog").get_by_role("button", name="Stop").click()
    toast = page.locator("#toasts .toast-error")
    expect(toast).to_contain_text("Could not stop web-server-01")
    # The row shows where the server really is (stopping, or already stopped).
    expect(web.locator("[data-status]")).not_to_have_attribute("data-status", "active")
    expect(web.locator("[data-status]")).to_have_attribute("data-status", "stopped", timeout=SETTLE)


def test_a_viewer_sees_no_buttons(page: Any, live_server: Any, sandbox: Any, team: Team) -> None:
    member(team, "vic", Role.VIEWER, PASSWORD)
    log_in(page, live_server, "vic", PASSWORD)
    expect(row(page, "web-server-01")).to_be_visible()
    expect(page.locator("form.power-form")).to_have_count(0)


def test_several_rows_settle_with_one_poll_per_interval(
    page: Any, live_server: Any, sandbox_5s: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    names = ("web-server-01", "db-server-01", "api-server-01")
    for name in names:
        api_call(sandbox_5s, "POST", f"servers/{server_id(sandbox_5s, name)}/reboot")
    requests_seen: list[str] = []
    page.on("request", lambda r: requests_seen.append(r.url))
    log_in(page, live_server, "olga", PASSWORD)
    mark_page(page)
    for name in names:
        expect(row(page, name).locator("[data-status]")).to_have_attribute(
            "data-status", "rebooting"
        )
    for name in names:
        expect(row(page, name).locator("[data-status]")).to_have_attribute(
            "data-status", "active", timeout=SETTLE
        )
    polls = [u for u in requests_seen if "/servers/status/" in u]
    # One request per interval carried every row in transition, never one per row.
    assert polls
    assert len(re.search(r"busy=([^&]*)", polls[0])[1].split("%2C")) == 3
    assert not [u for u in requests_seen if re.search(r"/servers/\d+/status/", u)]
    page.screenshot(path="/tmp/e2e-power-settled-rows.png")
    assert_not_reloaded(page)


@pytest.fixture
def slow_sandbox(settings: Any) -> Iterator[Any]:
    """Transitions that outlast the 10 s measurement."""
    with start_sandbox(tokens=(SANDBOX_TOKEN,), transition_seconds=14) as running:
        settings.VPSORG_API_URL = running.api_url
        yield running


def test_three_viewers_of_three_servers_in_transition_for_10_s(
    browser: Any, live_server: Any, slow_sandbox: Any, team: Team
) -> None:
    """The issue's yardstick, counted between the panel and the API by the sandbox."""
    names = ("web-server-01", "db-server-01", "api-server-01")
    for name in names:
        api_call(slow_sandbox, "POST", f"servers/{server_id(slow_sandbox, name)}/stop")
    pages = []
    for n in range(3):
        member(team, f"viewer{n}", Role.VIEWER, PASSWORD)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        viewer = context.new_page()
        log_in(viewer, live_server, f"viewer{n}", PASSWORD)
        for name in names:
            expect(row(viewer, name).locator("[data-status]")).to_have_attribute(
                "data-status", "stopping"
            )
        pages.append((context, viewer))

    slow_sandbox.requests.reset()
    time.sleep(10)
    calls = slow_sandbox.requests.snapshot()
    print("upstream calls in 10 s, 3 viewers x 3 servers:", calls)
    # One list call per 2 s interval for the whole team: about 5 (6 at a boundary).
    assert 4 <= list_calls(slow_sandbox) <= 6
    assert calls["total"] == list_calls(slow_sandbox)

    for _context, viewer in pages:
        for name in names:
            expect(row(viewer, name).locator("[data-status]")).to_have_attribute(
                "data-status", "stopped", timeout=15_000
            )
    # Settled everywhere: the pages poll at the idle pace, and share an entry that
    # may be two idle intervals old (LIVE_IDLE_SECONDS is 2 s here): about one call
    # per 4 s for the three of them.
    slow_sandbox.requests.reset()
    time.sleep(8)
    assert list_calls(slow_sandbox) <= 3
    for context, _viewer in pages:
        context.close()


def test_a_server_deleted_elsewhere_leaves_the_list_with_a_note(
    page: Any, live_server: Any, sandbox_5s: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    sid = server_id(sandbox_5s, "worker-01")
    api_call(sandbox_5s, "POST", f"servers/{sid}/reboot")
    log_in(page, live_server, "olga", PASSWORD)
    expect(row(page, "worker-01")).to_be_visible()
    api_call(sandbox_5s, "DELETE", f"servers/{sid}")
    expect(row(page, "worker-01")).to_have_count(0, timeout=SETTLE)
    expect(page.locator("#messages")).to_contain_text("worker-01 no longer exists")


# --- the detail page --------------------------------------------------------------------


def test_reboot_on_the_detail_page_refreshes_the_card(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    errors = watch_errors(page)
    log_in(page, live_server, "olga", PASSWORD)
    page.get_by_role("link", name="web-server-01", exact=True).click()
    page.wait_for_url(re.compile(r"/servers/\d+/$"))
    mark_page(page)
    card = page.locator("#server-card")
    card.get_by_role("button", name=re.compile(r"^Reboot")).click()
    page.locator("#confirm-dialog").get_by_role("button", name="Reboot").click()
    badge = card.locator("[data-status]")
    expect(badge).to_have_attribute("data-status", "rebooting")
    expect(card.get_by_role("button", name=re.compile(r"^(Stop|Reboot)"))).to_have_count(0)
    page.screenshot(path="/tmp/e2e-power-detail-rebooting.png", full_page=True)
    expect(badge).to_have_attribute("data-status", "active", timeout=SETTLE)
    expect(card.get_by_role("button", name=re.compile(r"^Stop"))).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("web-server-01 is now active.")
    page.screenshot(path="/tmp/e2e-power-detail-active.png", full_page=True)
    assert_not_reloaded(page)
    assert errors == []


def test_the_card_keeps_polling_through_a_longer_transition(
    page: Any, live_server: Any, sandbox_5s: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "olga", PASSWORD)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/status/" in r.url else None)
    page.goto(f"{live_server.url}/servers/{server_id(sandbox_5s, 'db-server-01')}/")
    mark_page(page)
    card = page.locator("#server-card")
    card.get_by_role("button", name=re.compile(r"^Stop")).click()
    page.locator("#confirm-dialog").get_by_role("button", name="Stop").click()
    badge = card.locator("[data-status]")
    expect(badge).to_have_attribute("data-status", "stopping")
    expect(badge).to_have_attribute("data-status", "stopped", timeout=SETTLE)
    expect(card.get_by_role("button", name=re.compile(r"^Start"))).to_be_visible()
    # Several polls, each answered by a new poller that asked again.
    assert len(polls) >= 2, polls
    assert all(re.search(r"/servers/\d+/status/\?team=", url) for url in polls)
    assert_not_reloaded(page)


def test_create_provisions_and_the_ip_appears(
    page: Any, live_server: Any, sandbox_5s: Any, team: Team
) -> None:
    member(team, "mia", Role.MANAGER, PASSWORD)
    log_in(page, live_server, "mia", PASSWORD)
    page.goto(f"{live_server.url}/servers/new/")
    page.get_by_role("radio", name="Los Angeles").check()
    page.locator(".plan-card:visible").first.click()
    os_id = page.locator("select[name=os_id] option:not([value=''])").first.get_attribute("value")
    page.select_option("select[name=os_id]", os_id)
    page.fill("input[name=name]", "e2e-new-01")
    page.get_by_role("button", name="Create server").click()
    page.wait_for_url(re.compile(r"/servers/\d+/$"))
    mark_page(page)
    card = page.locator("#server-card")
    badge = card.locator("[data-status]")
    expect(badge).to_have_attribute("data-status", "provisioning")
    expect(card).to_contain_text("Not yet assigned")
    page.screenshot(path="/tmp/e2e-power-provisioning.png", full_page=True)
    expect(badge).to_have_attribute("data-status", "active", timeout=SETTLE)
    expect(card).to_contain_text(re.compile(r"203\.0\.113\.\d+"))
    expect(card.get_by_role("button", name=re.compile(r"^Reboot"))).to_be_visible()
    # The message that stopped being true is replaced where it stood.
    expect(page.locator("#messages")).to_contain_text("e2e-new-01 is ready.")
    expect(page.locator("#messages")).not_to_contain_text("is being created")
    page.screenshot(path="/tmp/e2e-power-provisioned.png", full_page=True)
    assert_not_reloaded(page)


# --- the polling clock ------------------------------------------------------------------


def test_polling_pauses_while_the_tab_is_hidden(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    sid = server_id(sandbox, "mail-server-01")
    requests_seen: list[float] = []
    page.on(
        "request", lambda r: requests_seen.append(time.monotonic()) if "/status/" in r.url else None
    )
    sandbox.state.force_status(int(sid), "maintenance")  # unknown: polled until it changes
    log_in(page, live_server, "olga", PASSWORD)
    expect(row(page, "mail-server-01").locator("[data-status]")).to_have_attribute(
        "data-status", "maintenance"
    )
    page.evaluate(
        """() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    )
    # wait_for_timeout, not sleep: Playwright delivers page events only while it runs.
    page.wait_for_timeout(300)
    hidden_from = len(requests_seen)
    page.wait_for_timeout(5000)
    assert len(requests_seen) == hidden_from, "polled while the tab was hidden"
    sandbox.state.force_status(int(sid), "active")
    page.evaluate(
        """() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    )
    # Back in view: it catches up at once.
    expect(row(page, "mail-server-01").locator("[data-status]")).to_have_attribute(
        "data-status", "active", timeout=1500
    )


def test_a_server_stopped_elsewhere_settles_on_the_open_list(
    page: Any, live_server: Any, sandbox_5s: Any, team: Team
) -> None:
    """Nothing in transition when the page opened; stopped through the API meanwhile."""
    member(team, "olga", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "olga", PASSWORD)
    mark_page(page)
    badge = row(page, "web-server-01").locator("[data-status]")
    expect(badge).to_have_attribute("data-status", "active")
    api_call(sandbox_5s, "POST", f"servers/{server_id(sandbox_5s, 'web-server-01')}/stop")
    expect(badge).to_have_attribute("data-status", "stopping", timeout=SETTLE)
    expect(badge).to_have_attribute("data-status", "stopped", timeout=SETTLE)
    expect(
        row(page, "web-server-01").get_by_role("button", name=re.compile("^Start"))
    ).to_be_visible()
    assert_not_reloaded(page)


def test_an_outage_keeps_the_last_rows_marked_and_recovers(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    log_in(page, live_server, "olga", PASSWORD)
    expect(row(page, "web-server-01")).to_be_visible()
    rows_before = page.locator("tr[data-server-id]").count()
    sandbox.faults.update({"error_rate": 1.0})
    # The open page: the rows stay, and it says updates are paused.
    live = page.locator("#live-list")
    expect(live).to_contain_text("Updates paused, retrying in", timeout=SETTLE)
    expect(live).to_contain_text("VPS.org is having trouble right now.")
    assert page.locator("tr[data-server-id]").count() == rows_before
    # A page opened during the outage: the last known rows, marked as not current.
    page.reload()
    stale = page.locator("#stale-note")
    expect(stale).to_contain_text("Not current.")
    expect(stale).to_contain_text("Shown as of")
    expect(stale).to_contain_text("VPS.org is having trouble right now.")
    # Said once: the paused notice keeps only its retry, not the time and problem again.
    expect(live).to_contain_text("Updates paused, retrying in")
    expect(live.locator(".live-paused-why")).to_be_hidden()
    expect(page.locator("tr[data-server-id]")).to_have_count(rows_before)
    expect(page.locator("#filter-location option")).not_to_have_count(1)  # options kept
    page.screenshot(path="/tmp/e2e-power-outage.png", full_page=True)
    mark_page(page)
    sandbox.faults.reset()
    # VPS.org is back: the page recovers by itself.
    expect(stale).to_have_count(0, timeout=30_000)
    expect(live).not_to_contain_text("Updates paused")
    expect(page.locator("tr[data-server-id]")).to_have_count(rows_before)
    assert_not_reloaded(page)


def test_a_session_that_ended_stops_polling_without_swapping_the_login_page_in(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "olga", Role.OPERATOR, PASSWORD)
    sandbox.state.force_status(int(server_id(sandbox, "mail-server-01")), "maintenance")
    log_in(page, live_server, "olga", PASSWORD)
    mark_page(page)
    page.context.clear_cookies()  # logged out, e.g. elsewhere or by expiry
    expect(page.locator("#live-list")).to_contain_text("You have been logged out", timeout=8000)
    expect(page.locator("input[name=password]")).to_have_count(0)
    expect(row(page, "mail-server-01").locator("[data-status]")).to_have_attribute(
        "data-status", "maintenance"
    )
    assert_not_reloaded(page)


def test_errors_back_off_and_a_rejected_token_shows_one_banner(
    page: Any, live_server: Any, sandbox: Any, team: Team
) -> None:
    member(team, "ada", Role.ADMIN, PASSWORD)
    sid = server_id(sandbox, "mail-server-01")
    sandbox.state.force_status(int(sid), "maintenance")
    log_in(page, live_server, "ada", PASSWORD)
    polls: list[float] = []
    page.on("request", lambda r: polls.append(time.monotonic()) if "/status/" in r.url else None)

    sandbox.faults.update({"error_rate": 1.0})
    page.wait_for_timeout(11_000)
    sandbox.faults.reset()
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    # 2 s, then doubling: at most 4 polls in 11 s where 5 would come without errors.
    assert len(polls) <= 4, gaps
    assert gaps and max(gaps) > 3.5, gaps
    expect(page.locator("#live-list")).to_contain_text("Updates paused")

    stored = TeamToken.objects.get(team=team)
    stored.set_token("not-a-valid-token-0000")
    stored.save()
    banner = page.locator("#token-banner [role=alert]")
    expect(banner).to_be_visible(timeout=30_000)
    expect(banner).to_contain_text("rejected the team")
    expect(banner.get_by_role("link", name="Replace it")).to_be_visible()
    count = len(polls)
    page.wait_for_timeout(5000)
    assert len(polls) == count, "still polling with a rejected token"
    expect(page.locator("#token-banner [role=alert]")).to_have_count(1)
    page.screenshot(path="/tmp/e2e-power-token-banner.png")
